"""Splitting a claim file into records and chunks, in the parent process.

The parent never decodes or parses a row: it only finds where records end and
hands raw bytes to the workers, so its per-row cost stays tiny and a row with bad
bytes becomes that row's error in a worker instead of stopping the run. Memory is
bounded by one chunk, whatever the file size.

A CSV record ends at a newline outside quotes; a quoted cell may span lines (RFC
4180, where an escaped quote is doubled, so quote parity finds the end). An
unbalanced quote would otherwise swallow the rest of the file into one record, so a
record that grows past MAX_RECORD_LINES is cut back to its first line, which then
fails to parse on its own and becomes one error row.
"""

from __future__ import annotations

import collections
import gzip
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Literal

import attrs

InputFormat = Literal["csv", "jsonl"]
MAX_RECORD_LINES = 50


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
    """

    def __init__(self, stream: BinaryIO, fmt: InputFormat, first_line: bytes = b"") -> None:
        """``first_line``: a line already read (to guess the format) that comes first."""
        self._stream = stream
        self._csv = fmt == "csv"
        self.line_no = 0
        self.blank_lines = 0
        self.bytes_read = 0
        self._pending: collections.deque[tuple[int, bytes]] = collections.deque()
        if first_line:
            self.line_no = 1
            self.bytes_read = len(first_line)
            self._pending.append((1, first_line))

    def _next_line(self) -> tuple[int, bytes] | None:
        if self._pending:
            return self._pending.popleft()
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
                continue
            if not self._csv or line.count(b'"') % 2 == 0:
                yield start, line
                continue
            yield self._quoted_record(start, line)

    def _quoted_record(self, start: int, line: bytes) -> tuple[int, bytes]:
        parts = [(start, line)]
        quotes = line.count(b'"')
        while quotes % 2 and len(parts) < MAX_RECORD_LINES:
            item = self._next_line()
            if item is None:
                break
            parts.append(item)
            quotes += item[1].count(b'"')
        if quotes % 2:
            # Unbalanced quote (the limit or the end of the file was reached inside a
            # quoted cell): the first line becomes a record of its own, which fails to
            # parse, and the lines after it are read again as records.
            self._pending.extendleft(reversed(parts[1:]))
            return start, line
        return start, b"".join(p[1] for p in parts)


def chunks(records: Iterator[tuple[int, bytes]], size: int) -> Iterator[Chunk]:
    index = 0
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
