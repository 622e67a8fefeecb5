"""rxpolicy lint / lock / new-version: the policy analyst's workflow."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

import semver
import yaml

from ..analysis.lint import lint_root, policy_dirs
from ..engine.errors import PolicyLoadError
from ..engine.lockfile import add_new_to_lock
from ..engine.store import load_policy_dir, packaged_root
from ..formats.yaml_dump import dump_version
from .common import fail


def register(sub: Any) -> None:
    lint = sub.add_parser(
        "lint",
        help="validate every policy version (schema, meaning, lock, dates and semver order)",
    )
    lint.add_argument("--policies", type=Path, metavar="DIR", help="default: the packaged versions")
    lint.set_defaults(func=run_lint)

    lock = sub.add_parser("lock", help="lock new version files (adds hashes; never changes one)")
    lock.add_argument("--policies", type=Path, metavar="DIR", help="default: the packaged versions")
    lock.set_defaults(func=run_lock)

    new = sub.add_parser(
        "new-version",
        help="scaffold the next version file from the latest one",
        description="Copy the latest version of a policy to EFFECTIVE.yaml with new metadata; "
        "edit its criteria, run rxpolicy lint, then rxpolicy lock.",
    )
    new.add_argument("--policies", type=Path, metavar="DIR", help="default: the packaged versions")
    new.add_argument("--policy", metavar="ID", help="policy id (default: the only one)")
    new.add_argument("--effective", required=True, type=dt.date.fromisoformat, metavar="DATE")
    new.add_argument("--log", required=True, metavar="TEXT", help="the revision-log entry")
    new.add_argument("--pt-approval", metavar="MM.YY", help="P&T approval month")
    new.add_argument(
        "--version",
        metavar="X.Y.Z",
        help="semver (default: next minor; rxpolicy lint checks it against the change)",
    )
    new.set_defaults(func=run_new_version)


def run_lint(args: argparse.Namespace) -> int:
    root = args.policies or packaged_root()
    report = lint_root(root)
    for line in report.lines:
        print(line)
    for problem in report.problems:
        print(f"error: {problem}")
    print(f"{report.checked} versions checked, {len(report.problems)} problems")
    return 1 if report.problems else 0


def run_lock(args: argparse.Namespace) -> int:
    root = args.policies or packaged_root()
    # A locked version is immutable: lock nothing that lint would reject, semver included.
    report = lint_root(root, require_locked=False)
    if report.problems:
        fail("not locking: fix these first:\n" + "\n".join(f"  {p}" for p in report.problems))
        return 1
    for directory in policy_dirs(root):
        added = add_new_to_lock(directory)
        for name in added:
            print(f"locked {directory.name}/{name}")
        if not added:
            print(f"{directory.name}: nothing new to lock")
    return 0


def run_new_version(args: argparse.Namespace) -> int:
    root = args.policies or packaged_root()
    dirs = [d for d in policy_dirs(root) if args.policy in (None, d.name)]
    if len(dirs) != 1:
        fail("name the policy with --policy" if dirs else f"no policy {args.policy} under {root}")
        return 1
    directory = dirs[0]
    try:
        versions = load_policy_dir(directory)
    except PolicyLoadError as exc:
        fail("cannot scaffold from a broken policy:\n" + "\n".join(f"  {e}" for e in exc.errors))
        return 1
    latest = versions[-1]
    if args.effective <= latest.effective:
        fail(f"--effective must be after the latest version's {latest.effective}")
        return 1
    target = directory / f"{args.effective.isoformat()}.yaml"
    if target.exists():
        fail(f"{target} exists already")
        return 1
    new_semver = args.version or str(semver.Version.parse(latest.version).bump_minor())
    try:
        if semver.Version.parse(new_semver) <= semver.Version.parse(latest.version):
            fail(f"--version must be greater than {latest.version}")
            return 1
    except ValueError:
        fail(f"--version {new_semver!r} is not a semantic version X.Y.Z")
        return 1
    doc = yaml.safe_load(Path(latest.source_path).read_text(encoding="utf-8"))
    doc["version"] = new_semver
    doc["effective"] = args.effective
    doc["recorded"] = args.effective
    doc["revision_log"] = {"date": args.effective, "pt_approval": args.pt_approval, "text": args.log}
    doc["provenance"] = "published"
    doc["semver_reasoning"] = (
        f"Scaffolded from {latest.version} as {new_semver}; rxpolicy lint checks this bump against "
        "the semantic diff. Replace this with the reason once the criteria are edited."
    )
    target.write_text(dump_version(doc), encoding="utf-8")
    print(
        f"wrote {target} (version {new_semver}, from {latest.version}); edit it, then "
        "`rxpolicy lint` and `rxpolicy lock`"
    )
    return 0
