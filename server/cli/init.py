"""rxpolicy init DIR: a working copy of the packaged policy versions, to author in."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from ..analysis.lint import policy_dirs
from ..engine.lockfile import LOCK_NAME
from ..engine.store import packaged_root
from .common import fail


def register(sub: Any) -> None:
    init = sub.add_parser(
        "init",
        help="copy the packaged policy versions into DIR, to add and publish versions there",
        description="Copy every packaged policy directory (version files, versions.lock, "
        "template.yaml) into DIR, which must not exist or be empty. Then pass --policies DIR "
        "to new-version, lint, publish and serve.",
    )
    init.add_argument("directory", type=Path, metavar="DIR")
    init.set_defaults(func=run_init)


def run_init(args: argparse.Namespace) -> int:
    target: Path = args.directory
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        fail(f"{target} exists and is not an empty directory; choose a new one")
        return 1
    target.mkdir(parents=True, exist_ok=True)
    for source in policy_dirs(packaged_root()):
        dest = target / source.name
        dest.mkdir()
        for path in sorted(source.iterdir()):
            if path.suffix == ".yaml" or path.name == LOCK_NAME:
                shutil.copyfile(path, dest / path.name)  # not the mode: an install may be read-only
        print(f"copied {source.name} ({len(list(dest.glob('*.yaml')))} files) to {dest}")
    print(f"work there: rxpolicy new-version --policies {target} ...; rxpolicy serve --policies {target}")
    return 0
