"""The one generic handler of the server: every call arrives here first.

It holds every method's handler (the policy service, health, reflection), wrapped once
when the server is built: admission's bounded message wait and slot (admission.py) for
the policy service, then the observer (observe.py) for every method. As a call arrives,
``service`` looks its method up, asks admission whether to refuse it (from the call's
metadata alone, before any message is read) and returns the handler.

This replaces two grpc.aio interceptors: an interceptor runs an asynchronous chain and
builds new wrapped handlers for every call, which measured about 30 us of server CPU a
call with admission alone (bench/grpc_bench.py), more with the observer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import grpc

from .admission import Admission, refusal
from .observe import CallObserver

if TYPE_CHECKING:  # generic only in the type stubs
    Handler = grpc.RpcMethodHandler[Any, Any]
else:
    Handler = grpc.RpcMethodHandler

# Refusal handlers kept at most (their reasons are few: unauthenticated, draining, the
# decision log behind; a drain's reason text is one per drain).
MAX_REFUSALS = 64


class Gate(grpc.GenericRpcHandler):
    def __init__(
        self, handlers: Mapping[str, Handler], admission: Admission, observer: CallObserver | None
    ) -> None:
        self._admission = admission
        self._observer = observer
        self._checked = frozenset(m for m in handlers if admission.checks(m))
        self._served = {
            method: self._observed(method, admission.wrap(h) if admission.limits(method) else h)
            for method, h in handlers.items()
        }
        self._refusals: dict[tuple[str, grpc.StatusCode, str], Handler] = {}

    def _observed(self, method: str, handler: Handler) -> Handler:
        return handler if self._observer is None else self._observer.wrap(method, handler)

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Handler | None:
        method = handler_call_details.method
        handler = self._served.get(method)
        if handler is None:
            if self._observer is not None:
                self._observer.unknown_method()
            return None  # gRPC answers UNIMPLEMENTED
        if method in self._checked:
            refused = self._admission.refusal(method, handler_call_details.invocation_metadata)
            if refused is not None:
                return self._refusal(method, *refused)
        return handler

    def _refusal(self, method: str, code: grpc.StatusCode, details: str) -> Handler:
        key = (method, code, details)
        handler = self._refusals.get(key)
        if handler is None:
            if len(self._refusals) >= MAX_REFUSALS:
                self._refusals.clear()
            handler = self._refusals[key] = self._observed(method, refusal(code, details))
        return handler
