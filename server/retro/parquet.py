"""Parquet claims in and Parquet results out, with typed columns (pyarrow).

A Parquet claim file is a table whose columns are ``claim_id`` and request facts,
each in its natural type: text, whole numbers, true/false, dates (text or a Parquet
date), lists of agents as lists of text, ``prior_therapies`` as a list of lists and
``doses`` as a list of ``{tablets, strength_mg}`` structs. A null is an unknown fact
(like an empty CSV cell), an empty list a known empty list.

Each row is turned into the JSON-lines record of the same claim (nulls left out), so a
Parquet claim is read, checked and decided by exactly the code that decides a JSON
line: the two can never disagree. The header rules are the CSV ones (``claim_id``
required, unknown columns refused unless ignored), checked on the schema before any
row. Results are the rows the workers made (``results.make_row``), written with the
CSV columns typed: lists as lists, each error as ``{field, description}`` structs.

pyarrow is imported only here and only when Parquet is used: the service and the CSV
and JSON-lines retro-review need none of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from ..engine.model import FactType
from .columns import CLAIM_ID, HeaderError, layout
from .records import Position
from .results import BASE_COLUMNS, COMPARE_COLUMNS, OUTCOME_COLUMNS, Row

# What a claim file or a results file may be; the workers only ever see CSV or JSON lines.
ClaimsFormat = Literal["csv", "jsonl", "parquet"]
ResultsFormat = Literal["csv", "jsonl", "parquet"]

PARQUET_SUFFIXES = (".parquet", ".pq")
MAGIC = b"PAR1"
BATCH_ROWS = 10_000  # rows read per batch (one retro chunk or more)
ROW_GROUP_ROWS = 100_000  # rows per row group written
MISSING = (
    "Parquet needs pyarrow, which is not installed: pip install 'rxpolicy[parquet]' "
    "(or 'rxpolicy[spark]' for --engine spark)"
)


class ParquetUnavailable(Exception):
    """pyarrow is not installed; the message says what to install."""


def pyarrow() -> Any:
    """The pyarrow module, or ParquetUnavailable with the install command."""
    try:
        import pyarrow as pa
        import pyarrow.parquet
    except ImportError:
        raise ParquetUnavailable(MISSING) from None
    return pa


def is_parquet(path: str, first_bytes: bytes = b"") -> bool:
    return path.lower().endswith(PARQUET_SUFFIXES) or first_bytes.startswith(MAGIC)


# ------------------------------------------------------------------ claims: types


def _dose_type(pa: Any) -> Any:
    return pa.struct([("tablets", pa.int64()), ("strength_mg", pa.int64())])


def arrow_type(kind: FactType) -> Any:
    """The Parquet column type of a fact, as written by retro-generate."""
    pa = pyarrow()
    return {
        "date": pa.string(),  # text, so an impossible date stays what the claim said
        "enum": pa.string(),
        "int": pa.int64(),
        "bool": pa.bool_(),
        "terms": pa.list_(pa.string()),
        "lines": pa.list_(pa.list_(pa.string())),
        "doses": pa.list_(_dose_type(pa)),
    }[kind]


def claims_schema(columns: Sequence[tuple[str, FactType]]) -> Any:
    pa = pyarrow()
    return pa.schema([(CLAIM_ID, pa.string()), *((name, arrow_type(kind)) for name, kind in columns)])


# ------------------------------------------------------------------ claims: reading


def fact_columns(names: Sequence[str], types: Mapping[str, FactType], *, ignore_unknown: bool) -> list[str]:
    """The columns to read (claim_id and the facts), under the CSV header rules.

    Raises HeaderError (no claim_id, a repeated column, an unknown column not ignored)."""
    lay = layout(names, types, ignore_unknown=ignore_unknown)
    return [CLAIM_ID, *(c.name for c in lay.columns)]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    # Anything else (a decimal, a time) as text: the engine then names the field.
    return str(value)


def _finite(value: Any) -> Any:
    """NaN and infinity have no JSON spelling: they become text the engine rejects."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def claim_record(row: Mapping[str, Any]) -> bytes:
    """The JSON line of one Parquet row: null cells (unknown facts) left out."""
    obj = {k: _finite(v) for k, v in row.items() if v is not None}
    return json.dumps(obj, ensure_ascii=False, default=_jsonable, separators=(",", ":")).encode()


