"""rxpolicy lint: is every version well formed, and does its semver agree with its change?"""

from __future__ import annotations

import argparse
from typing import Any

from ..analysis.lint import lint_root
from ..engine.store import packaged_root
from .common import counted
from .workspace import add_policies_option


def register(sub: Any) -> None:
    lint = sub.add_parser(
        "lint",
        help="validate every policy version: schema, meaning, template, lock, corrections, semver",
        description="Check every version file: it loads (schema, meaning, lock, dates, corrections), "
        "it is well formed by its policy's template.yaml (required criteria, coverage, citations, "
        "placeholders), and its semver agrees with the semantic diff from its predecessor. "
        "A draft is a warning; exit 1 only on problems.",
    )
    add_policies_option(lint)
    lint.add_argument(
        "--unlocked-only",
        action="store_true",
        help="prove semver only for pairs with an unlocked file (locked pairs were proved at publish)",
    )
    lint.set_defaults(func=run_lint)


def run_lint(args: argparse.Namespace) -> int:
    root = args.policies or packaged_root()
    report = lint_root(root, semver_scope="unlocked" if args.unlocked_only else "all")
    for line in report.lines:
        print(line)
    for warning in report.warnings:
        print(f"warning: {warning}")
    for problem in report.problems:
        print(f"error: {problem}")
    warned = f", {counted(len(report.warnings), 'warning')}" if report.warnings else ""
    print(f"{counted(report.checked, 'version')} checked, {counted(len(report.problems), 'problem')}{warned}")
    return 1 if report.problems else 0
