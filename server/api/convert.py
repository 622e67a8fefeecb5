"""The one conversion at the gRPC edge: proto request -> the engine's request mapping
(the case-file shape), and engine results -> proto messages.

The engine is the only validator: this module moves values, it never judges them.
A fact arrives in ``Facts.values`` (any policy's facts, typed by name), in one of the
typed fields of CP.PHAR.431 (older clients), or in ``other_facts`` when its value fits
no kind, under the fact's own name, so the engine names the field and says what is
wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from google.protobuf import struct_pb2
from rxpolicy.decisions import DoseLimit, InformationRequest, VersionNotes
from rxpolicy.v1 import decision_pb2, facts_pb2, version_pb2

from ..engine.decision import Citation, Decision, TraceNode, VersionRef
from ..engine.errors import FieldViolation, InvalidRequest
from ..engine.facts import parse_date
from ..engine.model import Group, Leaf, Node, PolicyVersion

OTHER_FACTS = "other_facts"
VALUES = "values"

# ------------------------------------------------------------------ requests


def _agents(value: facts_pb2.AgentList) -> list[str]:
    return list(value.agents)


def _lines(value: facts_pb2.TherapyLines) -> list[list[str]]:
    return [list(line.agents) for line in value.lines]


def _doses(value: facts_pb2.DoseSchedule) -> list[dict[str, int]]:
    # ListFields: the fields a day has (tablets, strength_mg), in number order, in one call.
    return [{field.name: number for field, number in day.ListFields()} for day in value.days]


_MESSAGE_FACTS: dict[str, Callable[[Any], Any]] = {
    facts_pb2.AgentList.DESCRIPTOR.full_name: _agents,
    facts_pb2.TherapyLines.DESCRIPTOR.full_name: _lines,
    facts_pb2.DoseSchedule.DESCRIPTOR.full_name: _doses,
}


def value_to_python(value: struct_pb2.Value) -> Any:
    """A google.protobuf.Value as plain Python (numbers stay floats: the engine accepts
    whole floats where it wants integers and names the field otherwise)."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "number_value":
        return value.number_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "list_value":
        return [value_to_python(v) for v in value.list_value.values]
    if kind == "struct_value":
        return {k: value_to_python(v) for k, v in value.struct_value.fields.items()}
    return None


# How each kind of FactValue reads as Python: None where the field's value is already
# the engine's (text, integer, boolean), else the conversion of the kind's message.
_FACT_VALUE_KINDS: dict[str, Callable[[Any], Any] | None] = {
    "text": None,
    "integer": None,
    "boolean": None,
    "agents": _agents,
    "therapy_lines": _lines,
    "doses": _doses,
}


def fact_value_to_python(value: facts_pb2.FactValue) -> Any:
    """A typed fact value as the engine reads it; no kind set is an absent fact (None)."""
    kind = value.WhichOneof("kind")
    if kind is None:
        return None
    convert = _FACT_VALUE_KINDS[kind]
    field = getattr(value, kind)
    return field if convert is None else convert(field)


def _typed_values(values: Any, out: dict[str, Any]) -> None:
    """``Facts.values`` into ``out``. fact_value_to_python, inlined: this loop runs for
    every fact of every request."""
    kinds = _FACT_VALUE_KINDS
    # By key, not .items(): a map's items view is a Python generator over the C map. Map
    # fields come in no fixed order: sorted, so the same request gets its violations in
    # the same order every time (about 1 us a request).
    for name in sorted(values):
        typed = values[name]
        kind = typed.WhichOneof("kind")
        if kind is not None:
            convert = kinds[kind]
            field = getattr(typed, kind)
            out[name] = field if convert is None else convert(field)


