"""PolicyClient: the blocking client."""

from __future__ import annotations

import datetime as dt
import itertools
import queue
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import grpc
from rxpolicy.v1 import policy_service_pb2 as pb
from rxpolicy.v1 import policy_service_pb2_grpc, version_pb2

from . import _wire
from ._channel import DEFAULT_TARGET, DEFAULT_TIMEOUT, PemSource, call_metadata, channel_args
from .errors import PolicyClientError, from_rpc_error
from .results import Decision, ErrorResult, Result, VersionDiff

_DEFAULT: Any = object()
DIFF_FORMATS = {
    "text": pb.DIFF_FORMAT_TEXT,
    "markdown": pb.DIFF_FORMAT_MARKDOWN,
    "json": pb.DIFF_FORMAT_JSON,
    "html": pb.DIFF_FORMAT_HTML,
}
_END = object()


def diff_request(
    from_ref: str, to_ref: str, policy_id: str | None, semantic: bool, format: str
) -> pb.DiffVersionsRequest:
    if format not in DIFF_FORMATS:
        raise ValueError(f"format must be one of {', '.join(DIFF_FORMATS)}")
    return pb.DiffVersionsRequest(
        policy_id=policy_id or "",
        from_ref=from_ref,
        to_ref=to_ref,
        semantic=semantic,
        format=DIFF_FORMATS[format],
    )


def diff_result(r: pb.DiffVersionsResponse) -> VersionDiff:
    return VersionDiff(
        content=r.content,
        media_type=r.media_type,
        from_version=r.from_version,
        to_version=r.to_version,
        equivalent=r.equivalent if r.HasField("equivalent") else None,
        required_bump=r.required_bump if r.HasField("required_bump") else None,
    )


def version_request(
    version: str | None, in_force_on: dt.date | str | None, policy_id: str | None
) -> pb.GetVersionRequest:
    req = pb.GetVersionRequest(policy_id=policy_id or "")
    if version is not None and in_force_on is not None:
        raise ValueError("give a version or a date in force, not both")
    if version is not None:
        req.version = version
    elif in_force_on is not None:
        req.in_force_on = in_force_on.isoformat() if isinstance(in_force_on, dt.date) else in_force_on
    return req


def stream_batch_size(requested: int) -> int:
    """Items per stream message: at least 1, at most what the server accepts in one."""
    return min(max(1, requested), _wire.MAX_STREAM_BATCH)


def batches(
    items: Iterable[Any], size: int, build: Any, counter: Iterator[int] | None = None
) -> Iterator[tuple[pb.EvaluateStreamRequest | None, list[ErrorResult | None]]]:
    """Groups items into stream messages. Each batch comes with its slots: None where the
    server will answer, or the local error of an item that could not be sent at all, named
    ``item-N`` by its place in the whole input (pass one ``counter`` across calls)."""
    counter = counter if counter is not None else itertools.count()
    size = stream_batch_size(size)
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        requests: list[pb.EvaluateRequest] = []
        slots: list[ErrorResult | None] = []
        for item in chunk:
            n = next(counter)
            try:
                requests.append(build(item))
                slots.append(None)
            except TypeError as exc:
                slots.append(_wire.local_error(f"item-{n}", exc))
        yield (pb.EvaluateStreamRequest(requests=requests) if requests else None), slots


def merge(slots: list[ErrorResult | None], response: pb.EvaluateStreamResponse | None) -> list[Result]:
    answers = iter(response.results if response is not None else ())
    return [slot if slot is not None else _wire.result(next(answers)) for slot in slots]


