"""gRPC server reflection under both names: ``grpc.reflection.v1`` (what ``buf curl``
asks for by default, and grpcurl first) and ``grpc.reflection.v1alpha`` (older tools).

grpcio-reflection ships only v1alpha. The v1 protocol is the same messages under
another package (grpc/reflection/v1/reflection.proto is v1alpha's file renamed, field
for field), so one servicer answers both: its v1alpha message classes read and write
v1's bytes. The v1 file is added to the descriptor pool too, so a client that asks
reflection about reflection itself finds it.

Reflection serves the descriptors of the public contract only (the same .proto files
the client package ships), so it is open like health (auth.py): grpcurl and buf curl
can list services and reach health without a token. ``--no-reflection`` turns it off.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection, reflection_pb2

V1ALPHA_SERVICE = reflection.SERVICE_NAME
V1_PACKAGE = "grpc.reflection.v1"
V1_SERVICE = f"{V1_PACKAGE}.ServerReflection"
V1_FILE = "grpc/reflection/v1/reflection.proto"
METHOD = "ServerReflectionInfo"
OPEN_METHODS = frozenset({f"/{V1_SERVICE}/{METHOD}", f"/{V1ALPHA_SERVICE}/{METHOD}"})


def _v1_file() -> descriptor_pb2.FileDescriptorProto:
    """v1alpha's file descriptor under v1's package and file name."""
    old_package = reflection_pb2.DESCRIPTOR.package
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    proto.name = V1_FILE
    proto.package = V1_PACKAGE
    proto.options.Clear()  # v1alpha's Java/Go options name v1alpha packages

    def rename(type_name: str) -> str:
        prefix = f".{old_package}."
        return f".{V1_PACKAGE}." + type_name[len(prefix) :] if type_name.startswith(prefix) else type_name

    for message in proto.message_type:
        for field in message.field:
            if field.type_name:
                field.type_name = rename(field.type_name)
    for service in proto.service:
        for method in service.method:
            method.input_type = rename(method.input_type)
            method.output_type = rename(method.output_type)
    return proto


def _register_v1_descriptor() -> None:
    pool = descriptor_pool.Default()
    try:
        pool.FindServiceByName(V1_SERVICE)
    except KeyError:
        pool.Add(_v1_file())


def handlers(service_names: Iterable[str]) -> dict[str, grpc.RpcMethodHandler[Any, Any]]:
    """Reflection v1 and v1alpha for ``service_names`` (and themselves), by full method name."""
    _register_v1_descriptor()
    names = (*service_names, V1_SERVICE, V1ALPHA_SERVICE)
    servicer = reflection.aio.ReflectionServicer(names)
    request = reflection_pb2.ServerReflectionRequest.FromString
    response = reflection_pb2.ServerReflectionResponse.SerializeToString
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo, request_deserializer=request, response_serializer=response
    )
    return {method: handler for method in OPEN_METHODS}
