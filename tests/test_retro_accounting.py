"""The row checks: per chunk as it comes back (an internal error), and at the end of the
run against the rows actually in the results file (exit 3)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
from rxpolicy.server.cli import main
from rxpolicy.server.retro import worker
from rxpolicy.server.retro.results import count_rows, format_rows
from rxpolicy.server.retro.synth import write_claims

FIXTURES = Path(__file__).parent / "retro_fixtures"


def retro(*args: str) -> int:
    return main(["retro", "--no-progress", *args])


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_rows_in_the_file_are_counted_back(tmp_path: Path, fmt: str) -> None:
    claims = tmp_path / "c.csv"
    # A claim id spanning two lines: its CSV result row has a line break inside and
    # still counts once.
    claims.write_bytes((FIXTURES / "bad_rows.csv").read_bytes() + b'"TWO\nLINES",2021-03-01,,,,,,,,,,\n')
    out = tmp_path / "o"
    assert retro(str(claims), "--out", str(out), "--format", fmt, "--workers", "1") == 0
    results = out / f"results.{fmt}"
    assert b"TWO\nLINES" in results.read_bytes() or b"TWO\\nLINES" in results.read_bytes()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["rows"]["in"] == summary["rows"]["out"] == count_rows(results, fmt) == 16


def test_row_lost_on_the_way_to_the_file_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    claims = tmp_path / "c.csv"
    with claims.open("w", encoding="utf-8", newline="") as f:
        write_claims(f, 30, seed=3, fmt="csv", invalid_rate=0.0)

    def lossy(rows: Sequence[Any], fmt: Any, compare: bool) -> bytes:
        return format_rows(rows[:-1], fmt, compare)  # the chunk still reports every row

    monkeypatch.setattr(worker, "format_rows", lossy)
    out = tmp_path / "o"
    assert retro(str(claims), "--out", str(out), "--workers", "1", "--chunk-size", "10") == 3
    err = capsys.readouterr().err
    assert "ROW COUNT MISMATCH" in err
    assert "30 claims read, 27 rows in the results file, 30 rows in the summary" in err
    assert not (out / "results.csv").exists()
    assert count_rows(out / "results.csv.partial", "csv") == 27
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["rows"]["in"] == 30 and summary["rows"]["out"] == 27
    assert summary["rows"]["match"] is False
    assert summary["output"]["results"] == "results.csv.partial"
    assert "ROW COUNT MISMATCH" in (out / "report.html").read_text(encoding="utf-8")


def test_chunk_with_wrong_row_count_is_an_internal_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    real = worker.ChunkProcessor.process

    def short(self: worker.ChunkProcessor, chunk: Any) -> worker.ChunkResult:
        return attrs.evolve(real(self, chunk), rows=len(chunk.records) - 1)

    monkeypatch.setattr(worker.ChunkProcessor, "process", short)
    out = tmp_path / "o"
    assert retro(str(FIXTURES / "bad_rows.csv"), "--out", str(out), "--workers", "1") == 1
    assert "internal error: chunk 0 (15 records) came back" in capsys.readouterr().err
    assert not (out / "results.csv").exists()
    assert (out / "results.csv.partial").exists()
