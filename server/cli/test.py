"""rxpolicy test: run case files and report expected vs got, as text, JSON or JUnit XML,
optionally with the criteria coverage of the run."""

from __future__ import annotations

import argparse
import json
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..analysis.coverage import CoverageCollector, VersionCoverage, render_text
from ..engine.errors import InvalidRequest, NotFound
from ..formats.cases import Case, CaseFileError, CaseResult, check, iter_case_files, load_cases
from ..formats.decisions import decision_json, error_json
from .common import add_store_options, fail, load_store

FORMATS = ("text", "json", "junit")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "test",
        help="run policy case files",
        description="Run case files (YAML with a 'cases' list) or directories of them. Text output "
        "prints each failure with expected vs got and ends with 'N passed, N failed'; json and "
        "junit are for CI. Exit 1 on any failure (or when no case was found).",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="case file or directory")
    p.add_argument("--server", metavar="HOST:PORT", help="run the cases through a running server")
    p.add_argument("--token", help="bearer token for --server")
    p.add_argument("-v", "--verbose", action="store_true", help="list passing cases too (text)")
    p.add_argument("--format", choices=FORMATS, default="text", help="report format")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write the report to FILE")
    p.add_argument(
        "--coverage",
        action="store_true",
        help="also report, per version decided under, which criteria the cases saw met, not met "
        "and unknown, and list those no case reached",
    )
    add_store_options(p)
    p.set_defaults(func=run)


Decide = Callable[[Case], dict[str, Any]]


def _local_decider(args: argparse.Namespace, with_trace: bool) -> Decide | None:
    store = load_store(args)
    if store is None:
        return None

    def decide(case: Case) -> dict[str, Any]:
        try:
            return decision_json(store.decide(case.request, policy_id=args.policy, with_trace=with_trace))
        except InvalidRequest as exc:
            return error_json(exc)

    return decide


def run(args: argparse.Namespace) -> int:
    try:
        cases: list[Case] = [c for f in iter_case_files(args.paths) for c in load_cases(f)]
    except CaseFileError as exc:
        fail(str(exc))
        return 1
    decide: Decide | None
    if args.server:
        from .remote import remote_decider

        decide = remote_decider(args, with_trace=args.coverage)
    else:
        decide = _local_decider(args, with_trace=args.coverage)
    if decide is None:
        return 1
    coverage = CoverageCollector()
    results: list[tuple[CaseResult, float]] = []
    for case in cases:
        started = time.perf_counter()
        try:
            got = decide(case)
        except NotFound as exc:
            fail(str(exc))
            return 1
        results.append((check(case, got), time.perf_counter() - started))
        if args.coverage:
            coverage.add(got)
    report = _coverage_report(args, coverage) if args.coverage else None
    text = {"text": _text, "json": _json, "junit": _junit}[args.format](args, results, report)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        passed = sum(r.passed for r, _ in results)
        print(f"{passed} passed, {len(results) - passed} failed (report: {args.output})")
    failed = any(not r.passed for r, _ in results)
    return 1 if failed or not cases else 0


def _coverage_report(args: argparse.Namespace, coverage: CoverageCollector) -> list[VersionCoverage] | None:
    # Criteria come from the local versions (packaged or --policies); a decision that named a
    # version this side does not hold (a server serving another set) is reported, not guessed.
    store = load_store(args)
    if store is None:
        return None
    versions = [v for pid in store.policy_ids for v in store.versions(pid)]
    for content_hash in coverage.unknown_hashes(versions):
        fail(f"coverage: version {content_hash[:19]}... is not among the local versions; not counted")
    return coverage.report(versions)


def _text(args: argparse.Namespace, results: list[tuple[CaseResult, float]], report: Any) -> str:
    lines = []
    for result, _ in results:
        if result.passed:
            if args.verbose:
                lines.append(f"PASS {result.case.id}")
        else:
            lines.append(f"FAIL {result.case.id}")
            lines.extend(f"     {problem}" for problem in result.problems)
    if report is not None:
        lines.append(render_text(report).rstrip("\n"))
    passed = sum(r.passed for r, _ in results)
    lines.append(f"{passed} passed, {len(results) - passed} failed")
    return "\n".join(line for line in lines if line) + "\n"


def _json(args: argparse.Namespace, results: list[tuple[CaseResult, float]], report: Any) -> str:
    passed = sum(r.passed for r, _ in results)
    doc: dict[str, Any] = {
        "passed": passed,
        "failed": len(results) - passed,
        "cases": [
            {
                "id": r.case.id,
                "file": r.case.file,
                "name": r.case.name,
                "passed": r.passed,
                "problems": list(r.problems),
                "seconds": round(seconds, 6),
            }
            for r, seconds in results
        ],
    }
    if report is not None:
        doc["coverage"] = [c.to_json() for c in report]
    return json.dumps(doc, indent=2) + "\n"


def _junit(args: argparse.Namespace, results: list[tuple[CaseResult, float]], report: Any) -> str:
    """One <testsuite> per case file, one <testcase> per case, a <failure> per failed case."""
    suites = ET.Element("testsuites", name="rxpolicy test")
    by_file: dict[str, list[tuple[CaseResult, float]]] = {}
    for item in results:
        by_file.setdefault(item[0].case.file, []).append(item)
    total_failures = 0
    for file, items in by_file.items():
        failures = sum(not r.passed for r, _ in items)
        total_failures += failures
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=Path(file).name,
            tests=str(len(items)),
            failures=str(failures),
            errors="0",
            time=f"{sum(s for _, s in items):.6f}",
        )
        for result, seconds in items:
            case = ET.SubElement(
                suite, "testcase", classname=Path(file).stem, name=result.case.name, time=f"{seconds:.6f}"
            )
            if not result.passed:
                failure = ET.SubElement(case, "failure", message=result.problems[0])
                failure.text = "\n".join(result.problems)
    suites.set("tests", str(len(results)))
    suites.set("failures", str(total_failures))
    if report is not None:
        out = ET.SubElement(suites, "system-out")
        out.text = render_text(report)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
