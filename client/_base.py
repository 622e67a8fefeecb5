"""What PolicyClient and AsyncPolicyClient share: the constructor's options, and every
request and result built from and into typed values. The two classes add only the
calls themselves (blocking, or awaited)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import grpc
from rxpolicy.limits import CLIENT_STREAM_BATCH
from rxpolicy.v1 import policy_service_pb2 as pb

from . import _wire
from ._channel import (
    DEFAULT_TARGET,
    DEFAULT_TIMEOUT,
    PemSource,
    Target,
    call_metadata,
    channel_args,
    channel_target,
)
from ._stream import Builder
from .errors import PolicyClientError, PolicySetMismatchError, from_status
from .results import Decision, Request, VersionDiff
from .versions import PolicyVersion, VersionList, policy_version, version_list

# Unary calls made in all when each fails UNAVAILABLE after the channel's own retries.
# gRPC does not retry a call once its replica sent response headers (each replica sends
# its digest in them at once), so a replica killed mid-call would fail it; a new call
# is balanced again (round_robin) onto a replica still up. All calls are pure reads.
UNARY_ATTEMPTS = 3
DIFF_FORMATS = {
    "text": pb.DIFF_FORMAT_TEXT,
    "markdown": pb.DIFF_FORMAT_MARKDOWN,
    "json": pb.DIFF_FORMAT_JSON,
    "html": pb.DIFF_FORMAT_HTML,
}
STREAM_BATCH = CLIENT_STREAM_BATCH
# The client method of each rpc of rxpolicy.v1.PolicyService, in both clients (a test
# holds this to the service descriptor).
RPC_METHODS = {
    "Evaluate": "evaluate",
    "EvaluateStream": "evaluate_many",
    "ListVersions": "list_versions",
    "GetVersion": "get_version",
    "DiffVersions": "diff_versions",
}
# A request given as a mapping may carry its id beside its facts under this key, which
# no policy uses as a fact name; the id travels in EvaluateRequest.request_id.
REQUEST_ID_KEY = "request_id"


class _Default:
    """The ``timeout`` a call gets when given none: the client's own."""


DEFAULT = _Default()
Timeout = float | None | _Default


class ClientBase:
    """Options, requests and results for rxpolicy.v1.PolicyService.

    ``target`` is any gRPC target ("host:port", "dns:///rx.internal:50051",
    "ipv4:10.0.0.1:50051,10.0.0.2:50051") or a list of "host:port" addresses, one per
    replica; calls are balanced round-robin over every address, skipping replicas whose
    health is NOT_SERVING. ``timeout`` is the default deadline (seconds) of each unary
    call; UNAVAILABLE is retried by the channel's service config and then by a new call
    (up to three, within the deadline), which goes to another replica (and by
    ``evaluate_many``, which sends the requests not yet answered again on a new stream).
    ``expected_policy_set_digest`` ("sha256:<hex>", as ListVersions reports it) refuses
    an answer from a replica serving another policy set: the call raises
    PolicySetMismatchError instead. ``token`` sends ``authorization: Bearer``; ``tls``
    (or any certificate argument) makes the channel secure, with ``certificate_chain``
    and ``private_key`` for mutual TLS.
    """

    def __init__(
        self,
        target: Target = DEFAULT_TARGET,
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
        expected_policy_set_digest: str | None = None,
    ) -> None:
        creds, opts = channel_args(
            tls=tls,
            root_certificates=root_certificates,
            certificate_chain=certificate_chain,
            private_key=private_key,
            server_name=server_name,
            options=options,
        )
        self.target = channel_target(target)
        self.timeout = timeout
        self.policy_id = policy_id
        self.expected_policy_set_digest = expected_policy_set_digest or None
        self._metadata = call_metadata(token)
        self._connect(self.target, creds, opts)

    def _connect(
        self, target: str, creds: grpc.ChannelCredentials | None, options: list[tuple[str, Any]]
    ) -> None:
        raise NotImplementedError

    def _connectivity(self) -> grpc.ChannelConnectivity | None:
        """The channel's connection state now (None when not known)."""
        raise NotImplementedError

    def _deadline(self, timeout: Timeout) -> float | None:
        return self.timeout if isinstance(timeout, _Default) else timeout

    def _check_digest(self, served: str) -> None:
        """Refuse the answer of a replica serving another policy set than the one expected
        (``served``: the answer's ``policy_set_digest``, empty from a server too old to say)."""
        expected = self.expected_policy_set_digest
        if expected is not None and served != expected:
            raise PolicySetMismatchError(expected, served or None)

    # ------------------------------------------------------------ requests

    def _evaluate_request(
        self,
        facts: Mapping[str, Any] | None,
        more_facts: Mapping[str, Any],
        *,
        request_id: str,
        policy_id: str | None,
        as_known_on: dt.date | str | None,
        include_trace: bool,
        version: str | None,
    ) -> pb.EvaluateRequest:
        merged, request_id = split_request_id({**(facts or {}), **more_facts}, request_id)
        return _wire.evaluate_request(
            merged,
            request_id=request_id,
            policy_id=policy_id or self.policy_id,
            as_known_on=as_known_on,
            include_trace=include_trace,
            version=version,
        )

    def _item_builder(
        self,
        policy_id: str | None,
        as_known_on: dt.date | str | None,
        include_trace: bool,
        version: str | None,
    ) -> Builder:
        pid = policy_id or self.policy_id

        def build(item: Any) -> pb.EvaluateRequest:
            # Only items that carry the entry are rebuilt: the stream's hot path stays as it was.
            if _carries_request_id(item):
                facts, request_id = split_request_id(item)
                item = Request(facts, request_id=request_id)
            elif isinstance(item, Request) and _carries_request_id(item.facts):
                facts, request_id = split_request_id(item.facts, item.request_id)
                item = attrs.evolve(item, facts=facts, request_id=request_id)
            return _wire.item_request(
                item, policy_id=pid, as_known_on=as_known_on, include_trace=include_trace, version=version
            )

        return build

    def _list_request(self, policy_id: str | None) -> pb.ListVersionsRequest:
        return pb.ListVersionsRequest(policy_id=policy_id or self.policy_id or "")

    def _version_request(
        self, version: str | None, in_force_on: dt.date | str | None, policy_id: str | None
    ) -> pb.GetVersionRequest:
        if version is not None and in_force_on is not None:
            raise ValueError("give a version or a date in force, not both")
        req = pb.GetVersionRequest(policy_id=policy_id or self.policy_id or "")
        if version is not None:
            req.version = version
        elif in_force_on is not None:
            req.in_force_on = in_force_on.isoformat() if isinstance(in_force_on, dt.date) else in_force_on
        return req

    def _diff_request(
        self, from_ref: str, to_ref: str, policy_id: str | None, semantic: bool, format: str
    ) -> pb.DiffVersionsRequest:
        if format not in DIFF_FORMATS:
            raise ValueError(f"format must be one of {', '.join(DIFF_FORMATS)}")
        return pb.DiffVersionsRequest(
            policy_id=policy_id or self.policy_id or "",
            from_ref=from_ref,
            to_ref=to_ref,
            semantic=semantic,
            format=DIFF_FORMATS[format],
        )

    # ------------------------------------------------------------ results

    @staticmethod
    def _decision(response: pb.EvaluateResponse) -> Decision:
        return _wire.decision(response.request_id, response.decision)

    @staticmethod
    def _versions(response: pb.ListVersionsResponse) -> VersionList:
        return version_list(response)

    @staticmethod
    def _version(response: pb.GetVersionResponse) -> PolicyVersion:
        return policy_version(response.version)

    @staticmethod
    def _diff(r: pb.DiffVersionsResponse) -> VersionDiff:
        return VersionDiff(
            content=r.content,
            media_type=r.media_type,
            from_version=r.from_version,
            to_version=r.to_version,
            equivalent=r.equivalent if r.HasField("equivalent") else None,
            required_bump=r.required_bump if r.HasField("required_bump") else None,
        )


