"""rxpolicy renumber FILE: renumber a draft's citations after inserting a section."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from ..analysis.renumber import renumber
from ..engine.lockfile import read_lock
from ..formats.yaml_dump import dump_version
from .common import fail
from .workspace import refuse_installed


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "renumber",
        help="renumber a draft's section letters and criterion numbers in file order",
        description="Letter the sections of each part in file order (I.A, I.B, ...; indications "
        "before referral sections) and number each section's criteria 1, 2, 3; deeper cites move "
        "with their parent. Only for a draft: a published file never changes.",
    )
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.set_defaults(func=run_renumber)


def run_renumber(args: argparse.Namespace) -> int:
    path: Path = args.file
    if refuse_installed(path):
        return 1
    if path.name in read_lock(path.parent):
        fail(f"{path} is published (in versions.lock) and never changes; renumber a draft")
        return 1
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or "indications" not in doc or "referrals" not in doc:
        fail(f"{path} is not a policy version file (no indications and referrals)")
        return 1
    moves = renumber(doc)
    if not moves:
        print(f"{path}: citations already in order")
        return 0
    path.write_text(dump_version(doc), encoding="utf-8")
    for old, new in moves:
        print(f"{old} -> {new}")
    print(f"{path}: {len(moves)} citations renumbered; check the criteria's words that name a cite")
    return 0
