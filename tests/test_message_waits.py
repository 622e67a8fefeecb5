"""The one-timer bound on message waits (server/api/message_waits.py), on a real event loop."""

from __future__ import annotations

import asyncio
import time

import pytest
from rxpolicy.server.api.message_waits import MessageWaits


def test_a_message_in_time_is_returned_and_nothing_is_left_waiting() -> None:
    async def run() -> tuple[str, int]:
        waits = MessageWaits(asyncio.get_running_loop(), sweep_s=0.01)

        async def read() -> str:
            await asyncio.sleep(0.02)
            return "message"

        got = await waits.next(read, 1.0)
        return got, waits.waiting

    assert asyncio.run(run()) == ("message", 0)


def test_a_wait_past_its_bound_ends_with_timeout_within_one_sweep() -> None:
    async def run() -> float:
        waits = MessageWaits(asyncio.get_running_loop(), sweep_s=0.05)
        never = asyncio.Event()
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await waits.next(never.wait, 0.2)
        assert waits.waiting == 0
        return time.monotonic() - started

    took = asyncio.run(run())
    assert 0.2 <= took < 2.0  # the bound, plus one sweep and a loaded machine's slack


def test_many_waits_end_each_at_its_own_bound_and_the_others_go_on() -> None:
    async def run() -> list[str]:
        waits = MessageWaits(asyncio.get_running_loop(), sweep_s=0.02)
        never = asyncio.Event()
        arrives = asyncio.Event()

        async def wait(timeout: float) -> str:
            try:
                await waits.next(arrives.wait if timeout > 5 else never.wait, timeout)
            except TimeoutError:
                return f"timed out {timeout}"
            return f"arrived {timeout}"

        tasks = [asyncio.create_task(wait(t)) for t in (0.05, 0.1, 10.0)]
        await asyncio.sleep(0.5)
        arrives.set()
        return [await t for t in tasks]

    assert asyncio.run(run()) == ["timed out 0.05", "timed out 0.1", "arrived 10.0"]


def test_a_cancel_from_elsewhere_is_not_turned_into_a_timeout() -> None:
    async def run() -> None:
        waits = MessageWaits(asyncio.get_running_loop(), sweep_s=0.01)
        never = asyncio.Event()
        task = asyncio.create_task(waits.next(never.wait, 10.0))
        await asyncio.sleep(0.05)
        task.cancel()  # the caller went away
        with pytest.raises(asyncio.CancelledError):
            await task
        assert waits.waiting == 0

    asyncio.run(run())
