"""Splitting CSV into records: a stray quote never joins claim rows into one record."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from rxpolicy.server.cli import main
from rxpolicy.server.retro.records import MAX_RECORD_LINES, RecordReader
from rxpolicy.server.retro.worker import _RecordParser

FIXTURES = Path(__file__).parent / "retro_fixtures"
STRAY = FIXTURES / "stray_quotes.csv"
HEADER = b"claim_id,service_date,member_age\n"


def records(data: bytes, columns: int | None = 3) -> list[tuple[int, bytes]]:
    reader = RecordReader(io.BytesIO(data), "csv")
    it = iter(reader)
    header = next(it)
    assert header == (1, data.splitlines(keepends=True)[0])
    reader.columns = columns
    return list(it)


def test_stray_quotes_keep_every_physical_row(tmp_path: Path) -> None:
    # The reproduced file: a stray quote on A1's row and another on A4's, three rows
    # later. Quote parity alone joined A1, B2, B3 and A4 into one record (one error row,
    # no claim id) and "rows in = rows out" still held while B2 and B3 were lost.
    out = tmp_path / "out"
    assert main(["retro", "--no-progress", str(STRAY), "--out", str(out), "--workers", "1"]) == 0
    with (out / "results.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["line"], r["claim_id"]) for r in rows] == [
        ("2", "BEFORE"),
        ("3", ""),  # A1": not read plainly, so no claim id is guessed
        ("4", "B2"),
        ("5", "B3"),
        ("6", "A4"),
        ("7", "QUOTED,2"),  # a proper quoted cell spanning lines 7-8 is still one record
        ("9", "AFTER"),
    ]
    by_line = {r["line"]: r for r in rows}
    assert by_line["4"]["decision"] == "approve"
    assert by_line["5"]["decision"] == "pend"  # B3: 80 mg twice a week, evidence unknown
    assert by_line["5"]["missing"] == "dose_evidence_submitted"
    for line in ("3", "6"):
        assert by_line[line]["decision"] == "error"
        assert by_line[line]["error_fields"] == "row"
        assert "quote" in by_line[line]["errors"]
    assert by_line["7"]["decision"] == by_line["9"]["decision"] == "approve"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["rows"]["in"] == summary["rows"]["out"] == 7


def test_proper_multiline_cell_is_one_record() -> None:
    data = HEADER + b'A,"2021-\n03-01",64\nB,2021-03-01,64\n'
    assert records(data) == [(2, b'A,"2021-\n03-01",64\n'), (4, b"B,2021-03-01,64\n")]


def test_joined_record_of_wrong_width_is_cut_back() -> None:
    data = HEADER + b'A,"x,1\nB,y",1,2\nC,z,3\n'
    # Joined, A and B read as one record of 4 cells: cut back, B read again.
    assert [n for n, _ in records(data)] == [2, 3, 4]


def test_stray_quotes_that_happen_to_give_the_header_width_still_split() -> None:
    # A quote opening A1's claim id and one closing A4's: joined, the four lines read as
    # one valid record of exactly the header's width. The complete rows inside it give
    # the stray quotes away.
    data = HEADER + b'"A1,2021-03-01,64\nB2,2021-03-01,64\nB3,2021-03-01,64\nA4",2021-03-01,64\n'
    assert [n for n, _ in records(data)] == [2, 3, 4, 5]


def test_unbalanced_quote_at_the_limit_is_cut_back() -> None:
    body = b"".join(b"R%d,2021-03-01,64\n" % i for i in range(MAX_RECORD_LINES + 5))
    data = HEADER + b'X,"2021-03-01,64\n' + body
    got = records(data)
    assert len(got) == MAX_RECORD_LINES + 6
    assert got[0] == (2, b'X,"2021-03-01,64\n')
    assert [n for n, _ in got] == list(range(2, MAX_RECORD_LINES + 8))


ODD_RECORDS = [
    "a,b,c\n",
    "",
    "\n",
    'a,"b\nc",d\n',
    'a,"b\n',
    "a\nb\n",
    'x,"y"z\n',
    '"a""b",c',
    "a,b\r\n",
    "a\rb",
    'q,"never closed',
    "\x00,a\n",
    "x" * 140_000,
    "ok,1\n",
]


def _read_alone(text: str) -> tuple[str, object]:
    try:
        return "row", next(csv.reader([text], strict=True))
    except StopIteration:
        return "none", None
    except csv.Error as exc:
        return "error", str(exc)


def _read_shared(parser: _RecordParser, text: str) -> tuple[str, object]:
    try:
        return "row", parser.read(text)
    except StopIteration:
        return "none", None
    except csv.Error as exc:
        return "error", str(exc)


def test_one_reader_reads_each_record_as_a_reader_of_its_own_would() -> None:
    # A worker reads every record through one csv reader; a record that fails, or holds
    # a line break, must not change how the next one reads.
    parser = _RecordParser()
    for text in ODD_RECORDS + list(reversed(ODD_RECORDS)):
        assert _read_shared(parser, text) == _read_alone(text), repr(text[:40])
