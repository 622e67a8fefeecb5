"""One chunk of claims in, its formatted result rows and counts out.

Runs in a worker process (or in the parent with one worker). Each process builds
its state once, in ``init_worker``: the version store (or a client), the CSV
layout. A row that cannot be read (bad bytes, bad CSV, bad JSON, a cell of the
wrong type, no claim id) becomes an error row naming the field; nothing a row holds
stops the chunk.
"""

from __future__ import annotations

import csv
import ctypes
import datetime as dt
import json
import os
import re
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
from rxpolicy.decisions import INTERNAL, ErrorResult, Result

from ..engine.errors import FieldViolation
from ..engine.model import PolicyVersion
from ..engine.store import VersionStore
from .columns import CLAIM_ID, CsvLayout, decode_row, fact_types, layout
from .deciders import Decider, FatalDeciderError, LocalDecider, Request, internal_error
from .duplicates import ClaimIdHashes, claim_id_hashes
from .records import Chunk, InputFormat
from .results import ERROR, OutputFormat, Row, field_order, format_rows, make_row, sort_violations
from .rowcheck import csv_error_text, has_surrogate, value_problems
from .tally import UNREADABLE_LOB, Tally
from .values import base_field, with_values

_PR_SET_PDEATHSIG = 1
_JSON_CLAIM_ID = re.compile(r'"claim_id"\s*:\s*"([^"\\]*)"')


@attrs.frozen
class WorkerConfig:
    """Everything a worker needs, picklable (it crosses into spawned processes)."""

    input_format: InputFormat
    output_format: OutputFormat
    csv_header: tuple[str, ...] | None = None
    ignore_unknown_columns: bool = False
    policies: str | None = None
    policy_id: str | None = None
    as_known_on: dt.date | None = None
    compare_to: str | None = None  # a version ref the parent already checked resolves
    server: str | None = None
    token: str | None = None
    server_timeout: float | None = None  # seconds per chunk's stream; None: remote.chunk_deadline


@attrs.frozen
class ChunkResult:
    index: int
    rows: int
    data: bytes
    tally: Tally
    claim_ids: ClaimIdHashes = attrs.field(factory=ClaimIdHashes)


@attrs.frozen
class _Parsed:
    """One record, read: what to decide, and what was already wrong with it."""

    line: int
    claim_id: str
    service_date: str
    request: dict[str, Any] | None  # None: unreadable, nothing to decide
    problems: tuple[FieldViolation, ...]
    raw: Mapping[str, Any] = attrs.field(factory=dict)  # fact name -> value as given


class _Cells(Mapping[str, str]):
    """A CSV row's cells by fact name, looked up only when the row turns out to be an error."""

    def __init__(self, cells: Sequence[str], lay: CsvLayout) -> None:
        self._cells = cells
        self._layout = lay

    def _index(self) -> dict[str, int]:
        return {c.name: c.index for c in self._layout.columns}

    def __getitem__(self, name: str) -> str:
        cell = self._cells[self._index()[name]]
        if not cell.strip():
            raise KeyError(name)  # an empty cell is an unknown fact, not a value
        return cell

    def __iter__(self) -> Any:
        return iter(self._index())

    def __len__(self) -> int:
        return len(self._layout.columns)


class _RecordParser:
    """``csv.reader([text], strict=True)`` of one record after another, through one reader
    (not one built per row). The reader starts every record afresh and reads only the text
    it is given: whatever a record holds, it reads as it would alone."""

    def __init__(self) -> None:
        self._text: str | None = None
        self._reader = csv.reader(self, strict=True)

    def __iter__(self) -> _RecordParser:
        return self

    def __next__(self) -> str:
        text, self._text = self._text, None
        if text is None:
            raise StopIteration
        return text

    def read(self, text: str) -> list[str]:
        self._text = text
        try:
            return next(self._reader)
        finally:
            self._text = None


