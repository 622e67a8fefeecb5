"""The version store: every loaded policy version, and which one is in force when.

A request is decided by (service date, as-known-on date): of the versions known on
the as-known-on date (default: today), the one in force on the service date (bisect
over effective dates); of a version and its corrections, the latest recorded by then
(server/engine/corrections.py). An explicit as-known-on date also hides versions
recorded after it, so an auditor can ask what the plan would have decided with the
policies it knew on that day.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import itertools
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import semver

from .corrections import check_correction_order, originals, records_known_on, resolve_corrections
from .decision import Decision
from .errors import (
    FieldViolation,
    InvalidRequest,
    PolicyFileError,
    PolicyLoadError,
    UnknownPolicy,
    UnknownVersion,
)
from .evaluate import CompiledVersion
from .fact_sources import read_fact_sources
from .facts import capped, clip, parse_date, violations
from .loading import SERVICE_DATE, iter_version_files, load_version_file, schema_text
from .lockfile import read_lock
from .model import PolicyVersion
from .validation_cache import ValidationCache, default_path


def packaged_root() -> Path:
    """The policy versions shipped inside the package (the embedded default)."""
    return Path(str(resources.files("rxpolicy.policy_versions")))


def load_policy_dir(directory: Path, *, validated: ValidationCache | None = None) -> list[PolicyVersion]:
    """Every version in one policy directory, checked as a sequence. ``validated``: the
    schema passes already known (validation_cache.py); without it every file is checked."""
    locked = read_lock(directory)
    errors: list[PolicyFileError] = []
    versions: list[PolicyVersion] = []
    files = list(iter_version_files(directory))
    if not files:
        raise PolicyLoadError([PolicyFileError(str(directory), "", "no *.yaml version files")])
    for path in files:
        try:
            versions.append(load_version_file(path, locked_hash=locked.get(path.name), validated=validated))
        except PolicyLoadError as exc:
            errors.extend(exc.errors)
    for name in sorted(set(locked) - {p.name for p in files}):
        errors.append(
            PolicyFileError(
                str(directory / name),
                "",
                "is locked in versions.lock but missing; published policy versions are never removed",
            )
        )
    if not errors:
        versions, errors = resolve_corrections(versions)
    if not errors:
        errors.extend(check_sequence(directory, originals(versions)))
        errors.extend(check_correction_order(versions))
    if errors:
        raise PolicyLoadError(errors)
    sources = read_fact_sources(directory)
    if sources:
        versions = [attrs.evolve(v, fact_sources=sources) for v in versions]
    return sorted(versions, key=lambda v: (v.effective, v.meta.recorded))


def check_sequence(directory: Path, versions: list[PolicyVersion]) -> list[PolicyFileError]:
    """One policy id; effective dates strictly increasing together with semver."""
    errors = []
    ordered = sorted(versions, key=lambda v: v.effective)
    ids = {v.policy_id for v in versions}
    if len(ids) > 1:
        errors.append(PolicyFileError(str(directory), "policy.id", f"several policy ids: {sorted(ids)}"))
    elif ids and directory.name != next(iter(ids)):
        errors.append(
            PolicyFileError(
                str(directory),
                "policy.id",
                f"directory is named {directory.name} but its versions say {next(iter(ids))}",
            )
        )
    for before, after in itertools.pairwise(ordered):
        if after.effective == before.effective:
            errors.append(
                PolicyFileError(
                    after.source_path,
                    "effective",
                    f"{after.effective} is also the effective date of {before.source_path}",
                )
            )
        elif semver.Version.parse(after.version) <= semver.Version.parse(before.version):
            errors.append(
                PolicyFileError(
                    after.source_path,
                    "version",
                    f"{after.version} (effective {after.effective}) must be greater than "
                    f"{before.version} (effective {before.effective})",
                )
            )
    return errors


class VersionStore:
    """``default_policy``: the policy a call that names none is decided under; without it,
    the only policy loaded (several loaded and none named: such a call is NOT_FOUND)."""

    def __init__(
        self,
        versions: Mapping[str, list[PolicyVersion]],
        root: Path | None = None,
        default_policy: str | None = None,
    ) -> None:
        self.root = root  # where the versions were loaded from; None: the packaged default
        # Every record, corrections included, by (effective, recorded).
        self._records: dict[str, list[CompiledVersion]] = {
            pid: [CompiledVersion(v) for v in sorted(vs, key=lambda v: (v.effective, v.meta.recorded))]
            for pid, vs in versions.items()
        }
        self._by_hash = {c.version.content_hash: c for cs in self._records.values() for c in cs}
        # The sequence that decides without an as-known-on date (latest corrections known today).
        self._compiled = {pid: self._known_on(cs, None) for pid, cs in self._records.items()}
        self._dates = {pid: [c.version.effective for c in cs] for pid, cs in self._compiled.items()}
        if default_policy is not None and default_policy not in self._compiled:
            raise UnknownPolicy(
                f"the default policy {clip(default_policy)!r} is not loaded "
                f"(loaded: {', '.join(self.policy_ids)})"
            )
        self._default = default_policy
        self.default_policy_id = default_policy  # as configured (None: the only one loaded)

    def _known_on(self, records: list[CompiledVersion], day: dt.date | None) -> list[CompiledVersion]:
        return [self._by_hash[v.content_hash] for v in records_known_on([c.version for c in records], day)]

    @classmethod
    def load(cls, root: Path | None = None, *, default_policy: str | None = None) -> VersionStore:
        """Load every policy directory under ``root`` (default: the packaged versions). A
        locked file that passed the schema on an earlier load is not validated against it
        again (validation_cache.py)."""
        directory = root or packaged_root()
        if not directory.is_dir():
            raise PolicyLoadError([PolicyFileError(str(directory), "", "is not a directory")])
        dirs = sorted(p for p in directory.iterdir() if p.is_dir() and any(p.glob("*.yaml")))
        if not dirs and any(directory.glob("*.yaml")):
            dirs = [directory]  # pointed straight at one policy's directory
        if not dirs:
            raise PolicyLoadError([PolicyFileError(str(directory), "", "holds no policy directories")])
        errors: list[PolicyFileError] = []
        loaded: dict[str, list[PolicyVersion]] = {}
        validated = ValidationCache(default_path(), schema_text())
        for directory in dirs:
            try:
                versions = load_policy_dir(directory, validated=validated)
            except PolicyLoadError as exc:
                errors.extend(exc.errors)
                continue
            loaded[versions[0].policy_id] = versions
        validated.save()  # the passes found, even when another file failed
        if errors:
            raise PolicyLoadError(errors)
        return cls(loaded, root, default_policy)

    # ------------------------------------------------------------ lookups

    @functools.cached_property
    def policy_set_digest(self) -> str:
        """One sha256 over every loaded record's content hash (with its policy id and
        version), ``sha256:<hex>``, so replicas and retro outputs can be checked to use the
        same set. The one definition: the service, retro and the client all read this."""
        digest = hashlib.sha256()
        for pid in sorted(self._compiled):
            for c in self._compiled[pid]:
                digest.update(f"{pid} {c.version.version} {c.version.content_hash}\n".encode())
        return "sha256:" + digest.hexdigest()

    @property
    def policy_ids(self) -> list[str]:
        return sorted(self._compiled)

    def default_policy(self) -> str:
        """The policy a call that names none is decided under."""
        if self._default is not None:
            return self._default
        if len(self._compiled) != 1:
            raise UnknownPolicy(
                f"several policies are loaded ({', '.join(self.policy_ids)}); name one, "
                "or choose a default policy"
            )
        return next(iter(self._compiled))

    def _policy(self, policy_id: str | None) -> list[CompiledVersion]:
        pid = policy_id or self.default_policy()
        try:
            return self._compiled[pid]
        except KeyError:
            raise UnknownPolicy(f"no policy {clip(pid)!r} (loaded: {', '.join(self.policy_ids)})") from None

    def versions(self, policy_id: str | None = None) -> list[PolicyVersion]:
        """One record per effective date: the one that decides today (a version's latest
        correction recorded by today, else the version itself)."""
        return [c.version for c in self._policy(policy_id)]

    def records(self, policy_id: str | None = None) -> list[PolicyVersion]:
        """Every record, corrected ones and their corrections included, by effective then recorded."""
        self._policy(policy_id)
        return [c.version for c in self._records[policy_id or self.default_policy()]]

    def compiled(self, version: PolicyVersion) -> CompiledVersion:
        found = self._by_hash.get(version.content_hash)
        if found is None or found.version.policy_id != version.policy_id:
            raise UnknownVersion(f"version {version.version} of {version.policy_id} is not in this store")
        return found

    def in_force(
        self, service_date: dt.date, policy_id: str | None = None, as_known_on: dt.date | None = None
    ) -> CompiledVersion | None:
        return self._in_force(self._policy(policy_id), service_date, as_known_on)

    def _in_force(
        self, compiled: list[CompiledVersion], service_date: dt.date, as_known_on: dt.date | None
    ) -> CompiledVersion | None:
        if as_known_on is not None:
            compiled = self._known_on(self._records[compiled[0].version.policy_id], as_known_on)
            dates = [c.version.effective for c in compiled]
        else:
            dates = self._dates[compiled[0].version.policy_id] if compiled else []
        i = bisect.bisect_right(dates, service_date)
        return compiled[i - 1] if i else None

    def resolve(self, ref: str, policy_id: str | None = None) -> PolicyVersion:
        """A version by semver ("4.5.0"), by date in force ("2025-03-25"), or "latest"."""
        compiled = self._policy(policy_id)
        ref = ref.strip()
        if ref == "latest":
            return compiled[-1].version
        for c in self._records[compiled[0].version.policy_id]:
            if c.version.version == ref or c.version.content_hash == ref:
                return c.version
        # The requests' one date grammar (YYYY-MM-DD), not fromisoformat's (20250602, 2025-W23-1).
        day, _ = parse_date("version", ref)
        if day is None:
            known = ", ".join(c.version.version for c in compiled)
            raise UnknownVersion(
                f"no version {clip(ref)!r} of {compiled[0].version.policy_id} (known: {known}; "
                "or give a date YYYY-MM-DD, or 'latest')"
            )
        found = self.in_force(day, policy_id)
        if found is None:
            raise UnknownVersion(f"no version of {compiled[0].version.policy_id} is in force on {day}")
        return found.version

    # ------------------------------------------------------------ deciding

    def decide(
        self,
        request: Any,
        *,
        policy_id: str | None = None,
        as_known_on: dt.date | None = None,
        with_trace: bool = False,
        version: PolicyVersion | None = None,
    ) -> Decision:
        """Decide a request (the case-file shape: fact name -> value) under the version in
        force on its service date, or under ``version`` when given."""
        if type(request) is not dict and not isinstance(request, Mapping):
            raise InvalidRequest([FieldViolation("request", "must be a mapping of fact names to values")])
        compiled = self._policy(policy_id)
        raw_date = request.get(SERVICE_DATE)
        service_date, problem = parse_date(SERVICE_DATE, raw_date)
        if raw_date is None:
            problem = FieldViolation(SERVICE_DATE, "is required")
        chosen: CompiledVersion | None = None
        if version is not None:
            chosen = self.compiled(version)
        elif service_date is not None:
            chosen = self._in_force(compiled, service_date, as_known_on)
            if chosen is None:
                first = compiled[0].version
                known = "" if as_known_on is None else f" as known on {as_known_on}"
                problem = FieldViolation(
                    SERVICE_DATE,
                    f"no version of {first.policy_id} is in force on {service_date}{known}; "
                    f"the first took effect on {first.effective}",
                )
        if chosen is None:
            # Report the other fields' problems too, checked against the latest version.
            assert problem is not None
            others = capped(violations(compiled[-1].version, request, besides=SERVICE_DATE))
            raise InvalidRequest([problem, *others])
        # The date chose the version; it is not parsed again. (Under a named version an
        # invalid date is reported in its place among the other fields.)
        facts = chosen.normalise(request, None if service_date is None else {SERVICE_DATE: service_date})
        return chosen.decide(facts, with_trace=with_trace)
