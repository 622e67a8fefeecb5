# mypy: disable-error-code="type-arg"
# ruff: noqa
# fmt: off
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GroupMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GROUP_MODE_UNSPECIFIED: _ClassVar[GroupMode]
    GROUP_MODE_ALL: _ClassVar[GroupMode]
    GROUP_MODE_ANY: _ClassVar[GroupMode]
GROUP_MODE_UNSPECIFIED: GroupMode
GROUP_MODE_ALL: GroupMode
GROUP_MODE_ANY: GroupMode

class VersionInfo(_message.Message):
    __slots__ = ("policy_id", "title", "version", "effective", "recorded", "revision_log", "provenance", "semver_reasoning", "assumptions", "choices", "unmodelled", "content_hash", "locked", "strengths_mg", "draft", "corrects")
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FIELD_NUMBER: _ClassVar[int]
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    REVISION_LOG_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    SEMVER_REASONING_FIELD_NUMBER: _ClassVar[int]
    ASSUMPTIONS_FIELD_NUMBER: _ClassVar[int]
    CHOICES_FIELD_NUMBER: _ClassVar[int]
    UNMODELLED_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    LOCKED_FIELD_NUMBER: _ClassVar[int]
    STRENGTHS_MG_FIELD_NUMBER: _ClassVar[int]
    DRAFT_FIELD_NUMBER: _ClassVar[int]
    CORRECTS_FIELD_NUMBER: _ClassVar[int]
    policy_id: str
    title: str
    version: str
    effective: str
    recorded: str
    revision_log: RevisionLogEntry
    provenance: str
    semver_reasoning: str
    assumptions: _containers.RepeatedScalarFieldContainer[str]
    choices: _containers.RepeatedScalarFieldContainer[str]
    unmodelled: _containers.RepeatedScalarFieldContainer[str]
    content_hash: str
    locked: bool
    strengths_mg: _containers.RepeatedScalarFieldContainer[int]
    draft: bool
    corrects: str
    def __init__(self, policy_id: _Optional[str] = ..., title: _Optional[str] = ..., version: _Optional[str] = ..., effective: _Optional[str] = ..., recorded: _Optional[str] = ..., revision_log: _Optional[_Union[RevisionLogEntry, _Mapping]] = ..., provenance: _Optional[str] = ..., semver_reasoning: _Optional[str] = ..., assumptions: _Optional[_Iterable[str]] = ..., choices: _Optional[_Iterable[str]] = ..., unmodelled: _Optional[_Iterable[str]] = ..., content_hash: _Optional[str] = ..., locked: _Optional[bool] = ..., strengths_mg: _Optional[_Iterable[int]] = ..., draft: _Optional[bool] = ..., corrects: _Optional[str] = ...) -> None: ...

