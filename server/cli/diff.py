"""rxpolicy diff: what changed between two versions, and which requests it decides differently."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..analysis.diff.document import FORMATS  # no z3 here: the solver loads only for --semantic
from ..engine.errors import NotFound, RxPolicyError
from .common import add_store_options, fail, load_store


def register(sub: Any) -> None:
    p = sub.add_parser(
        "diff",
        help="diff two versions: structural changes, and with --semantic the requests decided differently",
        description="Diff version A against version B (each a semver such as 4.4.0, a date in force such "
        "as 2025-03-25, or 'latest'). --semantic adds every kind of request the two versions decide "
        "differently, each with a minimal witness request verified by the engine, or a proof (z3) that "
        "there is none, and the semver bump the semver rule requires (docs/policy-format.md).",
    )
    p.add_argument("old", metavar="A", help="the version diffed from")
    p.add_argument("new", metavar="B", help="the version diffed to")
    p.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    p.add_argument("--semantic", action="store_true", help="also find requests decided differently")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument(
        "--exit-code",
        action="store_true",
        help="exit 1 when the versions differ (with --semantic: when some request is decided "
        "differently), 0 when they do not, 2 on an error, as `git diff --exit-code` does",
    )
    add_store_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # With --exit-code, 1 means "the versions differ", so a failure needs a code of its own.
    failed = 2 if args.exit_code else 1
    store = load_store(args)
    if store is None:
        return failed
    from ..analysis.diff.document import diff_document

    try:
        doc = diff_document(
            store, args.old, args.new, policy_id=args.policy, semantic=args.semantic, fmt=args.format
        )
    except NotFound as exc:
        fail(str(exc))
        return failed
    except RxPolicyError as exc:
        fail(f"diff failed: {exc}")
        return failed
    if args.output is None:
        print(doc.content, end="")
    else:
        args.output.write_text(doc.content, encoding="utf-8")
        summary = f"wrote {args.output} ({doc.from_version} -> {doc.to_version}"
        if doc.required_bump is not None:
            summary += f"; required bump {doc.required_bump.upper()}"
        print(summary + ")")
    return 1 if args.exit_code and doc.differs else 0
