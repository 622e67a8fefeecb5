"""AsyncPolicyClient: the asyncio client (grpc.aio)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import Any

import grpc
from rxpolicy.v1 import policy_service_pb2 as pb
from rxpolicy.v1 import policy_service_pb2_grpc

from ._base import DEFAULT, STREAM_BATCH, ClientBase, StreamClock, Timeout, unary_failure
from ._stream import STREAM_ATTEMPTS, Batch, Builder, Plan, backoff, group, stream_batch_size
from .errors import PolicyClientError, from_rpc_error
from .results import Decision, Result, VersionDiff
from .versions import PolicyVersion, VersionList


class AsyncPolicyClient(ClientBase):
    """Asyncio client for rxpolicy.v1.PolicyService; the same options and methods as
    PolicyClient, awaited.

    Create it inside the event loop that uses it; ``async with`` closes the channel."""

    _channel: grpc.aio.Channel
    _stub: policy_service_pb2_grpc.PolicyServiceAsyncStub

    def _connect(
        self, target: str, creds: grpc.ChannelCredentials | None, options: list[tuple[str, Any]]
    ) -> None:
        self._channel = (
            grpc.aio.secure_channel(target, creds, options)
            if creds is not None
            else grpc.aio.insecure_channel(target, options)
        )
        self._stub = policy_service_pb2_grpc.PolicyServiceStub(self._channel)

    def _connectivity(self) -> grpc.ChannelConnectivity | None:
        return self._channel.get_state(try_to_connect=False)

    async def __aenter__(self) -> AsyncPolicyClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def _unary(self, method: Any, request: Any, timeout: Timeout) -> Any:
        """One unary call, retried and checked as PolicyClient's are."""
        clock = StreamClock(self._deadline(timeout))
        attempt = 0
        unavailable: PolicyClientError | None = None
        while True:
            attempt += 1
            try:
                call = method(request, timeout=clock.left(), metadata=self._metadata)
                response = await call
            except (grpc.RpcError, PolicyClientError) as exc:
                error = exc if isinstance(exc, PolicyClientError) else from_rpc_error(exc)
                failure = unary_failure(error, unavailable, attempt, self._connectivity())
                if failure is not None:
                    raise failure from None
                unavailable = error
                await asyncio.sleep(backoff(attempt))
                continue
            self._check_digest(response.policy_set_digest)
            return response

    async def evaluate(
        self,
        facts: Mapping[str, Any] | None = None,
        /,
        *,
        request_id: str = "",
        policy_id: str | None = None,
        as_known_on: dt.date | str | None = None,
        include_trace: bool = False,
        version: str | None = None,
        timeout: Timeout = DEFAULT,
        **more_facts: Any,
    ) -> Decision:
        request = self._evaluate_request(
            facts,
            more_facts,
            request_id=request_id,
            policy_id=policy_id,
            as_known_on=as_known_on,
            include_trace=include_trace,
            version=version,
        )
        response = await self._unary(self._stub.Evaluate, request, timeout)
        return self._decision(response)

    async def evaluate_many(
        self,
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        policy_id: str | None = None,
        as_known_on: dt.date | str | None = None,
        include_trace: bool = False,
        version: str | None = None,
        batch_size: int = STREAM_BATCH,
        timeout: float | None = None,
    ) -> AsyncIterator[Result]:
        """Decide every item over EvaluateStream; results in input order, requests not yet
        answered sent again when a stream fails UNAVAILABLE (see PolicyClient)."""
        stream = _Stream(self, self._item_builder(policy_id, as_known_on, include_trace, version))
        async for result in stream.run(items, stream_batch_size(batch_size), StreamClock(timeout)):
            yield result

    async def list_versions(self, policy_id: str | None = None, *, timeout: Timeout = DEFAULT) -> VersionList:
        request = self._list_request(policy_id)
        response = await self._unary(self._stub.ListVersions, request, timeout)
        return self._versions(response)

    async def get_version(
        self,
        version: str | None = None,
        *,
        in_force_on: dt.date | str | None = None,
        policy_id: str | None = None,
        timeout: Timeout = DEFAULT,
    ) -> PolicyVersion:
        request = self._version_request(version, in_force_on, policy_id)
        response = await self._unary(self._stub.GetVersion, request, timeout)
        return self._version(response)

    async def diff_versions(
        self,
        from_ref: str,
        to_ref: str,
        *,
        policy_id: str | None = None,
        semantic: bool = False,
        format: str = "text",
        timeout: Timeout = DEFAULT,
    ) -> VersionDiff:
        request = self._diff_request(from_ref, to_ref, policy_id, semantic, format)
        response = await self._unary(self._stub.DiffVersions, request, timeout)
        return self._diff(response)


