"""Engine errors as gRPC statuses: INVALID_ARGUMENT with google.rpc.BadRequest field
violations (grpcio-status rich details), NOT_FOUND for an unknown policy or version;
each with a google.rpc.ErrorInfo whose ``reason`` is stable (REASONS) in DOMAIN.

A violation's ``field`` is the path of the request field (rxpolicy.paths): the engine
names facts, ``on_the_wire`` says where in the request each was sent.

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
from rxpolicy import paths
from rxpolicy.v1 import decision_pb2, facts_pb2

from ..engine.errors import FieldViolation, InvalidRequest, NotFound, UnknownPolicy, UnknownVersion
from .convert import violations_message
from .sizing import RESPONSE_TOO_LARGE

DOMAIN = "rxpolicy.v1"
# google.rpc.ErrorInfo reasons: part of the contract, never renamed.
INVALID_FACT = "INVALID_FACT"  # a fact of the request (``facts.…``) is missing or invalid
INVALID_FIELD = "INVALID_FIELD"  # another field of the request (as_known_on, version, ...)
MALFORMED_MESSAGE = "MALFORMED_MESSAGE"  # the bytes are not a message of the request's type
UNKNOWN_POLICY = "UNKNOWN_POLICY"
UNKNOWN_VERSION = "UNKNOWN_VERSION"
NOT_FOUND = "NOT_FOUND"  # anything else not found
REASONS = (
    INVALID_FACT,
    INVALID_FIELD,
    MALFORMED_MESSAGE,
    UNKNOWN_POLICY,
    UNKNOWN_VERSION,
    NOT_FOUND,
    RESPONSE_TOO_LARGE,  # a stream item's result did not fit its response (sizing.py)
)
_TYPED_FACTS = frozenset(facts_pb2.Facts.DESCRIPTOR.fields_by_name) - {paths.VALUES, paths.OTHER_FACTS}


class InvalidFacts(InvalidRequest):
    """The request's facts are invalid; each violation's field is a request path."""

    reason = INVALID_FACT


class Malformed(InvalidRequest):
    reason = MALFORMED_MESSAGE


def reason_of(exc: InvalidRequest | NotFound) -> str:
    if isinstance(exc, InvalidRequest):
        return getattr(exc, "reason", INVALID_FIELD)
    if isinstance(exc, UnknownVersion):
        return UNKNOWN_VERSION
    if isinstance(exc, UnknownPolicy):
        return UNKNOWN_POLICY
    return NOT_FOUND


def _container(facts: facts_pb2.Facts, name: str) -> str | None:
    """Where the request sent fact ``name`` (None: a typed field); a fact it did not
    send is pointed to where it belongs (its typed field, else ``values``)."""
    # Named booleans: the generated stubs leave a map's ``in`` untyped, which mypy would
    # carry into the return type.
    sent_in_values: bool = name in facts.values
    if sent_in_values:
        return paths.VALUES
    sent_in_other: bool = facts.HasField("other_facts") and name in facts.other_facts.fields
    if sent_in_other:
        return paths.OTHER_FACTS
    return None if name in _TYPED_FACTS else paths.VALUES


def _sent_name(facts: facts_pb2.Facts, field: str) -> str:
    """The fact name the engine clipped ("abc..."), as sent, when one sent name fits."""
    if not field.endswith("...") or field in facts.values:
        return field
    stem = field[:-3]
    sent = [
        n
        for n in (*facts.values, *(facts.other_facts.fields if facts.HasField("other_facts") else ()))
        if n.startswith(stem)
    ]
    return sent[0] if len(sent) == 1 else field


def on_the_wire(exc: InvalidRequest, facts: facts_pb2.Facts) -> InvalidFacts:
    """The engine's violations of ``facts`` with request paths for fields."""
    out = []
    for v in exc.violations:
        if v.field == "request":
            out.append(v)
            continue
        name = _sent_name(facts, v.field)
        path = paths.fact_path(_container(facts, name), name, paths.item_of(v.field, v.description))
        out.append(FieldViolation(path, v.description))
    return InvalidFacts(out)


def error_info(reason: str, **metadata: str) -> any_pb2.Any:
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=metadata))
    return detail


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


def invalid_argument(exc: InvalidRequest) -> grpc.Status:
    violations = exc.violations
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
            details=[detail, error_info(reason_of(exc), violations=str(len(violations)))],
        )
    )
    return out


def not_found(exc: NotFound) -> grpc.Status:
    out: grpc.Status = rpc_status.to_status(
        status_pb2.Status(
            code=code_pb2.NOT_FOUND, message=clip(str(exc)), details=[error_info(reason_of(exc))]
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
        reason=reason_of(exc),
    )


def not_found_error(exc: NotFound) -> decision_pb2.RequestError:
    return decision_pb2.RequestError(code=code_pb2.NOT_FOUND, message=clip(str(exc)), reason=reason_of(exc))


def undecodable() -> InvalidRequest:
    return Malformed(
        [FieldViolation("request", "is not a valid protobuf message of the method's request type")]
    )
