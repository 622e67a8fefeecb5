"""Watching every call: its method, status code, latency and peer, for the metrics
(metrics.py) and the access log (access_log.py).

The gate (gate.py) wraps every handler of the server with it, admission's refusals
included, so it sees every call the server receives and notes how the call ended. It
reads no message but a request's id (the first request message's ``request_id``, or the
answer's), never a fact.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import grpc
from rxpolicy import limits

from .access_log import AccessLog
from .admission import UNARY_REQUEST
from .metrics import UNKNOWN_METHOD, ServerMetrics

if TYPE_CHECKING:  # generic only in the type stubs
    Handler = grpc.RpcMethodHandler[Any, Any]
else:
    Handler = grpc.RpcMethodHandler


def _code(context: Any, raised: BaseException | None) -> str:
    """The status the call ended with, as gRPC will send it."""
    if isinstance(raised, asyncio.CancelledError | GeneratorExit):
        remaining = context.time_remaining()
        return "DEADLINE_EXCEEDED" if remaining is not None and remaining <= 0 else "CANCELLED"
    code = context.code()
    if code is not None:
        return str(code.name)
    if raised is None or isinstance(raised, StopAsyncIteration):
        return "OK"
    return "UNKNOWN"  # an exception escaped a handler: gRPC answers UNKNOWN


def _request_id(message: Any) -> str | None:
    rid = getattr(message, "request_id", None)
    return rid if isinstance(rid, str) and 0 < len(rid) <= limits.MAX_REQUEST_ID_CHARS else None


class _Requests:
    """A call's request iterator that counts messages and keeps the first one's request id.
    gRPC's iterator is entered at the first message asked for, not before: admission reads
    a unary call's message with ``context.read`` and never iterates (entering gRPC's
    iterator builds an asynchronous generator, measured costly on that path)."""

    __slots__ = ("_inner", "_source", "count", "request_id")

    def __init__(self, source: Any) -> None:
        self._source = source
        self._inner: AsyncIterator[Any] | None = None
        self.count = 0
        self.request_id: str | None = None

    def __aiter__(self) -> _Requests:
        return self

    async def __anext__(self) -> Any:
        if self._inner is None:
            self._inner = aiter(self._source)
        message = await self._inner.__anext__()
        if not self.count:
            self.request_id = _request_id(message)
        self.count += 1
        return message


class CallObserver:
    def __init__(self, metrics: ServerMetrics | None, access_log: AccessLog | None) -> None:
        self._metrics = metrics
        self._access = access_log

    def _started(self, method: str) -> float:
        if self._metrics is not None:
            self._metrics.call_started(method)
        return time.perf_counter()

    def _ended(
        self,
        method: str,
        context: Any,
        started: float,
        raised: BaseException | None,
        request_id: str | None = None,
        messages: int | None = None,
    ) -> None:
        seconds = time.perf_counter() - started
        code = _code(context, raised)
        if self._metrics is not None:
            self._metrics.call_ended(method, code, seconds)
        if self._access is not None:
            self._access.record(time.time(), method, code, seconds, context.peer(), request_id, messages)

    def unknown_method(self) -> None:
        """A call of a method this server has no handler for (gRPC answers UNIMPLEMENTED).
        The caller's method text is no label: only methods with a handler become label
        values."""
        if self._metrics is not None:
            self._metrics.call_refused_unstarted(UNKNOWN_METHOD, "UNIMPLEMENTED")
        if self._access is not None:  # no handler, so no context: no peer, no latency
            self._access.record(time.time(), UNKNOWN_METHOD, "UNIMPLEMENTED", 0.0, "")

    def wrap(self, method: str, handler: Handler) -> Handler:
        """``handler`` timed and counted (built once per method, and per refusal)."""
        kind = (handler.request_streaming, handler.response_streaming)
        behaviour, make = _SHAPES[kind]
        inner = getattr(handler, behaviour)
        if inspect.iscoroutinefunction(inner):
            wrapped: Callable[..., Any] = self._coroutine(method, inner, handler.request_streaming)
        elif inspect.isasyncgenfunction(inner):
            wrapped = self._generator(method, inner, handler.request_streaming)
        else:
            # A synchronous behaviour (none in this server) runs in gRPC's thread pool,
            # where this timing would not hold: left as it is.
            return handler
        return make(wrapped, handler.request_deserializer, handler.response_serializer)

    def _coroutine(self, method: str, inner: Callable[..., Any], streaming: bool) -> Callable[..., Any]:
        """A handler that returns its answer (unary) or writes it with ``context.write``."""

        async def call(request: Any, context: Any) -> Any:
            started = self._started(method)
            counted = _Requests(request) if streaming else None
            raised: BaseException | None = None
            response = None
            try:
                response = await inner(counted if counted is not None else request, context)
                return response
            except BaseException as exc:
                raised = exc
                raise
            finally:
                first = counted.request_id if counted is not None else _request_id(request)
                if first is None:  # a unary call admission read the message of (context.read)
                    first = _request_id(UNARY_REQUEST.get(None))
                self._ended(method, context, started, raised, _request_id(response) or first)

        return call

    def _generator(self, method: str, inner: Callable[..., Any], streaming: bool) -> Callable[..., Any]:
        """A handler that yields its answers."""

        async def call(request: Any, context: Any) -> AsyncIterator[Any]:
            started = self._started(method)
            counted = _Requests(request) if streaming else None
            raised: BaseException | None = None
            try:
                async for response in inner(counted if counted is not None else request, context):
                    yield response
            except BaseException as exc:
                raised = exc
                raise
            finally:
                if counted is not None:
                    self._ended(method, context, started, raised, messages=counted.count)
                else:
                    self._ended(method, context, started, raised, _request_id(request))

        return call


# (request streaming, response streaming) -> the handler's behaviour, and its constructor.
_SHAPES: dict[tuple[bool, bool], tuple[str, Callable[..., Handler]]] = {
    (False, False): ("unary_unary", grpc.unary_unary_rpc_method_handler),
    (True, False): ("stream_unary", grpc.stream_unary_rpc_method_handler),
    (False, True): ("unary_stream", grpc.unary_stream_rpc_method_handler),
    (True, True): ("stream_stream", grpc.stream_stream_rpc_method_handler),
}
