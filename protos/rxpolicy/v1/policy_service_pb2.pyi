# mypy: disable-error-code="type-arg"
# ruff: noqa
# fmt: off
from rxpolicy.v1 import decision_pb2 as _decision_pb2
from rxpolicy.v1 import facts_pb2 as _facts_pb2
from rxpolicy.v1 import version_pb2 as _version_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DiffFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIFF_FORMAT_UNSPECIFIED: _ClassVar[DiffFormat]
    DIFF_FORMAT_TEXT: _ClassVar[DiffFormat]
    DIFF_FORMAT_MARKDOWN: _ClassVar[DiffFormat]
    DIFF_FORMAT_JSON: _ClassVar[DiffFormat]
    DIFF_FORMAT_HTML: _ClassVar[DiffFormat]
DIFF_FORMAT_UNSPECIFIED: DiffFormat
DIFF_FORMAT_TEXT: DiffFormat
DIFF_FORMAT_MARKDOWN: DiffFormat
DIFF_FORMAT_JSON: DiffFormat
DIFF_FORMAT_HTML: DiffFormat

class EvaluateRequest(_message.Message):
    __slots__ = ("request_id", "policy_id", "as_known_on", "include_trace", "facts", "version")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    AS_KNOWN_ON_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_TRACE_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    policy_id: str
    as_known_on: str
    include_trace: bool
    facts: _facts_pb2.Facts
    version: str
    def __init__(self, request_id: _Optional[str] = ..., policy_id: _Optional[str] = ..., as_known_on: _Optional[str] = ..., include_trace: _Optional[bool] = ..., facts: _Optional[_Union[_facts_pb2.Facts, _Mapping]] = ..., version: _Optional[str] = ...) -> None: ...

class EvaluateResponse(_message.Message):
    __slots__ = ("request_id", "decision", "policy_set_digest")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    POLICY_SET_DIGEST_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    decision: _decision_pb2.Decision
    policy_set_digest: str
    def __init__(self, request_id: _Optional[str] = ..., decision: _Optional[_Union[_decision_pb2.Decision, _Mapping]] = ..., policy_set_digest: _Optional[str] = ...) -> None: ...

class EvaluateStreamRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[EvaluateRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[EvaluateRequest, _Mapping]]] = ...) -> None: ...

class EvaluateStreamResponse(_message.Message):
    __slots__ = ("results", "policy_set_digest")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    POLICY_SET_DIGEST_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[EvaluateResult]
    policy_set_digest: str
    def __init__(self, results: _Optional[_Iterable[_Union[EvaluateResult, _Mapping]]] = ..., policy_set_digest: _Optional[str] = ...) -> None: ...

class EvaluateResult(_message.Message):
    __slots__ = ("request_id", "decision", "error")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    decision: _decision_pb2.Decision
    error: _decision_pb2.RequestError
    def __init__(self, request_id: _Optional[str] = ..., decision: _Optional[_Union[_decision_pb2.Decision, _Mapping]] = ..., error: _Optional[_Union[_decision_pb2.RequestError, _Mapping]] = ...) -> None: ...

class ListVersionsRequest(_message.Message):
    __slots__ = ("policy_id",)
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    policy_id: str
    def __init__(self, policy_id: _Optional[str] = ...) -> None: ...

class ListVersionsResponse(_message.Message):
    __slots__ = ("policy_id", "versions", "policy_set_digest")
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    POLICY_SET_DIGEST_FIELD_NUMBER: _ClassVar[int]
    policy_id: str
    versions: _containers.RepeatedCompositeFieldContainer[_version_pb2.VersionInfo]
    policy_set_digest: str
    def __init__(self, policy_id: _Optional[str] = ..., versions: _Optional[_Iterable[_Union[_version_pb2.VersionInfo, _Mapping]]] = ..., policy_set_digest: _Optional[str] = ...) -> None: ...

class GetVersionRequest(_message.Message):
    __slots__ = ("policy_id", "version", "in_force_on")
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    IN_FORCE_ON_FIELD_NUMBER: _ClassVar[int]
    policy_id: str
    version: str
    in_force_on: str
    def __init__(self, policy_id: _Optional[str] = ..., version: _Optional[str] = ..., in_force_on: _Optional[str] = ...) -> None: ...

class GetVersionResponse(_message.Message):
    __slots__ = ("version", "policy_set_digest")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    POLICY_SET_DIGEST_FIELD_NUMBER: _ClassVar[int]
    version: _version_pb2.PolicyVersion
    policy_set_digest: str
    def __init__(self, version: _Optional[_Union[_version_pb2.PolicyVersion, _Mapping]] = ..., policy_set_digest: _Optional[str] = ...) -> None: ...

class DiffVersionsRequest(_message.Message):
    __slots__ = ("policy_id", "from_ref", "to_ref", "semantic", "format")
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_REF_FIELD_NUMBER: _ClassVar[int]
    TO_REF_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    policy_id: str
    from_ref: str
    to_ref: str
    semantic: bool
    format: DiffFormat
    def __init__(self, policy_id: _Optional[str] = ..., from_ref: _Optional[str] = ..., to_ref: _Optional[str] = ..., semantic: _Optional[bool] = ..., format: _Optional[_Union[DiffFormat, str]] = ...) -> None: ...

class DiffVersionsResponse(_message.Message):
    __slots__ = ("content", "media_type", "from_version", "to_version", "equivalent", "required_bump", "policy_set_digest")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    EQUIVALENT_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_BUMP_FIELD_NUMBER: _ClassVar[int]
    POLICY_SET_DIGEST_FIELD_NUMBER: _ClassVar[int]
    content: str
    media_type: str
    from_version: str
    to_version: str
    equivalent: bool
    required_bump: str
    policy_set_digest: str
    def __init__(self, content: _Optional[str] = ..., media_type: _Optional[str] = ..., from_version: _Optional[str] = ..., to_version: _Optional[str] = ..., equivalent: _Optional[bool] = ..., required_bump: _Optional[str] = ..., policy_set_digest: _Optional[str] = ...) -> None: ...