def facts_mapping(facts: facts_pb2.Facts) -> dict[str, Any]:
    """The request in the engine's shape: only the facts that are present."""
    out: dict[str, Any] = {}
    fields = facts.ListFields()
    if len(fields) == 1 and fields[0][0].name == VALUES:
        _typed_values(facts.values, out)  # the usual request: every fact in values, no clash possible
        return out
    other: struct_pb2.Struct | None = None
    for field, value in fields:
        if field.name == VALUES:
            continue
        if field.message_type is None:
            out[field.name] = value
        elif field.name == OTHER_FACTS:
            other = value
        else:
            out[field.name] = _MESSAGE_FACTS[field.message_type.full_name](value)
    clashes = [
        FieldViolation(name, f"is set both as a field and in {VALUES}; send it once")
        for name in sorted(facts.values)
        if name in out
    ]
    if not clashes:
        _typed_values(facts.values, out)
    if other is not None:
        for name, raw in sorted(other.fields.items()):
            if name in out or name in facts.values:
                clashes.append(
                    FieldViolation(name, f"is set both in {OTHER_FACTS} and as a typed value; send it once")
                )
            else:
                out[name] = value_to_python(raw)
    if clashes:
        raise InvalidRequest(clashes)
    return out


def parse_request_date(field: str, text: str) -> dt.date:
    """A request field's date, in the grammar of every date of a request (the engine's)."""
    day, problem = parse_date(field, text)
    if day is None:
        assert problem is not None
        raise InvalidRequest([problem])
    return day


# ------------------------------------------------------------------ values


def _fill_value(out: struct_pb2.Value, value: Any) -> None:
    """A JSON-like Python value (dates as ISO text, sets sorted) into a google.protobuf.Value."""
    if value is None:
        out.null_value = struct_pb2.NULL_VALUE
    elif isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, (int, float)):
        out.number_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, dt.date):
        out.string_value = value.isoformat()
    elif isinstance(value, (list, tuple, frozenset, set)):
        items = sorted(value) if isinstance(value, (frozenset, set)) else value
        values = out.list_value.values
        for item in items:
            _fill_value(values.add(), item)
    elif isinstance(value, Mapping):
        fields = out.struct_value.fields
        for key, item in value.items():
            _fill_value(fields[str(key)], item)
    else:
        out.string_value = str(value)


# ------------------------------------------------------------------ decisions

_OUTCOMES = {
    "approve": decision_pb2.OUTCOME_APPROVE,
    "deny": decision_pb2.OUTCOME_DENY,
    "pend": decision_pb2.OUTCOME_PEND,
    "refer": decision_pb2.OUTCOME_REFER,
}
_RESULTS = {
    True: decision_pb2.TRACE_RESULT_MET,
    False: decision_pb2.TRACE_RESULT_NOT_MET,
    None: decision_pb2.TRACE_RESULT_UNKNOWN,
}


def citation_message(c: Citation) -> decision_pb2.Citation:
    msg = decision_pb2.Citation(key=c.key, cite=c.cite, text=c.text)
    if c.gloss is not None:
        msg.gloss = c.gloss
    return msg


def information_message(r: InformationRequest) -> decision_pb2.InformationRequest:
    return decision_pb2.InformationRequest(
        criterion=citation_message(r.criterion),
        one_of=[
            decision_pb2.Alternative(criterion=citation_message(a.criterion), facts=a.facts) for a in r.one_of
        ],
    )


def _build_version_ref(ref: VersionRef) -> decision_pb2.VersionRef:
    return decision_pb2.VersionRef(
        policy_id=ref.policy_id,
        version=ref.version,
        effective=ref.effective.isoformat(),
        content_hash=ref.content_hash,
        draft=ref.draft,
        recorded=ref.recorded.isoformat() if ref.recorded else "",
        corrects=ref.corrects or "",
    )


def _build_about(about: VersionNotes) -> decision_pb2.VersionNotes:
    msg = decision_pb2.VersionNotes(title=about.title, assumptions=about.assumptions)
    if about.pt_approval is not None:
        msg.pt_approval = about.pt_approval
    return msg


