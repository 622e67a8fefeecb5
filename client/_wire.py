"""Requests from Python values to the wire, results from the wire to typed values.

The client never judges a value; the server is the one validator. Every fact goes in
``Facts.values`` under its own name, its kind read from the value's shape (text, a
64-bit integer, a boolean, a list of agents, lines of agents, a dose schedule), never
from the fact's name: a second policy's facts travel as typed as the first's. A value
that fits no kind (a fraction, a mapping, a list of mixed items) goes in
``Facts.other_facts``, and the server answers INVALID_ARGUMENT naming that field,
exactly as in process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import grpc
from google.protobuf import struct_pb2
from rxpolicy.decisions import INVALID_ARGUMENT
from rxpolicy.limits import INT64_MAX, INT64_MIN
from rxpolicy.v1 import decision_pb2, facts_pb2
from rxpolicy.v1 import policy_service_pb2 as pb

from .results import (
    Alternative,
    Approval,
    Citation,
    Decision,
    DoseLimit,
    ErrorResult,
    FieldViolation,
    InformationRequest,
    Outcome,
    Question,
    Request,
    SubmittedValue,
    TraceNode,
    Unmet,
    VersionNotes,
    VersionRef,
)

_INT32 = (-(2**31), 2**31 - 1)  # a dose day's tablets and strength (Dose)
_DOSE_KEYS = frozenset({"tablets", "strength_mg"})


def _as_int(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and low <= value <= high:
        return value
    return None


def _is_date(value: Any) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _strings(value: Any) -> list[str] | None:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        return None
    return list(value)


def _dose_days(value: Any) -> list[facts_pb2.Dose] | None:
    if not isinstance(value, (list, tuple)):
        return None
    days = []
    for item in value:
        if not isinstance(item, Mapping) or not set(item) <= _DOSE_KEYS:
            return None
        day = facts_pb2.Dose()
        for key in ("tablets", "strength_mg"):
            if item.get(key) is not None:
                number = _as_int(item[key], *_INT32)
                if number is None:
                    return None
                setattr(day, key, number)
        days.append(day)
    return days


def fact_value(value: Any) -> facts_pb2.FactValue | None:
    """``value`` as a typed FactValue, its kind read from its shape; None when it fits none.
    An empty list is an empty agent list: every list kind reads as [] on the server."""
    out = facts_pb2.FactValue()
    if isinstance(value, bool):
        out.boolean = value
    elif isinstance(value, str):
        out.text = value
    elif _is_date(value):
        out.text = value.isoformat()
    elif isinstance(value, int) and INT64_MIN <= value <= INT64_MAX:
        out.integer = value  # a float stays a float (other_facts), as it is in process
    elif (agents := _strings(value)) is not None:
        out.agents.SetInParent()  # present even when empty: prescribed alone is not unknown
        out.agents.agents.extend(agents)
    elif isinstance(value, (list, tuple)) and all(_strings(line) is not None for line in value):
        out.therapy_lines.SetInParent()
        for line in value:
            out.therapy_lines.lines.add().agents.extend(line)
    elif (days := _dose_days(value)) is not None:
        out.doses.SetInParent()
        out.doses.days.extend(days)
    else:
        return None
    return out


def _jsonable(value: Any) -> Any:
    """A value google.protobuf.Struct can hold (dates as ISO text, sets as lists)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        try:
            float(value)  # Struct numbers are doubles
        except OverflowError:
            return str(value)
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        if isinstance(value, (set, frozenset)):
            with contextlib.suppress(TypeError):
                items = sorted(items)
        return [_jsonable(v) for v in items]
    return str(value)


