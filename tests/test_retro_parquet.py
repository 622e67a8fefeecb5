"""Parquet claims and results in process: typed columns both ways, the same decisions as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import pytest

pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install 'rxpolicy[parquet]')")
pq = pytest.importorskip("pyarrow.parquet")

from rxpolicy.server.cli import main  # noqa: E402
from rxpolicy.server.retro import parquet  # noqa: E402
from rxpolicy.server.retro.synth import COLUMNS, synthetic_claims, write_claims  # noqa: E402

COUNT = 1500
SEED = 21
INVALID = 0.08


def retro(*args: str) -> int:
    return main(["retro", "--no-progress", "--workers", "1", *args])


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def summary_of(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    data.pop("run")
    data.pop("provenance")  # times and options differ by design
    return data


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("claims")
    paths = {fmt: root / f"claims.{fmt}" for fmt in ("csv", "jsonl")}
    for fmt, path in paths.items():
        with path.open("w", encoding="utf-8", newline="") as f:
            write_claims(f, COUNT, SEED, fmt, INVALID)
    paths["parquet"] = root / "claims.parquet"
    assert main(["retro-generate", "-n", str(COUNT), "-s", str(SEED), "--invalid-rate", str(INVALID),
                 "-o", str(paths["parquet"])]) == 0  # fmt: skip
    return paths


def test_generated_claims_have_typed_columns_and_round_trip(claims: dict[str, Path]) -> None:
    table = pq.read_table(claims["parquet"])
    schema = table.schema
    assert schema.field("member_age").type == pa.int64()
    assert schema.field("specialist_consulted").type == pa.bool_()
    assert schema.field("combination").type == pa.list_(pa.string())
    assert schema.field("prior_therapies").type == pa.list_(pa.list_(pa.string()))
    dose = pa.struct([("tablets", pa.int64()), ("strength_mg", pa.int64())])
    assert schema.field("doses").type == pa.list_(dose)
    assert claims["parquet"].stat().st_mode & 0o777 == 0o600  # member data
    rows = table.to_pylist()
    assert len(rows) == COUNT
    for row, claim in zip(rows, synthetic_claims(COUNT, SEED, INVALID), strict=True):
        if claim.corruption:
            continue  # spoiled the way a typed table can be (see parquet.write_claims)
        assert row["claim_id"] == claim.claim_id
        # Every fact as written, a null where the claim left it unknown.
        assert {name: row[name] for name, _ in COLUMNS} == {
            name: claim.request.get(name) for name, _ in COLUMNS
        }


def test_parquet_claims_decide_like_json_lines(tmp_path: Path, claims: dict[str, Path]) -> None:
    outs = {fmt: tmp_path / fmt for fmt in ("jsonl", "parquet")}
    for fmt, out in outs.items():
        assert retro(str(claims[fmt]), "--out", str(out), "--compare-to", "latest") == 0
    jsonl, table = csv_rows(outs["jsonl"] / "results.csv"), csv_rows(outs["parquet"] / "results.csv")
    assert len(table) == COUNT
    assert [int(r["line"]) for r in table] == list(range(1, COUNT + 1))  # line = row number
    spoiled = {i for i, c in enumerate(synthetic_claims(COUNT, SEED, INVALID)) if c.corruption}
    assert spoiled  # the comparison below must skip some rows, and only those
    same = 0
    for i, (a, b) in enumerate(zip(jsonl, table, strict=True)):
        if i in spoiled:
            assert b["decision"] == "error"
            continue
        assert a == b, i
        same += 1
    assert same == COUNT - len(spoiled)
    assert {r["decision"] for r in table} == {"approve", "deny", "pend", "refer", "error"}
    summary = summary_of(outs["parquet"])
    assert summary["input"]["format"] == "parquet"
    assert summary["rows"] == {"in": COUNT, "out": COUNT, "match": True, "blank_lines_skipped": 0}


def _as_csv_cells(row: dict[str, Any]) -> dict[str, str]:
    cells: dict[str, str] = {}
    for name, value in row.items():
        base = name.removeprefix("compare_")
        if base == "errors":
            cells[name] = " | ".join(f"{v['field']}: {v['description']}" for v in value)
        elif isinstance(value, list):
            cells[name] = ";".join(value)
        else:
            cells[name] = "" if value is None else str(value)
    return cells


def test_parquet_results_hold_the_csv_results_typed(tmp_path: Path, claims: dict[str, Path]) -> None:
    out_csv, out_pq = tmp_path / "csv", tmp_path / "pq"
    assert retro(str(claims["csv"]), "--out", str(out_csv), "--compare-to", "2021-01-06") == 0
    assert (
        retro(str(claims["csv"]), "--out", str(out_pq), "--compare-to", "2021-01-06", "--format", "parquet")
        == 0
    )
    path = out_pq / "results.parquet"
    assert path.stat().st_mode & 0o777 == 0o600
    table = pq.read_table(path)
    assert table.schema.field("unmet").type == pa.list_(pa.string())
    assert table.schema.field("errors").type == pa.list_(
        pa.struct([("field", pa.string()), ("description", pa.string())])
    )
    assert table.schema.names == list(csv_rows(out_csv / "results.csv")[0])
    typed = table.to_pylist()
    assert [_as_csv_cells(r) for r in typed] == csv_rows(out_csv / "results.csv")
    errors = [r for r in typed if r["decision"] == "error"]
    assert errors and all(r["errors"] and r["error_fields"] for r in errors)
    a, b = summary_of(out_csv), summary_of(out_pq)
    assert b.pop("output") == {"results": "results.parquet", "format": "parquet"}
    a.pop("output")
    assert a == b


def test_typed_cells_null_empty_and_wrong(tmp_path: Path) -> None:
    myeloma = {
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
    rows = [
        {"claim_id": "OK", "service_date": dt.date(2021, 3, 1), **myeloma},  # a Parquet date
        {"claim_id": "UNKNOWN-AGE", "service_date": dt.date(2021, 3, 1), **myeloma, "member_age": None},
        {"claim_id": "NO-PRIOR", "service_date": dt.date(2021, 3, 1), **myeloma, "prior_therapies": []},
        {
            "claim_id": "NULL-TABLETS",
            "service_date": dt.date(2021, 3, 1),
            **myeloma,
            "doses": [{"tablets": None, "strength_mg": 20}],
        },
        {"claim_id": None, "service_date": dt.date(2021, 3, 1), **myeloma},
    ]
    path = tmp_path / "typed.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    # The same claims as JSON lines, written by hand: a null is a fact left out.
    twin = tmp_path / "typed.jsonl"
    twin.write_text(
        "".join(
            json.dumps(
                {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in r.items() if v is not None}
            )
            + "\n"
            for r in rows
        )
    )
    results = {}
    for name in (path, twin):
        out = tmp_path / name.suffix[1:]
        assert retro(str(name), "--out", str(out), "--format", "jsonl") == 0
        results[name.suffix] = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert results[".parquet"] == results[".jsonl"]
    got = {r["claim_id"] or "(none)": r for r in results[".parquet"]}
    assert got["OK"]["decision"] == "approve"
    assert got["OK"]["service_date"] == "2021-03-01"
    assert got["UNKNOWN-AGE"]["decision"] == "pend"  # null is an unknown fact
    assert got["UNKNOWN-AGE"]["missing"] == ["member_age"]
    assert got["NO-PRIOR"]["decision"] != "pend"  # an empty list is a known "none"
    assert got["NULL-TABLETS"]["decision"] == "error"
    assert got["NULL-TABLETS"]["error"]["fields"] == ["doses"]
    assert got["(none)"]["error"]["fields"] == ["claim_id"]


def test_parquet_header_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = {"claim_id": ["A"], "service_date": ["2021-03-01"]}
    unknown = tmp_path / "unknown.parquet"
    pq.write_table(pa.table({**base, "diagnoses": ["multiple_myeloma"]}), unknown)
    assert retro(str(unknown), "--out", str(tmp_path / "o1")) == 1
    assert "unknown column(s) diagnoses" in capsys.readouterr().err
    assert retro(str(unknown), "--out", str(tmp_path / "o2"), "--ignore-unknown-columns") == 0
    assert "ignoring column(s) diagnoses" in capsys.readouterr().err
    no_id = tmp_path / "no_id.parquet"
    pq.write_table(pa.table({"service_date": ["2021-03-01"]}), no_id)
    assert retro(str(no_id), "--out", str(tmp_path / "o3")) == 1
    assert "no claim_id column" in capsys.readouterr().err
    not_parquet = tmp_path / "text.parquet"
    not_parquet.write_text("claim_id\nA\n")
    assert retro(str(not_parquet), "--out", str(tmp_path / "o4")) == 1
    assert "not a readable Parquet file" in capsys.readouterr().err


def test_parquet_found_by_its_magic_and_not_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "claims.data"
    assert parquet.write_claims(path, 50, seed=1, invalid_rate=0.0) == 50
    assert retro(str(path), "--out", str(tmp_path / "out")) == 0
    assert summary_of(tmp_path / "out")["input"]["format"] == "parquet"
    assert main(["retro-generate", "-n", "5", "--format", "parquet"]) == 1
    assert "standard output" in capsys.readouterr().err


def test_without_pyarrow_the_message_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "pyarrow" or m.startswith("pyarrow.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now raises ImportError
    with pytest.raises(parquet.ParquetUnavailable, match=r"pip install 'rxpolicy\[parquet\]'"):
        parquet.pyarrow()
