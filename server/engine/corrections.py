"""Corrections: how a published record is fixed without rewriting it.

A correction is a new version file with ``corrects:`` naming a published record (its
content hash or file name). It keeps the record's policy and effective date, has a later
``recorded`` date and the record's semver with a higher PATCH. The corrected file stays
byte for byte as locked; which record decides is chosen by the "as known on" date
(``records_known_on``): of a version and its corrections, the latest recorded on or
before that day.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence

import attrs
import semver

from .errors import PolicyFileError
from .model import PolicyVersion


def resolve_corrections(
    records: Sequence[PolicyVersion],
) -> tuple[list[PolicyVersion], list[PolicyFileError]]:
    """Each correction with ``corrects`` resolved to the corrected record's content hash,
    and every rule a correction breaks."""
    by_hash = {r.content_hash: r for r in records}
    by_name = {r.file_name: r for r in records}
    errors: list[PolicyFileError] = []
    out: list[PolicyVersion] = []
    corrected_by: dict[str, PolicyVersion] = {}
    for record in records:
        ref = record.meta.corrects
        if ref is None:
            out.append(record)
            continue
        target = by_hash.get(ref) or by_name.get(ref)
        problem = _problem(record, target, ref)
        if problem is None and target is not None:
            earlier = corrected_by.get(target.content_hash)
            if earlier is not None:
                problem = (
                    f"{target.file_name} is already corrected by {earlier.file_name}; "
                    f"correct that record instead (corrects: {earlier.file_name})"
                )
            else:
                corrected_by[target.content_hash] = record
        if problem is not None:
            errors.append(PolicyFileError(record.source_path, "corrects", problem))
            continue
        assert target is not None
        out.append(attrs.evolve(record, corrects=target.content_hash))
    return out, errors


def _problem(record: PolicyVersion, target: PolicyVersion | None, ref: str) -> str | None:
    if target is None:
        return f"no record {ref!r} in this policy directory (give its file name or sha256 content hash)"
    if target is record:
        return "a record cannot correct itself"
    if target.policy_id != record.policy_id:
        return f"{target.file_name} is a version of {target.policy_id}, this file of {record.policy_id}"
    if not target.locked:
        return f"{target.file_name} is not published (not in versions.lock): edit it instead of correcting it"
    if target.effective != record.effective:
        return (
            f"a correction keeps the effective date of the record it corrects: "
            f"{target.file_name} is effective {target.effective}, this file {record.effective}"
        )
    if record.meta.recorded <= target.meta.recorded:
        return (
            f"recorded {record.meta.recorded} must be after {target.file_name}'s recorded "
            f"{target.meta.recorded}: a correction becomes known later than what it corrects"
        )
    old, new = semver.Version.parse(target.version), semver.Version.parse(record.version)
    if (new.major, new.minor) != (old.major, old.minor) or new.patch <= old.patch:
        return (
            f"version {record.version}: a correction of {target.version} keeps MAJOR.MINOR and raises "
            f"PATCH (for example {old.bump_patch()})"
        )
    return None


def originals(records: Iterable[PolicyVersion]) -> list[PolicyVersion]:
    """The records that are not corrections, by effective date."""
    return sorted((r for r in records if r.corrects is None and r.meta.corrects is None), key=_effective)


def check_correction_order(records: Sequence[PolicyVersion]) -> list[PolicyFileError]:
    """A correction's semver stays below the next version's, and no two records share one."""
    errors = []
    bases = originals(records)
    seen: dict[str, PolicyVersion] = {}
    for record in sorted(records, key=lambda r: (r.effective, r.meta.recorded)):
        other = seen.get(record.version)
        if other is not None:
            errors.append(
                PolicyFileError(
                    record.source_path,
                    "version",
                    f"{record.version} is also the version of {other.file_name}",
                )
            )
        seen[record.version] = record
        if record.meta.corrects is None:
            continue
        later = [b for b in bases if b.effective > record.effective]
        if later and semver.Version.parse(record.version) >= semver.Version.parse(later[0].version):
            errors.append(
                PolicyFileError(
                    record.source_path,
                    "version",
                    f"{record.version} must stay below {later[0].version}, the next version "
                    f"(effective {later[0].effective})",
                )
            )
    return errors


def records_known_on(records: Sequence[PolicyVersion], known_on: dt.date | None) -> list[PolicyVersion]:
    """One record per effective date: the one that decides as known on ``known_on``.

    ``known_on`` None is today, except that a version is never hidden for being
    recorded in the future: only an explicit date hides versions not yet recorded.
    """
    day = known_on or dt.date.today()
    chosen = []
    for _, group in itertools.groupby(sorted(records, key=_order), key=_effective):
        members = list(group)
        known = [r for r in members if r.meta.recorded <= day]
        if known:
            chosen.append(known[-1])
        elif known_on is None:
            chosen.append(members[0])
    return chosen


def chain_of(records: Sequence[PolicyVersion], record: PolicyVersion) -> list[PolicyVersion]:
    """``record`` and every record with its effective date, oldest recorded first."""
    return sorted((r for r in records if r.effective == record.effective), key=_order)


def _effective(record: PolicyVersion) -> dt.date:
    return record.effective


def _order(record: PolicyVersion) -> tuple[dt.date, dt.date, int]:
    return record.effective, record.meta.recorded, semver.Version.parse(record.version).patch
