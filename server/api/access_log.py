"""The access log: one JSON line per gRPC call (method, status code, latency, peer, request
id), never a request's fact values.

Refused calls (no valid token, the server draining or full, an invalid request) are
rate-limited: at most one line per cause (status code) per second; the line says how many
refusals of that cause were not written since the previous one (``suppressed``), and a
cause whose refusals stopped gets a last line with the count left over. One misbehaving
client therefore costs a line a second, not a line a call.

The event loop only appends a tuple to a buffer; a writer thread formats the lines and
writes them every few milliseconds in whole-line ``write(2)`` calls (at most PIPE_BUF bytes,
so lines never interleave with the other logs on a pipe). A sink that cannot keep up never
blocks serving: past ``capacity`` waiting lines, new ones are dropped and counted (a
``dropped`` line when the sink takes lines again, and the metric).
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import select
import sys
import threading
import time
from collections.abc import Callable
from json.encoder import encode_basestring

LOGGER = "rxpolicy.access"
FLUSH_INTERVAL_S = 0.05
RATE_WINDOW_S = 1.0
DEFAULT_CAPACITY = 100_000
# Status codes that mean the server refused the call: these lines are rate-limited.
REFUSAL_CODES = frozenset(
    {
        "UNAUTHENTICATED",
        "PERMISSION_DENIED",
        "UNAVAILABLE",
        "RESOURCE_EXHAUSTED",
        "INVALID_ARGUMENT",
        "UNIMPLEMENTED",  # a method this server does not serve (a scanner, a wrong client)
    }
)


# What the access log keeps of a call (no message content but the request id): when it
# ended (time.time()), method, status code, seconds, peer, request id, request messages of
# a client-streaming call. A plain tuple: made on the event loop for every call.
CallRecord = tuple[float, str, str, float, str, str | None, int | None]


class AccessLog:
    def __init__(
        self,
        fd: int,
        *,
        owns: bool = False,
        capacity: int = DEFAULT_CAPACITY,
        on_suppressed: Callable[[str], None] | None = None,
        on_dropped: Callable[[int], None] | None = None,
    ) -> None:
        self._fd = fd
        self._owns = owns
        self._capacity = capacity
        self._on_suppressed = on_suppressed
        self._on_dropped = on_dropped
        # Appended by the event loop, taken by the writer: deque operations are atomic.
        self._pending: collections.deque[CallRecord | dict[str, object]] = collections.deque()
        self._dropped = 0
        self._pid = os.getpid()
        # The parts of a line that depend on its method and code only, made once each (the
        # methods are the server's own, so this stays small).
        self._middles: dict[tuple[str, str], str] = {}
        self._second = -1  # the whole second self._stamp spells
        self._stamp = ""
        # Refusals by cause: when the last line of it was written, and how many since.
        self._refusals: dict[str, list[float]] = {}
        self._refusal_lock = threading.Lock()
        self._closing = threading.Event()
        self._writer = threading.Thread(target=self._run, name="rxpolicy-access-log", daemon=True)
        self._writer.start()

    @classmethod
    def open(
        cls,
        target: str,
        *,
        on_suppressed: Callable[[str], None] | None = None,
        on_dropped: Callable[[int], None] | None = None,
    ) -> AccessLog:
        """'-': standard error (with the other logs); anything else: a file, appended, 0600."""
        if target == "-":
            return cls(sys.stderr.fileno(), on_suppressed=on_suppressed, on_dropped=on_dropped)
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return cls(fd, owns=True, on_suppressed=on_suppressed, on_dropped=on_dropped)

    # ------------------------------------------------------------ the event loop's side

    def record(
        self,
        at: float,
        method: str,
        code: str,
        seconds: float,
        peer: str,
        request_id: str | None = None,
        messages: int | None = None,
    ) -> None:
        if code in REFUSAL_CODES and not self._admit_refusal(code, at):
            return
        if len(self._pending) >= self._capacity:
            with self._refusal_lock:
                self._dropped += 1
            return
        self._pending.append((at, method, code, seconds, peer, request_id, messages))

    def _admit_refusal(self, code: str, at: float) -> bool:
        """Whether this refusal gets a line; else it is counted as suppressed."""
        with self._refusal_lock:
            state = self._refusals.get(code)
            if state is None or at - state[0] >= RATE_WINDOW_S:
                suppressed = int(state[1]) if state is not None else 0
                self._refusals[code] = [at, 0.0]
                if suppressed:
                    self._pending.append(self._suppressed_line(code, suppressed, at))
                return True
            state[1] += 1
        if self._on_suppressed is not None:
            self._on_suppressed(code)
        return False

    # ------------------------------------------------------------ the writer thread

    def _suppressed_line(self, cause: str, count: int, at: float) -> dict[str, object]:
        return {
            "time": _iso(at),
            "level": "warning",
            "logger": LOGGER,
            "message": "refused calls not logged (at most one line per cause a second)",
            "pid": self._pid,
            "code": cause,
            "suppressed": count,
        }

    def _flush_quiet_causes(self, now: float) -> None:
        """A last line for each cause whose refusals stopped with some left uncounted."""
        with self._refusal_lock:
            for cause, state in self._refusals.items():
                if state[1] and now - state[0] >= RATE_WINDOW_S:
                    self._pending.append(self._suppressed_line(cause, int(state[1]), now))
                    state[1] = 0.0

    def _line(self, item: CallRecord | dict[str, object]) -> str:
        if isinstance(item, dict):
            return json.dumps(item, ensure_ascii=False)
        # Written by hand, not json.dumps of a dict: this runs once per call (under the GIL
        # the event loop shares). Text from outside (peer, request id) goes through JSON's
        # string encoder; the rest is the server's own.
        at, method, code, seconds, peer, request_id, messages = item
        second = int(at)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        middle = self._middles.get((method, code))
        if middle is None:
            refused = code in REFUSAL_CODES
            middle = self._middles[(method, code)] = (
                f'"level": "{"warning" if refused else "info"}", "logger": "{LOGGER}", '
                f'"message": "{"call refused" if refused else "call"}", "pid": {self._pid}, '
                f'"method": {_string(method)}, "code": "{code}", "latency_ms": '
            )
        line = f'{{"time": "{self._stamp}.{int((at - second) * 1000):03d}Z", {middle}{seconds * 1000:.3f}'
        if peer:
            line += f', "peer": {_string(peer)}'
        if request_id is not None:
            line += f', "request_id": {_string(request_id)}'
        if messages is not None:
            line += f', "messages": {messages}'
        return line + "}"

    def _chunks(self) -> list[bytes]:
        lines: list[bytes] = []
        while self._pending:
            lines.append((self._line(self._pending.popleft()) + "\n").encode())
        with self._refusal_lock:
            dropped, self._dropped = self._dropped, 0
        if dropped:
            if self._on_dropped is not None:
                self._on_dropped(dropped)
            note = {"time": _iso(time.time()), "level": "warning", "logger": LOGGER, "pid": self._pid}
            note |= {"message": "access log lines dropped: its sink was behind", "dropped": dropped}
            lines.append((json.dumps(note) + "\n").encode())
        chunks: list[bytes] = []
        chunk = b""
        for line in lines:
            if chunk and len(chunk) + len(line) > select.PIPE_BUF:
                chunks.append(chunk)
                chunk = b""
            chunk += line
        if chunk:
            chunks.append(chunk)
        return chunks

    def _run(self) -> None:
        while True:
            closing = self._closing.wait(FLUSH_INTERVAL_S)
            self._flush_quiet_causes(time.time() + (RATE_WINDOW_S if closing else 0.0))
            for chunk in self._chunks():
                self._write_all(chunk)
            if closing:
                return

    def _write_all(self, data: bytes) -> None:
        while data:
            try:
                data = data[os.write(self._fd, data) :]
            except InterruptedError:
                continue
            except OSError:
                return  # a sink that fails loses its access lines, never the service

    def close(self, timeout: float = 5.0) -> None:
        """Write what is waiting (and the suppressed counts left) and stop the writer."""
        self._closing.set()
        self._writer.join(timeout)
        if self._owns and not self._writer.is_alive():
            os.close(self._fd)


def _string(text: str) -> str:
    """A JSON string literal (the json module's C encoder, as json.dumps uses)."""
    return encode_basestring(text)


def _iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
