"""Optional bearer-token authentication (a grpc.aio server interceptor).

Calls without ``authorization: Bearer <token>`` naming one of the configured tokens
get UNAUTHENTICATED. Health checks stay open, so load balancers and orchestrators
can probe a server without holding a token.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc

from .logs import event

OPEN_METHODS = frozenset({"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"})
_DENIED = "missing or invalid bearer token (send metadata 'authorization: Bearer <token>')"


def _identity(data: bytes) -> bytes:
    return data


async def _deny_unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, _DENIED)


async def _deny_stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, _DENIED)
    yield b""  # pragma: no cover - an async generator, as streaming handlers must be


def _denial(handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
    """A handler of the same shape as ``handler`` that refuses the call unread."""
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(_deny_stream, _identity, _identity)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(_deny_unary, _identity, _identity)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(_deny_stream, _identity, _identity)
    return grpc.unary_unary_rpc_method_handler(_deny_unary, _identity, _identity)


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, tokens: Iterable[str]) -> None:
        self._tokens = tuple(t.encode() for t in tokens if t)
        if not self._tokens:
            raise ValueError("at least one non-empty token is required")

    def _allowed(self, metadata: Any) -> bool:
        for key, value in metadata or ():
            if key != "authorization":
                continue
            text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
            scheme, _, token = text.partition(" ")
            if scheme.lower() != "bearer":
                return False
            given = token.strip().encode()
            # Compare with every token, always, so timing says nothing about which matched.
            return sum(hmac.compare_digest(given, t) for t in self._tokens) > 0
        return False

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler_call_details.method in OPEN_METHODS:
            return handler
        if self._allowed(handler_call_details.invocation_metadata):
            return handler
        event("call refused: no valid bearer token", 30, method=handler_call_details.method)
        return _denial(handler)
