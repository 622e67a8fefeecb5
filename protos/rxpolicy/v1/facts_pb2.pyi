# mypy: disable-error-code="type-arg"
# ruff: noqa
# fmt: off
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Facts(_message.Message):
    __slots__ = ("service_date", "line_of_business", "request_type", "member_age", "diagnosis", "prescriber_specialty", "specialist_consulted", "disease_status", "combination", "prior_therapies", "product", "generic_available", "generic_contraindicated", "doses", "dose_evidence_submitted", "receiving_via_plan_benefit", "days_on_therapy", "positive_response", "dose_increase", "label_change_within_6_months", "on_formulary", "requested_months", "other_facts", "values")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: FactValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[FactValue, _Mapping]] = ...) -> None: ...
    SERVICE_DATE_FIELD_NUMBER: _ClassVar[int]
    LINE_OF_BUSINESS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_TYPE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_AGE_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSIS_FIELD_NUMBER: _ClassVar[int]
    PRESCRIBER_SPECIALTY_FIELD_NUMBER: _ClassVar[int]
    SPECIALIST_CONSULTED_FIELD_NUMBER: _ClassVar[int]
    DISEASE_STATUS_FIELD_NUMBER: _ClassVar[int]
    COMBINATION_FIELD_NUMBER: _ClassVar[int]
    PRIOR_THERAPIES_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    GENERIC_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    GENERIC_CONTRAINDICATED_FIELD_NUMBER: _ClassVar[int]
    DOSES_FIELD_NUMBER: _ClassVar[int]
    DOSE_EVIDENCE_SUBMITTED_FIELD_NUMBER: _ClassVar[int]
    RECEIVING_VIA_PLAN_BENEFIT_FIELD_NUMBER: _ClassVar[int]
    DAYS_ON_THERAPY_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    DOSE_INCREASE_FIELD_NUMBER: _ClassVar[int]
    LABEL_CHANGE_WITHIN_6_MONTHS_FIELD_NUMBER: _ClassVar[int]
    ON_FORMULARY_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_MONTHS_FIELD_NUMBER: _ClassVar[int]
    OTHER_FACTS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    service_date: str
    line_of_business: str
    request_type: str
    member_age: int
    diagnosis: str
    prescriber_specialty: str
    specialist_consulted: bool
    disease_status: str
    combination: AgentList
    prior_therapies: TherapyLines
    product: str
    generic_available: bool
    generic_contraindicated: bool
    doses: DoseSchedule
    dose_evidence_submitted: bool
    receiving_via_plan_benefit: bool
    days_on_therapy: int
    positive_response: bool
    dose_increase: bool
    label_change_within_6_months: bool
    on_formulary: bool
    requested_months: int
    other_facts: _struct_pb2.Struct
    values: _containers.MessageMap[str, FactValue]
    def __init__(self, service_date: _Optional[str] = ..., line_of_business: _Optional[str] = ..., request_type: _Optional[str] = ..., member_age: _Optional[int] = ..., diagnosis: _Optional[str] = ..., prescriber_specialty: _Optional[str] = ..., specialist_consulted: _Optional[bool] = ..., disease_status: _Optional[str] = ..., combination: _Optional[_Union[AgentList, _Mapping]] = ..., prior_therapies: _Optional[_Union[TherapyLines, _Mapping]] = ..., product: _Optional[str] = ..., generic_available: _Optional[bool] = ..., generic_contraindicated: _Optional[bool] = ..., doses: _Optional[_Union[DoseSchedule, _Mapping]] = ..., dose_evidence_submitted: _Optional[bool] = ..., receiving_via_plan_benefit: _Optional[bool] = ..., days_on_therapy: _Optional[int] = ..., positive_response: _Optional[bool] = ..., dose_increase: _Optional[bool] = ..., label_change_within_6_months: _Optional[bool] = ..., on_formulary: _Optional[bool] = ..., requested_months: _Optional[int] = ..., other_facts: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., values: _Optional[_Mapping[str, FactValue]] = ...) -> None: ...

class FactValue(_message.Message):
    __slots__ = ("text", "integer", "boolean", "agents", "therapy_lines", "doses")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    INTEGER_FIELD_NUMBER: _ClassVar[int]
    BOOLEAN_FIELD_NUMBER: _ClassVar[int]
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    THERAPY_LINES_FIELD_NUMBER: _ClassVar[int]
    DOSES_FIELD_NUMBER: _ClassVar[int]
    text: str
    integer: int
    boolean: bool
    agents: AgentList
    therapy_lines: TherapyLines
    doses: DoseSchedule
    def __init__(self, text: _Optional[str] = ..., integer: _Optional[int] = ..., boolean: _Optional[bool] = ..., agents: _Optional[_Union[AgentList, _Mapping]] = ..., therapy_lines: _Optional[_Union[TherapyLines, _Mapping]] = ..., doses: _Optional[_Union[DoseSchedule, _Mapping]] = ...) -> None: ...

class AgentList(_message.Message):
    __slots__ = ("agents",)
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, agents: _Optional[_Iterable[str]] = ...) -> None: ...

class TherapyLines(_message.Message):
    __slots__ = ("lines",)
    LINES_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[AgentList]
    def __init__(self, lines: _Optional[_Iterable[_Union[AgentList, _Mapping]]] = ...) -> None: ...

class DoseSchedule(_message.Message):
    __slots__ = ("days",)
    DAYS_FIELD_NUMBER: _ClassVar[int]
    days: _containers.RepeatedCompositeFieldContainer[Dose]
    def __init__(self, days: _Optional[_Iterable[_Union[Dose, _Mapping]]] = ...) -> None: ...

class Dose(_message.Message):
    __slots__ = ("tablets", "strength_mg")
    TABLETS_FIELD_NUMBER: _ClassVar[int]
    STRENGTH_MG_FIELD_NUMBER: _ClassVar[int]
    tablets: int
    strength_mg: int
    def __init__(self, tablets: _Optional[int] = ..., strength_mg: _Optional[int] = ...) -> None: ...
