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

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    OUTCOME_APPROVE: _ClassVar[Outcome]
    OUTCOME_DENY: _ClassVar[Outcome]
    OUTCOME_PEND: _ClassVar[Outcome]
    OUTCOME_REFER: _ClassVar[Outcome]

class TraceResult(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRACE_RESULT_UNSPECIFIED: _ClassVar[TraceResult]
    TRACE_RESULT_MET: _ClassVar[TraceResult]
    TRACE_RESULT_NOT_MET: _ClassVar[TraceResult]
    TRACE_RESULT_UNKNOWN: _ClassVar[TraceResult]
OUTCOME_UNSPECIFIED: Outcome
OUTCOME_APPROVE: Outcome
OUTCOME_DENY: Outcome
OUTCOME_PEND: Outcome
OUTCOME_REFER: Outcome
TRACE_RESULT_UNSPECIFIED: TraceResult
TRACE_RESULT_MET: TraceResult
TRACE_RESULT_NOT_MET: TraceResult
TRACE_RESULT_UNKNOWN: TraceResult

class VersionRef(_message.Message):
    __slots__ = ("policy_id", "version", "effective", "content_hash", "draft", "recorded", "corrects")
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    DRAFT_FIELD_NUMBER: _ClassVar[int]
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    CORRECTS_FIELD_NUMBER: _ClassVar[int]
    policy_id: str
    version: str
    effective: str
    content_hash: str
    draft: bool
    recorded: str
    corrects: str
    def __init__(self, policy_id: _Optional[str] = ..., version: _Optional[str] = ..., effective: _Optional[str] = ..., content_hash: _Optional[str] = ..., draft: _Optional[bool] = ..., recorded: _Optional[str] = ..., corrects: _Optional[str] = ...) -> None: ...

class Citation(_message.Message):
    __slots__ = ("key", "cite", "text", "gloss")
    KEY_FIELD_NUMBER: _ClassVar[int]
    CITE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    GLOSS_FIELD_NUMBER: _ClassVar[int]
    key: str
    cite: str
    text: str
    gloss: str
    def __init__(self, key: _Optional[str] = ..., cite: _Optional[str] = ..., text: _Optional[str] = ..., gloss: _Optional[str] = ...) -> None: ...

class SubmittedValue(_message.Message):
    __slots__ = ("criterion", "fact", "value")
    CRITERION_FIELD_NUMBER: _ClassVar[int]
    FACT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    criterion: Citation
    fact: str
    value: _struct_pb2.Value
    def __init__(self, criterion: _Optional[_Union[Citation, _Mapping]] = ..., fact: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class UnmetCriterion(_message.Message):
    __slots__ = ("criterion", "because", "values")
    CRITERION_FIELD_NUMBER: _ClassVar[int]
    BECAUSE_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    criterion: Citation
    because: _containers.RepeatedCompositeFieldContainer[Citation]
    values: _containers.RepeatedCompositeFieldContainer[SubmittedValue]
    def __init__(self, criterion: _Optional[_Union[Citation, _Mapping]] = ..., because: _Optional[_Iterable[_Union[Citation, _Mapping]]] = ..., values: _Optional[_Iterable[_Union[SubmittedValue, _Mapping]]] = ...) -> None: ...

class DoseLimit(_message.Message):
    __slots__ = ("criterion", "measure", "at_most")
    CRITERION_FIELD_NUMBER: _ClassVar[int]
    MEASURE_FIELD_NUMBER: _ClassVar[int]
    AT_MOST_FIELD_NUMBER: _ClassVar[int]
    criterion: Citation
    measure: str
    at_most: int
    def __init__(self, criterion: _Optional[_Union[Citation, _Mapping]] = ..., measure: _Optional[str] = ..., at_most: _Optional[int] = ...) -> None: ...

class Alternative(_message.Message):
    __slots__ = ("criterion", "facts")
    CRITERION_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    criterion: Citation
    facts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, criterion: _Optional[_Union[Citation, _Mapping]] = ..., facts: _Optional[_Iterable[str]] = ...) -> None: ...

class InformationRequest(_message.Message):
    __slots__ = ("criterion", "one_of")
    CRITERION_FIELD_NUMBER: _ClassVar[int]
    ONE_OF_FIELD_NUMBER: _ClassVar[int]
    criterion: Citation
    one_of: _containers.RepeatedCompositeFieldContainer[Alternative]
    def __init__(self, criterion: _Optional[_Union[Citation, _Mapping]] = ..., one_of: _Optional[_Iterable[_Union[Alternative, _Mapping]]] = ...) -> None: ...

class Question(_message.Message):
    __slots__ = ("fact", "source", "question")
    FACT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    fact: str
    source: str
    question: str
    def __init__(self, fact: _Optional[str] = ..., source: _Optional[str] = ..., question: _Optional[str] = ...) -> None: ...

class VersionNotes(_message.Message):
    __slots__ = ("title", "pt_approval", "assumptions")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    PT_APPROVAL_FIELD_NUMBER: _ClassVar[int]
    ASSUMPTIONS_FIELD_NUMBER: _ClassVar[int]
    title: str
    pt_approval: str
    assumptions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, title: _Optional[str] = ..., pt_approval: _Optional[str] = ..., assumptions: _Optional[_Iterable[str]] = ...) -> None: ...

