"""Requests from Python values to the wire, results from the wire to typed values.

The client never judges a value; the server is the one validator. A value that
fits its typed field goes there; anything else (wrong type, out of range, a fact
the proto has no field for) goes in ``Facts.other_facts`` under its own name, and
the server answers INVALID_ARGUMENT naming that field, exactly as in process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import grpc
from google.protobuf import descriptor, struct_pb2
from rxpolicy.v1 import decision_pb2, facts_pb2
from rxpolicy.v1 import policy_service_pb2 as pb

from .results import (
    Approval,
    Citation,
    Decision,
    ErrorResult,
    FieldViolation,
    Outcome,
    Request,
    TraceNode,
    Unmet,
    VersionRef,
)

_INT32 = (-(2**31), 2**31 - 1)
# Requests the server accepts in one EvaluateStream message (server/api/servicer.py).
MAX_STREAM_BATCH = 1000
_FD = descriptor.FieldDescriptor
_FIELDS = {f.name: f for f in facts_pb2.Facts.DESCRIPTOR.fields if f.name != "other_facts"}


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and _INT32[0] <= value <= _INT32[1]:
        return value
    return None


def _is_date(value: Any) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if _is_date(value):
        return str(value.isoformat())
    return None


def _strings(value: Any) -> list[str] | None:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        return None
    return list(value)


def _fill(msg: facts_pb2.Facts, name: str, value: Any) -> bool:
    """Put ``value`` in its typed field; False when it does not fit there."""
    f = _FIELDS[name]
    if f.type == _FD.TYPE_STRING:
        text = _text(value)
        if text is None:
            return False
        setattr(msg, name, text)
    elif f.type == _FD.TYPE_INT32:
        number = _as_int(value)
        if number is None:
            return False
        setattr(msg, name, number)
    elif f.type == _FD.TYPE_BOOL:
        if not isinstance(value, bool):
            return False
        setattr(msg, name, value)
    elif name == "combination":
        agents = _strings(value)
        if agents is None:
            return False
        msg.combination.SetInParent()
        msg.combination.agents.extend(agents)
    elif name == "prior_therapies":
        if not isinstance(value, (list, tuple)):
            return False
        lines = [_strings(line) for line in value]
        if any(line is None for line in lines):
            return False
        msg.prior_therapies.SetInParent()
        for line in lines:
            msg.prior_therapies.lines.add().agents.extend(line or ())
    elif name == "doses":
        if not isinstance(value, (list, tuple)):
            return False
        days = []
        for item in value:
            if not isinstance(item, Mapping) or not set(item) <= {"tablets", "strength_mg"}:
                return False
            day = facts_pb2.Dose()
            for key in ("tablets", "strength_mg"):
                if item.get(key) is not None:
                    number = _as_int(item[key])
                    if number is None:
                        return False
                    setattr(day, key, number)
            days.append(day)
        msg.doses.SetInParent()
        msg.doses.days.extend(days)
    else:  # pragma: no cover - a field added to the proto without a rule here
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
    other: dict[str, Any] = {}
    for key, value in facts.items():
        name = str(key)
        if value is None:
            continue  # absent: unknown
        if name not in _FIELDS or not _fill(msg, name, value):
            other[name] = _jsonable(value)
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
    return Citation(c.key, c.cite, c.text)


def _trace(node: decision_pb2.TraceNode) -> TraceNode:
    return TraceNode(
        key=node.key,
        cite=node.cite,
        text=node.text,
        result=_RESULTS.get(node.result),
        fact=node.fact if node.HasField("fact") else None,
        observed=value_python(node.observed) if node.HasField("observed") else None,
        children=tuple(_trace(c) for c in node.children),
    )


def decision(request_id: str, d: decision_pb2.Decision) -> Decision:
    approval = None
    if d.HasField("approval"):
        a = d.approval
        approval = Approval(
            a.months if a.HasField("months") else None, a.length_of_benefit, _date(a.approved_through)
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
        unmet=tuple(Unmet(_citation(u.criterion), tuple(_citation(b) for b in u.because)) for u in d.unmet),
        missing=tuple(d.missing),
        approval=approval,
        refer_to=d.refer_to if d.HasField("refer_to") else None,
        referral=tuple(_citation(c) for c in d.referral),
        notes=tuple(d.notes),
        trace=tuple(_trace(t) for t in d.trace.nodes) if d.HasField("trace") else None,
    )


def _code(number: int) -> grpc.StatusCode:
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code
    return grpc.StatusCode.UNKNOWN


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
        code=grpc.StatusCode.INVALID_ARGUMENT,
        message=f"invalid request: {exc}",
        violations=(FieldViolation("request", str(exc)),),
    )