def _unreadable(line: int, claim_id: str, description: str, field: str = "row") -> _Parsed:
    return _Parsed(line, claim_id, "", None, (FieldViolation(field, description),))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class ChunkProcessor:
    def __init__(
        self, config: WorkerConfig, decider: Decider, lay: CsvLayout | None, fact_order: Sequence[str]
    ) -> None:
        self.config = config
        self.decider = decider
        self.layout = lay
        self.compare = config.compare_to is not None
        self.order = field_order(fact_order)
        self.lob_terms: frozenset[str] = frozenset()
        self._csv = _RecordParser()

    def parse(self, line: int, record: bytes) -> _Parsed:
        """Never raises: whatever the record holds, it becomes one _Parsed."""
        try:
            return self._parse(line, record)
        except Exception as exc:  # RecursionError, MemoryError's kin, a bug: one row, not the chunk
            return _Parsed(line, "", "", None, (_internal_violation(exc),))

    def _parse(self, line: int, record: bytes) -> _Parsed:
        try:
            text = record.decode("utf-8")
        except UnicodeDecodeError as exc:
            claim_id = ""
            if self.config.input_format == "csv":
                claim_id = self._salvage_claim_id(record.decode("utf-8", errors="replace"))
                if "\ufffd" in claim_id:
                    claim_id = ""
            else:
                found = _JSON_CLAIM_ID.search(record.decode("utf-8", errors="replace"))
                claim_id = found.group(1).strip() if found and "\ufffd" not in found.group(1) else ""
            return _unreadable(line, claim_id, f"is not UTF-8 text (byte {exc.start + 1} of the row)")
        if self.config.input_format == "jsonl":
            return self._parse_json(line, text)
        return self._parse_csv(line, text)

    def _parse_csv(self, line: int, text: str) -> _Parsed:
        assert self.layout is not None
        if text.count('"') % 2:
            # A quote that never closes: the reader cut this record back to its own line
            # (records.py). Python's csv would take a stray quote inside a cell as text;
            # RFC 4180 does not, and neither does the reader, so the row is an error.
            claim_id = self._salvage_claim_id(text)
            return _unreadable(line, claim_id, "is not valid CSV (a quote is not closed on this row)")
        try:
            cells = self._csv.read(text)
        except (csv.Error, StopIteration) as exc:
            return _unreadable(line, self._salvage_claim_id(text), csv_error_text(exc))
        claim_id, service_date, request, problems = decode_row(cells, self.layout)
        if problems and not request and problems[0].field == "row":
            return _Parsed(line, claim_id, "", None, tuple(problems))
        if not claim_id:
            problems.append(FieldViolation(CLAIM_ID, "is required"))
        return _Parsed(line, claim_id, service_date, request, tuple(problems), _Cells(cells, self.layout))

    def _salvage_claim_id(self, text: str) -> str:
        """Best effort for a row that is not valid CSV: the claim id cell if it reads plainly,
        so an auditor can find the claim; empty when in doubt."""
        assert self.layout is not None
        cells = text.split(",")
        index = self.layout.claim_id_index
        if index < len(cells) and '"' not in "".join(cells[: index + 1]):
            return cells[index].strip()
        return ""

    def _parse_json(self, line: int, text: str) -> _Parsed:
        try:
            obj = json.loads(text, parse_constant=_reject_constant)
        except RecursionError:
            return _unreadable(line, _json_claim_id(text), "is nested too deeply to read as JSON")
        except ValueError as exc:
            # The position, not the message excerpt: JSONDecodeError.msg holds no data.
            if isinstance(exc, json.JSONDecodeError):
                reason = f"{exc.msg}, column {exc.colno}"
            elif "is not a JSON number" in str(exc):
                reason = "NaN and Infinity are not JSON numbers"
            else:
                reason = "a number is too long"
            return _unreadable(line, _json_claim_id(text), f"is not valid JSON ({reason})")
        if not isinstance(obj, dict):
            return _unreadable(line, "", "must be a JSON object")
        raw_id = obj.pop(CLAIM_ID, None)
        problems: list[FieldViolation] = []
        if raw_id is None:
            claim_id = ""
        elif isinstance(raw_id, str) and not has_surrogate(raw_id):
            claim_id = raw_id.strip()
        elif isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
            claim_id = str(raw_id)
        else:
            claim_id = ""
            kind = "text with a lone surrogate escape" if isinstance(raw_id, str) else _json_kind(raw_id)
            problems.append(FieldViolation(CLAIM_ID, f"must be a string or a number, not {kind}"))
        if not claim_id and not problems:
            problems.append(FieldViolation(CLAIM_ID, "is required"))
        problems += value_problems(text, obj)
        if any(p.field == "row" for p in problems):
            return _Parsed(line, claim_id, "", None, tuple(problems))
        nested = obj.get("request")
        request = nested if isinstance(nested, dict) and len(obj) == 1 else obj
        raw_date = request.get("service_date")
        service_date = "" if raw_date is None or not isinstance(raw_date, str | int) else str(raw_date)
        if has_surrogate(service_date):
            service_date = ""
        bad = {base_field(p.field.removeprefix("request.")) for p in problems if p.field != CLAIM_ID}
        if bad:
            # A value that cannot be sent or written is not decided: the row is an error
            # naming its field, and the other fields are still checked by the engine.
            request = {k: v for k, v in request.items() if k not in bad}
        return _Parsed(line, claim_id, service_date, request, tuple(problems), request)

    def process(self, chunk: Chunk) -> ChunkResult:
        parsed = [self.parse(line, record) for line, record in zip(chunk.lines, chunk.records, strict=True)]
        to_decide: list[Request] = [(p.claim_id, p.request) for p in parsed if p.request is not None]
        results = self._decide(to_decide, compare=False)
        compared = self._decide(to_decide, compare=True) if self.compare else None
        rows: list[Row] = []
        outcomes: list[tuple[Result, Result | None, str]] = []
        k = 0
        for p in parsed:
            try:
                result, other, lob = self._outcome(p, results, compared, k)
                row = make_row(p.line, p.claim_id, p.service_date, result, other if self.compare else None)
            except Exception as exc:  # a bug in building one row: that row only
                result = _internal_result(exc)
                other = result if self.compare else None
                lob = UNREADABLE_LOB
                row = make_row(p.line, p.claim_id, "", result, other)
            if p.request is not None:
                k += 1
            rows.append(row)
            outcomes.append((result, other, lob))
        data, rows, outcomes = self._format(rows, outcomes)
        tally = Tally()
        for row, (result, other, lob) in zip(rows, outcomes, strict=True):
            tally.add(row, result, known=self.order, lob=lob)
            if self.compare:
                tally.add_compare(row, known=self.order)
            errored = row["decision"] == ERROR or (self.compare and row["compare"]["decision"] == ERROR)
            if errored and (_is_internal(result) or (other is not None and _is_internal(other))):
                tally.internal += 1
        ids = claim_id_hashes(rows)
        return ChunkResult(chunk.index, len(rows), data, tally, ids)

    def _outcome(
        self,
        p: _Parsed,
        results: list[Result],
        compared: list[Result] | None,
        k: int,
    ) -> tuple[Result, Result | None, str]:
        if p.request is None:
            result: Result = _error_of(p.problems)
            other: Result | None = result
            lob = UNREADABLE_LOB
        else:
            result = with_values(_with_problems(results[k], p.problems), p.raw)
            other = None
            if compared is not None:
                other = with_values(_with_problems(compared[k], p.problems), p.raw)
            lob = self._lob(p.request, result)
        result = sort_violations(result, self.order)
        if other is not None:
            other = sort_violations(other, self.order)
        return result, other, lob

    def _lob(self, request: Mapping[str, Any], result: Result) -> str:
        """The line of business the summary may name: a term of the policy, never a raw value."""
        value = request.get("line_of_business")
        if value is None:
            return "(not given)"
        term = str(value).strip().lower() if isinstance(value, str) else ""
        return term if term in self.lob_terms else "(not a known term)"

    def _format(
        self, rows: list[Row], outcomes: list[tuple[Result, Result | None, str]]
    ) -> tuple[bytes, list[Row], list[tuple[Result, Result | None, str]]]:
        """The chunk's bytes; a row that cannot be written becomes an internal-error row."""
        fmt = self.config.output_format
        try:
            return format_rows(rows, fmt, self.compare), rows, outcomes
        except Exception:  # find the row(s), keep the rest
            pass
        parts: list[bytes] = []
        for i, row in enumerate(rows):
            try:
                parts.append(format_rows([row], fmt, self.compare))
            except Exception as exc:
                result = _internal_result(exc)
                other = result if self.compare else None
                claim_id = row["claim_id"] if not has_surrogate(str(row["claim_id"])) else ""
                rows[i] = make_row(row["line"], claim_id, "", result, other)
                outcomes[i] = (result, other, UNREADABLE_LOB)
                parts.append(format_rows([rows[i]], fmt, self.compare))
        return b"".join(parts), rows, outcomes

    def _decide(self, requests: list[Request], *, compare: bool) -> list[Result]:
        """One result per request. A decider that fails on a batch for any reason but its
        own loss (FatalDeciderError) is asked again in halves, down to the one request that
        fails, which alone becomes an internal-error row."""
        if not requests:
            return []
        try:
            results = self.decider.decide_many(requests, compare=compare)
        except FatalDeciderError:
            raise
        except Exception as exc:
            if len(requests) == 1:
                return [_internal_result(exc)]
            half = len(requests) // 2
            return self._decide(requests[:half], compare=compare) + self._decide(
                requests[half:], compare=compare
            )
        if len(results) != len(requests):
            # A decider that lost or added results must not shift every later row.
            return [_internal_result(RuntimeError("result count mismatch")) for _ in requests]
        return results


