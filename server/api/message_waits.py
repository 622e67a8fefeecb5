"""Bounded waits for request messages, with one timer for every call.

A call waiting for a message (a unary call's only one, a stream's next) must end once
its bound has passed. ``asyncio.timeout`` around each wait arms and cancels a timer in
the event loop's heap for every call: that measured about 30 us of server CPU a call
at 64 callers (bench/grpc_bench.py, an echo server with and without it). Here a waiting
call is one dict entry, and one sweep, scheduled only while some call waits, cancels
the calls whose bound has passed: a wait ends between its bound and one ``SWEEP_S``
after it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

# How often waiting calls are checked: the slack a bound may overrun by.
SWEEP_S = 0.1


class MessageWaits:
    def __init__(self, loop: asyncio.AbstractEventLoop, sweep_s: float = SWEEP_S) -> None:
        self._loop = loop
        self._sweep_s = sweep_s
        self._waiting: dict[asyncio.Task[Any], float] = {}  # task -> loop time its bound ends
        self._expired: set[asyncio.Task[Any]] = set()  # cancelled here, not by anyone else
        self._sweep: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def next(self, read: Callable[[], Awaitable[T]], timeout: float) -> T:
        """What ``read()`` gives; TimeoutError when it has not given it within ``timeout``
        seconds (plus at most one sweep). Runs in the call's own task, as gRPC's handlers do."""
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - gRPC runs every handler in a task
            raise RuntimeError("MessageWaits.next must run in a task")
        self._waiting[task] = self._loop.time() + timeout
        if self._sweep is None:
            self._sweep = self._loop.call_later(self._sweep_s, self._sweep_now)
        try:
            return await read()
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            self._expired.discard(task)
            # As asyncio.timeout does: a cancel of someone else's (the caller went away)
            # that came as well is not swallowed.
            if task.uncancel() > 0:
                raise
            raise TimeoutError from None
        finally:
            self._waiting.pop(task, None)

    def _sweep_now(self) -> None:
        self._sweep = None
        now = self._loop.time()
        overdue = [task for task, ends in self._waiting.items() if ends <= now]
        for task in overdue:
            del self._waiting[task]
            if task.cancel():
                self._expired.add(task)
        if self._waiting:
            self._sweep = self._loop.call_later(self._sweep_s, self._sweep_now)
