"""EvaluateStream bookkeeping that the sync and asyncio clients share: the caller's items
grouped into batches, each batch from made to answered, and which to send (again) when a
stream fails UNAVAILABLE and a new one takes over.

A response answers the oldest batch sent and not yet answered (the server answers in
order), so answered batches leave from the front and results keep input order. After a
failure every batch still waiting is sent again on the next stream; none is answered
twice, because a result is handed to the caller only when its batch leaves.
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs
from rxpolicy.limits import MAX_STREAM_BATCH
from rxpolicy.v1 import policy_service_pb2 as pb

from . import _wire
from .results import ErrorResult, Result

# Streams tried in all for one evaluate_many call (the first and the resends), and the
# backoff between them: a rolling restart of the servers behind a target takes seconds.
STREAM_ATTEMPTS = 6
INITIAL_BACKOFF_S = 0.1
MAX_BACKOFF_S = 2.0


def backoff(failures: int) -> float:
    """Seconds to wait before the stream after ``failures`` failed ones (full jitter)."""
    return random.uniform(0, min(MAX_BACKOFF_S, INITIAL_BACKOFF_S * 2 ** (failures - 1)))


def stream_batch_size(requested: int) -> int:
    """Items per stream message: at least 1, at most what the server accepts in one."""
    return min(max(1, requested), MAX_STREAM_BATCH)


Builder = Callable[[Any], pb.EvaluateRequest]


@attrs.frozen
class Batch:
    """One stream message's worth of items. ``slots`` has None where the server answers,
    or the local error of an item that could not be sent at all; ``message`` is None
    when no item of the batch could be sent."""

    seq: int
    message: pb.EvaluateStreamRequest | None
    slots: tuple[ErrorResult | None, ...]

    def results(self, response: pb.EvaluateStreamResponse | None) -> list[Result]:
        answers = iter(response.results if response is not None else ())
        return [slot if slot is not None else _wire.result(next(answers)) for slot in self.slots]


def group(
    chunk: Iterable[Any], build: Builder, counter: Iterator[int]
) -> tuple[pb.EvaluateStreamRequest | None, tuple[ErrorResult | None, ...]]:
    """One batch's message and slots. An item that is not a request is named ``item-N`` by
    its place in the whole input (one ``counter`` across the call)."""
    requests: list[pb.EvaluateRequest] = []
    slots: list[ErrorResult | None] = []
    for item in chunk:
        n = next(counter)
        try:
            requests.append(build(item))
            slots.append(None)
        except TypeError as exc:
            slots.append(_wire.local_error(f"item-{n}", exc))
    return (pb.EvaluateStreamRequest(requests=requests) if requests else None), tuple(slots)


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


class Plan:
    """The batches of one evaluate_many call that are made and not yet handed to the
    caller, and how far the current stream has sent them. Not locked: each client
    guards it its own way (a thread lock, or the event loop)."""

    def __init__(self) -> None:
        self._waiting: deque[Batch] = deque()
        self._made = 0
        self._send_from = 0  # the seq of the next batch the current stream sends
        self.attempt = 1
        self.source_done = False
        self.failure: BaseException | None = None  # the caller's iterable failed

    def add(self, message: pb.EvaluateStreamRequest | None, slots: tuple[ErrorResult | None, ...]) -> None:
        self._waiting.append(Batch(self._made, message, slots))
        self._made += 1

    def next_to_send(self) -> Batch | None:
        """The next batch the current stream has not sent (skipping those with nothing
        to send), marked sent; None when it has sent every batch made so far."""
        for batch in self._waiting:
            if batch.seq >= self._send_from:
                self._send_from = batch.seq + 1
                if batch.message is not None:
                    return batch
        self._send_from = self._made
        return None

    def head(self) -> Batch | None:
        return self._waiting[0] if self._waiting else None

    def answered(self) -> Batch:
        return self._waiting.popleft()

    @property
    def finished(self) -> bool:
        return self.source_done and not self._waiting

    def new_stream(self) -> None:
        """The stream failed: the next one sends every batch still waiting, from the first."""
        self.attempt += 1
        self._send_from = self._waiting[0].seq if self._waiting else self._made
