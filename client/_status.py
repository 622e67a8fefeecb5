"""Reads a call's rich status details from its trailing metadata: google.rpc.BadRequest
field violations and google.rpc.ErrorInfo (the server's stable reason and domain).

The client depends on grpcio and protobuf only, so the google.rpc messages it reads are
declared here, wire-compatible, in a private descriptor pool.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from rxpolicy.paths import field_of

from .results import FieldViolation

STATUS_DETAILS_KEY = "grpc-status-details-bin"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"


def _messages() -> tuple[Any, Any, Any]:
    T = descriptor_pb2.FieldDescriptorProto
    f = descriptor_pb2.FileDescriptorProto(name="rxpolicy_client/rpc_status.proto", package="rxpolicy_client")

    def message(name: str, *fields: tuple[str, int, int, int, str]) -> descriptor_pb2.DescriptorProto:
        m = f.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            fd = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                fd.type_name = type_name
        return m

    opt, rep = T.LABEL_OPTIONAL, T.LABEL_REPEATED
    message("Any", ("type_url", 1, T.TYPE_STRING, opt, ""), ("value", 2, T.TYPE_BYTES, opt, ""))
    message(
        "Status",
        ("code", 1, T.TYPE_INT32, opt, ""),
        ("message", 2, T.TYPE_STRING, opt, ""),
        ("details", 3, T.TYPE_MESSAGE, rep, ".rxpolicy_client.Any"),
    )
    message(
        "FieldViolation", ("field", 1, T.TYPE_STRING, opt, ""), ("description", 2, T.TYPE_STRING, opt, "")
    )
    message("BadRequest", ("field_violations", 1, T.TYPE_MESSAGE, rep, ".rxpolicy_client.FieldViolation"))
    info = message(
        "ErrorInfo",
        ("reason", 1, T.TYPE_STRING, opt, ""),
        ("domain", 2, T.TYPE_STRING, opt, ""),
        ("metadata", 3, T.TYPE_MESSAGE, rep, ".rxpolicy_client.ErrorInfo.MetadataEntry"),
    )
    entry = info.nested_type.add(name="MetadataEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=T.TYPE_STRING, label=opt)
    entry.field.add(name="value", number=2, type=T.TYPE_STRING, label=opt)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)

    def cls(name: str) -> Any:
        return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"rxpolicy_client.{name}"))

    return cls("Status"), cls("BadRequest"), cls("ErrorInfo")


_Status, _BadRequest, _ErrorInfo = _messages()


@attrs.frozen
class StatusDetails:
    """What a failed call's status carried besides its code and message."""

    violations: tuple[FieldViolation, ...] = ()
    reason: str = ""
    domain: str = ""
    metadata: Mapping[str, str] = attrs.field(factory=dict)


def status_details(trailing_metadata: Any) -> StatusDetails:
    for key, value in trailing_metadata or ():
        if key != STATUS_DETAILS_KEY or not isinstance(value, bytes):
            continue
        try:
            status = _Status.FromString(value)
            violations: list[FieldViolation] = []
            reason = domain = ""
            metadata: dict[str, str] = {}
            for detail in status.details:
                if detail.type_url == BAD_REQUEST_TYPE:
                    bad = _BadRequest.FromString(detail.value)
                    # The wire names the request path; ``field`` is the fact (or request
                    # field) in it, as the engine names it in process.
                    violations += [
                        FieldViolation(field_of(v.field), v.description, v.field)
                        for v in bad.field_violations
                    ]
                elif detail.type_url == ERROR_INFO_TYPE:
                    info = _ErrorInfo.FromString(detail.value)
                    reason, domain, metadata = info.reason, info.domain, dict(info.metadata)
            return StatusDetails(tuple(violations), reason, domain, metadata)
        except Exception:  # a malformed detail from a foreign server: no details, not a crash
            return StatusDetails()
    return StatusDetails()


def field_violations(trailing_metadata: Any) -> tuple[FieldViolation, ...]:
    return status_details(trailing_metadata).violations