async def _chunks(items: Iterable[Any] | AsyncIterable[Any], size: int) -> AsyncIterator[list[Any]]:
    chunk: list[Any] = []
    if isinstance(items, AsyncIterable):
        async for item in items:
            chunk.append(item)
            if len(chunk) == size:
                yield chunk
                chunk = []
    else:
        for item in items:
            chunk.append(item)
            if len(chunk) == size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


async def _close(call: Any) -> None:
    """Every result is in: wait for the server to end the call (so its resources are free
    when this returns). A failure now loses nothing, so it is not raised."""
    try:
        extra = await call.read()
    except grpc.RpcError:
        return
    if extra is not grpc.aio.EOF:
        raise PolicyClientError(grpc.StatusCode.INTERNAL, "more responses than requests")


class _CallOver:
    """The stream ended before sending what the plan still needs."""


_CALL_OVER = _CallOver()


class _Stream:
    """One evaluate_many call: a writer task per stream sends the plan's batches (reading
    the caller's items as it goes), this generator reads the answers. A writer whose
    stream failed is left to notice it and stop, never cancelled while it reads the
    caller's items (that would close the caller's async iterable mid-call)."""

    def __init__(self, client: AsyncPolicyClient, build: Builder) -> None:
        self._client = client
        self._build = build
        self._plan = Plan()
        self._changed = asyncio.Event()
        self._reading = asyncio.Lock()
        self._counter = itertools.count()

    async def _read(self, source: AsyncIterator[list[Any]]) -> None:
        async with self._reading:  # one reader at a time keeps the items in order
            if self._plan.source_done:
                return
            try:
                chunk = await anext(source, None)
            except Exception as exc:  # the caller's iterable failed: end the stream, re-raise there
                chunk = None
                self._plan.failure = exc
            if chunk is None:
                self._plan.source_done = True
            else:
                self._plan.add(*group(chunk, self._build, self._counter))
            self._changed.set()

    async def _write(self, call: Any, source: AsyncIterator[list[Any]], attempt: int) -> None:
        plan = self._plan
        try:
            while plan.attempt == attempt:
                batch = plan.next_to_send()
                if batch is not None:
                    await call.write(batch.message)
                elif plan.source_done:
                    await call.done_writing()
                    return
                else:
                    await self._read(source)
        except (grpc.RpcError, asyncio.InvalidStateError):
            return  # the stream failed: its reader reports why (and may start the next)

    async def _head(self, call: Any) -> Batch | _CallOver | None:
        plan = self._plan
        while (head := plan.head()) is None and not plan.finished:
            if call.done():
                return _CALL_OVER
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.1)
        return head

    async def run(
        self, items: Iterable[Any] | AsyncIterable[Any], size: int, clock: StreamClock
    ) -> AsyncIterator[Result]:
        client, plan = self._client, self._plan
        source = _chunks(items, size)
        writers: list[asyncio.Future[None]] = []
        failures = 0
        try:
            while True:
                call = client._stub.EvaluateStream(timeout=clock.left(), metadata=client._metadata)
                writers.append(asyncio.ensure_future(self._write(call, source, plan.attempt)))
                try:
                    while (head := await self._head(call)) is not None:
                        response = None
                        if isinstance(head, _CallOver) or head.message is not None:
                            read = await call.read()  # raises the stream's error, if it failed
                            if not isinstance(read, pb.EvaluateStreamResponse) or isinstance(head, _CallOver):
                                raise PolicyClientError(
                                    grpc.StatusCode.INTERNAL, "the stream ended before its requests"
                                )
                            response = read
                            client._check_digest(read.policy_set_digest)
                        plan.answered()
                        for result in head.results(response):
                            yield result
                    await _close(call)
                    break
                except grpc.RpcError as exc:
                    error = from_rpc_error(exc)
                    failures += 1
                    if error.code != grpc.StatusCode.UNAVAILABLE or failures >= STREAM_ATTEMPTS:
                        raise error from None
                finally:
                    call.cancel()
                plan.new_stream()
                await asyncio.sleep(backoff(failures))
            await asyncio.gather(*writers)
        finally:
            for writer in writers:
                writer.cancel()
        if plan.failure is not None:
            raise plan.failure
