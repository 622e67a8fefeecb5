"""JSON logs and the decision log.

Neither ever holds a request's fact values (member health data): log records carry
ids, versions, decisions, citations and field names only. Exceptions are logged by
type and stack, never by their message, since a message may quote a value.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import logging
import os
import select
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from ..engine.decision import Decision

LOGGER_NAME = "rxpolicy.server"
# Decision-log records that may wait for a slow sink before new calls are refused.
DEFAULT_BUFFER_RECORDS = 10_000
log = logging.getLogger(LOGGER_NAME)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": _now(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, _, tb = record.exc_info
            out["exception"] = exc_type.__name__
            out["stack"] = "".join(traceback.format_tb(tb))
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def event(message: str, level: int = logging.INFO, *, exc_info: bool = False, **fields: Any) -> None:
    """One log record; ``fields`` become keys of its JSON object (never fact values)."""
    log.log(level, message, exc_info=exc_info, extra={"fields": fields})


class DecisionLog:
    """Append-only JSON lines, one per decision or refused request, written by a thread.

    The event loop only appends records to a buffer; a writer thread empties it with
    ``write(2)`` calls of whole lines (at most PIPE_BUF bytes each, atomic on a pipe or an
    O_APPEND file). A sink that cannot keep up (a pipe nobody reads, a full disk) never
    blocks serving: once ``capacity`` records wait, ``accepting`` turns false (the server
    refuses new calls with UNAVAILABLE and reports NOT_SERVING) until half of them are
    written. Records of calls already decided are always kept, so none is lost.
    """

    def __init__(
        self,
        fd: int | None,
        *,
        owns: bool = False,
        capacity: int = DEFAULT_BUFFER_RECORDS,
        on_pressure: Callable[[bool], None] | None = None,
        on_records: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> None:
        self._fd = fd
        self._on_records = on_records
        self._owns = owns
        self._capacity = max(1, capacity)
        self._on_pressure = on_pressure
        self._pending: collections.deque[dict[str, Any]] = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._closing = False
        self._pressed = False
        self._written = 0
        self._give_up = False  # set at close when the sink stays stalled past its timeout
        self._writer: threading.Thread | None = None
        if fd is not None:
            self._writer = threading.Thread(target=self._drain, name="rxpolicy-decision-log", daemon=True)
            self._writer.start()

    @classmethod
    def open(
        cls,
        target: str | None,
        *,
        capacity: int = DEFAULT_BUFFER_RECORDS,
        on_pressure: Callable[[bool], None] | None = None,
        on_records: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> DecisionLog:
        """``on_records`` sees every call's records, written or not (the metrics count them)."""
        if target is None or target == "":
            return cls(None, on_records=on_records)
        if target == "-":
            return cls(sys.stdout.fileno(), capacity=capacity, on_pressure=on_pressure, on_records=on_records)
        # Its records name requests and decisions about members: readable by the owner only.
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return cls(fd, owns=True, capacity=capacity, on_pressure=on_pressure, on_records=on_records)

    @staticmethod
    def decision_record(request_id: str, d: Decision) -> dict[str, Any]:
        ref = d.version
        record: dict[str, Any] = {
            "time": _now(),
            "request_id": request_id,
            "policy_id": ref.policy_id,
            "version": ref.version,
            "content_hash": ref.content_hash,
            "decision": d.outcome,
            "indication": d.indication.cite if d.indication else None,
            "unmet": [u.criterion.cite for u in d.unmet],
            "referral": [c.cite for c in d.referral],
            "refer_to": d.refer_to,
        }
        if ref.draft:
            record["draft"] = True
        return record

    @staticmethod
    def error_record(request_id: str, code: str, fields: Iterable[str] = ()) -> dict[str, Any]:
        return {
            "time": _now(),
            "request_id": request_id,
            "decision": None,
            "error": code,
            "fields": sorted(set(fields)),
        }

    @property
    def accepting(self) -> bool:
        """Whether new calls may be decided: the buffer has room (always, without a sink)."""
        return not self._pressed

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def written(self) -> int:
        return self._written

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        """Queue records for the writer thread; never blocks on the sink, never drops."""
        if self._on_records is not None:
            records = list(records)
            self._on_records(records)
        if self._fd is None:
            return
        changed = False
        with self._lock:
            before = len(self._pending)
            self._pending.extend(records)
            if len(self._pending) == before:
                return
            if not self._pressed and len(self._pending) >= self._capacity:
                self._pressed = changed = True
            self._wake.notify()
        if changed:
            self._pressure(True)

    def _pressure(self, pressed: bool) -> None:
        event(
            "decision log behind: refusing new calls" if pressed else "decision log caught up",
            30 if pressed else 20,
            pending_records=len(self._pending),
        )
        if self._on_pressure is not None:
            self._on_pressure(pressed)

    def _next_chunk(self) -> tuple[bytes, int] | None:
        """Whole lines, at most PIPE_BUF bytes (or one longer line), taken off the buffer."""
        with self._lock:
            while not self._pending and not self._closing:
                self._wake.wait()
            if not self._pending:
                return None
            chunk = b""
            count = 0
            while self._pending:
                line = (json.dumps(self._pending[0], ensure_ascii=False) + "\n").encode()
                if chunk and len(chunk) + len(line) > select.PIPE_BUF:
                    break
                self._pending.popleft()
                chunk += line
                count += 1
            return chunk, count

    def _drain(self) -> None:
        while (taken := self._next_chunk()) is not None:
            chunk, count = taken
            self._write_all(chunk)
            released = False
            with self._lock:
                self._written += count
                if self._pressed and len(self._pending) <= self._capacity // 2:
                    self._pressed = False
                    released = True
            if released:
                self._pressure(False)

    def _write_all(self, data: bytes) -> None:
        assert self._fd is not None
        failing = False
        while data:
            try:
                written = os.write(self._fd, data)
            except OSError as exc:
                # A sink that fails (disk full, closed pipe) keeps the records and the
                # pressure: the server stops deciding until it works again.
                if not failing:
                    event("decision log write failed; retrying", 40, error=exc.strerror or type(exc).__name__)
                    failing = True
                with self._lock:
                    if self._closing and self._give_up:
                        return
                    if not self._pressed:
                        self._pressed = True
                        pressed_now = True
                    else:
                        pressed_now = False
                if pressed_now:
                    self._pressure(True)
                time.sleep(0.2)
                continue
            data = data[written:]

    def close(self, timeout: float | None = None) -> int:
        """Write what is buffered (waiting at most ``timeout`` seconds for the sink) and
        close; returns how many records could not be written."""
        writer = self._writer
        if writer is not None:
            with self._lock:
                self._closing = True
                self._wake.notify()
            writer.join(timeout)
            if writer.is_alive():
                self._give_up = True
        unwritten = len(self._pending) if writer is not None and writer.is_alive() else 0
        if unwritten:
            # The writer is stuck in write(2) on this descriptor: leave both to process exit.
            event("decision log sink stalled at exit", 50, unwritten_records=unwritten, written=self._written)
            return unwritten
        if self._owns and self._fd is not None:
            os.close(self._fd)
        self._fd = None
        return 0