def _build_dose_limit(limit: DoseLimit) -> decision_pb2.DoseLimit:
    return decision_pb2.DoseLimit(
        criterion=citation_message(limit.criterion), measure=limit.measure, at_most=limit.at_most
    )


# What a compiled version builds once and every decision under it carries (its VersionRef,
# its About, its dose limits): each object's message is built once and copied in (a copy
# costs a fraction of building it field by field: the About and two dose limits of an
# approval, 4.1 us built, 1.4 us copied). Keyed by identity and checked, so an entry
# answers for the object it holds (and keeps alive); emptied when it grows past the limit
# (a server reloaded many times).
_SHARED: dict[int, tuple[object, Any]] = {}
_SHARED_LIMIT = 4096
Built = TypeVar("Built")
Source = TypeVar("Source")


def _shared(obj: Source, build: Callable[[Source], Built]) -> Built:
    """``build(obj)``, built once per object (shared: callers copy it in, never change it)."""
    known = _SHARED.get(id(obj))
    if known is not None and known[0] is obj:
        message: Built = known[1]
        return message
    if len(_SHARED) >= _SHARED_LIMIT:
        _SHARED.clear()
    message = build(obj)
    _SHARED[id(obj)] = (obj, message)
    return message


def version_ref_message(ref: VersionRef) -> decision_pb2.VersionRef:
    """The message of the deciding version (shared: callers copy it in, never change it)."""
    return _shared(ref, _build_version_ref)


def trace_message(node: TraceNode) -> decision_pb2.TraceNode:
    msg = decision_pb2.TraceNode(
        key=node.key,
        cite=node.cite,
        text=node.text,
        result=_RESULTS[node.result],
        children=[trace_message(c) for c in node.children],
    )
    if node.gloss is not None:
        msg.gloss = node.gloss
    if node.fact is not None:
        msg.fact = node.fact
        _fill_value(msg.observed, node.observed)
    return msg


def _fill_citation(out: decision_pb2.Citation, c: Citation) -> None:
    out.SetInParent()  # present even were every field empty, as a copied-in message is
    out.key = c.key
    out.cite = c.cite
    out.text = c.text
    if c.gloss is not None:
        out.gloss = c.gloss


def decision_message(d: Decision, into: decision_pb2.Decision | None = None) -> decision_pb2.Decision:
    """The decision as a message. ``into``: an empty message to fill in place (a result's
    ``decision`` field), so the whole is never built apart and copied in. Fields are
    filled one by one for the same reason: a message given to a constructor is copied."""
    msg = decision_pb2.Decision() if into is None else into
    msg.outcome = _OUTCOMES[d.outcome]
    msg.version.CopyFrom(version_ref_message(d.version))
    if d.about is not None:
        msg.about.CopyFrom(_shared(d.about, _build_about))
    if d.unknown:
        msg.unknown.extend(information_message(r) for r in d.unknown)
    if d.questions:
        msg.questions.extend(
            decision_pb2.Question(fact=q.fact, source=q.source, question=q.question) for q in d.questions
        )
    if d.indication is not None:
        _fill_citation(msg.indication, d.indication)
    for u in d.unmet:
        unmet = msg.unmet.add()
        _fill_citation(unmet.criterion, u.criterion)
        for because in u.because:
            _fill_citation(unmet.because.add(), because)
        for v in u.values:
            value = unmet.values.add(criterion=citation_message(v.criterion), fact=v.fact)
            _fill_value(value.value, v.value)
    msg.missing.extend(d.missing)
    for c in d.referral:
        _fill_citation(msg.referral.add(), c)
    msg.notes.extend(d.notes)
    if d.approval is not None:
        a = d.approval
        msg.approval.length_of_benefit = a.length_of_benefit
        if a.months is not None:
            msg.approval.months = a.months
        if a.approved_through is not None:
            msg.approval.approved_through = a.approved_through.isoformat()
        if a.approved_from is not None:
            msg.approval.approved_from = a.approved_from.isoformat()
        limits = msg.approval.dose_limits
        for limit in a.dose_limits:
            limits.add().CopyFrom(_shared(limit, _build_dose_limit))
    if d.refer_to is not None:
        msg.refer_to = d.refer_to
    if d.trace is not None:
        msg.trace.SetInParent()
        msg.trace.nodes.extend(trace_message(t) for t in d.trace)
    return msg