class Approval(_message.Message):
    __slots__ = ("months", "length_of_benefit", "approved_through", "approved_from", "dose_limits")
    MONTHS_FIELD_NUMBER: _ClassVar[int]
    LENGTH_OF_BENEFIT_FIELD_NUMBER: _ClassVar[int]
    APPROVED_THROUGH_FIELD_NUMBER: _ClassVar[int]
    APPROVED_FROM_FIELD_NUMBER: _ClassVar[int]
    DOSE_LIMITS_FIELD_NUMBER: _ClassVar[int]
    months: int
    length_of_benefit: bool
    approved_through: str
    approved_from: str
    dose_limits: _containers.RepeatedCompositeFieldContainer[DoseLimit]
    def __init__(self, months: _Optional[int] = ..., length_of_benefit: _Optional[bool] = ..., approved_through: _Optional[str] = ..., approved_from: _Optional[str] = ..., dose_limits: _Optional[_Iterable[_Union[DoseLimit, _Mapping]]] = ...) -> None: ...

class TraceNode(_message.Message):
    __slots__ = ("key", "cite", "text", "result", "fact", "observed", "children", "gloss")
    KEY_FIELD_NUMBER: _ClassVar[int]
    CITE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    FACT_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_FIELD_NUMBER: _ClassVar[int]
    CHILDREN_FIELD_NUMBER: _ClassVar[int]
    GLOSS_FIELD_NUMBER: _ClassVar[int]
    key: str
    cite: str
    text: str
    result: TraceResult
    fact: str
    observed: _struct_pb2.Value
    children: _containers.RepeatedCompositeFieldContainer[TraceNode]
    gloss: str
    def __init__(self, key: _Optional[str] = ..., cite: _Optional[str] = ..., text: _Optional[str] = ..., result: _Optional[_Union[TraceResult, str]] = ..., fact: _Optional[str] = ..., observed: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., children: _Optional[_Iterable[_Union[TraceNode, _Mapping]]] = ..., gloss: _Optional[str] = ...) -> None: ...

class DecisionTrace(_message.Message):
    __slots__ = ("nodes",)
    NODES_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[TraceNode]
    def __init__(self, nodes: _Optional[_Iterable[_Union[TraceNode, _Mapping]]] = ...) -> None: ...

class Decision(_message.Message):
    __slots__ = ("outcome", "version", "indication", "unmet", "missing", "approval", "refer_to", "referral", "notes", "trace", "unknown", "questions", "about")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    INDICATION_FIELD_NUMBER: _ClassVar[int]
    UNMET_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    REFER_TO_FIELD_NUMBER: _ClassVar[int]
    REFERRAL_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    QUESTIONS_FIELD_NUMBER: _ClassVar[int]
    ABOUT_FIELD_NUMBER: _ClassVar[int]
    outcome: Outcome
    version: VersionRef
    indication: Citation
    unmet: _containers.RepeatedCompositeFieldContainer[UnmetCriterion]
    missing: _containers.RepeatedScalarFieldContainer[str]
    approval: Approval
    refer_to: str
    referral: _containers.RepeatedCompositeFieldContainer[Citation]
    notes: _containers.RepeatedScalarFieldContainer[str]
    trace: DecisionTrace
    unknown: _containers.RepeatedCompositeFieldContainer[InformationRequest]
    questions: _containers.RepeatedCompositeFieldContainer[Question]
    about: VersionNotes
    def __init__(self, outcome: _Optional[_Union[Outcome, str]] = ..., version: _Optional[_Union[VersionRef, _Mapping]] = ..., indication: _Optional[_Union[Citation, _Mapping]] = ..., unmet: _Optional[_Iterable[_Union[UnmetCriterion, _Mapping]]] = ..., missing: _Optional[_Iterable[str]] = ..., approval: _Optional[_Union[Approval, _Mapping]] = ..., refer_to: _Optional[str] = ..., referral: _Optional[_Iterable[_Union[Citation, _Mapping]]] = ..., notes: _Optional[_Iterable[str]] = ..., trace: _Optional[_Union[DecisionTrace, _Mapping]] = ..., unknown: _Optional[_Iterable[_Union[InformationRequest, _Mapping]]] = ..., questions: _Optional[_Iterable[_Union[Question, _Mapping]]] = ..., about: _Optional[_Union[VersionNotes, _Mapping]] = ...) -> None: ...

class FieldViolation(_message.Message):
    __slots__ = ("field", "description")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    field: str
    description: str
    def __init__(self, field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class RequestError(_message.Message):
    __slots__ = ("code", "message", "field_violations", "reason")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIELD_VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    field_violations: _containers.RepeatedCompositeFieldContainer[FieldViolation]
    reason: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., field_violations: _Optional[_Iterable[_Union[FieldViolation, _Mapping]]] = ..., reason: _Optional[str] = ...) -> None: ...
