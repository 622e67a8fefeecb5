"""Engine errors as gRPC statuses: INVALID_ARGUMENT with google.rpc.BadRequest field
violations (grpcio-status rich details), NOT_FOUND for an unknown policy or version.

Nothing here ever carries a stack trace or an exception's text to the wire unless the
engine wrote that text for the caller.

A status's message and details travel in trailing metadata, which clients refuse past
a few KiB (gRPC's soft limit is 8 KiB, then RESOURCE_EXHAUSTED instead of our status).
The caller's own text can be anything (a 20k-character fact name, 3,000 unknown facts),
so what goes there is bounded: at most MAX_VIOLATIONS violations within
DETAILS_BUDGET bytes, each field name and description clipped, the message clipped.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from rxpolicy.v1 import decision_pb2

from ..engine.errors import FieldViolation, InvalidRequest
from .convert import violations_message

MAX_VIOLATIONS = 50
MAX_FIELD_CHARS = 200
# Long enough for the engine's own descriptions (an unknown term lists the known ones);
# the caller's text inside them is clipped by the engine.
MAX_DESCRIPTION_CHARS = 1024
MAX_MESSAGE_CHARS = 1024
# Bytes of the encoded BadRequest in trailing metadata (base64 on the wire: 4/3 of this),
# so that with a clipped message (percent-encoded, up to 3x its UTF-8 bytes) the trailers
# stay under the 8 KiB soft limit.
DETAILS_BUDGET = 3 * 1024
ELLIPSIS = "…"


def clip(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """At most ``limit`` characters and ``limit`` UTF-8 bytes, marked when cut."""
    data = text.encode("utf-8", "replace")
    if len(text) <= limit and len(data) <= limit:
        return text
    room = limit - len(ELLIPSIS.encode())
    # Cut by bytes, dropping a character split at the cut.
    return text[:room].encode("utf-8", "replace")[:room].decode("utf-8", "ignore") + ELLIPSIS


def capped(violations: tuple[FieldViolation, ...], budget: int | None = None) -> tuple[FieldViolation, ...]:
    """The violations to send: clipped, at most MAX_VIOLATIONS (and within ``budget`` bytes
    of encoded BadRequest), then one more saying how many were left out."""
    out: list[FieldViolation] = []
    used = 0
    # One over the cap fits in place of the "and N more" line (the engine may have written its own).
    keep = MAX_VIOLATIONS + 1 if len(violations) == MAX_VIOLATIONS + 1 else MAX_VIOLATIONS
    for v in violations[:keep]:
        item = FieldViolation(clip(v.field, MAX_FIELD_CHARS), clip(v.description, MAX_DESCRIPTION_CHARS))
        size = len(item.field.encode()) + len(item.description.encode()) + 8
        if budget is not None and used + size > budget:
            break
        out.append(item)
        used += size
    if len(out) < len(violations):
        out.append(FieldViolation("request", f"and {len(violations) - len(out)} more violations, not listed"))
    return tuple(out)


def invalid_argument(violations: tuple[FieldViolation, ...]) -> grpc.Status:
    detail = any_pb2.Any()
    detail.Pack(
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in capped(violations, DETAILS_BUDGET)
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
    shown = capped(violations[:5])
    text = "invalid request: " + "; ".join(f"{v.field}: {v.description}" for v in shown)
    if len(violations) > 5:
        text += f"; and {len(violations) - 5} more"
    return clip(text)


def request_error(exc: InvalidRequest) -> decision_pb2.RequestError:
    return decision_pb2.RequestError(
        code=code_pb2.INVALID_ARGUMENT,
        message=summary(exc.violations),
        field_violations=violations_message(capped(exc.violations)),
    )


def not_found_error(message: str) -> decision_pb2.RequestError:
    return decision_pb2.RequestError(code=code_pb2.NOT_FOUND, message=clip(message))


def undecodable() -> InvalidRequest:
    return InvalidRequest(
        [FieldViolation("request", "is not a valid protobuf message of the method's request type")]
    )
