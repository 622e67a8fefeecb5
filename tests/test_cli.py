"""The rxpolicy command, run in process."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURE_POLICIES, REPO, SHARED_CASES, needs_shared
from rxpolicy.server.cli import main
from rxpolicy.server.formats.yaml_dump import dump_version


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_evaluate_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "evaluate", str(REPO / "examples" / "mm-bvd-2025.yaml"))
    result = json.loads(out)
    assert code == 0
    assert result["decision"] == "approve"
    assert result["approved_through"] == "2025-12-01"
    assert result["content_hash"].startswith("sha256:")


def test_evaluate_explain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "evaluate", "--explain", str(REPO / "examples" / "dlbcl-pend.json"))
    assert code == 0
    assert out.startswith("PEND under CP.PHAR.431 version 4.4.2")  # the latest correction of 4.4.0
    assert "member_age, generic_available, generic_contraindicated" in out
    assert "[?] I.B.3 \u201cAge" in out


def test_evaluate_invalid_request_exits_2_naming_the_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    request = tmp_path / "r.yaml"
    request.write_text(
        "service_date: 2025-01-01\nline_of_business: medicaid\nrequest_type: initial\nmember_age: -4\n"
    )
    code, out, _ = _run(capsys, "evaluate", str(request))
    assert code == 2
    assert json.loads(out)["error"]["fields"] == ["member_age"]


def test_evaluate_unreadable_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = _run(capsys, "evaluate", str(tmp_path / "none.yaml"))
    assert code == 1 and "cannot read" in err


@needs_shared
def test_test_command_passes_the_shared_cases(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "test", str(SHARED_CASES))
    assert code == 0
    assert out.strip().splitlines()[-1].endswith(" passed, 0 failed")


def test_test_command_reports_expected_vs_got(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "cases:\n"
        "  - name: wrong-on-purpose\n"
        "    request: {service_date: 2025-06-02, line_of_business: medicaid, request_type: initial,\n"
        "              diagnosis: other, label_change_within_6_months: false}\n"
        "    expect: {decision: approve, refer_to: CP.PMN.16}\n"
        "  - name: right\n"
        "    request: {service_date: 2025-06-02, line_of_business: medicaid, request_type: initial,\n"
        "              diagnosis: other, label_change_within_6_months: false}\n"
        "    expect: {decision: refer, refer_to: CP.PMN.53}\n"
    )
    code, out, _ = _run(capsys, "test", str(cases))
    assert code == 1
    assert "FAIL cases.yaml::wrong-on-purpose" in out
    assert "decision: expected approve, got refer" in out
    assert "refer_to: expected CP.PMN.16, got CP.PMN.53" in out
    assert out.strip().splitlines()[-1] == "1 passed, 1 failed"


def test_test_command_rejects_a_broken_case_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text("cases:\n  - name: x\n    request: {}\n")
    code, _, err = _run(capsys, "test", str(cases))
    assert code == 1 and "'expect' needs a decision or an error" in err


def test_versions_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "versions")
    assert code == 0 and out.count("locked") == 11
    code, out, _ = _run(capsys, "show", "2021-12-01")
    # 3.0.2 corrects 3.0.1, the correction of 3.0.0 (the B-cell dose limit in the revision
    # log's words; then the policy's words in every text, paraphrases as glosses)
    assert code == 0 and "version 3.0.2, in force from 2021-11-24" in out and "I.A.4" in out
    code, out, _ = _run(capsys, "show", "4.5.0", "--json")
    assert json.loads(out)["strengths_mg"] == [10, 20, 40, 50, 60]
    code, _, err = _run(capsys, "show", "7.0.0")
    assert code == 1 and "no version '7.0.0'" in err


def test_lint_passes_on_the_packaged_versions(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "lint")
    # eleven versions and 21 corrections, every one well formed and its semver proved
    assert code == 0 and "32 versions checked, 0 problems" in out and "21 corrections" in out
    assert "warning" not in out


def test_new_version_lint_and_lock_workflow(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = tmp_path / "policies"
    shutil.copytree(FIXTURE_POLICIES, root)
    code, out, _ = _run(
        capsys,
        "new-version",
        "--policies",
        str(root),
        "--effective",
        "2025-02-01",
        "--log",
        "Annual review: no changes.",
        "--version",
        "1.1.1",
    )
    assert code == 0, out
    new_file = root / "XX.DEMO.7" / "2025-02-01.yaml"
    assert new_file.exists() and "version: 1.1.1" in new_file.read_text()
    assert "provenance: draft" in new_file.read_text()
    code, out, _ = _run(capsys, "lint", "--policies", str(root))
    assert code == 1 and "placeholder" in out and "draft 1.1.1, not published" in out
    doc = yaml.safe_load(new_file.read_text())
    doc["semver_reasoning"] = "PATCH: an annual review with no change to the criteria."
    new_file.write_text(dump_version(doc))
    code, out, _ = _run(capsys, "lint", "--policies", str(root))
    assert code == 0 and "1 warning" in out and "1 warnings" not in out, out
    code, out, _ = _run(capsys, "lock", "--policies", str(root))
    assert code == 0 and "locked XX.DEMO.7/2025-02-01.yaml" in out
    assert "provenance: published" in new_file.read_text()
    code, out, _ = _run(capsys, "versions", "--policies", str(root))
    assert "1.1.1" in out
    code, _, err = _run(
        capsys, "new-version", "--policies", str(root), "--effective", "2020-01-01", "--log", "too early"
    )
    assert code == 1 and "must be after" in err


def test_lock_refuses_a_version_lint_rejects(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = tmp_path / "policies"
    shutil.copytree(FIXTURE_POLICIES, root)
    code, _, _ = _run(
        capsys,
        "new-version",
        "--policies",
        str(root),
        "--effective",
        "2025-02-01",
        "--log",
        "No change, but called MINOR.",
        "--version",
        "1.2.0",
    )
    assert code == 0
    code, _, err = _run(capsys, "lock", "--policies", str(root))
    assert code == 1 and "not publishing" in err and "write `version: 1.1.1`" in err
    assert "2025-02-01.yaml" not in (root / "XX.DEMO.7" / "versions.lock").read_text()


def test_lint_of_a_directory_without_versions_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = _run(capsys, "lint", "--policies", str(tmp_path))
    assert code == 1 and "holds no policy version files" in out


@pytest.mark.parametrize(
    "argv",
    [
        ("evaluate", "{bin}"),
        ("test", "{bin}"),
        ("diff", "2.0.0", "2.1.0", "-o", "{tmp}/missing/dir/x.txt"),
        ("diff", "2.0.0", "2.1.0", "-o", "{tmp}"),
        ("lock", "--policies", "{tmp}/nowhere"),
        ("new-version", "--policies", "{tmp}/nowhere", "--effective", "2030-01-01", "--log", "x"),
    ],
)
def test_bad_paths_and_files_are_messages_not_tracebacks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: tuple[str, ...]
) -> None:
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    args = [a.format(bin=binary, tmp=tmp_path) for a in argv]
    code, _, err = _run(capsys, *args)
    assert code == 1
    assert err.startswith("rxpolicy: ") and "Traceback" not in err


def test_counts_are_worded_in_the_singular_for_one() -> None:
    from rxpolicy.server.cli.common import counted

    assert [counted(n, "problem") for n in (0, 1, 2)] == ["0 problems", "1 problem", "2 problems"]
