"""rxpolicy lint: everything that must hold before versions are served."""

from __future__ import annotations

from pathlib import Path

import attrs

from .errors import PolicyLoadError
from .lockfile import read_lock
from .store import load_policy_dir


@attrs.define
class LintReport:
    lines: list[str] = attrs.field(factory=list)
    problems: list[str] = attrs.field(factory=list)
    checked: int = 0


def policy_dirs(root: Path) -> list[Path]:
    if any(root.glob("*.yaml")):
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob("*.yaml")))


def lint_root(root: Path) -> LintReport:
    report = LintReport()
    if not root.is_dir():
        report.problems.append(f"{root}: is not a directory")
        return report
    for directory in policy_dirs(root):
        try:
            versions = load_policy_dir(directory)
        except PolicyLoadError as exc:
            report.problems.extend(str(e) for e in exc.errors)
            continue
        locked = read_lock(directory)
        report.checked += len(versions)
        for v in versions:
            if Path(v.source_path).name not in locked:
                report.problems.append(
                    f"{v.source_path}: not locked; run `rxpolicy lock` once the version is final"
                )
        report.lines.append(
            f"{versions[0].policy_id}: {len(versions)} versions, "
            f"{versions[0].effective} ({versions[0].version}) to "
            f"{versions[-1].effective} ({versions[-1].version})"
        )
    return report
