"""Structural diff of two policy versions: what the data says differently, item by item.

Criteria are matched by their stable ``key``, never by position or citation, so a
renumbered criterion shows as a citation move and not as one removal plus one
addition. Every other table is matched by its own natural key: a strength by its mg,
an agent by its term, a fact by its name, a duration by indication and line of
business, a referral rule by its key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ...engine.model import Duration, FactSpec, Group, Leaf, Node, PolicyVersion
from ...formats.versions import metadata_json, value_json
from .model import Area, Change, ChangeKind, FieldChange, StructuralDiff, VersionSummary
from .wording import rule_words


def summary(v: PolicyVersion) -> VersionSummary:
    m = v.meta
    return VersionSummary(
        m.policy_id, m.title, m.version, m.effective.isoformat(), v.content_hash, m.revision_log_text
    )


def _field(name: str, old: Any, new: Any) -> FieldChange | None:
    if old == new:
        return None
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)) and _flat(old) and _flat(new):
        before, after = [_s(x) for x in old], [_s(x) for x in new]
        added = tuple(x for x in after if x not in before)
        removed = tuple(x for x in before if x not in after)
        if added or removed:
            return FieldChange(name, list(old), list(new), added, removed)
        return FieldChange(name, list(old), list(new))  # same members, new order
    return FieldChange(name, old, new)


def _flat(items: Iterable[Any]) -> bool:
    return all(not isinstance(x, (dict, Mapping)) for x in items)


def _s(x: Any) -> str:
    if isinstance(x, (list, tuple, frozenset)):
        return "{" + ", ".join(sorted(str(i) for i in x)) + "}"
    return str(x)


def _fields(old: Mapping[str, Any], new: Mapping[str, Any], names: Iterable[str]) -> tuple[FieldChange, ...]:
    return tuple(f for n in names if (f := _field(n, old.get(n), new.get(n))) is not None)


def _match(
    area: Area,
    olds: Mapping[str, tuple[str, Mapping[str, Any]]],
    news: Mapping[str, tuple[str, Mapping[str, Any]]],
    names: Iterable[str],
    dose_keys: frozenset[str] = frozenset(),
) -> list[Change]:
    """Items keyed alike on both sides: (section, snapshot) by key, in the new side's order."""
    names = tuple(names)
    out = []
    for key in _merged(list(olds), list(news)):
        old, new = olds.get(key), news.get(key)
        kind: ChangeKind
        fields: tuple[FieldChange, ...] = ()
        if old is None:
            kind = "added"
        elif new is None:
            kind = "removed"
        else:
            fields = _fields(old[1], new[1], names)
            if not fields:
                continue
            kind = "changed"
        section = (new or old or ("", {}))[0]
        out.append(
            Change(
                area,
                section,
                key,
                kind,
                old[1] if old else None,
                new[1] if new else None,
                fields,
                key in dose_keys,
            )
        )
    return out


def _merged(old: list[str], new: list[str]) -> list[str]:
    """The new order, each removed key placed after the kept key it followed before."""
    kept = set(new)
    after: dict[str | None, list[str]] = {}
    last: str | None = None
    for key in old:
        if key in kept:
            last = key
        else:
            after.setdefault(last, []).append(key)
    out = list(after.get(None, []))
    for key in new:
        out += [key, *after.get(key, [])]
    return out


# ---------------------------------------------------------------- snapshots


def _node(node: Node, parent: str) -> dict[str, Any]:
    out: dict[str, Any] = {"cite": node.cite, "text": node.text, "parent": parent}
    if isinstance(node, Leaf):
        out.update(
            kind="criterion",
            fact=node.fact,
            op=node.op,
            value=value_json(node.value),
            rule=rule_words(node.fact, node.op, value_json(node.value)),
        )
    else:
        assert isinstance(node, Group)
        out.update(kind="group", mode=node.mode, rule=f"{node.mode} of {len(node.children)}")
    return out


def _walk(node: Node, section: str, parent: str, into: dict[str, tuple[str, dict[str, Any]]]) -> None:
    into.setdefault(node.key, (section, _node(node, parent)))
    if isinstance(node, Group):
        for child in node.children:
            _walk(child, section, node.key, into)


def _criteria(v: PolicyVersion) -> dict[str, tuple[str, dict[str, Any]]]:
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for ind in v.indications:
        section = f"{ind.cite} {ind.title}"
        out[ind.key] = (
            section,
            {
                "cite": ind.cite,
                "text": ind.title,
                "kind": "indication",
                "request_types": list(ind.request_types),
                "applies_to": ind.applies_to.key,
            },
        )
        _walk(ind.criteria, section, ind.key, out)
        _walk(ind.applies_to, section, ind.key, out)
    return out


def _dose_keys(v: PolicyVersion) -> set[str]:
    return {
        k
        for k, n in v.nodes().items()
        if isinstance(n, Leaf) and v.dose_fact is not None and n.base_fact == v.dose_fact
    }


