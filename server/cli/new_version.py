"""rxpolicy new-version: scaffold the next version of a policy as a draft."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

import semver
import yaml

from ..analysis.lint import policy_dirs
from ..engine.errors import PolicyLoadError
from ..engine.store import VersionStore, load_policy_dir
from ..formats.yaml_dump import dump_version
from .common import fail
from .workspace import add_policies_option, writable_root

PLACEHOLDER = "Replace this with the reason once the criteria are edited"


def register(sub: Any) -> None:
    new = sub.add_parser(
        "new-version",
        help="scaffold the next version file as a draft, from the latest one",
        description="Copy the latest version of a policy to EFFECTIVE.yaml as a draft (provenance: "
        "draft) with new metadata. Edit its criteria and semver_reasoning, run rxpolicy lint (it "
        "says which semver bump the change requires), then rxpolicy publish.",
    )
    add_policies_option(new)
    new.add_argument("--policy", metavar="ID", help="policy id (default: the only one)")
    new.add_argument("--effective", required=True, type=dt.date.fromisoformat, metavar="DATE")
    new.add_argument("--log", required=True, metavar="TEXT", help="the revision-log entry")
    new.add_argument("--pt-approval", metavar="MM.YY", help="P&T approval month")
    new.add_argument(
        "--version",
        metavar="X.Y.Z",
        help="semver (default: next patch, what an unedited copy requires; lint says what an edit needs)",
    )
    new.set_defaults(func=run_new_version)


def run_new_version(args: argparse.Namespace) -> int:
    root = writable_root(args)
    if root is None:
        return 1
    if not root.is_dir():
        fail(f"{root} is not a directory")
        return 1
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
    latest = VersionStore({versions[0].policy_id: versions}).versions()[-1]
    if args.effective <= latest.effective:
        fail(f"--effective must be after the latest version's {latest.effective}")
        return 1
    target = directory / f"{args.effective.isoformat()}.yaml"
    if target.exists():
        fail(f"{target} exists already")
        return 1
    new_semver = args.version or str(semver.Version.parse(latest.version).bump_patch())
    try:
        if semver.Version.parse(new_semver) <= semver.Version.parse(latest.version):
            fail(f"--version must be greater than {latest.version}")
            return 1
    except ValueError:
        fail(f"--version {new_semver!r} is not a semantic version X.Y.Z")
        return 1
    doc = yaml.safe_load(Path(latest.source_path).read_text(encoding="utf-8"))
    for stale in ("corrects", "changes"):
        doc.pop(stale, None)
    doc["version"] = new_semver
    doc["effective"] = args.effective
    doc["recorded"] = dt.date.today()
    doc["revision_log"] = {"date": args.effective, "pt_approval": args.pt_approval, "text": args.log}
    doc["provenance"] = "draft"
    doc["semver_reasoning"] = (
        f"Scaffolded from {latest.version} as {new_semver}. {PLACEHOLDER}: rxpolicy lint says which "
        "bump the semantic diff requires."
    )
    target.write_text(dump_version(doc), encoding="utf-8")
    print(
        f"wrote {target} (draft {new_semver}, from {latest.version}); edit it, then "
        "`rxpolicy lint` and `rxpolicy publish`"
    )
    return 0
