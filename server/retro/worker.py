"""One chunk of claims in, its formatted result rows and counts out.

Runs in a worker process (or in the parent with one worker). Each process builds
its state once, in ``init_worker``: the version store (or a client), the CSV
layout. A row that cannot be read (bad bytes, bad CSV, bad JSON, a cell of the
wrong type, no claim id) becomes an error row naming the field; nothing a row holds
stops the chunk.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
from rxpolicy.decisions import ErrorResult, Result

from ..engine.errors import FieldViolation
from ..engine.store import VersionStore
from .columns import CLAIM_ID, CsvLayout, decode_row, fact_types, layout
from .deciders import Decider, LocalDecider, Request, internal_error
from .records import Chunk, InputFormat
from .results import OutputFormat, Row, field_order, format_rows, make_row, sort_violations
from .tally import Tally

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


@attrs.frozen
class _Parsed:
    """One record, read: what to decide, and what was already wrong with it."""

    line: int
    claim_id: str
    service_date: str
    request: dict[str, Any] | None  # None: unreadable, nothing to decide
    problems: tuple[FieldViolation, ...]


class ChunkProcessor:
    def __init__(
        self, config: WorkerConfig, decider: Decider, lay: CsvLayout | None, fact_order: Sequence[str]
    ) -> None:
        self.config = config
        self.decider = decider
        self.layout = lay
        self.compare = config.compare_to is not None
        self.order = field_order(fact_order)

    def parse(self, line: int, record: bytes) -> _Parsed:
        try:
            text = record.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _Parsed(line, "", "", None, (FieldViolation("row", f"is not UTF-8 text ({exc.reason})"),))
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
            problem = FieldViolation("row", "is not valid CSV (a quote is not closed on this row)")
            return _Parsed(line, claim_id, "", None, (problem,))
        try:
            cells = next(csv.reader([text], strict=True))
        except (csv.Error, StopIteration) as exc:
            claim_id = self._salvage_claim_id(text)
            return _Parsed(line, claim_id, "", None, (FieldViolation("row", f"is not valid CSV ({exc})"),))
        claim_id, service_date, request, problems = decode_row(cells, self.layout)
        if problems and not request and problems[0].field == "row":
            return _Parsed(line, claim_id, "", None, tuple(problems))
        if not claim_id:
            problems.append(FieldViolation(CLAIM_ID, "is required"))
        return _Parsed(line, claim_id, service_date, request, tuple(problems))

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
            obj = json.loads(text)
        except ValueError as exc:
            # The position, not the message excerpt: JSONDecodeError.msg holds no data.
            reason = f"{exc.msg}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else "bad"
            found = _JSON_CLAIM_ID.search(text)  # best effort, so the claim can be found
            claim_id = found.group(1).strip() if found else ""
            return _Parsed(
                line, claim_id, "", None, (FieldViolation("row", f"is not valid JSON ({reason})"),)
            )
        if not isinstance(obj, dict):
            return _Parsed(line, "", "", None, (FieldViolation("row", "must be a JSON object"),))
        raw_id = obj.pop(CLAIM_ID, None)
        claim_id = "" if raw_id is None else str(raw_id).strip()
        nested = obj.get("request")
        request = nested if isinstance(nested, dict) and len(obj) == 1 else obj
        problems = [] if claim_id else [FieldViolation(CLAIM_ID, "is required")]
        raw_date = request.get("service_date")
        service_date = "" if raw_date is None else str(raw_date)
        return _Parsed(line, claim_id, service_date, request, tuple(problems))

    def process(self, chunk: Chunk) -> ChunkResult:
        parsed = [self.parse(line, record) for line, record in zip(chunk.lines, chunk.records, strict=True)]
        to_decide: list[Request] = [(p.claim_id, p.request) for p in parsed if p.request is not None]
        results = self._decide(to_decide, compare=False)
        compared = self._decide(to_decide, compare=True) if self.compare else None
        tally = Tally()
        rows: list[Row] = []
        k = 0
        for p in parsed:
            if p.request is None:
                result: Result = ErrorResult.invalid(p.problems)
                other: Result | None = result
            else:
                result = _with_problems(results[k], p.problems)
                other = _with_problems(compared[k], p.problems) if compared is not None else None
                k += 1
            result = sort_violations(result, self.order)
            if other is not None:
                other = sort_violations(other, self.order)
            row = make_row(p.line, p.claim_id, p.service_date, result, other if self.compare else None)
            tally.add(row, result, known=self.order)
            if self.compare:
                tally.add_compare(row, known=self.order)
            rows.append(row)
        data = format_rows(rows, self.config.output_format, self.compare)
        return ChunkResult(chunk.index, len(rows), data, tally)

    def _decide(self, requests: list[Request], *, compare: bool) -> list[Result]:
        results = self.decider.decide_many(requests, compare=compare)
        if len(results) != len(requests):
            # A decider that lost or added results must not shift every later row.
            return [internal_error(RuntimeError("result count mismatch")) for _ in requests]
        return results


def _with_problems(result: Result, problems: tuple[FieldViolation, ...]) -> Result:
    """The engine's result for the readable part of a row, joined with what was unreadable:
    one pass names every bad field, and a row with any problem is an error row."""
    if not problems:
        return result
    if isinstance(result, ErrorResult):
        return result.with_violations_first(problems)
    return ErrorResult.invalid(problems)


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
    return ChunkProcessor(config, decider, lay, list(types))


def init_worker(config: WorkerConfig) -> None:
    global _PROCESSOR
    # Ctrl-C reaches the whole process group: the parent alone handles it (stops
    # submitting, lets running chunks end) instead of every worker printing a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _PROCESSOR = build_processor(config)


def process_chunk(chunk: Chunk) -> ChunkResult:
    assert _PROCESSOR is not None, "init_worker was not run in this process"
    return _PROCESSOR.process(chunk)