class RevisionLogEntry(_message.Message):
    __slots__ = ("date", "pt_approval", "text")
    DATE_FIELD_NUMBER: _ClassVar[int]
    PT_APPROVAL_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    date: str
    pt_approval: str
    text: str
    def __init__(self, date: _Optional[str] = ..., pt_approval: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class PolicyVersion(_message.Message):
    __slots__ = ("info", "indications", "referrals", "facts")
    INFO_FIELD_NUMBER: _ClassVar[int]
    INDICATIONS_FIELD_NUMBER: _ClassVar[int]
    REFERRALS_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    info: VersionInfo
    indications: _containers.RepeatedCompositeFieldContainer[Indication]
    referrals: _containers.RepeatedCompositeFieldContainer[Referral]
    facts: _containers.RepeatedCompositeFieldContainer[FactSpec]
    def __init__(self, info: _Optional[_Union[VersionInfo, _Mapping]] = ..., indications: _Optional[_Iterable[_Union[Indication, _Mapping]]] = ..., referrals: _Optional[_Iterable[_Union[Referral, _Mapping]]] = ..., facts: _Optional[_Iterable[_Union[FactSpec, _Mapping]]] = ...) -> None: ...

class Criterion(_message.Message):
    __slots__ = ("key", "cite", "text", "leaf", "group", "gloss")
    KEY_FIELD_NUMBER: _ClassVar[int]
    CITE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LEAF_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    GLOSS_FIELD_NUMBER: _ClassVar[int]
    key: str
    cite: str
    text: str
    leaf: CriterionLeaf
    group: CriterionGroup
    gloss: str
    def __init__(self, key: _Optional[str] = ..., cite: _Optional[str] = ..., text: _Optional[str] = ..., leaf: _Optional[_Union[CriterionLeaf, _Mapping]] = ..., group: _Optional[_Union[CriterionGroup, _Mapping]] = ..., gloss: _Optional[str] = ...) -> None: ...

class CriterionLeaf(_message.Message):
    __slots__ = ("fact", "op", "value")
    FACT_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    fact: str
    op: str
    value: _struct_pb2.Value
    def __init__(self, fact: _Optional[str] = ..., op: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class CriterionGroup(_message.Message):
    __slots__ = ("mode", "children")
    MODE_FIELD_NUMBER: _ClassVar[int]
    CHILDREN_FIELD_NUMBER: _ClassVar[int]
    mode: GroupMode
    children: _containers.RepeatedCompositeFieldContainer[Criterion]
    def __init__(self, mode: _Optional[_Union[GroupMode, str]] = ..., children: _Optional[_Iterable[_Union[Criterion, _Mapping]]] = ...) -> None: ...

class Indication(_message.Message):
    __slots__ = ("key", "cite", "text", "request_types", "applies_to", "criteria", "duration_keyed_by", "durations")
    KEY_FIELD_NUMBER: _ClassVar[int]
    CITE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_TYPES_FIELD_NUMBER: _ClassVar[int]
    APPLIES_TO_FIELD_NUMBER: _ClassVar[int]
    CRITERIA_FIELD_NUMBER: _ClassVar[int]
    DURATION_KEYED_BY_FIELD_NUMBER: _ClassVar[int]
    DURATIONS_FIELD_NUMBER: _ClassVar[int]
    key: str
    cite: str
    text: str
    request_types: _containers.RepeatedScalarFieldContainer[str]
    applies_to: Criterion
    criteria: Criterion
    duration_keyed_by: str
    durations: _containers.RepeatedCompositeFieldContainer[ApprovalDuration]
    def __init__(self, key: _Optional[str] = ..., cite: _Optional[str] = ..., text: _Optional[str] = ..., request_types: _Optional[_Iterable[str]] = ..., applies_to: _Optional[_Union[Criterion, _Mapping]] = ..., criteria: _Optional[_Union[Criterion, _Mapping]] = ..., duration_keyed_by: _Optional[str] = ..., durations: _Optional[_Iterable[_Union[ApprovalDuration, _Mapping]]] = ...) -> None: ...

class ApprovalDuration(_message.Message):
    __slots__ = ("value", "months", "length_of_benefit", "at_most_fact")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    MONTHS_FIELD_NUMBER: _ClassVar[int]
    LENGTH_OF_BENEFIT_FIELD_NUMBER: _ClassVar[int]
    AT_MOST_FACT_FIELD_NUMBER: _ClassVar[int]
    value: str
    months: int
    length_of_benefit: bool
    at_most_fact: str
    def __init__(self, value: _Optional[str] = ..., months: _Optional[int] = ..., length_of_benefit: _Optional[bool] = ..., at_most_fact: _Optional[str] = ...) -> None: ...

class Referral(_message.Message):
    __slots__ = ("key", "cite", "text", "request_types", "keyed_by", "rules")
    KEY_FIELD_NUMBER: _ClassVar[int]
    CITE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_TYPES_FIELD_NUMBER: _ClassVar[int]
    KEYED_BY_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    key: str
    cite: str
    text: str
    request_types: _containers.RepeatedScalarFieldContainer[str]
    keyed_by: str
    rules: _containers.RepeatedCompositeFieldContainer[ReferralRule]
    def __init__(self, key: _Optional[str] = ..., cite: _Optional[str] = ..., text: _Optional[str] = ..., request_types: _Optional[_Iterable[str]] = ..., keyed_by: _Optional[str] = ..., rules: _Optional[_Iterable[_Union[ReferralRule, _Mapping]]] = ...) -> None: ...

class ReferralRule(_message.Message):
    __slots__ = ("key", "cite", "text", "when", "refer_to", "gloss")
    class ReferToEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    CITE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    WHEN_FIELD_NUMBER: _ClassVar[int]
    REFER_TO_FIELD_NUMBER: _ClassVar[int]
    GLOSS_FIELD_NUMBER: _ClassVar[int]
    key: str
    cite: str
    text: str
    when: Criterion
    refer_to: _containers.ScalarMap[str, str]
    gloss: str
    def __init__(self, key: _Optional[str] = ..., cite: _Optional[str] = ..., text: _Optional[str] = ..., when: _Optional[_Union[Criterion, _Mapping]] = ..., refer_to: _Optional[_Mapping[str, str]] = ..., gloss: _Optional[str] = ...) -> None: ...

class FactSpec(_message.Message):
    __slots__ = ("name", "type", "text", "required", "values")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    text: str
    required: bool
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., text: _Optional[str] = ..., required: _Optional[bool] = ..., values: _Optional[_Iterable[str]] = ...) -> None: ...
