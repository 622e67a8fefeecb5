"""The retro-review run: read chunks, decide them on every core, write rows in order.

The parent only splits the file into raw records, hands chunks to a process pool,
writes each chunk's finished bytes and merges its counts. At most ``in_flight``
chunks exist at once (submitted, deciding, or finished and waiting for an earlier
one), so memory stays flat whatever the file size; futures are consumed in
submission order, which is input order.

A run that stops early (a signal, a server gone, a full disk) leaves
``results.*.partial`` and ``resume.json`` (how far it got: the input position, the
counts so far) and no summary or report, so nothing complete-looking describes an
incomplete run; ``--resume`` continues from there.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import csv
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Generator, Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO

import attrs

from ..engine.errors import NotFound, PolicyLoadError
from ..engine.store import VersionStore
from . import outputs, parquet
from .columns import CLAIM_ID, HeaderError, fact_types, layout
from .deciders import FatalDeciderError
from .duplicates import Duplicates
from .progress import Progress
from .provenance import (
    now,
    rerun_command,
    rxpolicy_version,
    version_entry,
)
from .records import Chunk, InputFormat, Position, RecordReader, chunks, guess_format, input_size, open_claims
from .report import render_report
from .results import OutputFormat, count_rows, format_rows, header_bytes, make_row
from .resume import ResumeError, ResumeState, load_state, save_state
from .summary import build_summary
from .tally import Tally
from .worker import ChunkResult, WorkerConfig, _internal_result, build_processor, init_worker, process_chunk

DEFAULT_CHUNK = 2000
# Beyond a chunk's stream deadlines, how long the parent waits for a worker before it
# stops the run (a worker stuck where no deadline reaches, e.g. the first chunk's start).
WATCHDOG_GRACE_S = 30.0
# How often the partial results and the resume state are brought to the disk.
CHECKPOINT_S = 30.0
FIRST_LINE_LIMIT = 1 << 20


class RetroError(Exception):
    """The run cannot start or go on (unreadable file, bad header, server gone)."""


class RetroInterrupted(RetroError):
    """SIGINT or SIGTERM stopped the run; ``signum`` says which."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum


class _Signal(BaseException):
    """Raised in the main thread by a signal handler, so every finally block runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


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
    overwrite: bool = False
    resume: bool = False
    examples: int = 0  # claim ids and cells in summary/report: none unless asked


@attrs.frozen
class RetroRun:
    rows_in: int  # records read from the claims
    rows_out: int  # rows in the results file, counted back from the disk
    rows_counted: int  # rows counted into summary.json
    results: Path  # results.*.partial when the rows do not match
    summary_path: Path
    report: Path
    summary: dict[str, Any]
    internal_errors: int = 0  # rows an internal error (a bug) made error rows

    @property
    def rows_match(self) -> bool:
        return self.rows_in == self.rows_out == self.rows_counted


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def _signals_stop_the_run() -> Iterator[None]:
    """SIGINT and SIGTERM raise in the main thread, so workers are stopped and the partial
    results kept, instead of the process dying with its workers left behind."""
    if multiprocessing.parent_process() is not None or not _main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise _Signal(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


_STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM held back (in the main thread) for the length of the block, then
    delivered: what the block changes, it changes wholly or not at all."""
    if not hasattr(signal, "pthread_sigmask") or not _main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def run_retro(options: RetroOptions) -> RetroRun:
    with _signals_stop_the_run():
        try:
            return _Run(options).run()
        except _Signal as stop:
            name = signal.Signals(stop.signum).name
            raise RetroInterrupted(f"interrupted by {name}", stop.signum) from None


