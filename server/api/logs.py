"""JSON logs and the decision log.

Neither ever holds a request's fact values (member health data): log records carry
ids, versions, decisions, citations and field names only. Exceptions are logged by
type and stack, never by their message, since a message may quote a value.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import select
import sys
import traceback
from collections.abc import Iterable
from typing import Any, TextIO

from ..engine.decision import Decision

LOGGER_NAME = "rxpolicy.server"
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
    """Append-only JSON lines, one per decision or refused request.

    Written in ``write(2)`` calls of whole lines, at most PIPE_BUF bytes each, on an
    O_APPEND descriptor: each is atomic, so several worker processes can share one file
    or pipe without interleaving lines.
    """

    def __init__(self, fd: int | None, *, owns: bool = False) -> None:
        self._fd = fd
        self._owns = owns

    @classmethod
    def open(cls, target: str | None) -> DecisionLog:
        if target is None or target == "":
            return cls(None)
        if target == "-":
            return cls(sys.stdout.fileno())
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        return cls(fd, owns=True)

    @staticmethod
    def decision_record(request_id: str, d: Decision) -> dict[str, Any]:
        ref = d.version
        return {
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

    @staticmethod
    def error_record(request_id: str, code: str, fields: Iterable[str] = ()) -> dict[str, Any]:
        return {
            "time": _now(),
            "request_id": request_id,
            "decision": None,
            "error": code,
            "fields": sorted(set(fields)),
        }

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        if self._fd is None:
            return
        chunk = b""
        for record in records:
            line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
            if chunk and len(chunk) + len(line) > select.PIPE_BUF:
                self._write_all(chunk)
                chunk = b""
            chunk += line
        if chunk:
            self._write_all(chunk)

    def _write_all(self, data: bytes) -> None:
        assert self._fd is not None
        while data:
            written = os.write(self._fd, data)
            data = data[written:]

    def close(self) -> None:
        if self._owns and self._fd is not None:
            os.close(self._fd)
        self._fd = None