def _duration(d: Duration) -> str:
    if d.length_of_benefit or d.months is None:
        return "length of benefit"
    return f"{d.months} months" + (f", or {d.at_most_fact} if fewer" if d.at_most_fact else "")


def _durations(v: PolicyVersion) -> dict[str, tuple[str, dict[str, Any]]]:
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for ind in v.indications:
        for value, d in ind.durations.items():
            out[f"{ind.key}.{value}"] = (
                f"{ind.cite} {ind.title}",
                {"cite": ind.cite, "text": f"{ind.durations_keyed_by} {value}", "value": _duration(d)},
            )
    return out


def _referrals(v: PolicyVersion) -> dict[str, tuple[str, dict[str, Any]]]:
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for ref in v.referrals:
        section = f"{ref.cite} {ref.text}"
        out[ref.key] = (
            section,
            {
                "cite": ref.cite,
                "text": ref.text,
                "kind": "referral",
                "request_types": list(ref.request_types),
                "keyed_by": ref.keyed_by,
                "rules": [r.key for r in ref.rules],
            },
        )
        for position, rule in enumerate(ref.rules, 1):
            out[rule.key] = (
                section,
                {
                    "cite": rule.cite,
                    "text": rule.text,
                    "kind": "rule",
                    "order": position,
                    "when": rule.when.key if rule.when is not None else "always",
                    "refer_to": dict(rule.refer_to),
                },
            )
            if rule.when is not None:
                _walk(rule.when, section, rule.key, out)
    return out


def _fact(spec: FactSpec) -> dict[str, Any]:
    return {
        "text": spec.text,
        "type": spec.type,
        "required": spec.required,
        "values": list(spec.values),
        "aliases": [f"{a} = {t}" for a, t in sorted(spec.aliases.items())],
        "minimum": spec.minimum,
        "maximum": spec.maximum,
        "max_items": spec.max_items,
        "vocabulary": spec.vocabulary,
    }


def _metadata(v: PolicyVersion) -> dict[str, tuple[str, dict[str, Any]]]:
    fields: dict[str, Any] = {}
    for name, value in metadata_json(v).items():
        if isinstance(value, dict):  # revision_log: one field per part, "revision_log.date"
            fields.update({f"{name}.{part}": part_value for part, part_value in value.items()})
        else:
            fields[name] = value
    return {k: ("", {"value": value}) for k, value in fields.items()}


def _product(v: PolicyVersion) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        "strengths_mg": ("", {"value": [f"{s} mg" for s in v.strengths_mg]}),
        "dose_fact": ("", {"value": v.dose_fact}),
        "self_names": ("", {"value": sorted(v.self_names)}),
    }


def _agents(v: PolicyVersion) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        term: ("", {"aliases": list(a.aliases), "molecule": a.molecule, "classes": list(a.classes)})
        for term, a in v.agents.items()
    }


_FACT_FIELDS = (
    "text",
    "type",
    "required",
    "values",
    "aliases",
    "minimum",
    "maximum",
    "max_items",
    "vocabulary",
)
_NODE_FIELDS = (
    "cite",
    "text",
    "kind",
    "fact",
    "op",
    "value",
    "mode",
    "parent",
    "request_types",
    "applies_to",
)
_RULE_FIELDS = (
    *("cite", "text", "kind", "order", "when", "refer_to", "request_types", "keyed_by", "rules"),
    *("fact", "op", "value", "mode", "parent"),
)


def structural_diff(old: PolicyVersion, new: PolicyVersion) -> StructuralDiff:
    """Every item that differs between two versions, grouped by area."""
    doses = frozenset(_dose_keys(old) | _dose_keys(new))
    changes: list[Change] = []
    changes += _match("metadata", _metadata(old), _metadata(new), ["value"])
    changes += _match("product", _product(old), _product(new), ["value"])
    changes += _match("vocabulary", _agents(old), _agents(new), ["aliases", "molecule", "classes"])
    facts_old = {n: ("", _fact(s)) for n, s in old.facts.items()}
    facts_new = {n: ("", _fact(s)) for n, s in new.facts.items()}
    changes += _match("facts", facts_old, facts_new, _FACT_FIELDS)
    changes += _match("criteria", _criteria(old), _criteria(new), _NODE_FIELDS, doses)
    changes += _match("durations", _durations(old), _durations(new), ["value"])
    changes += _match("referrals", _referrals(old), _referrals(new), _RULE_FIELDS)
    # A metadata, product or duration item is a single value: name its change after the item.
    named = [
        attrs.evolve(c, fields=tuple(attrs.evolve(f, field=_value_name(c)) for f in c.fields))
        if c.area in ("metadata", "product", "durations")
        else c
        for c in changes
    ]
    return StructuralDiff(summary(old), summary(new), tuple(named))


def _value_name(c: Change) -> str:
    return "duration" if c.area == "durations" else c.key
