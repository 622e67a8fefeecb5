"""Splitting a claim file into records and chunks, in the parent process.

The parent never decodes or parses a row: it only finds where records end and
hands raw bytes to the workers, so its per-row cost stays tiny and a row with bad
bytes becomes that row's error in a worker instead of stopping the run. Memory is
bounded by one chunk, whatever the file size.

A CSV record ends at a newline outside quotes; a quoted cell may span lines (RFC
4180, where an escaped quote is doubled, so quote parity finds the end). A stray
quote would otherwise join the lines after it into one record, up to the next stray
quote, and every claim in between would be lost inside that record. So a record that
spans lines is kept only when it reads as exactly one CSV record with the header's
number of cells; otherwise (and when it grows past MAX_RECORD_LINES or reaches the
end of the file with its quote still open) it is cut back to its first line, which
becomes one error row, and reading goes on at the next physical line. Only records
that span lines are parsed here, so the parent's per-row cost stays a quote count.
"""

from __future__ import annotations

import collections
import csv
import gzip
import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Literal

import attrs

InputFormat = Literal["csv", "jsonl"]
# The most physical lines one CSV record may span (a quoted cell holding line breaks).
MAX_RECORD_LINES = 50


@attrs.frozen
class Position:
    """A place in the claim file between records (the state --resume starts from)."""

    offset: int  # bytes of the (decompressed) file before it
    line_no: int  # physical lines before it
    blank_lines: int  # blank lines skipped before it
    digest: Any  # hashlib sha256 of the bytes before it


@attrs.frozen
class Chunk:
    """Consecutive records of the input, with the line each one starts on."""

    index: int
    records: tuple[bytes, ...]
    lines: tuple[int, ...]
    nbytes: int


def open_claims(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    if path.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def input_size(path: str) -> int | None:
    """Bytes to read, for the progress bar; None when unknown (stdin, compressed)."""
    if path == "-" or path.endswith(".gz"):
        return None
    try:
        return os.path.getsize(path)
    except OSError:
        return None


def guess_format(path: str, first_line: bytes) -> InputFormat:
    name = Path(path[:-3] if path.endswith(".gz") else path).suffix.lower()
    if name in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if name in (".csv", ".tsv", ".txt"):
        return "csv"
    return "jsonl" if first_line.lstrip(b"\xef\xbb\xbf \t").startswith(b"{") else "csv"


class RecordReader:
    """Records (raw bytes, starting line number) of a CSV or JSON-lines stream.

    Blank lines between records are skipped and counted: they are not claims.
    ``columns`` (CSV): the header's number of columns, once known; a record that spans
    lines must have exactly that many cells.
    """

    def __init__(
        self, stream: BinaryIO, fmt: InputFormat, first_line: bytes = b"", at: Position | None = None
    ) -> None:
        """``first_line``: a line already read (to guess the format) that comes first.
        ``at``: where ``stream`` already stands (resuming a run): its offset, lines read,
        blank lines skipped and the digest of the bytes before it."""
        self._stream = stream
        self._csv = fmt == "csv"
        self.line_no = 0
        self.blank_lines = 0
        self.bytes_read = 0
        # sha256 of the bytes consumed (records given out, blank lines skipped): at a
        # chunk's end it is the digest of the file up to there, and at the end the file's.
        self.digest = hashlib.sha256()
        self.columns: int | None = None
        self._pending: collections.deque[tuple[int, bytes]] = collections.deque()
        self._pending_bytes = 0
        if at is not None:
            self.line_no, self.blank_lines, self.bytes_read = at.line_no, at.blank_lines, at.offset
            self.digest = at.digest.copy()
        if first_line:
            self.line_no += 1
            self.bytes_read += len(first_line)
            self._push((self.line_no, first_line))

    def _push(self, item: tuple[int, bytes]) -> None:
        self._pending.append(item)
        self._pending_bytes += len(item[1])

    def checkpoint(self) -> Position:
        """Where the records given out so far end."""
        return Position(
            self.bytes_read - self._pending_bytes,
            self.line_no - len(self._pending),
            self.blank_lines,
            self.digest.copy(),
        )

    def _next_line(self) -> tuple[int, bytes] | None:
        if self._pending:
            item = self._pending.popleft()
            self._pending_bytes -= len(item[1])
            return item
        line = self._stream.readline()
        if not line:
            return None
        self.line_no += 1
        self.bytes_read += len(line)
        return self.line_no, line

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        while True:
            item = self._next_line()
            if item is None:
                return
            start, line = item
            if not line.strip():
                self.blank_lines += 1
                self.digest.update(line)
                continue
            if self._csv and line.count(b'"') % 2:
                start, line = self._quoted_record(start, line)
            self.digest.update(line)
            yield start, line

    def _quoted_record(self, start: int, line: bytes) -> tuple[int, bytes]:
        parts = [(start, line)]
        quotes = line.count(b'"')
        while quotes % 2 and len(parts) < MAX_RECORD_LINES:
            item = self._next_line()
            if item is None:
                break
            parts.append(item)
            quotes += item[1].count(b'"')
        record = b"".join(p[1] for p in parts)
        if quotes % 2 or not self._one_record(record, [p[1] for p in parts[1:-1]]):
            # Unbalanced (the limit or the end of the file was reached inside a quoted
            # cell), or the lines joined do not make one proper record (a stray quote
            # joined several rows): the first line becomes a record of its own, which
            # fails to parse, and the lines after it are read again as records.
            self._pending.extendleft(reversed(parts[1:]))
            self._pending_bytes += sum(len(p[1]) for p in parts[1:])
            return start, line
        return start, record

    def _one_record(self, record: bytes, inner: list[bytes]) -> bool:
        """Whether a record spanning lines reads as one CSV record of the header's width,
        exactly as a worker will read it, and no line inside it (``inner``: neither its
        first nor its last) reads as a whole row of that width on its own, which would
        mean a stray quote here and another further on joined complete rows."""
        width = _width(record)
        if self.columns is None:  # the header itself
            return width is not None
        return width == self.columns and all(_width(line) != self.columns for line in inner)


def _width(text: bytes) -> int | None:
    """The number of cells of ``text`` when it reads as exactly one CSV record, else None."""
    # Replacement characters cannot change where cells and records end: a record with
    # bad bytes is still that record, and becomes its error row in a worker.
    try:
        rows = list(csv.reader([text.decode("utf-8", errors="replace")], strict=True))
    except csv.Error:
        return None
    return len(rows[0]) if len(rows) == 1 else None


def chunks(records: Iterator[tuple[int, bytes]], size: int, first_index: int = 0) -> Iterator[Chunk]:
    index = first_index
    batch: list[bytes] = []
    lines: list[int] = []
    nbytes = 0
    for line_no, record in records:
        batch.append(record)
        lines.append(line_no)
        nbytes += len(record)
        if len(batch) >= size:
            yield Chunk(index, tuple(batch), tuple(lines), nbytes)
            index += 1
            batch, lines, nbytes = [], [], 0
    if batch:
        yield Chunk(index, tuple(batch), tuple(lines), nbytes)
