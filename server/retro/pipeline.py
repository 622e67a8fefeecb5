"""The retro-review run: read chunks, decide them on every core, write rows in order.

The parent only splits the file into raw records, hands chunks to a process pool,
writes each chunk's finished bytes and merges its counts. At most ``in_flight``
chunks exist at once (submitted, deciding, or finished and waiting for an earlier
one), so memory stays flat whatever the file size; futures are consumed in
submission order, which is input order.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import csv
import datetime as dt
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import attrs

from ..engine.errors import NotFound, PolicyLoadError
from ..engine.store import VersionStore
from . import parquet
from .columns import CLAIM_ID, HeaderError, fact_types, layout
from .deciders import FatalDeciderError, internal_error
from .progress import Progress
from .records import Chunk, InputFormat, RecordReader, chunks, guess_format, input_size, open_claims
from .report import render_report
from .results import count_rows, format_rows, header_bytes, make_row
from .summary import build_summary
from .tally import Tally
from .worker import ChunkResult, WorkerConfig, build_processor, init_worker, process_chunk

DEFAULT_CHUNK = 2000


class RetroError(Exception):
    """The run cannot start or go on (unreadable file, bad header, server gone)."""


@attrs.frozen
class RetroOptions:
    claims: str
    out_dir: Path
    input_format: parquet.ClaimsFormat | None = None
    output_format: parquet.ResultsFormat = "csv"
    workers: int | None = None  # None: every core this process may use
    chunk_size: int = DEFAULT_CHUNK
    progress: bool | None = None  # None: a bar when stderr is a terminal
    policies: Path | None = None
    policy_id: str | None = None
    as_known_on: dt.date | None = None
    compare_to: str | None = None
    server: str | None = None
    token: str | None = None
    server_timeout: float | None = None  # seconds per chunk's stream; None: remote.chunk_deadline
    ignore_unknown_columns: bool = False


@attrs.frozen
class RetroRun:
    rows_in: int  # records read from the claims
    rows_out: int  # rows in the results file, counted back from the disk
    rows_counted: int  # rows counted into summary.json
    results: Path  # results.*.partial when the rows do not match
    summary_path: Path
    report: Path
    summary: dict[str, Any]

    @property
    def rows_match(self) -> bool:
        return self.rows_in == self.rows_out == self.rows_counted


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_retro(options: RetroOptions) -> RetroRun:
    try:
        return _run(options)
    except (OSError, EOFError) as exc:
        # A file that breaks mid-way (truncated .gz, a disk error, a full output disk):
        # what was written stays in results.*.partial.
        raise RetroError(f"stopped: {exc}") from None


def _run(options: RetroOptions) -> RetroRun:
    started = time.monotonic()
    try:
        store = VersionStore.load(options.policies)
        store.versions(options.policy_id)
    except PolicyLoadError as exc:
        raise RetroError("cannot load policy versions:\n" + "\n".join(f"  {e}" for e in exc.errors)) from None
    except NotFound as exc:
        raise RetroError(str(exc)) from None
    compare_to = _compare_ref(store, options)
    workers = options.workers or default_workers()
    try:
        stream = open_claims(options.claims)
    except OSError as exc:
        raise RetroError(f"cannot read {options.claims}: {exc.strerror or exc}") from None
    with stream:
        fmt: parquet.ClaimsFormat
        record_format: InputFormat  # what the workers read: a Parquet row as a JSON line
        reader: RecordReader | parquet.ParquetRecords
        if options.input_format == "parquet" or (
            options.input_format is None and parquet.is_parquet(options.claims, _peek(stream))
        ):
            fmt, record_format, header = "parquet", "jsonl", None
            reader = _parquet_reader(store, options)
            records = iter(reader)
        else:
            first = stream.readline()
            fmt = record_format = options.input_format or guess_format(options.claims, first)
            reader = RecordReader(stream, record_format, first)
            records = iter(reader)
            header = _csv_header(store, options, records) if record_format == "csv" else None
            if header is not None:
                reader.columns = len(header)  # a record spanning lines must be this wide
        config = WorkerConfig(
            input_format=record_format,
            # Parquet results are made from the rows as JSON lines (parquet.ResultsWriter).
            output_format="jsonl" if options.output_format == "parquet" else options.output_format,
            csv_header=header,
            ignore_unknown_columns=options.ignore_unknown_columns,
            policies=None if options.policies is None else str(options.policies),
            policy_id=options.policy_id,
            as_known_on=options.as_known_on,
            compare_to=compare_to,
            server=options.server,
            token=options.token,
            server_timeout=options.server_timeout,
        )
        options.out_dir.mkdir(parents=True, exist_ok=True)
        results_path = options.out_dir / f"results.{options.output_format}"
        partial = results_path.with_name(results_path.name + ".partial")
        counted = _Counted(chunks(records, options.chunk_size))
        tally = Tally()
        bar = Progress(input_size(options.claims), enabled=options.progress)
        bar.advance(reader.bytes_read)  # the header
        try:
            if options.output_format == "parquet":
                writer = parquet.ResultsWriter(partial, compare_to is not None)
                try:
                    for result in _decide_all(config, counted, workers, tally, bar):
                        writer.write(result.data)
                finally:
                    writer.close()
            else:
                with open(partial, "wb") as out:
                    out.write(header_bytes(options.output_format, compare_to is not None))
                    for result in _decide_all(config, counted, workers, tally, bar):
                        out.write(result.data)
        finally:
            bar.close()
            if isinstance(reader, parquet.ParquetRecords):
                reader.close()
    # The end-of-run check: the rows in the results file, read back from the disk, against
    # the records read from the claims (and the rows counted into the summary). Each chunk
    # was already checked for its row count as it came back (_account); this checks what
    # actually reached the file. A mismatch leaves the file as results.*.partial.
    rows_out = (
        parquet.count_rows(partial)
        if options.output_format == "parquet"
        else count_rows(partial, options.output_format)
    )
    if counted.records == rows_out == tally.rows:
        partial.replace(results_path)
    else:
        results_path = partial
    elapsed = time.monotonic() - started
    summary = build_summary(
        tally,
        rows_in=counted.records,
        rows_out=rows_out,
        blank_lines=reader.blank_lines,
        input_path=options.claims,
        input_format=fmt,
        results_name=results_path.name,
        output_format=options.output_format,
        compare_to=compare_to,
        run={
            "mode": f"server {options.server}" if options.server else "in process",
            "workers": workers,
            "seconds": round(elapsed, 3),
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
    )
    summary_path = options.out_dir / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    report_path = options.out_dir / "report.html"
    report_path.write_text(render_report(summary), encoding="utf-8")
    return RetroRun(counted.records, rows_out, tally.rows, results_path, summary_path, report_path, summary)


def _compare_ref(store: VersionStore, options: RetroOptions) -> str | None:
    """The compare-to version as an exact semver, resolved once so every worker agrees."""
    if options.compare_to is None:
        return None
    try:
        return store.resolve(options.compare_to, options.policy_id).version
    except NotFound as exc:
        raise RetroError(str(exc)) from None


def _peek(stream: Any) -> bytes:
    """The first bytes of the claims without consuming them (to spot Parquet's magic)."""
    peek = getattr(stream, "peek", None)
    return bytes(peek(4)[:4]) if peek is not None else b""


def _parquet_reader(store: VersionStore, options: RetroOptions) -> parquet.ParquetRecords:
    try:
        reader = parquet.open_records(
            options.claims,
            fact_types(store.versions(options.policy_id)),
            ignore_unknown=options.ignore_unknown_columns,
        )
    except (HeaderError, parquet.ParquetUnavailable) as exc:
        raise RetroError(f"{options.claims}: {exc}") from None
    if reader.ignored:
        # Column names only: they are the file's structure, not member data.
        print(f"rxpolicy retro: ignoring column(s) {', '.join(reader.ignored)}", file=sys.stderr)
    return reader


def _csv_header(
    store: VersionStore, options: RetroOptions, records: Iterator[tuple[int, bytes]]
) -> tuple[str, ...]:
    first = next(records, None)
    if first is None:
        raise RetroError(f"{options.claims} is empty: a CSV claim file starts with a header row")
    try:
        header = tuple(next(csv.reader([first[1].decode("utf-8-sig")], strict=True)))
        lay = layout(
            header,
            fact_types(store.versions(options.policy_id)),
            ignore_unknown=options.ignore_unknown_columns,
        )
    except HeaderError as exc:
        raise RetroError(f"{options.claims}: {exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise RetroError(f"{options.claims}: the header row cannot be read ({exc})") from None
    ignored = [n for n in lay.header if n != CLAIM_ID and n not in {c.name for c in lay.columns}]
    if ignored:
        # Column names only: they are the file's structure, not member data.
        print(f"rxpolicy retro: ignoring column(s) {', '.join(ignored)}", file=sys.stderr)
    return lay.header


class _Counted:
    """Chunks passed through, counting the records that went in."""

    def __init__(self, source: Iterator[Chunk]) -> None:
        self._source = source
        self.records = 0

    def __iter__(self) -> Iterator[Chunk]:
        for chunk in self._source:
            self.records += len(chunk.records)
            yield chunk


def _decide_all(
    config: WorkerConfig, source: _Counted, workers: int, tally: Tally, bar: Progress
) -> Iterator[ChunkResult]:
    if workers <= 1:
        processor = build_processor(config)
        try:
            for chunk in source:
                try:
                    result = processor.process(chunk)
                except FatalDeciderError as exc:
                    raise RetroError(str(exc)) from None
                except Exception as exc:
                    result = _failed_chunk(config, chunk, exc)
                yield _account(chunk, result, tally, bar)
        finally:
            processor.decider.close()
        return
    # spawn, not fork: a forked child would inherit the parent's threads (the progress
    # bar's) and any gRPC state, which fork does not make safe.
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(workers, context, initializer=init_worker, initargs=(config,)) as pool:
        pending: collections.deque[tuple[Chunk, cf.Future[ChunkResult]]] = collections.deque()
        in_flight = workers * 3
        try:
            for chunk in source:
                pending.append((chunk, pool.submit(process_chunk, chunk)))
                while len(pending) >= in_flight:
                    yield _collect(config, *pending.popleft(), tally, bar)
            while pending:
                yield _collect(config, *pending.popleft(), tally, bar)
        except BaseException:
            for _chunk, future in pending:
                future.cancel()
            raise


def _collect(
    config: WorkerConfig, chunk: Chunk, future: cf.Future[ChunkResult], tally: Tally, bar: Progress
) -> ChunkResult:
    try:
        result = future.result()
    except BrokenProcessPool:
        raise RetroError(
            "a worker process died (or could not start); the run was stopped and the results file "
            "was left as results.*.partial"
        ) from None
    except FatalDeciderError as exc:
        raise RetroError(str(exc)) from None
    except Exception as exc:
        result = _failed_chunk(config, chunk, exc)
    return _account(chunk, result, tally, bar)


def _account(chunk: Chunk, result: ChunkResult, tally: Tally, bar: Progress) -> ChunkResult:
    if result.index != chunk.index or result.rows != len(chunk.records) or result.tally.rows != result.rows:
        # Never expected: a bug, not bad input. Stop before a wrong row reaches the file.
        raise RetroError(
            f"internal error: chunk {chunk.index} ({len(chunk.records)} records) came back as chunk "
            f"{result.index} with {result.rows} rows ({result.tally.rows} counted); the run was stopped "
            "and the results file was left as results.*.partial"
        )
    tally.merge(result.tally)
    bar.advance(chunk.nbytes, rows=result.rows)
    return result


def _failed_chunk(config: WorkerConfig, chunk: Chunk, exc: BaseException) -> ChunkResult:
    """Error rows for a chunk whose processing failed unexpectedly, so no row is lost."""
    compare = config.compare_to is not None
    tally = Tally()
    rows = []
    for line in chunk.lines:
        error = internal_error(exc)
        row = make_row(line, "", "", error, error if compare else None)
        tally.add(row, error, known=())  # the field is "row"
        if compare:
            tally.add_compare(row, known=())
        rows.append(row)
    return ChunkResult(chunk.index, len(rows), format_rows(rows, config.output_format, compare), tally)
