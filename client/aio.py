"""AsyncPolicyClient: the asyncio client (grpc.aio)."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

import grpc
from rxpolicy.v1 import policy_service_pb2 as pb
from rxpolicy.v1 import policy_service_pb2_grpc, version_pb2

from . import _wire
from ._channel import DEFAULT_TARGET, DEFAULT_TIMEOUT, PemSource, call_metadata, channel_args
from .errors import PolicyClientError, from_rpc_error
from .results import Decision, Result, VersionDiff
from .sync import batches, diff_request, diff_result, merge, stream_batch_size, version_request

_DEFAULT: Any = object()
_END = object()


async def _aiter(items: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


class AsyncPolicyClient:
    """Asyncio client for rxpolicy.v1.PolicyService; the same options as PolicyClient.

    Create it inside the event loop that uses it; ``async with`` closes the channel."""

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        token: str | None = None,
        tls: bool = False,
        root_certificates: PemSource = None,
        certificate_chain: PemSource = None,
        private_key: PemSource = None,
        server_name: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        policy_id: str | None = None,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        creds, opts = channel_args(
            target,
            tls=tls,
            root_certificates=root_certificates,
            certificate_chain=certificate_chain,
            private_key=private_key,
            server_name=server_name,
            options=options,
        )
        self.target = target
        self.timeout = timeout
        self.policy_id = policy_id
        self._channel = (
            grpc.aio.secure_channel(target, creds, opts)
            if creds is not None
            else grpc.aio.insecure_channel(target, opts)
        )
        self._stub = policy_service_pb2_grpc.PolicyServiceStub(self._channel)
        self._metadata = call_metadata(token)

    async def __aenter__(self) -> AsyncPolicyClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def _call(self, method: Any, request: Any, timeout: Any) -> Any:
        try:
            return await method(
                request, timeout=self.timeout if timeout is _DEFAULT else timeout, metadata=self._metadata
            )
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

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
        timeout: float | None = _DEFAULT,
        **more_facts: Any,
    ) -> Decision:
        request = _wire.evaluate_request(
            {**(facts or {}), **more_facts},
            request_id=request_id,
            policy_id=policy_id or self.policy_id,
            as_known_on=as_known_on,
            include_trace=include_trace,
            version=version,
        )
        response = await self._call(self._stub.Evaluate, request, timeout)
        return _wire.decision(response.request_id, response.decision)

    async def evaluate_many(
        self,
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        policy_id: str | None = None,
        as_known_on: dt.date | str | None = None,
        include_trace: bool = False,
        version: str | None = None,
        batch_size: int = 64,
        timeout: float | None = None,
    ) -> AsyncIterator[Result]:
        """Decide every item over one EvaluateStream; results in input order (see PolicyClient)."""
        pid = policy_id or self.policy_id
        size = stream_batch_size(batch_size)
        counter = itertools.count()  # one across chunks: item-N is the item's place in the input

        def build(item: Any) -> pb.EvaluateRequest:
            return _wire.item_request(
                item, policy_id=pid, as_known_on=as_known_on, include_trace=include_trace, version=version
            )

        call = self._stub.EvaluateStream(timeout=timeout, metadata=self._metadata)
        plan: asyncio.Queue[Any] = asyncio.Queue()

        async def send() -> None:
            try:
                chunk: list[Any] = []
                async for item in _aiter(items):
                    chunk.append(item)
                    if len(chunk) == size:
                        await _send(chunk)
                        chunk = []
                if chunk:
                    await _send(chunk)
                await call.done_writing()
            finally:
                plan.put_nowait(_END)

        async def _send(chunk: list[Any]) -> None:
            for message, slots in batches(chunk, size, build, counter):
                plan.put_nowait((message is not None, slots))
                if message is not None:
                    await call.write(message)

        writer = asyncio.ensure_future(send())
        try:
            while (entry := await plan.get()) is not _END:
                sent, slots = entry
                response = None
                if sent:
                    response = await call.read()
                    if response is grpc.aio.EOF:
                        raise PolicyClientError(
                            grpc.StatusCode.INTERNAL, "the stream ended before its requests"
                        )
                for result in merge(slots, response):
                    yield result
            await writer  # re-raises a failure of the caller's iterable
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        finally:
            if not writer.done():
                writer.cancel()
            elif not writer.cancelled() and writer.exception() is not None:
                pass  # retrieved: the call's own error (raised above) says why
            call.cancel()

    async def list_versions(
        self, policy_id: str | None = None, *, timeout: float | None = _DEFAULT
    ) -> list[version_pb2.VersionInfo]:
        request = pb.ListVersionsRequest(policy_id=policy_id or self.policy_id or "")
        return list((await self._call(self._stub.ListVersions, request, timeout)).versions)

    async def get_version(
        self,
        version: str | None = None,
        *,
        in_force_on: dt.date | str | None = None,
        policy_id: str | None = None,
        timeout: float | None = _DEFAULT,
    ) -> version_pb2.PolicyVersion:
        request = version_request(version, in_force_on, policy_id or self.policy_id)
        return (await self._call(self._stub.GetVersion, request, timeout)).version  # type: ignore[no-any-return]

    async def diff_versions(
        self,
        from_ref: str,
        to_ref: str,
        *,
        policy_id: str | None = None,
        semantic: bool = False,
        format: str = "text",
        timeout: float | None = _DEFAULT,
    ) -> VersionDiff:
        request = diff_request(from_ref, to_ref, policy_id or self.policy_id, semantic, format)
        return diff_result(await self._call(self._stub.DiffVersions, request, timeout))
