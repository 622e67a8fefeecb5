"""rxpolicy lint: everything that must hold before versions are served."""

from __future__ import annotations

import itertools
from pathlib import Path

import attrs

from ..engine.errors import PolicyLoadError, RxPolicyError
from ..engine.lockfile import read_lock
from ..engine.model import PolicyVersion
from ..engine.store import VersionStore, load_policy_dir


@attrs.define
class LintReport:
    lines: list[str] = attrs.field(factory=list)
    problems: list[str] = attrs.field(factory=list)
    checked: int = 0


def policy_dirs(root: Path) -> list[Path]:
    if any(root.glob("*.yaml")):
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob("*.yaml")))


def lint_root(root: Path, *, require_locked: bool = True) -> LintReport:
    """Lint every policy under ``root``. ``require_locked`` False is the check `rxpolicy lock`
    runs before it locks: everything but the lock itself must already hold."""
    report = LintReport()
    if not root.is_dir():
        report.problems.append(f"{root}: is not a directory")
        return report
    directories = policy_dirs(root)
    if not directories:
        report.problems.append(f"{root}: holds no policy version files (*.yaml)")
    for directory in directories:
        try:
            versions = load_policy_dir(directory)
        except PolicyLoadError as exc:
            report.problems.extend(str(e) for e in exc.errors)
            continue
        locked = read_lock(directory)
        report.checked += len(versions)
        for v in versions:
            if require_locked and Path(v.source_path).name not in locked:
                report.problems.append(
                    f"{v.source_path}: not locked; run `rxpolicy lock` once the version is final"
                )
        report.lines.append(
            f"{versions[0].policy_id}: {len(versions)} versions, "
            f"{versions[0].effective} ({versions[0].version}) to "
            f"{versions[-1].effective} ({versions[-1].version})"
        )
        check_semver(versions, report)
    return report


def check_semver(versions: list[PolicyVersion], report: LintReport) -> None:
    """Every version against its predecessor by DOMAIN.md section 5, using the semantic diff."""
    # Imported here: z3 loads only when lint gets this far.
    from .diff.semver import check_pair, verdict_line, verdict_problem
    from .diff.wording import kind_heading

    store = VersionStore({versions[0].policy_id: versions})
    for old, new in itertools.pairwise(versions):
        try:
            verdict = check_pair(store, old, new)
        except RxPolicyError as exc:
            report.problems.append(f"{new.source_path}: semantic diff from {old.version} failed: {exc}")
            continue
        line = "  " + verdict_line(verdict)
        if verdict.witness is not None:
            line += f"; e.g. {kind_heading(verdict.witness)}"
        report.lines.append(line)
        if not verdict.ok:
            report.problems.append(verdict_problem(verdict))
