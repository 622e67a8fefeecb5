"""rxpolicy.client: Python client for rxpolicy.v1.PolicyService.

    from rxpolicy.client import PolicyClient

    with PolicyClient("localhost:50051") as client:
        decision = client.evaluate(service_date="2025-06-02", line_of_business="medicaid",
                                   request_type="initial", diagnosis="multiple_myeloma")
        print(decision.outcome, decision.missing)

Depends on grpcio, protobuf and rxpolicy.v1 only.
"""

from .aio import AsyncPolicyClient
from .errors import (
    DeadlineExceededError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    PolicyClientError,
    PolicySetMismatchError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
)
from .results import (
    Approval,
    Citation,
    Decision,
    ErrorResult,
    FieldViolation,
    Request,
    Result,
    TraceNode,
    Unmet,
    VersionDiff,
    VersionRef,
)
from .sync import PolicyClient

__all__ = [
    "Approval",
    "AsyncPolicyClient",
    "Citation",
    "DeadlineExceededError",
    "Decision",
    "ErrorResult",
    "FieldViolation",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "PolicyClient",
    "PolicyClientError",
    "PolicySetMismatchError",
    "Request",
    "ResourceExhaustedError",
    "Result",
    "TraceNode",
    "UnauthenticatedError",
    "UnavailableError",
    "Unmet",
    "VersionDiff",
    "VersionRef",
]