def batch_records(batch: Any, columns: Sequence[str]) -> list[bytes]:
    """The JSON-line records of an Arrow record batch, one per row, in order."""
    names = [c for c in columns if c in batch.schema.names]
    values = [batch.column(batch.schema.get_field_index(c)).to_pylist() for c in names]
    return [claim_record(dict(zip(names, cells, strict=True))) for cells in zip(*values, strict=True)]


class ParquetRecords:
    """Records (line = row number from 1, JSON bytes) of a Parquet claim file, streamed
    batch by batch; the same attributes as records.RecordReader."""

    def __init__(self, path: str, types: Mapping[str, FactType], *, ignore_unknown: bool) -> None:
        pa = pyarrow()
        self._file = pa.parquet.ParquetFile(path)
        self.columns_read = fact_columns(self._file.schema_arrow.names, types, ignore_unknown=ignore_unknown)
        self.ignored = [n for n in self._file.schema_arrow.names if n not in self.columns_read]
        self.rows = self._file.metadata.num_rows
        self.line_no = 0
        self.blank_lines = 0  # a table has no blank lines
        self.bytes_read = 0
        self.columns: int | None = None
        self._size = os.path.getsize(path)
        # The provenance names the input by its sha256: a table is hashed whole up front.
        self.digest = hashlib.sha256()
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                self.digest.update(block)

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        for batch in self._file.iter_batches(batch_size=BATCH_ROWS, columns=self.columns_read):
            for record in batch_records(batch, self.columns_read):
                self.line_no += 1
                yield self.line_no, record
            # Progress by the share of rows read (compressed bytes are not per row).
            self.bytes_read = self._size * self.line_no // max(1, self.rows)

    def checkpoint(self) -> Position:
        """Where the records given out so far end (as records.RecordReader says it)."""
        return Position(self.bytes_read, self.line_no, 0, self.digest.copy())

    def close(self) -> None:
        self._file.close()


def open_records(path: str, types: Mapping[str, FactType], *, ignore_unknown: bool) -> ParquetRecords:
    """Raises HeaderError, ParquetUnavailable, or OSError/ValueError for a file that is not
    Parquet (the caller names the file)."""
    if path == "-":
        raise HeaderError("Parquet cannot be read from standard input (name the file)")
    pa = pyarrow()
    try:
        return ParquetRecords(path, types, ignore_unknown=ignore_unknown)
    except pa.ArrowException as exc:
        raise HeaderError(f"is not a readable Parquet file ({type(exc).__name__})") from None


# ------------------------------------------------------------------ claims: writing


def write_claims(path: str | Path, count: int, seed: int, invalid_rate: float = 0.02) -> int:
    """Synthetic claims (retro/synth.py) as a typed Parquet file; returns the rows written.

    A typed column cannot hold an unreadable cell or half a row, so those two kinds of
    spoiled claim are spoiled the way a table can be: a service date that is not a date,
    and a claim without its id."""
    from .synth import COLUMNS, synthetic_claims

    pa = pyarrow()
    schema = claims_schema(COLUMNS)
    written = 0
    create_private(path)
    with pa.parquet.ParquetWriter(str(path), schema) as writer:
        batch: list[dict[str, Any]] = []
        for claim in synthetic_claims(count, seed, invalid_rate):
            row: dict[str, Any] = {CLAIM_ID: claim.claim_id, **claim.request}
            if claim.corruption == "bad_cell":
                row["service_date"] = "not a date"
            elif claim.corruption == "broken_row":
                row[CLAIM_ID] = None
            batch.append(row)
            if len(batch) >= ROW_GROUP_ROWS:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                written += len(batch)
                batch = []
        if batch or not written:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            written += len(batch)
    return written


