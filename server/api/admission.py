"""Admission: which calls the policy service takes, decided before any message is read.

Asked by the gate (gate.py) as each call arrives, so every rule sees only a call's
metadata; the handlers it wraps are built once per method, not per call:

- a call without a valid bearer token is refused at once (UNAUTHENTICATED), its body
  never awaited;
- while the server drains, or the decision log is behind, a call is refused with
  UNAVAILABLE (retryable: the client tries again, on another server if it has one);
- a unary call is served as a client-streaming one, so its request message is awaited
  here with a bound (``message_timeout``) instead of inside gRPC with none; a stream's
  messages are awaited with the same bound for the first, ``stream_idle_timeout`` after;
- a call holds one of ``max_calls`` slots from its first message on (RESOURCE_EXHAUSTED
  past that). Health checks and reflection never count, so a full service still
  answers its health checks: gRPC's own global limit is not used.

The drain waits on ``wait_quiet``: every call admitted has ended and callers stopped sending.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import attrs
import grpc

from .auth import DENIED, OPEN_METHODS, TokenCheck
from .logs import DecisionLog
from .message_waits import MessageWaits

# The request message admission read for a unary call, for the observer of the same call
# (observe.py), which reads no message itself. Every call runs in a task of its own, so in
# a context of its own: one call's message is never seen by another.
UNARY_REQUEST: contextvars.ContextVar[Any] = contextvars.ContextVar("rxpolicy_unary_request")


@attrs.frozen
class Limits:
    max_calls: int
    message_timeout: float
    stream_idle_timeout: float


class CallEnded(Exception):
    """Raised through the servicer to end a stream with this status (a message that did
    not arrive in time, no slot for it); not a bug."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


def _identity(data: bytes) -> bytes:
    return data


