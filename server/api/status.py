"""Engine errors as gRPC statuses: INVALID_ARGUMENT with google.rpc.BadRequest field
violations (grpcio-status rich details), NOT_FOUND for an unknown policy or version.

Nothing here ever carries a stack trace or an exception's text to the wire unless the
engine wrote that text for the caller.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from rxpolicy.v1 import decision_pb2

from ..engine.errors import FieldViolation, InvalidRequest
from .convert import violations_message


def invalid_argument(violations: tuple[FieldViolation, ...]) -> grpc.Status:
    detail = any_pb2.Any()
    detail.Pack(
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in violations
            ]
        )
    )
    out: grpc.Status = rpc_status.to_status(
        status_pb2.Status(
            code=code_pb2.INVALID_ARGUMENT,
            message=summary(violations),
            details=[detail],
        )
    )
    return out


def summary(violations: tuple[FieldViolation, ...]) -> str:
    text = "invalid request: " + "; ".join(f"{v.field}: {v.description}" for v in violations[:5])
    if len(violations) > 5:
        text += f"; and {len(violations) - 5} more"
    return text


def request_error(exc: InvalidRequest) -> decision_pb2.RequestError:
    return decision_pb2.RequestError(
        code=code_pb2.INVALID_ARGUMENT,
        message=summary(exc.violations),
        field_violations=violations_message(exc.violations),
    )


def not_found_error(message: str) -> decision_pb2.RequestError:
    return decision_pb2.RequestError(code=code_pb2.NOT_FOUND, message=message)


def undecodable() -> InvalidRequest:
    return InvalidRequest(
        [FieldViolation("request", "is not a valid protobuf message of the method's request type")]
    )
