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
from rxpolicy.paths import field_of
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

_DOSE_INT = (INT64_MIN, INT64_MAX)  # a dose day's tablets and strength (Dose: int64)
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


def _strings(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


def _dose_days(value: Any) -> list[tuple[int | None, int | None]] | None:
    """A dose schedule's days as (tablets, strength_mg), or None when ``value`` is not one."""
    if not isinstance(value, (list, tuple)):
        return None
    days = []
    for item in value:
        if not isinstance(item, Mapping) or not set(item) <= _DOSE_KEYS:
            return None
        day: list[int | None] = [None, None]
        for i, key in enumerate(("tablets", "strength_mg")):
            if item.get(key) is not None:
                if (number := _as_int(item[key], *_DOSE_INT)) is None:
                    return None
                day[i] = number
        days.append((day[0], day[1]))
    return days


def _put(values: Any, name: str, value: Any) -> bool:
    """``value`` written into the map ``values`` under ``name`` as a typed FactValue, its
    kind read from its shape; False (and nothing written) when it fits none. An empty list
    is an empty agent list: every list kind reads as [] on the server.

    Written in place, field by field: building a FactValue and copying it into the map
    cost twice as much, and request building is most of the client's time a decision."""
    kind = type(value)  # the common exact types first, then their subclasses
    if kind is str:
        values[name].text = value
    elif kind is int and INT64_MIN <= value <= INT64_MAX:
        values[name].integer = value
    elif isinstance(value, bool):
        values[name].boolean = value
    elif isinstance(value, str):
        values[name].text = value
    elif _is_date(value):
        values[name].text = value.isoformat()
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            return False  # a float stays a float (other_facts), as it is in process; so does this
        values[name].integer = value
    elif _strings(value):
        agents = values[name].agents
        agents.SetInParent()  # present even when empty: prescribed alone is not unknown
        agents.agents.extend(value)
    elif isinstance(value, (list, tuple)) and all(_strings(line) for line in value):
        lines = values[name].therapy_lines
        lines.SetInParent()
        for line in value:
            lines.lines.add().agents.extend(line)
    elif (days := _dose_days(value)) is not None:
        schedule = values[name].doses
        schedule.SetInParent()
        for tablets, strength in days:
            day = schedule.days.add()
            if tablets is not None:
                day.tablets = tablets
            if strength is not None:
                day.strength_mg = strength
    else:
        return False
    return True


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
    _fill_facts(msg, facts)
    return msg


def _fill_facts(msg: facts_pb2.Facts, facts: Mapping[str, Any]) -> None:
    values = msg.values
    other: dict[str, Any] = {}
    renamed = False  # a key that is not text was seen: two keys may now share a name
    for key, value in facts.items():
        if value is None:
            continue  # absent: unknown
        if type(key) is str:
            name = key
        else:
            name = str(key)
            renamed = True
        if renamed and name in values:  # two keys with one name (1 and "1"): the last wins, whole
            del values[name]
        if not _put(values, name, value):
            other[name] = _jsonable(value)
    if other:
        msg.other_facts.update(other)


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
    )
    try:  # written in place: Facts built apart would be copied whole into the request
        _fill_facts(msg.facts, facts)
    except UnicodeEncodeError:
        msg.facts.Clear()
        _fill_facts(msg.facts, _encodable(facts))
    msg.facts.SetInParent()  # present even with no facts, as before
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


# The deciding versions seen, by their message's bytes: nearly every result names one of
# a few, and reading one from bytes is a dict lookup instead of seven fields and two
# date parses. Emptied when full (a long-lived client talking to many policy sets).
_VERSION_REFS: dict[bytes, VersionRef] = {}
_VERSION_REF_LIMIT = 1024


def _version_ref(v: decision_pb2.VersionRef) -> VersionRef:
    key = v.SerializeToString(deterministic=True)
    known = _VERSION_REFS.get(key)
    if known is None:
        if len(_VERSION_REFS) >= _VERSION_REF_LIMIT:
            _VERSION_REFS.clear()
        known = _VERSION_REFS[key] = VersionRef(
            v.policy_id,
            v.version,
            dt.date.fromisoformat(v.effective),
            v.content_hash,
            draft=v.draft,
            recorded=dt.date.fromisoformat(v.recorded) if v.recorded else None,
            corrects=v.corrects or None,
        )
    return known


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
    return Decision(
        request_id=request_id,
        outcome=_OUTCOMES[d.outcome],
        version=_version_ref(d.version),
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
        violations=tuple(
            FieldViolation(field_of(v.field), v.description, v.field) for v in e.field_violations
        ),
        reason=e.reason,
    )


def local_error(request_id: str, exc: Exception) -> ErrorResult:
    """An item that could not even be sent (not a mapping): its error, in its place."""
    return ErrorResult(
        request_id=request_id,
        code=INVALID_ARGUMENT,
        message=f"invalid request: {exc}",
        violations=(FieldViolation("request", str(exc)),),
    )