def _json_claim_id(text: str) -> str:
    found = _JSON_CLAIM_ID.search(text)  # best effort, so the claim can be found
    return found.group(1).strip() if found else ""


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a JSON array"
    return type(value).__name__


def _internal_violation(exc: BaseException) -> FieldViolation:
    # Only the exception's type: its message could quote member facts.
    return FieldViolation(
        "row", f"internal error ({type(exc).__name__}): not invalid input, please report it"
    )


def _internal_result(exc: BaseException) -> ErrorResult:
    return attrs.evolve(internal_error(exc), violations=(_internal_violation(exc),))


def _is_internal(result: Result) -> bool:
    return isinstance(result, ErrorResult) and result.code == INTERNAL


def _error_of(problems: tuple[FieldViolation, ...]) -> ErrorResult:
    error = ErrorResult.invalid(problems)
    if any(p.description.startswith("internal error") for p in problems):
        return attrs.evolve(error, code=INTERNAL)
    return error


def _with_problems(result: Result, problems: tuple[FieldViolation, ...]) -> Result:
    """The engine's result for the readable part of a row, joined with what was unreadable:
    one pass names every bad field, and a row with any problem is an error row."""
    if not problems:
        return result
    mine = _error_of(problems)
    if not isinstance(result, ErrorResult):
        return mine
    joined = result.with_violations_first(problems)
    return attrs.evolve(joined, code=INTERNAL) if INTERNAL in (mine.code, result.code) else joined


