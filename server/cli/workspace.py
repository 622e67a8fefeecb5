"""Where the writing commands (new-version, publish, lock, renumber) may write.

Never into an installed package: a version written into site-packages is lost on the
next upgrade, is never committed, and changes what every user of that install decides.
In a checkout (an editable install) the packaged versions are ``policy_versions/``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..engine.store import packaged_root
from .common import fail

_INSTALLED = ("site-packages", "dist-packages")


def installed_package_dir(path: Path) -> bool:
    return any(part in _INSTALLED for part in path.resolve().parts)


def refuse_installed(path: Path) -> bool:
    """True (after saying why and what to do) when ``path`` is inside an installed package."""
    if not installed_package_dir(path):
        return False
    fail(
        f"{path} is inside an installed package; the writing commands never change it.\n"
        "  Make a working copy of the packaged versions, and work there:\n"
        "    rxpolicy init my-policies\n"
        "    rxpolicy new-version --policies my-policies --effective YYYY-MM-DD --log '...'\n"
        "  (serve it with rxpolicy serve --policies my-policies)"
    )
    return True


def writable_root(args: argparse.Namespace) -> Path | None:
    """``--policies DIR`` or the packaged versions, unless that is an installed package."""
    root: Path = args.policies or packaged_root()
    return None if refuse_installed(root) else root


def add_policies_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policies",
        type=Path,
        metavar="DIR",
        help="directory of policy versions (default: the packaged versions, in a checkout only)",
    )
