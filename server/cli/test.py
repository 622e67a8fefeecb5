"""rxpolicy test: run case files and report expected vs got."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..engine.errors import InvalidRequest, NotFound
from ..formats.cases import Case, CaseFileError, check, iter_case_files, load_cases
from ..formats.decisions import decision_json, error_json
from .common import add_store_options, fail, load_store


def register(sub: Any) -> None:
    p = sub.add_parser(
        "test",
        help="run policy case files",
        description="Run case files (YAML with a 'cases' list) or directories of them; print each "
        "failure with expected vs got; end with 'N passed, N failed'; exit 1 on any failure.",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="case file or directory")
    p.add_argument("--server", metavar="HOST:PORT", help="run the cases through a running server")
    p.add_argument("--token", help="bearer token for --server")
    p.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")
    add_store_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        cases: list[Case] = [c for f in iter_case_files(args.paths) for c in load_cases(f)]
    except CaseFileError as exc:
        fail(str(exc))
        return 1
    if args.server:
        from .remote import remote_decider

        decide = remote_decider(args)
    else:
        store = load_store(args)
        if store is None:
            return 1

        def decide(case: Case) -> dict[str, Any]:
            try:
                return decision_json(store.decide(case.request, policy_id=args.policy))
            except InvalidRequest as exc:
                return error_json(exc)

    passed = failed = 0
    for case in cases:
        try:
            result = check(case, decide(case))
        except NotFound as exc:
            fail(str(exc))
            return 1
        if result.passed:
            passed += 1
            if args.verbose:
                print(f"PASS {case.id}")
        else:
            failed += 1
            print(f"FAIL {case.id}")
            for problem in result.problems:
                print(f"     {problem}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not cases else 0