class PolicyClient:
    """Blocking client for rxpolicy.v1.PolicyService.

    ``timeout`` is the default deadline (seconds) of each unary call; UNAVAILABLE is
    retried by the channel's service config. ``token`` sends ``authorization: Bearer``;
    ``tls`` (or any certificate argument) makes the channel secure, with
    ``certificate_chain`` and ``private_key`` for mutual TLS.
    """

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
            grpc.secure_channel(target, creds, opts)
            if creds is not None
            else grpc.insecure_channel(target, opts)
        )
        self._stub = policy_service_pb2_grpc.PolicyServiceStub(self._channel)
        self._metadata = call_metadata(token)

    def __enter__(self) -> PolicyClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(self, method: Any, request: Any, timeout: Any) -> Any:
        try:
            return method(
                request, timeout=self.timeout if timeout is _DEFAULT else timeout, metadata=self._metadata
            )
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    def evaluate(
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
        """Decide one request: facts as a mapping in the case-file shape, or as keywords. ``version``
        decides under that version (semver, date or "latest") instead of the one in force.

        Raises InvalidRequestError (with ``violations``) for invalid input."""
        request = _wire.evaluate_request(
            {**(facts or {}), **more_facts},
            request_id=request_id,
            policy_id=policy_id or self.policy_id,
            as_known_on=as_known_on,
            include_trace=include_trace,
            version=version,
        )
        response = self._call(self._stub.Evaluate, request, timeout)
        return _wire.decision(response.request_id, response.decision)

    def evaluate_many(
        self,
        items: Iterable[Mapping[str, Any] | Any],
        *,
        policy_id: str | None = None,
        as_known_on: dt.date | str | None = None,
        include_trace: bool = False,
        version: str | None = None,
        batch_size: int = 64,
        timeout: float | None = None,
    ) -> Iterator[Result]:
        """Decide every item over one EvaluateStream, yielding results in input order.

        Items are fact mappings, ``Request`` objects or ``EvaluateRequest`` messages. A bad
        item yields an ErrorResult in its place and the stream goes on. ``batch_size`` items
        go in one stream message (at most 1,000, the server's limit). ``timeout`` bounds
        the whole stream (default: none)."""
        pid = policy_id or self.policy_id

        def build(item: Any) -> pb.EvaluateRequest:
            return _wire.item_request(
                item, policy_id=pid, as_known_on=as_known_on, include_trace=include_trace, version=version
            )

        # The request iterator runs on gRPC's thread; the slots travel to this one in order.
        plan: queue.SimpleQueue[Any] = queue.SimpleQueue()
        failure: list[BaseException] = []

        def requests() -> Iterator[pb.EvaluateStreamRequest]:
            try:
                for message, slots in batches(items, batch_size, build):
                    plan.put((message is not None, slots))
                    if message is not None:
                        yield message
            except BaseException as exc:  # the caller's iterable failed: end the stream, re-raise here
                failure.append(exc)
            finally:
                plan.put(_END)

        call = self._stub.EvaluateStream(requests(), timeout=timeout, metadata=self._metadata)
        try:
            for response in call:
                # This response answers the first batch still waiting; batches before it
                # that had nothing to send are answered locally, in their place.
                while True:
                    entry = plan.get()
                    if entry is _END:
                        raise PolicyClientError(grpc.StatusCode.INTERNAL, "more responses than requests")
                    sent, slots = entry
                    yield from merge(slots, response if sent else None)
                    if sent:
                        break
            # The server closed after our last request: everything left is local errors.
            while (entry := plan.get(timeout=30)) is not _END:
                yield from merge(entry[1], None)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        except queue.Empty:
            raise PolicyClientError(
                grpc.StatusCode.INTERNAL, "the stream ended before its requests"
            ) from None
        finally:
            call.cancel()
        if failure:
            raise failure[0]

    def list_versions(
        self, policy_id: str | None = None, *, timeout: float | None = _DEFAULT
    ) -> list[version_pb2.VersionInfo]:
        request = pb.ListVersionsRequest(policy_id=policy_id or self.policy_id or "")
        return list(self._call(self._stub.ListVersions, request, timeout).versions)

    def get_version(
        self,
        version: str | None = None,
        *,
        in_force_on: dt.date | str | None = None,
        policy_id: str | None = None,
        timeout: float | None = _DEFAULT,
    ) -> version_pb2.PolicyVersion:
        """One version with its full criteria: by semver ("4.5.0"), by date in force, or the latest."""
        request = version_request(version, in_force_on, policy_id or self.policy_id)
        return self._call(self._stub.GetVersion, request, timeout).version  # type: ignore[no-any-return]

    def diff_versions(
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
        return diff_result(self._call(self._stub.DiffVersions, request, timeout))