def _encodable(value: Any) -> Any:
    """Text that UTF-8 cannot carry (lone surrogates) made sendable, escaped: the server
    then refuses it as an unknown term or a bad date, naming the field."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, Mapping):
        return {_encodable(str(k)): _encodable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encodable(v) for v in value]
    return value


def facts_message(facts: Mapping[str, Any]) -> facts_pb2.Facts:
    try:
        return _facts_message(facts)
    except UnicodeEncodeError:
        return _facts_message(_encodable(facts))


def _facts_message(facts: Mapping[str, Any]) -> facts_pb2.Facts:
    msg = facts_pb2.Facts()
    other: dict[str, Any] = {}
    for key, value in facts.items():
        name = str(key)
        if value is None:
            continue  # absent: unknown
        typed = fact_value(value)
        if typed is None:
            other[name] = _jsonable(value)
        else:
            msg.values[name].CopyFrom(typed)
    if other:
        msg.other_facts.update(other)
    return msg


def evaluate_request(
    facts: Mapping[str, Any],
    *,
    request_id: str = "",
    policy_id: str | None = None,
    as_known_on: dt.date | str | None = None,
    include_trace: bool = False,
    version: str | None = None,
) -> pb.EvaluateRequest:
    if not isinstance(facts, Mapping):
        raise TypeError(f"a request is a mapping of fact names to values, not {type(facts).__name__}")
    msg = pb.EvaluateRequest(
        request_id=_encodable(request_id or ""),
        policy_id=_encodable(policy_id or ""),
        include_trace=include_trace,
        facts=facts_message(facts),
    )
    if version is not None:
        msg.version = _encodable(str(version))
    if as_known_on is not None:
        msg.as_known_on = (
            as_known_on.isoformat() if isinstance(as_known_on, dt.date) else _encodable(str(as_known_on))
        )
    return msg


def item_request(
    item: Any,
    *,
    policy_id: str | None,
    as_known_on: dt.date | str | None,
    include_trace: bool,
    version: str | None = None,
) -> pb.EvaluateRequest:
    if isinstance(item, pb.EvaluateRequest):
        return item
    if isinstance(item, Request):
        return evaluate_request(
            item.facts,
            request_id=item.request_id,
            policy_id=item.policy_id if item.policy_id is not None else policy_id,
            as_known_on=item.as_known_on if item.as_known_on is not None else as_known_on,
            include_trace=item.include_trace if item.include_trace is not None else include_trace,
            version=item.version if item.version is not None else version,
        )
    return evaluate_request(
        item, policy_id=policy_id, as_known_on=as_known_on, include_trace=include_trace, version=version
    )


# ------------------------------------------------------------------ results

_OUTCOMES: dict[int, Outcome] = {
    decision_pb2.OUTCOME_APPROVE: "approve",
    decision_pb2.OUTCOME_DENY: "deny",
    decision_pb2.OUTCOME_PEND: "pend",
    decision_pb2.OUTCOME_REFER: "refer",
}
_RESULTS: dict[int, bool | None] = {
    decision_pb2.TRACE_RESULT_MET: True,
    decision_pb2.TRACE_RESULT_NOT_MET: False,
}


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def value_python(value: struct_pb2.Value) -> Any:
    """A google.protobuf.Value as Python; whole numbers come back as ints."""
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        n = value.number_value
        return int(n) if n.is_integer() else n
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "list_value":
        return [value_python(v) for v in value.list_value.values]
    if kind == "struct_value":
        return {k: value_python(v) for k, v in value.struct_value.fields.items()}
    return None


def _citation(c: decision_pb2.Citation) -> Citation:
    return Citation(c.key, c.cite, c.text, c.gloss if c.HasField("gloss") else None)


def _unmet(u: decision_pb2.UnmetCriterion) -> Unmet:
    return Unmet(
        _citation(u.criterion),
        tuple(_citation(b) for b in u.because),
        tuple(SubmittedValue(_citation(v.criterion), v.fact, value_python(v.value)) for v in u.values),
    )


def _information(r: decision_pb2.InformationRequest) -> InformationRequest:
    return InformationRequest(
        _citation(r.criterion), tuple(Alternative(_citation(a.criterion), tuple(a.facts)) for a in r.one_of)
    )


def _about(d: decision_pb2.Decision) -> VersionNotes | None:
    if not d.HasField("about"):
        return None
    a = d.about
    pt = a.pt_approval if a.HasField("pt_approval") else None
    return VersionNotes(a.title, pt, tuple(d.notes), tuple(a.assumptions))


def _trace(node: decision_pb2.TraceNode) -> TraceNode:
    return TraceNode(
        key=node.key,
        cite=node.cite,
        text=node.text,
        result=_RESULTS.get(node.result),
        fact=node.fact if node.HasField("fact") else None,
        observed=value_python(node.observed) if node.HasField("observed") else None,
        children=tuple(_trace(c) for c in node.children),
        gloss=node.gloss if node.HasField("gloss") else None,
    )


def decision(request_id: str, d: decision_pb2.Decision) -> Decision:
    approval = None
    if d.HasField("approval"):
        a = d.approval
        approval = Approval(
            a.months if a.HasField("months") else None,
            a.length_of_benefit,
            _date(a.approved_through),
            _date(a.approved_from),
            tuple(DoseLimit(_citation(x.criterion), x.measure, x.at_most) for x in a.dose_limits),
        )
    v = d.version
    return Decision(
        request_id=request_id,
        outcome=_OUTCOMES[d.outcome],
        version=VersionRef(
            v.policy_id,
            v.version,
            dt.date.fromisoformat(v.effective),
            v.content_hash,
            draft=v.draft,
            recorded=dt.date.fromisoformat(v.recorded) if v.recorded else None,
            corrects=v.corrects or None,
        ),
        indication=_citation(d.indication) if d.HasField("indication") else None,
        unmet=tuple(_unmet(u) for u in d.unmet),
        missing=tuple(d.missing),
        approval=approval,
        refer_to=d.refer_to if d.HasField("refer_to") else None,
        referral=tuple(_citation(c) for c in d.referral),
        notes=tuple(d.notes),
        trace=tuple(_trace(t) for t in d.trace.nodes) if d.HasField("trace") else None,
        unknown=tuple(_information(r) for r in d.unknown),
        questions=tuple(Question(q.fact, q.source, q.question) for q in d.questions),
        about=_about(d),
    )


def _code(number: int) -> str:
    """A status code's name, from its number (the numbers are fixed by gRPC)."""
    return _CODE_NAMES.get(number, "UNKNOWN")


_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


def result(r: pb.EvaluateResult) -> Decision | ErrorResult:
    if r.WhichOneof("result") == "decision":
        return decision(r.request_id, r.decision)
    e = r.error
    return ErrorResult(
        request_id=r.request_id,
        code=_code(e.code),
        message=e.message,
        violations=tuple(FieldViolation(v.field, v.description) for v in e.field_violations),
    )


def local_error(request_id: str, exc: Exception) -> ErrorResult:
    """An item that could not even be sent (not a mapping): its error, in its place."""
    return ErrorResult(
        request_id=request_id,
        code=INVALID_ARGUMENT,
        message=f"invalid request: {exc}",
        violations=(FieldViolation("request", str(exc)),),
    )
