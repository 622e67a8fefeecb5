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
from typing import Any

from google.protobuf import struct_pb2
from rxpolicy.decisions import InformationRequest, Unmet
from rxpolicy.v1 import decision_pb2, facts_pb2, version_pb2

from ..engine.decision import Citation, Decision, TraceNode
from ..engine.errors import FieldViolation, InvalidRequest
from ..engine.model import Group, Leaf, Node, PolicyVersion

OTHER_FACTS = "other_facts"
VALUES = "values"

# ------------------------------------------------------------------ requests


def _agents(value: facts_pb2.AgentList) -> list[str]:
    return list(value.agents)


def _lines(value: facts_pb2.TherapyLines) -> list[list[str]]:
    return [list(line.agents) for line in value.lines]


def _doses(value: facts_pb2.DoseSchedule) -> list[dict[str, int]]:
    out = []
    for day in value.days:
        item: dict[str, int] = {}
        if day.HasField("tablets"):
            item["tablets"] = day.tablets
        if day.HasField("strength_mg"):
            item["strength_mg"] = day.strength_mg
        out.append(item)
    return out


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


_FACT_VALUE_KINDS: dict[str, Callable[[facts_pb2.FactValue], Any]] = {
    "text": lambda v: v.text,
    "integer": lambda v: v.integer,
    "boolean": lambda v: v.boolean,
    "agents": lambda v: _agents(v.agents),
    "therapy_lines": lambda v: _lines(v.therapy_lines),
    "doses": lambda v: _doses(v.doses),
}


def fact_value_to_python(value: facts_pb2.FactValue) -> Any:
    """A typed fact value as the engine reads it; no kind set is an absent fact (None)."""
    kind = value.WhichOneof("kind")
    return None if kind is None else _FACT_VALUE_KINDS[kind](value)


def facts_mapping(facts: facts_pb2.Facts) -> dict[str, Any]:
    """The request in the engine's shape: only the facts that are present."""
    out: dict[str, Any] = {}
    other: struct_pb2.Struct | None = None
    for field, value in facts.ListFields():
        if field.name == VALUES:
            continue
        if field.message_type is None:
            out[field.name] = value
        elif field.name == OTHER_FACTS:
            other = value
        else:
            out[field.name] = _MESSAGE_FACTS[field.message_type.full_name](value)
    clashes: list[FieldViolation] = []
    for name, typed in facts.values.items():
        if name in out:
            clashes.append(FieldViolation(name, f"is set both as a field and in {VALUES}; send it once"))
        elif (python := fact_value_to_python(typed)) is not None:
            out[name] = python
    if other is not None:
        for name, raw in other.fields.items():
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
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest([FieldViolation(field, "must be a date in the form YYYY-MM-DD")]) from None


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


def unmet_message(u: Unmet) -> decision_pb2.UnmetCriterion:
    msg = decision_pb2.UnmetCriterion(
        criterion=citation_message(u.criterion), because=[citation_message(b) for b in u.because]
    )
    for v in u.values:
        value = msg.values.add(criterion=citation_message(v.criterion), fact=v.fact)
        _fill_value(value.value, v.value)
    return msg


def information_message(r: InformationRequest) -> decision_pb2.InformationRequest:
    return decision_pb2.InformationRequest(
        criterion=citation_message(r.criterion),
        one_of=[
            decision_pb2.Alternative(criterion=citation_message(a.criterion), facts=a.facts) for a in r.one_of
        ],
    )


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


def decision_message(d: Decision) -> decision_pb2.Decision:
    ref = d.version
    msg = decision_pb2.Decision(
        outcome=_OUTCOMES[d.outcome],
        version=decision_pb2.VersionRef(
            policy_id=ref.policy_id,
            version=ref.version,
            effective=ref.effective.isoformat(),
            content_hash=ref.content_hash,
            draft=ref.draft,
            recorded=ref.recorded.isoformat() if ref.recorded else "",
            corrects=ref.corrects or "",
        ),
        unmet=[unmet_message(u) for u in d.unmet],
        missing=d.missing,
        referral=[citation_message(c) for c in d.referral],
        notes=d.notes,
        unknown=[information_message(r) for r in d.unknown],
        questions=[
            decision_pb2.Question(fact=q.fact, source=q.source, question=q.question) for q in d.questions
        ],
    )
    if d.about is not None:
        msg.about.title = d.about.title
        msg.about.assumptions.extend(d.about.assumptions)
        if d.about.pt_approval is not None:
            msg.about.pt_approval = d.about.pt_approval
    if d.indication is not None:
        msg.indication.CopyFrom(citation_message(d.indication))
    if d.approval is not None:
        a = d.approval
        msg.approval.length_of_benefit = a.length_of_benefit
        if a.months is not None:
            msg.approval.months = a.months
        if a.approved_through is not None:
            msg.approval.approved_through = a.approved_through.isoformat()
        if a.approved_from is not None:
            msg.approval.approved_from = a.approved_from.isoformat()
        msg.approval.dose_limits.extend(
            decision_pb2.DoseLimit(
                criterion=citation_message(limit.criterion), measure=limit.measure, at_most=limit.at_most
            )
            for limit in a.dose_limits
        )
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