def violations_message(violations: tuple[FieldViolation, ...]) -> list[decision_pb2.FieldViolation]:
    return [decision_pb2.FieldViolation(field=v.field, description=v.description) for v in violations]


# ------------------------------------------------------------------ versions


def version_info(v: PolicyVersion) -> version_pb2.VersionInfo:
    m = v.meta
    info = version_pb2.VersionInfo(
        policy_id=m.policy_id,
        title=m.title,
        version=m.version,
        effective=m.effective.isoformat(),
        recorded=m.recorded.isoformat(),
        revision_log=version_pb2.RevisionLogEntry(
            date=m.revision_log_date.isoformat(), text=m.revision_log_text
        ),
        provenance=m.provenance,
        semver_reasoning=m.semver_reasoning,
        assumptions=m.assumptions,
        choices=m.choices,
        unmodelled=m.unmodelled,
        content_hash=v.content_hash,
        locked=v.locked,
        draft=not v.locked,
        strengths_mg=v.strengths_mg,
        corrects=v.corrects or "",
    )
    if m.pt_approval is not None:
        info.revision_log.pt_approval = m.pt_approval
    return info


_MODES = {"all": version_pb2.GROUP_MODE_ALL, "any": version_pb2.GROUP_MODE_ANY}


def criterion_message(node: Node) -> version_pb2.Criterion:
    msg = version_pb2.Criterion(key=node.key, cite=node.cite, text=node.text)
    if node.gloss is not None:
        msg.gloss = node.gloss
    if isinstance(node, Leaf):
        msg.leaf.fact = node.fact
        msg.leaf.op = node.op
        _fill_value(msg.leaf.value, node.value)
    else:
        assert isinstance(node, Group)
        msg.group.mode = _MODES[node.mode]
        msg.group.children.extend(criterion_message(c) for c in node.children)
    return msg


def version_message(v: PolicyVersion) -> version_pb2.PolicyVersion:
    msg = version_pb2.PolicyVersion(info=version_info(v))
    for ind in v.indications:
        msg.indications.append(
            version_pb2.Indication(
                key=ind.key,
                cite=ind.cite,
                text=ind.title,
                request_types=ind.request_types,
                applies_to=criterion_message(ind.applies_to),
                criteria=criterion_message(ind.criteria),
                duration_keyed_by=ind.durations_keyed_by,
                durations=[
                    version_pb2.ApprovalDuration(
                        value=value,
                        months=d.months,
                        length_of_benefit=d.length_of_benefit,
                        at_most_fact=d.at_most_fact,
                    )
                    for value, d in ind.durations.items()
                ],
            )
        )
    for ref in v.referrals:
        rules = []
        for rule in ref.rules:
            r = version_pb2.ReferralRule(key=rule.key, cite=rule.cite, text=rule.text, refer_to=rule.refer_to)
            if rule.gloss is not None:
                r.gloss = rule.gloss
            if rule.when is not None:
                r.when.CopyFrom(criterion_message(rule.when))
            rules.append(r)
        msg.referrals.append(
            version_pb2.Referral(
                key=ref.key,
                cite=ref.cite,
                text=ref.text,
                request_types=ref.request_types,
                keyed_by=ref.keyed_by,
                rules=rules,
            )
        )
    msg.facts.extend(
        version_pb2.FactSpec(name=name, type=s.type, text=s.text, required=s.required, values=s.values)
        for name, s in v.facts.items()
    )
    return msg