# ------------------------------------------------------------------ per-process state

_PROCESSOR: ChunkProcessor | None = None


def build_processor(config: WorkerConfig) -> ChunkProcessor:
    store = VersionStore.load(None if config.policies is None else Path(config.policies))
    lay = None
    types = fact_types(store.versions(config.policy_id))
    if config.input_format == "csv":
        assert config.csv_header is not None
        lay = layout(config.csv_header, types, ignore_unknown=config.ignore_unknown_columns)
    decider: Decider
    if config.server is not None:
        from .remote import RemoteDecider

        decider = RemoteDecider(
            config.server,
            token=config.token,
            policy_id=config.policy_id,
            as_known_on=config.as_known_on,
            compare_to=config.compare_to,
            timeout=config.server_timeout,
        )
    else:
        compare_to = None
        if config.compare_to is not None:
            compare_to = store.resolve(config.compare_to, config.policy_id)
        decider = LocalDecider(
            store, policy_id=config.policy_id, as_known_on=config.as_known_on, compare_to=compare_to
        )
    processor = ChunkProcessor(config, decider, lay, list(types))
    processor.lob_terms = frozenset(
        term for v in store.versions(config.policy_id) for term in _terms(v, "line_of_business")
    )
    return processor


def _terms(version: PolicyVersion, fact: str) -> tuple[str, ...]:
    spec = version.facts.get(fact)
    return spec.values if spec is not None else ()


def init_worker(config: WorkerConfig, parent_pid: int | None = None) -> None:
    global _PROCESSOR
    # Ctrl-C reaches the whole process group: the parent alone handles it (stops the
    # workers, keeps the partial results) instead of every worker printing a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent_pid)
    _PROCESSOR = build_processor(config)


def _die_with_parent(parent_pid: int | None) -> None:
    """Linux: the kernel ends this worker when the parent dies, however it dies (even by
    SIGKILL, where no handler of the parent runs), so no worker is ever left orphaned."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)  # the parent died before prctl took effect


def process_chunk(chunk: Chunk) -> ChunkResult:
    assert _PROCESSOR is not None, "init_worker was not run in this process"
    return _PROCESSOR.process(chunk)
