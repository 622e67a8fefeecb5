"""Typed exceptions for failed calls; an invalid request carries its field violations."""

from __future__ import annotations

from typing import Any

import grpc

from ._status import StatusDetails, status_details
from .results import FieldViolation, error_json, json_text


class PolicyClientError(Exception):
    """A call to the policy service failed; ``code`` is the gRPC status code. ``reason``
    and ``domain`` are the server's google.rpc.ErrorInfo (a stable reason such as
    INVALID_FACT or UNKNOWN_VERSION in domain ``rxpolicy.v1``), empty when it sent none."""

    def __init__(self, code: grpc.StatusCode, details: str, info: StatusDetails | None = None) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details
        info = info or StatusDetails()
        self.reason = info.reason
        self.domain = info.domain
        self.metadata = dict(info.metadata)


class InvalidRequestError(PolicyClientError):
    """INVALID_ARGUMENT: the request is not valid input; ``violations`` name the fields
    (``fields``: the facts or request fields, as in process; ``paths``: where in the
    request, ``facts.doses[0].tablets``)."""

    def __init__(
        self, details: str, violations: tuple[FieldViolation, ...], info: StatusDetails | None = None
    ) -> None:
        super().__init__(grpc.StatusCode.INVALID_ARGUMENT, details, info)
        self.violations = violations

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(v.field for v in self.violations)

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(v.path or v.field for v in self.violations)

    def to_dict(self) -> dict[str, Any]:
        return error_json(self.code.name, self.violations)

    def to_json(self) -> str:
        """The text ``rxpolicy evaluate`` prints for this invalid request (without its newline)."""
        return json_text(self.to_dict())


class NotFoundError(PolicyClientError):
    """NOT_FOUND: no such policy or version."""


class UnauthenticatedError(PolicyClientError):
    """UNAUTHENTICATED: the server wants a valid bearer token."""


class PermissionDeniedError(PolicyClientError):
    """PERMISSION_DENIED."""


class DeadlineExceededError(PolicyClientError):
    """DEADLINE_EXCEEDED: no answer within the call's deadline."""


class UnavailableError(PolicyClientError):
    """UNAVAILABLE, after the retries the service config allows."""


class ResourceExhaustedError(PolicyClientError):
    """RESOURCE_EXHAUSTED: a message too large, or the server's concurrency limit."""


class PolicySetMismatchError(PolicyClientError):
    """The replica that answered serves another policy set than the client was told to
    expect (``expected_policy_set_digest``): its answer is refused, not returned.
    ``expected`` and ``served`` are the two digests (``served`` is None when the replica
    named none)."""

    def __init__(self, expected: str, served: str | None) -> None:
        super().__init__(
            grpc.StatusCode.FAILED_PRECONDITION,
            f"the replica serves policy set {served or '(none named)'}, not the expected {expected}",
        )
        self.expected = expected
        self.served = served


_BY_CODE: dict[grpc.StatusCode, type[PolicyClientError]] = {
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
}


def from_status(code: grpc.StatusCode, details: str, trailing_metadata: Any = ()) -> PolicyClientError:
    info = status_details(trailing_metadata)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidRequestError(details, info.violations, info)
    return _BY_CODE.get(code, PolicyClientError)(code, details, info)


def from_rpc_error(error: grpc.RpcError) -> PolicyClientError:
    call: Any = error
    code = call.code() if hasattr(call, "code") else grpc.StatusCode.UNKNOWN
    details = (call.details() if hasattr(call, "details") else None) or ""
    trailing = call.trailing_metadata() if hasattr(call, "trailing_metadata") else ()
    return from_status(code, details, trailing)
