"""rxpolicy.client: Python client for rxpolicy.v1.PolicyService.

    from rxpolicy.client import PolicyClient

    with PolicyClient("localhost:50051") as client:
        decision = client.evaluate(service_date="2025-06-02", line_of_business="medicaid",
                                   request_type="initial", diagnosis="multiple_myeloma")
        print(decision.outcome, decision.missing)

Depends on grpcio, protobuf, attrs and the contract package (rxpolicy.v1, rxpolicy.decisions,
rxpolicy.limits) only: ``pip install ./clients/python`` installs just these.
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
from .versions import (
    ApprovalDuration,
    Criterion,
    FactSpec,
    Indication,
    PolicyVersion,
    Referral,
    ReferralRule,
    RevisionLogEntry,
    VersionInfo,
    VersionList,
)

__all__ = [
    "Alternative",
    "Approval",
    "ApprovalDuration",
    "AsyncPolicyClient",
    "Citation",
    "Criterion",
    "DeadlineExceededError",
    "Decision",
    "DoseLimit",
    "ErrorResult",
    "FactSpec",
    "FieldViolation",
    "Indication",
    "InformationRequest",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "PolicyClient",
    "PolicyClientError",
    "PolicySetMismatchError",
    "PolicyVersion",
    "Question",
    "Referral",
    "ReferralRule",
    "Request",
    "ResourceExhaustedError",
    "Result",
    "RevisionLogEntry",
    "SubmittedValue",
    "TraceNode",
    "UnauthenticatedError",
    "UnavailableError",
    "Unmet",
    "VersionDiff",
    "VersionInfo",
    "VersionList",
    "VersionNotes",
    "VersionRef",
]
