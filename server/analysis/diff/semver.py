"""Semver discipline (the semver rule of docs/policy-format.md): the bump a version declares against the one
its semantic difference from the predecessor requires."""

from __future__ import annotations

import json

import semver

from ...engine.model import PolicyVersion
from ...engine.store import VersionStore
from .model import Bump, SemverVerdict
from .wording import outcome_words


def declared_bump(old: str, new: str) -> Bump | None:
    """The bump from semver ``old`` to ``new``; None when ``new`` is not greater."""
    a, b = semver.Version.parse(old), semver.Version.parse(new)
    if b <= a:
        return None
    if b.major != a.major:
        return "major"
    return "minor" if b.minor != a.minor else "patch"


def check_pair(store: VersionStore, old: PolicyVersion, new: PolicyVersion) -> SemverVerdict:
    # Imported here: z3 is only loaded by the commands that prove something.
    from ..semantic.diff import required_bump

    required, witness = required_bump(store, old, new)
    declared = declared_bump(old.version, new.version) or "patch"
    return SemverVerdict(old.version, new.version, new.source_path, declared, required, witness)


def verdict_line(v: SemverVerdict) -> str:
    status = "ok" if v.ok else "WRONG"
    return f"semver {v.old_version} -> {v.new_version}: declared {v.declared.upper()}, " + (
        f"required {v.required.upper()} ({status})"
    )


_WHY = {
    "major": "some request loses its approval or gets a shorter one",
    "minor": "no approval is lost or shortened, but some request's outcome changes",
    "patch": "no request's outcome changes (z3 proved it over the whole request space)",
}


def verdict_problem(v: SemverVerdict) -> str:
    """Why a wrong bump is wrong, with the witness to paste into ``rxpolicy evaluate``."""
    lines = [
        f"{v.new_file}: version {v.new_version} declares a {v.declared.upper()} bump from "
        f"{v.old_version}, but the semver rule requires {v.required.upper()}: {_WHY[v.required]}"
    ]
    if v.witness is not None:
        w = v.witness.witness
        lines.append(f"  witness ({v.witness.title}): {json.dumps(dict(w.request), ensure_ascii=False)}")
        lines.append(
            f"    under {v.old_version} (service_date {w.old_service_date}): {outcome_words(w.old_decision)}"
        )
        lines.append(f"    under {v.new_version}: {outcome_words(w.new_decision)}")
    return "\n".join(lines)
