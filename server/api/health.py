"""grpc.health.v1.Health with ``List`` too. grpcio-health-checking's asyncio servicer
answers ``Check`` and ``Watch`` only: a ``List`` (which newer probes and grpcurl users
call) would get UNIMPLEMENTED with a Python exception's class name as its message. Its
``Check`` and ``Watch`` are served as they are; ``List`` answers every service whose
status was set. Like the rest of health, no call needs a token (auth.py)."""

from __future__ import annotations

from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2

SERVICE_NAME = health.SERVICE_NAME


class Health:
    def __init__(self) -> None:
        self._servicer = health.aio.HealthServicer()
        self._names: set[str] = {""}  # the server as a whole is always there

    async def set(self, service: str, status: Any) -> None:
        self._names.add(service)
        await self._servicer.set(service, status)

    async def enter_graceful_shutdown(self) -> None:
        """Every service NOT_SERVING, for good (the drain)."""
        await self._servicer.enter_graceful_shutdown()

    async def List(
        self, request: health_pb2.HealthListRequest, context: Any
    ) -> health_pb2.HealthListResponse:
        out = health_pb2.HealthListResponse()
        for name in sorted(self._names):
            reply = await self._servicer.Check(health_pb2.HealthCheckRequest(service=name), context)
            out.statuses[name].CopyFrom(reply)
        return out

    def handlers(self) -> dict[str, grpc.RpcMethodHandler[Any, Any]]:
        """The method handlers, by full method name (``/grpc.health.v1.Health/Check``)."""
        check, reply = (
            health_pb2.HealthCheckRequest.FromString,
            health_pb2.HealthCheckResponse.SerializeToString,
        )
        return {
            f"/{SERVICE_NAME}/Check": grpc.unary_unary_rpc_method_handler(self._servicer.Check, check, reply),
            f"/{SERVICE_NAME}/Watch": grpc.unary_stream_rpc_method_handler(
                self._servicer.Watch, check, reply
            ),
            f"/{SERVICE_NAME}/List": grpc.unary_unary_rpc_method_handler(
                self.List,
                health_pb2.HealthListRequest.FromString,
                health_pb2.HealthListResponse.SerializeToString,
            ),
        }
