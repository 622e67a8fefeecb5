"""Reads google.rpc.BadRequest field violations from a call's trailing metadata.

The client depends on grpcio and protobuf only, so the two google.rpc messages it
reads are declared here, wire-compatible, in a private descriptor pool.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from .results import FieldViolation

STATUS_DETAILS_KEY = "grpc-status-details-bin"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"


def _messages() -> tuple[Any, Any]:
    T = descriptor_pb2.FieldDescriptorProto
    f = descriptor_pb2.FileDescriptorProto(name="rxpolicy_client/rpc_status.proto", package="rxpolicy_client")

    def message(name: str, *fields: tuple[str, int, int, int, str]) -> None:
        m = f.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            fd = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                fd.type_name = type_name

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
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return (
        message_factory.GetMessageClass(pool.FindMessageTypeByName("rxpolicy_client.Status")),
        message_factory.GetMessageClass(pool.FindMessageTypeByName("rxpolicy_client.BadRequest")),
    )


_Status, _BadRequest = _messages()


def field_violations(trailing_metadata: Any) -> tuple[FieldViolation, ...]:
    for key, value in trailing_metadata or ():
        if key != STATUS_DETAILS_KEY or not isinstance(value, bytes):
            continue
        try:
            status = _Status.FromString(value)
            out: list[FieldViolation] = []
            for detail in status.details:
                if detail.type_url == BAD_REQUEST_TYPE:
                    bad = _BadRequest.FromString(detail.value)
                    out += [FieldViolation(v.field, v.description) for v in bad.field_violations]
            return tuple(out)
        except Exception:  # a malformed detail from a foreign server: no violations, not a crash
            return ()
    return ()
