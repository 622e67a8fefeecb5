"""PolicyClient: the blocking client."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import grpc
from rxpolicy.v1 import policy_service_pb2 as pb
from rxpolicy.v1 import policy_service_pb2_grpc

from ._base import DEFAULT, STREAM_BATCH, ClientBase, StreamClock, Timeout, unary_failure
from ._stream import STREAM_ATTEMPTS, Builder, Plan, backoff, chunks, group, stream_batch_size
from .errors import PolicyClientError, from_rpc_error
from .results import Decision, Result, VersionDiff
from .versions import PolicyVersion, VersionList


class PolicyClient(ClientBase):
    __doc__ = (
        "Blocking client for rxpolicy.v1.PolicyService.\n\n    "
        + (ClientBase.__doc__ or "").split("\n\n", 1)[1]
    )

    _channel: grpc.Channel
    _stub: policy_service_pb2_grpc.PolicyServiceStub

    def _connect(
        self, target: str, creds: grpc.ChannelCredentials | None, options: list[tuple[str, Any]]
    ) -> None:
        self._channel = (
            grpc.secure_channel(target, creds, options)
            if creds is not None
            else grpc.insecure_channel(target, options)
        )
        self._stub = policy_service_pb2_grpc.PolicyServiceStub(self._channel)
        self._state: grpc.ChannelConnectivity | None = None
        self._channel.subscribe(self._watch_state, try_to_connect=False)

    def _watch_state(self, state: grpc.ChannelConnectivity) -> None:
        self._state = state

    def _connectivity(self) -> grpc.ChannelConnectivity | None:
        return self._state

    def __enter__(self) -> PolicyClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.unsubscribe(self._watch_state)
        self._channel.close()

    def _unary(self, method: Any, request: Any, timeout: Timeout) -> Any:
        """One unary call: a new call (balanced onto a replica still up) when one fails
        UNAVAILABLE after the channel's retries, up to UNARY_ATTEMPTS within the deadline;
        the answering replica's policy set checked against the one expected."""
        clock = StreamClock(self._deadline(timeout))
        attempt = 0
        unavailable: PolicyClientError | None = None
        while True:
            attempt += 1
            try:
                response = method(request, timeout=clock.left(), metadata=self._metadata)
            except (grpc.RpcError, PolicyClientError) as exc:
                error = exc if isinstance(exc, PolicyClientError) else from_rpc_error(exc)
                failure = unary_failure(error, unavailable, attempt, self._connectivity())
                if failure is not None:
                    raise failure from None
                unavailable = error
                time.sleep(backoff(attempt))
                continue
            self._check_digest(response.policy_set_digest)
            return response

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
        timeout: Timeout = DEFAULT,
        **more_facts: Any,
    ) -> Decision:
        """Decide one request: facts as a mapping in the case-file shape, or as keywords. ``version``
        decides under that version (semver, date or "latest") instead of the one in force.
        A ``"request_id"`` entry of the mapping is the request's id, not a fact.

        Raises InvalidRequestError (with ``violations``) for invalid input."""
        request = self._evaluate_request(
            facts,
            more_facts,
            request_id=request_id,
            policy_id=policy_id,
            as_known_on=as_known_on,
            include_trace=include_trace,
            version=version,
        )
        response = self._unary(self._stub.Evaluate, request, timeout)
        return self._decision(response)

    def evaluate_many(
        self,
        items: Iterable[Mapping[str, Any] | Any],
        *,
        policy_id: str | None = None,
        as_known_on: dt.date | str | None = None,
        include_trace: bool = False,
        version: str | None = None,
        batch_size: int = STREAM_BATCH,
        timeout: float | None = None,
    ) -> Iterator[Result]:
        """Decide every item over EvaluateStream, yielding results in input order.

        Items are fact mappings (a ``"request_id"`` entry is the request's id, which comes
        back on its result), ``Request`` objects or ``EvaluateRequest`` messages. A bad
        item yields an ErrorResult in its place and the stream goes on. ``batch_size`` items
        go in one stream message (at most 1,000, the server's limit). ``timeout`` bounds
        the whole call (default: none). When the stream fails UNAVAILABLE (a server
        restarting), the requests not yet answered are sent again on a new stream, with
        backoff, a few times; each result is yielded once."""
        stream = _Stream(self, self._item_builder(policy_id, as_known_on, include_trace, version))
        return stream.run(items, stream_batch_size(batch_size), StreamClock(timeout))

    def list_versions(self, policy_id: str | None = None, *, timeout: Timeout = DEFAULT) -> VersionList:
        request = self._list_request(policy_id)
        response = self._unary(self._stub.ListVersions, request, timeout)
        return self._versions(response)

    def get_version(
        self,
        version: str | None = None,
        *,
        in_force_on: dt.date | str | None = None,
        policy_id: str | None = None,
        timeout: Timeout = DEFAULT,
    ) -> PolicyVersion:
        """One version with its full criteria: by semver ("4.5.0"), by date in force, or the latest."""
        request = self._version_request(version, in_force_on, policy_id)
        response = self._unary(self._stub.GetVersion, request, timeout)
        return self._version(response)

    def diff_versions(
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
        response = self._unary(self._stub.DiffVersions, request, timeout)
        return self._diff(response)


_CALL_OVER = object()


class _Stream:
    """One evaluate_many call. gRPC pulls each stream's requests on its own thread; the
    plan, under a lock, tells that thread what to send and this one what is answered.
    The caller's items are read outside that lock (one reader at a time), so a slow
    iterable never holds up the results already answered."""

    def __init__(self, client: PolicyClient, build: Builder) -> None:
        self._client = client
        self._build = build
        self._plan = Plan()
        self._changed = threading.Condition()
        self._reading = threading.Lock()
        self._counter = itertools.count()

    def _requests(self, source: Iterator[list[Any]], attempt: int) -> Iterator[pb.EvaluateStreamRequest]:
        """What stream ``attempt`` sends: the batches still waiting, then new ones as gRPC
        asks for them. A stream that failed stops here (the next one took over)."""
        plan = self._plan
        while True:
            with self._changed:
                if plan.attempt != attempt:
                    return
                batch = plan.next_to_send()
                if batch is None and plan.source_done:
                    return
            if batch is None:
                self._read(source)
            elif batch.message is not None:
                yield batch.message

    def _read(self, source: Iterator[list[Any]]) -> None:
        """The next chunk of the caller's items into the plan (in order: one reader at a time)."""
        with self._reading:
            with self._changed:
                if self._plan.source_done:
                    return
            try:
                chunk = next(source, None)
            except BaseException as exc:  # the caller's iterable failed: end the stream, re-raise there
                chunk = None
                self._plan.failure = exc
            with self._changed:
                if chunk is None:
                    self._plan.source_done = True
                else:
                    self._plan.add(*group(chunk, self._build, self._counter))
                self._changed.notify_all()

    def _head(self, call: Any) -> Any:
        """The oldest batch waiting for its results; None when all are answered, or
        _CALL_OVER when the stream ended before sending what the plan still needs."""
        with self._changed:
            while (head := self._plan.head()) is None and not self._plan.finished:
                if call.done():
                    return _CALL_OVER
                self._changed.wait(0.1)
            return head

    @staticmethod
    def _close(call: Any) -> None:
        """Every result is in: wait for the server to end the call (so its resources are
        free when this returns). A failure now loses nothing, so it is not raised."""
        try:
            extra = next(call, None)
        except grpc.RpcError:
            return
        if extra is not None:
            raise PolicyClientError(grpc.StatusCode.INTERNAL, "more responses than requests")

    def run(self, items: Iterable[Any], size: int, clock: StreamClock) -> Iterator[Result]:
        client, plan = self._client, self._plan
        source = chunks(items, size)
        failures = 0
        while True:
            call = client._stub.EvaluateStream(
                self._requests(source, plan.attempt), timeout=clock.left(), metadata=client._metadata
            )
            try:
                while (head := self._head(call)) is not None:
                    response = None
                    if head is _CALL_OVER or head.message is not None:
                        response = next(call, None)  # raises the stream's error, if it failed
                        if response is None or head is _CALL_OVER:
                            raise PolicyClientError(
                                grpc.StatusCode.INTERNAL, "the stream ended before its requests"
                            )
                        client._check_digest(response.policy_set_digest)
                    with self._changed:
                        plan.answered()
                    yield from head.results(response)
                self._close(call)
                break
            except grpc.RpcError as exc:
                error = from_rpc_error(exc)
                failures += 1
                if error.code != grpc.StatusCode.UNAVAILABLE or failures >= STREAM_ATTEMPTS:
                    raise error from None
            finally:
                call.cancel()
            with self._changed:
                plan.new_stream()
            time.sleep(backoff(failures))
        if plan.failure is not None:
            raise plan.failure