def create_private(path: str | Path) -> None:
    """Create (or empty) ``path`` readable by its owner only, before a writer opens it:
    the file holds member data, and a writer that truncates keeps the mode."""
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


# ------------------------------------------------------------------ results

_INT_COLUMNS = frozenset({"line"})
_LIST_COLUMNS = frozenset({"unmet", "missing", "error_fields"})


def _column_type(pa: Any, name: str) -> Any:
    base = name.removeprefix("compare_")
    if name in _INT_COLUMNS:
        return pa.int64()
    if base in _LIST_COLUMNS:
        return pa.list_(pa.string())
    if base == "errors":
        return pa.list_(pa.struct([("field", pa.string()), ("description", pa.string())]))
    return pa.string()


def result_columns(compare: bool) -> tuple[str, ...]:
    """The results' columns: the CSV results' columns, in their order."""
    return (*BASE_COLUMNS, *(COMPARE_COLUMNS if compare else ()))


def results_schema(compare: bool) -> Any:
    pa = pyarrow()
    return pa.schema([(c, _column_type(pa, c)) for c in result_columns(compare)])


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _outcome_cells(o: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    error = o.get("error")
    cells: dict[str, Any] = {}
    for name in OUTCOME_COLUMNS:
        if name == "error_fields":
            value: Any = list(error["fields"]) if error else []
        elif name == "errors":
            value = (
                [{"field": v["field"], "description": v["description"]} for v in error["violations"]]
                if error
                else []
            )
        elif name in _LIST_COLUMNS:
            value = list(o.get(name) or ())
        else:
            value = _text(o.get(name))
        cells[prefix + name] = value
    return cells


def flat_row(row: Row, compare: bool) -> dict[str, Any]:
    """One result row (results.make_row) as the typed record of the Parquet results."""
    cells: dict[str, Any] = {
        "line": row["line"],
        "claim_id": row["claim_id"],
        "service_date": row["service_date"],
    }
    cells |= _outcome_cells(row, "")
    if compare:
        cells |= _outcome_cells(row["compare"], "compare_")
        cells["transition"] = row["transition"]
        cells["changed"] = row["changed"]
    return cells


def rows_batch(rows: Iterable[Row], compare: bool) -> Any:
    """An Arrow record batch of result rows."""
    pa = pyarrow()
    return pa.RecordBatch.from_pylist([flat_row(r, compare) for r in rows], schema=results_schema(compare))


def rows_of_jsonl(data: bytes) -> list[Row]:
    """Result rows from the JSON lines a worker formatted (results.format_rows)."""
    return [json.loads(line) for line in data.splitlines() if line]


class ResultsWriter:
    """Appends chunks of result rows (as the workers' JSON lines) to a Parquet file."""

    def __init__(self, path: Path, compare: bool) -> None:
        pa = pyarrow()
        self._compare = compare
        self._pending: list[Row] = []
        create_private(path)
        self._writer = pa.parquet.ParquetWriter(str(path), results_schema(compare))

    def write(self, data: bytes) -> None:
        self._pending.extend(rows_of_jsonl(data))
        if len(self._pending) >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_batch(rows_batch(self._pending, self._compare))
            self._pending = []

    def close(self) -> None:
        self._flush()
        self._writer.close()


def count_rows(path: Path | str) -> int:
    """Rows in a Parquet file as written, from its footer (read back from the disk)."""
    pa = pyarrow()
    rows: int = pa.parquet.ParquetFile(str(path)).metadata.num_rows
    return rows


def read_rows(path: Path | str) -> list[dict[str, Any]]:
    """Every row of a Parquet file (or a directory of part files) as Python values."""
    pa = pyarrow()
    rows: list[dict[str, Any]] = pa.parquet.read_table(str(path)).to_pylist()
    return rows