def refusal(code: grpc.StatusCode, details: str) -> grpc.RpcMethodHandler[Any, Any]:
    """A handler that ends the call with this status without reading a message of it
    (request-streaming, whatever the method's shape: gRPC then awaits nothing)."""

    async def refuse(requests: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[bytes]:
        await context.abort(code, details)
        yield b""  # pragma: no cover - an async generator, as streaming handlers must be

    return grpc.stream_stream_rpc_method_handler(refuse, _identity, _identity)


class Admission:
    def __init__(
        self, service_name: str, limits: Limits, tokens: TokenCheck | None, decision_log: DecisionLog
    ) -> None:
        self._prefix = f"/{service_name}/"
        self._limits = limits
        self._tokens = tokens
        self._decision_log = decision_log
        self._refusing: str | None = None
        self._deciding = 0  # calls holding a slot
        self._active = 0  # calls admitted and not ended, whether their message came or not
        self._idle = asyncio.Event()
        self._idle.set()
        self._loop = asyncio.get_running_loop()
        self._last_call = self._loop.time()  # when a policy-service call last arrived
        self._waits = MessageWaits(self._loop)

    # ------------------------------------------------------------ drain

    def refuse_new_calls(self, reason: str) -> None:
        self._refusing = reason

    @property
    def active(self) -> int:
        return self._active

    async def wait_idle(self, timeout: float) -> bool:
        """Whether every admitted call ended within ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def wait_quiet(self, quiet: float, timeout: float) -> bool:
        """Whether, within ``timeout`` seconds, every admitted call ended and no call arrived
        for ``quiet`` seconds: callers have stopped sending (their health checks saw
        NOT_SERVING, or they were refused), so gRPC's stop finds none it would cancel."""
        deadline = self._loop.time() + timeout
        while True:
            if not await self.wait_idle(max(0.0, deadline - self._loop.time())):
                return False
            calm = self._loop.time() - self._last_call
            if calm >= quiet:
                return True
            if self._loop.time() + quiet - calm > deadline:
                return self._active == 0
            await asyncio.sleep(quiet - calm)

    def _enter(self) -> None:
        self._active += 1
        self._idle.clear()

    def _leave(self) -> None:
        self._active -= 1
        if self._active == 0:
            self._idle.set()

    # ------------------------------------------------------------ admission

    def checks(self, method: str) -> bool:
        """Whether calls of ``method`` pass admission (all but health and reflection)."""
        return method not in OPEN_METHODS

    def limits(self, method: str) -> bool:
        """Whether calls of ``method`` are drained, bounded and counted (the policy service)."""
        return method.startswith(self._prefix)

    def refusal(self, method: str, metadata: Any) -> tuple[grpc.StatusCode, str] | None:
        """Why a new call of ``method`` (one that ``checks``) is refused, from its metadata
        alone; None when it is admitted."""
        if self._tokens is not None and not self._tokens.allowed(metadata):
            # No log line here: the access log has one, rate-limited (access_log.py).
            return grpc.StatusCode.UNAUTHENTICATED, DENIED
        if not method.startswith(self._prefix):
            return None  # another service of this server, if one is added: not limited here
        self._last_call = self._loop.time()
        if self._refusing is not None:
            return grpc.StatusCode.UNAVAILABLE, self._refusing
        if not self._decision_log.accepting:
            return grpc.StatusCode.UNAVAILABLE, _BEHIND
        return None

    def wrap(self, handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
        """``handler`` with the bounded message wait and the slot (built once per method)."""
        if handler.request_streaming:
            return self._stream(handler)
        return self._unary(handler)

    def _take_slot(self) -> bool:
        if self._deciding >= self._limits.max_calls:
            return False
        self._deciding += 1
        return True

    async def _message(self, read: Callable[[], Awaitable[Any]], timeout: float) -> Any:
        """The next request message from ``read``; raises CallEnded when none comes within
        ``timeout``, StopAsyncIteration when the caller closed its side."""
        try:
            message = await self._waits.next(read, timeout)
        except TimeoutError:
            raise CallEnded(
                grpc.StatusCode.DEADLINE_EXCEEDED, f"no request message arrived within {timeout:g} s"
            ) from None
        if message is grpc.aio.EOF:
            raise StopAsyncIteration
        return message

    def _unary(self, handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
        # grpc.aio calls the handler with its own context: typed for the sync server.
        inner = cast(Callable[..., Awaitable[Any]], handler.unary_unary)

        async def call(_requests: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            self._enter()
            try:
                try:
                    # context.read, not the request iterator gRPC passes: the iterator's
                    # asynchronous generator measured about 50 us of server CPU a call.
                    request = await self._message(context.read, self._limits.message_timeout)
                    UNARY_REQUEST.set(request)
                except StopAsyncIteration:
                    await context.abort(
                        grpc.StatusCode.INVALID_ARGUMENT, "the call ended without its request message"
                    )
                except CallEnded as ended:
                    await context.abort(ended.code, ended.details)
                if not self._take_slot():
                    await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, _FULL)
                try:
                    return await inner(request, context)
                finally:
                    self._deciding -= 1
            finally:
                self._leave()

        return grpc.stream_unary_rpc_method_handler(
            call, handler.request_deserializer, handler.response_serializer
        )

    def _stream(self, handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
        inner = cast(Callable[..., AsyncIterator[Any]], handler.stream_stream)

        async def call(requests: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            self._enter()
            holding: list[bool] = []
            try:
                try:
                    async for response in inner(self._paced(aiter(requests), holding), context):
                        yield response
                except CallEnded as ended:
                    await context.abort(ended.code, ended.details)
            finally:
                if holding:
                    self._deciding -= 1
                self._leave()

        return grpc.stream_stream_rpc_method_handler(
            call, handler.request_deserializer, handler.response_serializer
        )

    async def _paced(self, requests: AsyncIterator[Any], holding: list[bool]) -> AsyncIterator[Any]:
        """The stream's messages, each awaited with a bound; the slot is taken with the first."""
        timeout = self._limits.message_timeout
        while True:
            try:
                message = await self._message(requests.__anext__, timeout)
            except StopAsyncIteration:
                return
            if not holding:
                if not self._take_slot():
                    raise CallEnded(grpc.StatusCode.RESOURCE_EXHAUSTED, _FULL)
                holding.append(True)
            timeout = self._limits.stream_idle_timeout
            yield message


_FULL = "too many calls in progress on this server; retry later"
_BEHIND = "the decision log is behind; this server takes no calls for now"
