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
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TextIO

from ..engine.decision import Decision

LOGGER_NAME = "rxpolicy.server"
# Decision-log records that may wait for a slow sink before new calls are refused.
DEFAULT_BUFFER_RECORDS = 10_000
# How long the decision-log writer lets records gather after a quiet spell (seconds).
LINGER_S = 0.005
log = logging.getLogger(LOGGER_NAME)


# The last time _now rendered, as (milliseconds since the epoch, text): one tuple, so a
# thread reading it while another replaces it sees a matching pair.
_last_now: tuple[int, str] = (-1, "")


def _now() -> str:
    """UTC now to the millisecond, in ISO form with Z. Rendered once per millisecond: a
    stream decides dozens of requests within one, and each record carries the time."""
    global _last_now
    ms = time.time_ns() // 1_000_000
    last = _last_now
    if last[0] == ms:
        return last[1]
    moment = dt.datetime.fromtimestamp(ms // 1000, dt.UTC).replace(microsecond=ms % 1000 * 1000)
    text = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    _last_now = (ms, text)
    return text


# What json.dumps(..., ensure_ascii=False) writes for a str (the C encoder where there is one).
_json_text: Callable[[str], str] = json.encoder.encode_basestring


def _json_texts(items: Iterable[str]) -> str:
    return "[" + ", ".join(map(_json_text, items)) + "]"


class DecisionRecord(Mapping[str, Any]):
    """A decision's log record, kept as the decision itself until the writer thread
    renders it: the event loop only notes the time and the request id. It reads as the
    mapping ``as_dict()`` (``record["decision"]``, ``record.get("error")``), each key
    worked out when asked; its line is the JSON of that mapping, byte for byte, written
    without building it."""

    __slots__ = ("decision", "request_id", "time")

    def __init__(self, time: str, request_id: str, decision: Decision) -> None:
        self.time = time
        self.request_id = request_id
        self.decision = decision

    def __getitem__(self, key: str) -> Any:
        read = _RECORD_KEYS.get(key)
        if read is None or (key == "draft" and not self.decision.version.draft):
            raise KeyError(key)
        return read(self)

    def __iter__(self) -> Iterator[str]:
        return iter(_RECORD_KEYS if self.decision.version.draft else _UNDRAFTED_KEYS)

    def __len__(self) -> int:
        return len(_RECORD_KEYS) if self.decision.version.draft else len(_UNDRAFTED_KEYS)

    def as_dict(self) -> dict[str, Any]:
        d = self.decision
        ref = d.version
        record: dict[str, Any] = {
            "time": self.time,
            "request_id": self.request_id,
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

    def json_line(self) -> str:
        """``json.dumps(self.as_dict(), ensure_ascii=False)``, several times faster."""
        d = self.decision
        ref = d.version
        text = _json_text
        return (
            f'{{"time": {text(self.time)}, "request_id": {text(self.request_id)}, '
            f'"policy_id": {text(ref.policy_id)}, "version": {text(ref.version)}, '
            f'"content_hash": {text(ref.content_hash)}, "decision": {text(d.outcome)}, '
            f'"indication": {"null" if d.indication is None else text(d.indication.cite)}, '
            f'"unmet": {_json_texts(u.criterion.cite for u in d.unmet)}, '
            f'"referral": {_json_texts(c.cite for c in d.referral)}, '
            f'"refer_to": {"null" if d.refer_to is None else text(d.refer_to)}'
            f"{_DRAFT if ref.draft else ''}}}"
        )


_DRAFT = ', "draft": true'

# A decision record's keys, in the order of its line, and how each is read; "draft" only
# under a draft.
_RECORD_KEYS: dict[str, Callable[[DecisionRecord], Any]] = {
    "time": lambda r: r.time,
    "request_id": lambda r: r.request_id,
    "policy_id": lambda r: r.decision.version.policy_id,
    "version": lambda r: r.decision.version.version,
    "content_hash": lambda r: r.decision.version.content_hash,
    "decision": lambda r: r.decision.outcome,
    "indication": lambda r: r.decision.indication.cite if r.decision.indication else None,
    "unmet": lambda r: [u.criterion.cite for u in r.decision.unmet],
    "referral": lambda r: [c.cite for c in r.decision.referral],
    "refer_to": lambda r: r.decision.refer_to,
    "draft": lambda r: True,
}
_UNDRAFTED_KEYS = tuple(k for k in _RECORD_KEYS if k != "draft")

# One line of the decision log before it is written: a decision's record, or an error's
# dict; either reads as a mapping of the line's keys.
LogRecord = Mapping[str, Any]


def _json_line(record: LogRecord) -> str:
    if isinstance(record, DecisionRecord):
        return record.json_line()
    return json.dumps(record, ensure_ascii=False)


def undelivered(record: LogRecord) -> dict[str, Any]:
    """``record`` marked as an answer the caller never got."""
    out = dict(record)
    out["delivered"] = False
    return out


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
        on_records: Callable[[list[LogRecord]], None] | None = None,
    ) -> None:
        self._fd = fd
        self._on_records = on_records
        self._owns = owns
        self._capacity = max(1, capacity)
        self._on_pressure = on_pressure
        self._pending: collections.deque[LogRecord] = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._closing = False
        self._idle = False  # the writer is waiting for records (write() must wake it)
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
        on_records: Callable[[list[LogRecord]], None] | None = None,
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
    def decision_record(request_id: str, d: Decision) -> DecisionRecord:
        return DecisionRecord(_now(), request_id, d)

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

    def write(self, records: Iterable[LogRecord], *, delivered: bool = True) -> None:
        """Queue records for the writer thread; never blocks on the sink, never drops.
        ``delivered=False``: the caller never got these answers (cancelled, past its
        deadline, the stream broken), and each record says so. ``on_records`` (the
        metrics) sees them all, whether the log is written or not."""
        if not delivered:
            records = [undelivered(r) for r in records]
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
            if self._idle:  # a busy writer finds these on its own: no wake-up per call
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
        linger = False
        with self._lock:
            if not self._pending and not self._closing:
                self._idle = True
                while not self._pending and not self._closing:
                    self._wake.wait()
                self._idle = False
                linger = not self._closing
        if linger:
            # Woken by the first record after a quiet spell: let LINGER_S of records
            # gather, so one wake-up writes many (a wake-up per call measured about
            # 50 us of server CPU a call in this thread, plus the GIL hand-offs).
            time.sleep(LINGER_S)
        with self._lock:
            if not self._pending:
                return None
            chunk = b""
            count = 0
            while self._pending:
                line = (_json_line(self._pending[0]) + "\n").encode()
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
