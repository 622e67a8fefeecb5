"""Adversarial claim files: each bad row is exactly one error row, every other row of its
chunk is decided, in process and through a server alike."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from grpc_fixtures import ServerProcess, running_server
from rxpolicy.server.cli import main

GOOD = {
    "service_date": "2021-03-01",
    "line_of_business": "medicaid",
    "request_type": "initial",
    "member_age": 64,
    "diagnosis": "multiple_myeloma",
    "prescriber_specialty": "oncology",
    "disease_status": "relapsed",
    "combination": ["bortezomib", "dexamethasone"],
    "prior_therapies": [["lenalidomide", "dexamethasone"]],
    "doses": [{"tablets": 5, "strength_mg": 20}],
}
GOOD_CSV_HEADER = (
    b"claim_id,service_date,line_of_business,request_type,member_age,diagnosis,"
    b"prescriber_specialty,disease_status,combination,prior_therapies,doses\n"
)


def good_json(claim_id: str) -> bytes:
    return json.dumps({"claim_id": claim_id, **GOOD}).encode() + b"\n"


def good_csv(claim_id: str) -> bytes:
    return (
        f"{claim_id},2021-03-01,medicaid,initial,64,multiple_myeloma,oncology,relapsed,"
        "bortezomib;dexamethasone,lenalidomide+dexamethasone,5x20\n"
    ).encode()


def _deep(levels: int) -> bytes:
    return (
        b'{"claim_id": "DEEP", "service_date": "2021-03-01", "x": ' + b"[" * levels + b"]" * levels + b"}\n"
    )


# name -> (the bad line, the claim id its error row must carry, a field the error names)
JSON_CASES: dict[str, tuple[bytes, str, str]] = {
    "nested_1000_deep": (_deep(1000), "DEEP", "row"),
    "nested_100_deep": (_deep(100), "DEEP", "x"),
    "lone_surrogate": (
        json.dumps({"claim_id": "SURR", **GOOD, "diagnosis": "\\ud800"})
        .encode()
        .replace(b"\\\\ud800", b"\\ud800")
        + b"\n",
        "SURR",
        "diagnosis",
    ),
    "lone_surrogate_claim_id": (b'{"claim_id": "\\udc00", "service_date": "2021-03-01"}\n', "", "claim_id"),
    "surrogate_key": (b'{"claim_id": "SKEY", "service_date": "2021-03-01", "\\ud800": 1}\n', "SKEY", "row"),
    "binary_garbage": (b"\x00\xff\xfe\x80garbage\x9c\x00\n", "", "row"),
    "claim_id_object": (
        json.dumps({"claim_id": {"member": "Jane Doe"}, **GOOD}).encode() + b"\n",
        "",
        "claim_id",
    ),
    "claim_id_true": (json.dumps({"claim_id": True, **GOOD}).encode() + b"\n", "", "claim_id"),
    "nan": (b'{"claim_id": "NAN", "service_date": "2021-03-01", "member_age": NaN}\n', "NAN", "row"),
}


def retro(*args: str) -> int:
    return main(["retro", "--no-progress", *args])


def results(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]


def summary(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from running_server(tmp_path_factory)


@pytest.fixture(params=["in process", "server"])
def mode(request: pytest.FixtureRequest) -> list[str]:
    if request.param == "server":
        srv: ServerProcess = request.getfixturevalue("server")
        return ["--server", srv.target, "--workers", "1"]
    return ["--workers", "1"]


def check_one_error(out: Path, bad_line: int, claim_id: str, field: str, total: int) -> dict[str, Any]:
    rows = results(out)
    assert len(rows) == total
    s = summary(out)
    assert s["rows"]["in"] == s["rows"]["out"] == total and s["rows"]["match"]
    errors = [r for r in rows if r["decision"] == "error"]
    assert [r["line"] for r in errors] == [bad_line]
    (bad,) = errors
    assert bad["claim_id"] == claim_id
    assert any(f == field or f.startswith(field + "[") for f in bad["error"]["fields"]), bad["error"]
    assert s["errors"]["internal"] == 0  # invalid input, not a bug
    assert all(r["decision"] == "approve" for r in rows if r["line"] != bad_line)
    return bad


@pytest.mark.parametrize("case", sorted(JSON_CASES))
def test_bad_json_line_is_one_error_row(tmp_path: Path, mode: list[str], case: str) -> None:
    line, claim_id, field = JSON_CASES[case]
    claims = tmp_path / "claims.jsonl"
    claims.write_bytes(good_json("A1") + good_json("A2") + line + good_json("A3") + good_json("A4"))
    out = tmp_path / "out"
    assert retro(str(claims), "--out", str(out), "--format", "jsonl", *mode) == 0
    check_one_error(out, 3, claim_id, field, 5)


def test_truncated_last_line(tmp_path: Path, mode: list[str]) -> None:
    claims = tmp_path / "claims.jsonl"
    claims.write_bytes(good_json("A1") + good_json("A2") + b'{"claim_id": "TRUNC", "service_da')
    out = tmp_path / "out"
    assert retro(str(claims), "--out", str(out), "--format", "jsonl", *mode) == 0
    bad = check_one_error(out, 3, "TRUNC", "row", 3)
    assert "not valid JSON" in bad["error"]["violations"][0]["description"]


def test_binary_garbage_csv_row_keeps_its_claim_id(tmp_path: Path, mode: list[str]) -> None:
    claims = tmp_path / "claims.csv"
    garbage = b"GARB,2021-03-01,medic\xff\xfeaid,initial,64,\x80,,,,,\n"
    claims.write_bytes(GOOD_CSV_HEADER + good_csv("A1") + garbage + good_csv("A2"))
    out = tmp_path / "out"
    assert retro(str(claims), "--out", str(out), "--format", "jsonl", *mode) == 0
    bad = check_one_error(out, 3, "GARB", "row", 3)
    assert "UTF-8" in bad["error"]["violations"][0]["description"]


def test_carriage_return_inside_a_csv_row_is_a_plain_error(tmp_path: Path, mode: list[str]) -> None:
    claims = tmp_path / "claims.csv"
    claims.write_bytes(
        GOOD_CSV_HEADER + good_csv("A1") + b"CR1,2021-03-01,medicaid\rinitial,,,,,,,\n" + good_csv("A2")
    )
    out = tmp_path / "out"
    assert retro(str(claims), "--out", str(out), "--format", "jsonl", *mode) == 0
    bad = check_one_error(out, 3, "CR1", "row", 3)
    description = bad["error"]["violations"][0]["description"]
    assert "carriage return" in description and "universal-newline" not in description


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_cr_only_line_endings_are_refused_plainly(tmp_path: Path, fmt: str, capsys: Any) -> None:
    claims = tmp_path / f"claims.{fmt}"
    body = (
        GOOD_CSV_HEADER + good_csv("A1") + good_csv("A2")
        if fmt == "csv"
        else good_json("A1") + good_json("A2")
    )
    claims.write_bytes(body.replace(b"\n", b"\r"))
    assert retro(str(claims), "--out", str(tmp_path / "out"), "--workers", "1") == 1
    err = capsys.readouterr().err
    assert "carriage return (CR) alone" in err and "Traceback" not in err


def test_crlf_line_endings_are_read(tmp_path: Path) -> None:
    claims = tmp_path / "claims.csv"
    claims.write_bytes((GOOD_CSV_HEADER + good_csv("A1") + good_csv("A2")).replace(b"\n", b"\r\n"))
    out = tmp_path / "out"
    assert retro(str(claims), "--out", str(out), "--workers", "1", "--format", "jsonl") == 0
    assert [r["decision"] for r in results(out)] == ["approve", "approve"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_duplicate_claim_ids_are_reported(tmp_path: Path, fmt: str, capsys: Any) -> None:
    claims = tmp_path / f"claims.{fmt}"
    good = good_csv if fmt == "csv" else good_json
    ids = ["D1", "D2", "D1", "D3", "D2", "D1"]
    claims.write_bytes((GOOD_CSV_HEADER if fmt == "csv" else b"") + b"".join(good(i) for i in ids))
    out = tmp_path / "out"
    # Small chunks: the repeats are found across chunks as well as inside one.
    assert retro(str(claims), "--out", str(out), "--workers", "1", "--chunk-size", "2") == 0
    first = 2 if fmt == "csv" else 1  # the line of the first claim
    dup = summary(out)["duplicates"]
    assert dup == {"rows": 3, "claim_ids": 2, "first_lines": [first + 2, first + 4, first + 5]}
    assert "3 rows repeat a claim id" in capsys.readouterr().err
    with (out / "results.csv").open(encoding="utf-8", newline="") as f:
        assert [r["decision"] for r in csv.DictReader(f)] == ["approve"] * 6  # each still decided
    text = (out / "summary.json").read_text(encoding="utf-8") + (out / "report.html").read_text(
        encoding="utf-8"
    )
    assert "D1" not in text and "D2" not in text


def test_many_bad_rows_in_one_chunk_each_alone(tmp_path: Path, mode: list[str]) -> None:
    """Every adversarial line in one chunk, between good ones: the good ones all decide."""
    claims = tmp_path / "claims.jsonl"
    lines = [good_json("G0")]
    for i, (line, _claim, _field) in enumerate(JSON_CASES.values()):
        lines += [line, good_json(f"G{i + 1}")]
    claims.write_bytes(b"".join(lines))
    out = tmp_path / "out"
    assert retro(str(claims), "--out", str(out), "--format", "jsonl", *mode) == 0
    rows = results(out)
    assert len(rows) == len(lines)
    assert [r["decision"] for r in rows[::2]] == ["approve"] * (len(JSON_CASES) + 1)
    assert all(r["decision"] == "error" for r in rows[1::2])


def test_error_rows_say_which_value_was_wrong(tmp_path: Path) -> None:
    claims = tmp_path / "claims.csv"
    claims.write_bytes(
        GOOD_CSV_HEADER
        + b"V1,2021-03-01,medicaid,initial,sixty-four,multiple_myeloma,oncology,relapsed,,,5x20\n"
        + b"V2,2021-03-01,medicaid,initial,64,Jane Doe 1961-02-03,oncology,relapsed,,,5x20\n"
    )
    out = tmp_path / "out"
    assert retro(str(claims), "--out", str(out), "--workers", "1") == 0
    with (out / "results.csv").open(encoding="utf-8", newline="") as f:
        rows = {r["claim_id"]: r for r in csv.DictReader(f)}
    assert "(got 'sixty-four')" in rows["V1"]["errors"]
    assert "Jane Doe 1961-02-03" in rows["V2"]["errors"]  # the result row holds the claim anyway
    aggregate = (out / "summary.json").read_text(encoding="utf-8") + (out / "report.html").read_text(
        encoding="utf-8"
    )
    assert "sixty-four" not in aggregate and "Jane" not in aggregate and "1961-02-03" not in aggregate
