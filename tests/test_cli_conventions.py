"""CLI conventions: --version, described subcommands with their defaults, and `rxpolicy test`
reports for CI (JSON, JUnit XML) with criteria coverage."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib import metadata
from pathlib import Path

import pytest
from conftest import OWN_CASES
from rxpolicy.server.cli import build_parser, main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"rxpolicy {metadata.version('rxpolicy')}"


def test_every_subcommand_is_described_and_shows_its_defaults() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert isinstance(sub.choices, dict)
    for name, command in sub.choices.items():
        assert command.description, f"rxpolicy {name} has no description"
    serve_help = sub.choices["serve"].format_help()
    assert "(default: 15.0)" in serve_help  # --grace


def test_no_option_states_its_default_twice() -> None:
    """A help that says its default in words gets no second "(default: ...)" from argparse."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert isinstance(sub.choices, dict)
    for name, command in sub.choices.items():
        for action in command._actions:
            formatter = command._get_formatter()
            text = formatter._expand_help(action) if action.help else ""
            assert text.count("(default:") <= 1, f"rxpolicy {name} {action.option_strings}: {text!r}"
    generate = sub.choices["retro-generate"].format_help()
    assert "(default: 1000)" in " ".join(generate.split())  # --count, said once


def _failing_case(tmp_path: Path) -> Path:
    path = tmp_path / "one-failing.yaml"
    path.write_text(
        "cases:\n"
        "  - name: other diagnosis expected deny on purpose\n"
        "    request: {service_date: 2025-06-02, line_of_business: medicaid, request_type: initial,\n"
        "              diagnosis: other}\n"
        "    expect: {decision: deny}\n",
        encoding="utf-8",
    )
    return path


def test_junit_report_parses_and_counts_failures(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = _run(capsys, "test", str(OWN_CASES), str(_failing_case(tmp_path)), "--format", "junit")
    assert code == 1
    root = ET.fromstring(out)
    assert root.tag == "testsuites"
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == int(root.get("tests", "-1")) > 60
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["other diagnosis expected deny on purpose"]
    assert root.get("failures") == "1"
    message = failed[0].find("failure")
    assert message is not None and "decision: expected deny, got pend" in (message.text or "")


def test_json_report(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    code, out, _ = _run(capsys, "test", str(OWN_CASES), "--format", "json", "-o", str(report))
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert code == 0 and doc["failed"] == 0 and doc["passed"] == len(doc["cases"]) >= 60
    assert out.strip().endswith(f"{doc['passed']} passed, 0 failed (report: {report})")


def test_coverage_lists_criteria_no_case_reached(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # One continuation case under 4.5.1 (4.5.0 as corrected) reaches the continuation criteria, but none of
    # section I's, and the referral rules only as far as the first that applies.
    only = tmp_path / "one.yaml"
    only.write_text(
        "cases:\n"
        "  - name: continuation approve\n"
        "    request: {service_date: 2025-06-02, line_of_business: medicaid, request_type: continuation,\n"
        "              diagnosis: multiple_myeloma, product: selinexor, receiving_via_plan_benefit: true,\n"
        "              positive_response: true, dose_increase: false}\n"
        "    expect: {decision: approve}\n",
        encoding="utf-8",
    )
    code, out, _ = _run(capsys, "test", str(only), "--coverage", "--format", "json")
    assert code == 0
    (cov,) = json.loads(out)["coverage"]
    assert cov["version"] == "4.5.1" and cov["decisions"] == 1
    never = {c["key"] for c in cov["never_reached"]}
    assert "mm.age" in never and "bcell.dose" in never  # initial criteria: no initial case
    assert not any(key.startswith("cont.mm") for key in never)  # the continuation tree was traced
    # Every criterion reached once is seen with one result only: none is complete.
    assert cov["complete"] == 0


def test_coverage_of_the_project_cases_is_reported_per_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "test", str(OWN_CASES), "--coverage")
    assert code == 0
    lines = [line for line in out.splitlines() if line.startswith("coverage CP.PHAR.431 ")]
    assert len(lines) >= 5
    assert any("never reached" in line and not line.endswith(" 0 never reached") for line in lines)


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["4.5.0", "4.5.0"], 0),
        (["4.4.0", "4.5.0"], 1),
        (["4.4.0", "4.5.0", "--semantic"], 1),
        (["2.0.0", "9.9.9"], 2),
    ],
)
def test_diff_exit_code(capsys: pytest.CaptureFixture[str], argv: list[str], code: int) -> None:
    assert _run(capsys, "diff", *argv, "--exit-code")[0] == code


def test_diff_without_exit_code_exits_0_on_differences(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "diff", "4.4.0", "4.5.0")[0] == 0