def _carries_request_id(item: Any) -> bool:
    return isinstance(item, Mapping) and REQUEST_ID_KEY in item


def split_request_id(item: Mapping[str, Any], request_id: str = "") -> tuple[Mapping[str, Any], str]:
    """The facts of a request mapping without its ``request_id`` entry, and the id: the
    entry's, or ``request_id`` when it has none (None counts as none). The id is text, and
    an id given both ways must be the same; otherwise TypeError, which evaluate_many turns
    into the item's error result, as for any item that is not a request."""
    if REQUEST_ID_KEY not in item:
        return item, request_id
    given = item[REQUEST_ID_KEY]
    facts = {name: value for name, value in item.items() if name != REQUEST_ID_KEY}
    if given is None:
        return facts, request_id
    if not isinstance(given, str):
        raise TypeError("request_id must be text")
    if request_id and given != request_id:
        raise TypeError(f"two request ids: {given!r} in the mapping and {request_id!r}")
    return facts, given


_UNREACHED = (grpc.ChannelConnectivity.CONNECTING, grpc.ChannelConnectivity.TRANSIENT_FAILURE)


def unary_failure(
    error: PolicyClientError,
    unavailable: PolicyClientError | None,
    attempt: int,
    connectivity: grpc.ChannelConnectivity | None,
) -> PolicyClientError | None:
    """What a failed unary attempt raises, or None to try again. A deadline that runs out
    while the server cannot be reached (an UNAVAILABLE attempt before it, or the channel
    still connecting or failing to) is reported as UNAVAILABLE: the caller learns the
    server was never reached, not that it was slow. gRPC's own retries of a refused
    connection can use the whole deadline inside one attempt, so the channel's state is
    the witness, not only the attempts seen here."""
    if error.code == grpc.StatusCode.UNAVAILABLE:
        return error if attempt >= UNARY_ATTEMPTS else None
    if error.code == grpc.StatusCode.DEADLINE_EXCEEDED and (
        unavailable is not None or connectivity in _UNREACHED
    ):
        state = connectivity.name if connectivity is not None else "unknown"
        return from_status(
            grpc.StatusCode.UNAVAILABLE,
            f"no server reached within the call's deadline (attempt {attempt}, connection {state})"
            + (f"; last error: {unavailable.details}" if unavailable is not None else ""),
        )
    return error


class StreamClock:
    """The whole deadline of one call across its attempts: a unary call's, or an
    evaluate_many call's across its streams."""

    def __init__(self, timeout: float | None) -> None:
        self._end = None if timeout is None else time.monotonic() + timeout

    def left(self) -> float | None:
        """Seconds left for the next stream; raises DEADLINE_EXCEEDED when none are."""
        if self._end is None:
            return None
        left = self._end - time.monotonic()
        if left <= 0:
            raise from_status(grpc.StatusCode.DEADLINE_EXCEEDED, "the call's deadline passed")
        return left