class _Run:
    def __init__(self, options: RetroOptions) -> None:
        self.options = options
        self.started = now()
        self.started_clock = time.monotonic()
        self.out_dir = options.out_dir
        self.results_path = self.out_dir / f"results.{options.output_format}"
        # The rows as the workers write them: Parquet results are JSON lines in the partial
        # file (so an interrupted run resumes like any other) and become Parquet at the end.
        self.row_format: OutputFormat = (
            "jsonl" if options.output_format == "parquet" else options.output_format
        )
        self.partial = self.results_path.with_name(self.results_path.name + outputs.PARTIAL)
        self.tally = Tally()
        self.duplicates = Duplicates()
        self.records = 0
        self.positions: dict[int, Position] = {}
        self.written: Position | None = None  # where the rows written so far end in the input
        self.next_chunk = 0
        self.results_bytes = 0
        self._out: BinaryIO | None = None

    # ------------------------------------------------------------ setup

    def run(self) -> RetroRun:
        options = self.options
        try:
            store = VersionStore.load(options.policies)
            self.versions = store.versions(options.policy_id)
        except PolicyLoadError as exc:
            raise RetroError(
                "cannot load policy versions:\n" + "\n".join(f"  {e}" for e in exc.errors)
            ) from None
        except NotFound as exc:
            raise RetroError(str(exc)) from None
        self.store = store
        self.digest = store.policy_set_digest
        self.compare_to = self._compare_ref()
        self.workers = options.workers or default_workers()
        if options.resume and options.claims == "-":
            raise RetroError("--resume needs the claim file itself, not standard input")
        try:
            outputs.prepare(self.out_dir, options.claims, overwrite=options.overwrite, resume=options.resume)
        except outputs.OutputDirError as exc:
            raise RetroError(str(exc)) from None
        except OSError as exc:
            raise RetroError(f"cannot use --out {self.out_dir}: {exc.strerror or exc}") from None
        state = self._load_resume_state() if options.resume else None
        self.served: dict[str, Any] | None = None
        if options.server is not None:
            # Imported here: the client brings grpc, which a run in process never needs.
            from .server_versions import ServerVersionsError, served_versions

            try:
                self.served = served_versions(
                    options.server, token=options.token, policy_id=options.policy_id, local=self.versions
                )
            except ServerVersionsError as exc:
                # Not fatal here: the first chunk finds out whether the server decides at all.
                self.served = {"target": options.server, "versions": None, "error": str(exc)}
            if self.served.get("differ_from_local"):
                print(
                    f"rxpolicy retro: the server's version(s) {', '.join(self.served['differ_from_local'])} "
                    "differ from the local ones; the server's decide, and the provenance records its hashes",
                    file=sys.stderr,
                )
        try:
            stream = open_claims(options.claims)
        except OSError as exc:
            raise RetroError(f"cannot read {options.claims}: {exc.strerror or exc}") from None
        try:
            with stream:
                self._decide_file(stream, state)
        except (OSError, EOFError) as exc:
            # A file that breaks mid-way (truncated .gz, a disk error, a full output disk).
            raise RetroError(self._stopped(f"stopped: {_os_text(exc)}")) from None
        except RetroError as exc:
            raise RetroError(self._stopped(str(exc))) from None
        except _Signal as stop:
            name = signal.Signals(stop.signum).name
            raise RetroInterrupted(f"interrupted by {name}" + self._save_progress(), stop.signum) from None
        return self._finish()

    def _compare_ref(self) -> str | None:
        """The compare-to version as an exact semver, resolved once so every worker agrees."""
        if self.options.compare_to is None:
            return None
        try:
            return self.store.resolve(self.options.compare_to, self.options.policy_id).version
        except NotFound as exc:
            raise RetroError(str(exc)) from None

    def _fingerprint(self, fmt: str) -> dict[str, Any]:
        """What must not change between a run and its --resume: whatever changes a row."""
        o = self.options
        return {
            "claims": o.claims,
            "input_format": fmt,
            "output_format": o.output_format,
            "policy_set_digest": self.digest,
            "policy_id": o.policy_id,
            "as_known_on": None if o.as_known_on is None else o.as_known_on.isoformat(),
            "compare_to": self.compare_to,
            "ignore_unknown_columns": o.ignore_unknown_columns,
        }

    def _load_resume_state(self) -> ResumeState:
        try:
            state = load_state(self.out_dir)
        except ResumeError as exc:
            raise RetroError(f"cannot resume: {exc}") from None
        return state

    # ------------------------------------------------------------ the run

    def _decide_file(self, stream: BinaryIO, state: ResumeState | None) -> None:
        options = self.options
        reader: RecordReader | parquet.ParquetRecords
        record_format: InputFormat  # what the workers read: a Parquet row as a JSON line
        if options.input_format == "parquet" or (
            options.input_format is None and parquet.is_parquet(options.claims, _peek(stream))
        ):
            if state is not None:
                raise RetroError("--resume reads CSV or JSON lines claims; run a Parquet file again whole")
            self.fmt: parquet.ClaimsFormat = "parquet"
            record_format, header = "jsonl", None
            reader = self._parquet_reader()
            records = iter(reader)
        else:
            first = stream.readline(FIRST_LINE_LIMIT)
            _refuse_cr_only(options.claims, first)
            if first and not first.endswith(b"\n"):
                first += stream.readline()
            record_format = options.input_format or guess_format(options.claims, first)
            self.fmt = record_format
            reader = RecordReader(stream, record_format, first)
            records = iter(reader)
            header = self._csv_header(records) if record_format == "csv" else None
            if state is not None:
                records, reader = self._resume_from(state, stream, record_format, header)
            if header is not None:
                reader.columns = len(header)  # a record spanning lines must be this wide
        self.reader = reader
        config = WorkerConfig(
            input_format=record_format,
            output_format=self.row_format,
            csv_header=header,
            ignore_unknown_columns=options.ignore_unknown_columns,
            policies=None if options.policies is None else str(options.policies),
            policy_id=options.policy_id,
            as_known_on=options.as_known_on,
            compare_to=self.compare_to,
            server=options.server,
            token=options.token,
            server_timeout=options.server_timeout,
        )
        self.config = config
        bar = Progress(input_size(options.claims), enabled=options.progress)
        bar.advance(reader.bytes_read)  # the header (and, resuming, what was done)
        source = self._counted(chunks(records, options.chunk_size, self.next_chunk), reader)
        last_checkpoint = time.monotonic()
        try:
            with outputs.create(self.partial, append=state is not None) as out:
                try:
                    self._out = out
                    if state is None:
                        head = header_bytes(self.row_format, self.compare_to is not None)
                        out.write(head)
                        self.results_bytes = len(head)
                        self.written = reader.checkpoint()  # just after the header
                    results = self._decide_all(source)
                    try:
                        for chunk, result in results:
                            # The rows, where they end and their counts move together: a
                            # signal waits until all of them have, so the resume state never
                            # counts a chunk whose rows it does not hold (or the other way).
                            with _signals_held():
                                self._check(chunk, result)
                                out.write(result.data)
                                self.results_bytes += len(result.data)
                                self.written = self.positions.pop(result.index)
                                self.next_chunk = result.index + 1
                                self._account(chunk, result, bar)
                            if time.monotonic() - last_checkpoint > CHECKPOINT_S:
                                self._checkpoint()
                                last_checkpoint = time.monotonic()
                    finally:
                        results.close()  # whatever stopped the loop, the workers stop now
                    outputs.finish(out)
                except BaseException:
                    with contextlib.suppress(OSError, ValueError):
                        outputs.finish(out)  # what was written reaches the disk, for --resume
                    raise
        finally:
            self._out = None
            bar.close()

    def _counted(
        self, source: Iterator[Chunk], reader: RecordReader | parquet.ParquetRecords
    ) -> Iterator[Chunk]:
        """Chunks passed through, counting records and noting where each one ends."""
        for chunk in source:
            self.records += len(chunk.records)
            # The reader stands just after this chunk's last record.
            self.positions[chunk.index] = reader.checkpoint()
            yield chunk

    def _csv_header(self, records: Iterator[tuple[int, bytes]]) -> tuple[str, ...]:
        options = self.options
        first = next(records, None)
        if first is None:
            raise RetroError(f"{options.claims} is empty: a CSV claim file starts with a header row")
        try:
            header = tuple(next(csv.reader([first[1].decode("utf-8-sig")], strict=True)))
            lay = layout(header, fact_types(self.versions), ignore_unknown=options.ignore_unknown_columns)
        except HeaderError as exc:
            raise RetroError(f"{options.claims}: {exc}") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise RetroError(f"{options.claims}: the header row cannot be read ({exc})") from None
        ignored = [n for n in lay.header if n != CLAIM_ID and n not in {c.name for c in lay.columns}]
        if ignored and not options.resume:
            # Column names only: they are the file's structure, not member data.
            print(f"rxpolicy retro: ignoring column(s) {', '.join(ignored)}", file=sys.stderr)
        return lay.header

    def _resume_from(
        self, state: ResumeState, stream: BinaryIO, fmt: InputFormat, header: tuple[str, ...] | None
    ) -> tuple[Iterator[tuple[int, bytes]], RecordReader]:
        if state.fingerprint != self._fingerprint(fmt):
            changed = sorted(k for k, v in self._fingerprint(fmt).items() if state.fingerprint.get(k) != v)
            raise RetroError(
                f"cannot resume: the interrupted run had other options or inputs ({', '.join(changed)}); "
                "start again with --overwrite"
            )
        if not self.partial.is_file():
            raise RetroError(f"cannot resume: {self.partial.name} is not in {self.out_dir}")
        # Read the claim file again from its start up to where the rows written end, and
        # check it is the same file.
        stream.seek(0)
        at = state.position_in(stream)
        if at is None:
            raise RetroError(
                f"cannot resume: {self.options.claims} is not the file the interrupted run read "
                "(its first part differs); start again with --overwrite"
            )
        size = self.partial.stat().st_size
        if size < state.results_bytes:
            raise RetroError(f"cannot resume: {self.partial.name} is shorter than the state says")
        with open(self.partial, "r+b") as f:
            f.truncate(state.results_bytes)  # drop a chunk the stop cut in half
        self.results_bytes = state.results_bytes
        self.tally = state.tally
        self.duplicates = state.duplicates
        self.records = state.records
        self.next_chunk = state.next_chunk
        self.started = state.started
        self.written = at
        reader = RecordReader(stream, fmt, at=at)
        return iter(reader), reader

    def _decide_all(self, source: Iterator[Chunk]) -> Generator[tuple[Chunk, ChunkResult], None, None]:
        config = self.config
        if self.workers <= 1 and config.server is None:
            processor = build_processor(config)
            try:
                for chunk in source:
                    try:
                        result = processor.process(chunk)
                    except FatalDeciderError as exc:
                        raise RetroError(str(exc)) from None
                    except Exception as exc:
                        result = _failed_chunk(config, chunk, exc)
                    yield chunk, result
            finally:
                processor.decider.close()
            return
        # spawn, not fork: a forked child would inherit the parent's threads (the progress
        # bar's) and any gRPC state, which fork does not make safe. With --server even one
        # worker runs in a child process, so the watchdog below can stop it.
        context = multiprocessing.get_context("spawn")
        pool = cf.ProcessPoolExecutor(
            self.workers, context, initializer=init_worker, initargs=(config, os.getpid())
        )
        pending: collections.deque[tuple[Chunk, cf.Future[ChunkResult]]] = collections.deque()
        in_flight = self.workers * 3
        try:
            for chunk in source:
                pending.append((chunk, pool.submit(process_chunk, chunk)))
                while len(pending) >= in_flight:
                    yield self._collect(*pending.popleft())
            while pending:
                yield self._collect(*pending.popleft())
        except BaseException:
            _stop_pool(pool)
            raise
        pool.shutdown(wait=True)

    def _watchdog(self) -> float | None:
        """Seconds the parent waits for one chunk before it stops the run (None: no limit).

        Only a server can stall a chunk; in process a chunk always ends."""
        if self.config.server is None:
            return None
        from .remote import chunk_deadline

        streams = 2 if self.compare_to is not None else 1
        return (
            streams * chunk_deadline(self.options.chunk_size, self.options.server_timeout) + WATCHDOG_GRACE_S
        )

    def _collect(self, chunk: Chunk, future: cf.Future[ChunkResult]) -> tuple[Chunk, ChunkResult]:
        limit = self._watchdog()
        try:
            result = future.result(timeout=limit)
        except cf.TimeoutError:
            raise RetroError(
                f"server {self.config.server}: no answer for the chunk of claims starting at line "
                f"{chunk.lines[0]} within {limit:g} s (its stream deadline plus {WATCHDOG_GRACE_S:g} s); "
                "the workers were stopped"
            ) from None
        except BrokenProcessPool:
            raise RetroError("a worker process died (or could not start)") from None
        except FatalDeciderError as exc:
            raise RetroError(str(exc)) from None
        except Exception as exc:
            result = _failed_chunk(self.config, chunk, exc)
        return chunk, result

    def _check(self, chunk: Chunk, result: ChunkResult) -> None:
        if (
            result.index != chunk.index
            or result.rows != len(chunk.records)
            or result.tally.rows != result.rows
        ):
            # Never expected: a bug, not bad input. Stop before a wrong row reaches the file.
            raise RetroError(
                f"internal error: chunk {chunk.index} ({len(chunk.records)} records) came back as chunk "
                f"{result.index} with {result.rows} rows ({result.tally.rows} counted)"
            )

    def _account(self, chunk: Chunk, result: ChunkResult, bar: Progress) -> None:
        self.tally.merge(result.tally)
        self.duplicates.add(result.claim_ids)
        bar.advance(chunk.nbytes, rows=result.rows)

    # ------------------------------------------------------------ stopping early

    def _checkpoint(self) -> None:
        assert self._out is not None
        outputs.finish(self._out)
        self._save_state()

    def _save_state(self) -> None:
        if self.written is None:
            return
        save_state(
            self.out_dir,
            ResumeState(
                fingerprint=self._fingerprint(self.fmt),
                position=self.written,
                results_bytes=self.results_bytes,
                records=self.tally.rows,
                next_chunk=self.next_chunk,
                started=self.started,
                tally=self.tally,
                duplicates=self.duplicates,
            ),
        )

    def _save_progress(self) -> str:
        """Save the resume state; a sentence on what is on the disk and what is missing."""
        if getattr(self, "fmt", None) is None or self.written is None:
            return ""  # nothing was written yet
        missing = f"missing: {self.results_path.name}, {outputs.SUMMARY}, {outputs.REPORT}"
        partial = f"; {self.tally.rows:,} rows are in {self.partial} (a partial result; {missing})"
        try:
            self._save_state()
        except OSError as exc:
            earlier = (self.out_dir / outputs.STATE).is_file()
            return partial + (
                f"; the resume state could not be saved ({_os_text(exc)})"
                + (
                    ": `--resume` continues from the last checkpoint"
                    if earlier
                    else ": start again with --overwrite"
                )
            )
        return partial + "; `--resume` continues from there"

    def _stopped(self, message: str) -> str:
        return message + self._save_progress()

    # ------------------------------------------------------------ the end

    @staticmethod
    def _results_entry(path: Path, rows: int) -> dict[str, Any]:
        return {"name": path.name, "sha256": _file_sha256(path), "rows": rows}

    def _parquet_reader(self) -> parquet.ParquetRecords:
        options = self.options
        try:
            reader = parquet.open_records(
                options.claims, fact_types(self.versions), ignore_unknown=options.ignore_unknown_columns
            )
        except (HeaderError, parquet.ParquetUnavailable) as exc:
            raise RetroError(f"{options.claims}: {exc}") from None
        if reader.ignored:
            # Column names only: they are the file's structure, not member data.
            print(f"rxpolicy retro: ignoring column(s) {', '.join(reader.ignored)}", file=sys.stderr)
        return reader

    def _write_parquet_results(self) -> int:
        """The partial JSON lines rewritten as the typed Parquet results, in place of the
        partial file (synced before it is renamed); returns the rows read back from it."""
        converted = self.partial.with_name(self.partial.name + outputs.TMP)
        with outputs.removed_on_failure(converted):
            writer = parquet.ResultsWriter(converted, self.compare_to is not None)
            try:
                with open(self.partial, "rb") as rows:
                    while block := rows.readlines(1 << 22):
                        writer.write(b"".join(block))
            finally:
                writer.close()
            with open(converted, "rb") as f:
                os.fsync(f.fileno())
            converted.replace(self.partial)
        return parquet.count_rows(self.partial)

    def _finish(self) -> RetroRun:
        options = self.options
        # The end-of-run check: the rows in the results file, read back from the disk, against
        # the records read from the claims (and the rows counted into the summary). Each chunk
        # was already checked for its row count as it came back (_account); this checks what
        # actually reached the file. A mismatch leaves the file as results.*.partial.
        rows_out = count_rows(self.partial, self.row_format)
        results_path = self.partial
        if self.records == rows_out == self.tally.rows:
            if options.output_format == "parquet":
                rows_out = self._write_parquet_results()
            outputs.publish(self.partial, self.results_path)
            results_path = self.results_path
        outputs.remove(self.out_dir / outputs.STATE, self.out_dir / outputs.SEEN_IDS)
        finished = now()
        summary = build_summary(
            self.tally,
            rows_in=self.records,
            rows_out=rows_out,
            blank_lines=self.reader.blank_lines,
            input_path=options.claims,
            input_format=self.fmt,
            results_name=results_path.name,
            output_format=options.output_format,
            compare_to=self.compare_to,
            run={
                "mode": f"server {options.server}" if options.server else "in process",
                "workers": self.workers,
                "seconds": round(time.monotonic() - self.started_clock, 3),
                "resumed": options.resume,
                "finished": finished,
            },
            provenance=self._provenance(finished)
            | {
                "results": {"name": results_path.name, "sha256": _file_sha256(results_path), "rows": rows_out}
            },
            duplicates=self.duplicates.summary(),
            examples=options.examples,
        )
        summary_path = self.out_dir / outputs.SUMMARY
        report_path = self.out_dir / outputs.REPORT
        written: list[str] = [results_path.name]
        try:
            outputs.write_atomic(
                summary_path, (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
            )
            written.append(summary_path.name)
            outputs.write_atomic(report_path, render_report(summary).encode("utf-8"))
        except OSError as exc:
            missing = [n for n in (outputs.SUMMARY, outputs.REPORT) if n not in written]
            raise RetroError(
                f"stopped: {_os_text(exc)} while writing {missing[0]}; missing: {', '.join(missing)} "
                f"(written: {', '.join(written)}); no file under a final name is truncated"
            ) from None
        return RetroRun(
            self.records,
            rows_out,
            self.tally.rows,
            results_path,
            summary_path,
            report_path,
            summary,
            self.tally.internal,
        )

    def _provenance(self, finished: str) -> dict[str, Any]:
        o = self.options
        used = {v for (v, _d) in self.tally.by_version if v} | (
            {self.compare_to} if self.compare_to else set()
        )
        options = {
            "input_format": self.fmt,
            "output_format": o.output_format,
            "policies": None if o.policies is None else str(o.policies),
            "policy_id": o.policy_id,
            "as_known_on": None if o.as_known_on is None else o.as_known_on.isoformat(),
            "compare_to": self.compare_to,
            "server": o.server,
            "server_timeout": o.server_timeout,
            "workers": self.workers,
            "chunk_size": o.chunk_size,
            "ignore_unknown_columns": o.ignore_unknown_columns,
            "examples": o.examples,
        }
        return {
            "rxpolicy": rxpolicy_version(),
            "policy_set_digest": self.digest,
            "policy_id": self.versions[0].policy_id if self.versions else o.policy_id,
            "versions": [version_entry(v) | {"used": v.version in used} for v in self.versions],
            "input": {
                "name": o.claims,
                "sha256": "sha256:" + self.reader.digest.hexdigest(),
                "bytes": self.reader.bytes_read,
                "rows": self.records,
                "format": self.fmt,
            },
            "options": options,
            "server": self.served,
            "started": self.started,
            "finished": finished,
            "rerun": rerun_command(
                o.claims,
                self.out_dir,
                options | {"input_format": o.input_format, "workers": o.workers, "chunk_size": None},
            ),
        }


def _file_sha256(path: Path) -> str:
    """The results file's hash, so the summary and report name the exact rows they count
    (the results themselves stay rows only: a header line would break their readers)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def _peek(stream: Any) -> bytes:
    """The first bytes of the claims without consuming them (to spot Parquet's magic)."""
    peek = getattr(stream, "peek", None)
    return bytes(peek(4)[:4]) if peek is not None else b""


def _os_text(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror + (f": {exc.filename}" if exc.filename else "")
    return str(exc) or type(exc).__name__


def _refuse_cr_only(path: str, first: bytes) -> None:
    """A file whose lines end in CR alone reads as one enormous line: refuse it plainly."""
    bare = first.replace(b"\r\n", b"").count(b"\r")
    if bare:
        raise RetroError(
            f"{path}: lines end with a carriage return (CR) alone, an old Mac format that is not read; "
            "save the file with LF or CRLF line endings (e.g. `tr '\\r' '\\n' < in.csv > out.csv`)"
        )


def _stop_pool(pool: cf.ProcessPoolExecutor) -> None:
    """Stop every worker now: a stuck one would never return, and none may outlive the run."""
    processes = list(getattr(pool, "_processes", {}).values())
    for p in processes:
        with contextlib.suppress(Exception):
            p.terminate()
    deadline = time.monotonic() + 5
    for p in processes:
        with contextlib.suppress(Exception):
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join(5)
    pool.shutdown(wait=False, cancel_futures=True)


def _failed_chunk(config: WorkerConfig, chunk: Chunk, exc: BaseException) -> ChunkResult:
    """Error rows for a chunk whose processing failed unexpectedly, so no row is lost."""
    compare = config.compare_to is not None
    tally = Tally()
    rows = []
    for line in chunk.lines:
        error = _internal_result(exc)
        row = make_row(line, "", "", error, error if compare else None)
        tally.add(row, error, known=())  # the field is "row"
        if compare:
            tally.add_compare(row, known=())
        tally.internal += 1
        rows.append(row)
    return ChunkResult(chunk.index, len(rows), format_rows(rows, config.output_format, compare), tally)
