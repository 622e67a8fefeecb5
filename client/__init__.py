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
    Alternative,
    Approval,
    Citation,
    Decision,
    DoseLimit,
    ErrorResult,
    FieldViolation,
    InformationRequest,
    Question,
    Request,
    Result,
    SubmittedValue,
    TraceNode,
    Unmet,
    VersionDiff,
    VersionNotes,
    VersionRef,
)
from .sync import PolicyClient

__all__ = [
    "Alternative",
    "Approval",
    "AsyncPolicyClient",
    "Citation",
    "DeadlineExceededError",
    "Decision",
    "DoseLimit",
    "ErrorResult",
    "FieldViolation",
    "InformationRequest",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "PolicyClient",
    "PolicyClientError",
    "PolicySetMismatchError",
    "Question",
    "Request",
    "ResourceExhaustedError",
    "Result",
    "SubmittedValue",
    "TraceNode",
    "UnauthenticatedError",
    "UnavailableError",
    "Unmet",
    "VersionDiff",
    "VersionNotes",
    "VersionRef",
]
