"""Retro-review in process: every row kept, input order, bad rows as error rows."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rxpolicy.server.cli import main
from rxpolicy.server.retro.synth import write_claims

FIXTURES = Path(__file__).parent / "retro_fixtures"
BAD_CSV = FIXTURES / "bad_rows.csv"
BAD_JSONL = FIXTURES / "bad_rows.jsonl"
CLI = "import sys; from rxpolicy.server.cli import main; sys.exit(main(sys.argv[1:]))"


def retro(*args: str) -> int:
    return main(["retro", "--no-progress", *args])


def rows_of(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def summary_of(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def claims_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("claims") / "claims.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        write_claims(f, 700, seed=11, fmt="csv", invalid_rate=0.08)
    return path


def test_csv_with_bad_rows_keeps_every_row(tmp_path: Path) -> None:
    claims = tmp_path / "bad.csv"
    # A row that is not UTF-8 must become an error row too, not stop the run.
    claims.write_bytes(
        BAD_CSV.read_bytes() + b"LATIN1-\xe9,2021-03-01,medicaid,initial,64,multiple_myeloma,,,,,,\n"
    )
    out = tmp_path / "out"
    assert retro(str(claims), "--out", str(out), "--workers", "1") == 0
    rows = {r["claim_id"]: r for r in rows_of(out / "results.csv")}
    ordered = rows_of(out / "results.csv")
    summary = summary_of(out)
    # 16 records: the blank line is not a claim, the quoted cell spans two lines.
    assert summary["rows"] == {"in": 16, "out": 16, "match": True, "blank_lines_skipped": 1}
    assert len(ordered) == 16
    assert [int(r["line"]) for r in ordered] == sorted(int(r["line"]) for r in ordered)
    assert rows["OK-FIRST"]["decision"] == "approve"
    assert rows["QUOTED,1"]["decision"] == "approve"  # the multi-line quoted cell parsed
    assert rows["PEND"]["decision"] == "pend"
    assert rows["PEND"]["missing"] == "dose_evidence_submitted"
    expected_fields = {
        "BAD-AGE": "member_age",
        "BAD-BOOL": "dose_evidence_submitted",
        "BAD-DOSES": "doses",
        "SHORT": "row",
        "BAD-DIAG": "diagnosis",
        "BAD-DATE": "service_date",
        "BAD-AGE-AND-DIAG": "member_age;diagnosis",  # one pass names every bad field
        "BAD-QUOTE": "row",
        "BAD-STRENGTH": "doses",
        "NO-DATE": "service_date",
    }
    for claim, fields in expected_fields.items():
        assert rows[claim]["decision"] == "error", claim
        assert rows[claim]["error_fields"] == fields, claim
    (no_id,) = [r for r in ordered if r["error_fields"] == "claim_id"]
    assert no_id["claim_id"] == "" and no_id["line"] == "10"
    latin = ordered[-1]
    assert latin["decision"] == "error" and latin["error_fields"] == "row"
    assert "UTF-8" in latin["errors"]
    # The line after the unbalanced quote is read again as its own record.
    assert rows["BAD-STRENGTH"]["line"] == str(int(rows["BAD-QUOTE"]["line"]) + 1)
    assert summary["errors"]["rows"] == sum(r["decision"] == "error" for r in ordered)


def test_jsonl_with_bad_lines_keeps_every_row(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert retro(str(BAD_JSONL), "--out", str(out), "--format", "jsonl", "--workers", "1") == 0
    rows = rows_of(out / "results.jsonl")
    source = [line for line in BAD_JSONL.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) == len(source)
    by_id = {r["claim_id"]: r for r in rows}
    assert by_id["J-OK"]["decision"] == "approve"
    assert by_id["J-NESTED"]["decision"] == "approve"  # {"claim_id", "request": {...}}
    assert by_id["J-BROKEN"]["error"]["fields"] == ["row"]  # claim id salvaged from a broken line
    assert by_id["J-AGE-TEXT"]["error"]["fields"] == ["member_age"]
    assert by_id["J-UNKNOWN-FACT"]["error"]["fields"] == ["diagnoses"]
    array = [r for r in rows if r["claim_id"] == "" and r["error"]["fields"] == ["row"]]
    assert array and "JSON object" in array[0]["error"]["violations"][0]["description"]
    assert summary_of(out)["rows"]["match"] is True


def test_order_preserved_with_several_workers(tmp_path: Path, claims_csv: Path) -> None:
    one, many = tmp_path / "one", tmp_path / "many"
    assert retro(str(claims_csv), "--out", str(one), "--workers", "1") == 0
    # Small chunks, three workers: chunks finish out of order and must be put back.
    assert retro(str(claims_csv), "--out", str(many), "--workers", "3", "--chunk-size", "9") == 0
    assert (one / "results.csv").read_bytes() == (many / "results.csv").read_bytes()
    rows = rows_of(many / "results.csv")
    with claims_csv.open(encoding="utf-8", newline="") as f:
        source_ids = [r["claim_id"] for r in csv.DictReader(f)]
    assert [r["claim_id"] for r in rows] == source_ids
    a, b = summary_of(one), summary_of(many)
    for s in (a, b):
        s.pop("run")
        s.pop("provenance")  # times and options: the only parts allowed to differ
    assert a == b


def test_csv_and_jsonl_of_the_same_claims_decide_alike(tmp_path: Path) -> None:
    for fmt in ("csv", "jsonl"):
        with (tmp_path / f"c.{fmt}").open("w", encoding="utf-8", newline="") as f:
            write_claims(f, 400, seed=5, fmt=fmt, invalid_rate=0.0)
        assert retro(str(tmp_path / f"c.{fmt}"), "--out", str(tmp_path / fmt), "--workers", "1") == 0
    a, b = rows_of(tmp_path / "csv" / "results.csv"), rows_of(tmp_path / "jsonl" / "results.csv")
    strip = [{k: v for k, v in r.items() if k != "line"} for r in a]
    assert strip == [{k: v for k, v in r.items() if k != "line"} for r in b]


def test_compare_to_reports_transitions(tmp_path: Path, claims_csv: Path) -> None:
    out = tmp_path / "out"
    assert retro(str(claims_csv), "--out", str(out), "--compare-to", "latest", "--format", "jsonl") == 0
    rows = rows_of(out / "results.jsonl")
    compare = summary_of(out)["compare"]
    assert compare["to"] == "4.5.1"  # 4.5.0 as corrected
    assert all(r["compare"]["version"] in ("4.5.1", None) for r in rows)
    counted: dict[str, int] = {}
    for r in rows:
        assert r["transition"] == f"{r['decision']} -> {r['compare']['decision']}"
        counted[r["transition"]] = counted.get(r["transition"], 0) + 1
    assert {t["transition"]: t["count"] for t in compare["transitions"]} == counted
    changed = sum(r["changed"] == "decision" for r in rows)
    assert compare["changed"]["decision"] == changed > 0
    assert compare["changed"]["details"] == sum(r["changed"] == "details" for r in rows)
    for label, examples in compare["examples"].items():
        for e in examples:
            row = next(r for r in rows if r["line"] == e["line"])
            assert label == f"{row['transition']} ({row['changed']})"
    # Claims decided under the latest version itself cannot change.
    assert all(r["changed"] == "" for r in rows if r["version"] == "4.5.1")


def test_compare_to_unknown_version_fails_cleanly(tmp_path: Path, claims_csv: Path, capsys: Any) -> None:
    assert retro(str(claims_csv), "--out", str(tmp_path / "o"), "--compare-to", "9.9.9") == 1
    assert "no version '9.9.9'" in capsys.readouterr().err


def test_unknown_csv_column_is_refused_unless_ignored(tmp_path: Path, capsys: Any) -> None:
    claims = tmp_path / "c.csv"
    claims.write_text(
        "claim_id,service_date,line_of_business,request_type,member_name\n"
        "X1,2025-06-02,medicaid,initial,Jane Doe\n",
        encoding="utf-8",
    )
    assert retro(str(claims), "--out", str(tmp_path / "a")) == 1
    assert "member_name" in capsys.readouterr().err
    assert retro(str(claims), "--out", str(tmp_path / "b"), "--ignore-unknown-columns", "--workers", "1") == 0
    (row,) = rows_of(tmp_path / "b" / "results.csv")
    assert row["decision"] == "pend"
    assert "Jane" not in (tmp_path / "b" / "results.csv").read_text(encoding="utf-8")


def test_no_progress_bar_in_a_pipe(tmp_path: Path) -> None:
    shutil.copy(BAD_CSV, tmp_path / "c.csv")
    done = subprocess.run(
        [sys.executable, "-c", CLI, "retro", "c.csv", "--out", "o", "--workers", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "\r" not in done.stderr and "%|" not in done.stderr
    assert "15 claims in, 15 rows out (rows in = rows out)" in done.stderr


def test_gzip_input_reads_like_plain(tmp_path: Path) -> None:
    packed = tmp_path / "bad_rows.csv.gz"
    packed.write_bytes(gzip.compress(BAD_CSV.read_bytes()))
    assert retro(str(BAD_CSV), "--out", str(tmp_path / "plain"), "--workers", "1") == 0
    assert retro(str(packed), "--out", str(tmp_path / "packed"), "--workers", "1") == 0
    plain, unpacked = tmp_path / "plain" / "results.csv", tmp_path / "packed" / "results.csv"
    assert plain.read_bytes() == unpacked.read_bytes()
