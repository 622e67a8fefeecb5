"""A policy version as plain JSON-ready data (for `rxpolicy show --json` and the API)."""

from __future__ import annotations

from typing import Any

from ..engine.model import Group, Leaf, Node, PolicyVersion


def value_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [sorted(v) if isinstance(v, frozenset) else v for v in value]
    return value


def node_json(node: Node) -> dict[str, Any]:
    out: dict[str, Any] = {"key": node.key, "cite": node.cite, "text": node.text}
    if node.gloss is not None:
        out["gloss"] = node.gloss
    if isinstance(node, Leaf):
        out.update(fact=node.fact, op=node.op, value=value_json(node.value))
    else:
        assert isinstance(node, Group)
        out[node.mode] = [node_json(c) for c in node.children]
    return out


def metadata_json(v: PolicyVersion) -> dict[str, Any]:
    """A version's metadata (what its file says about itself) and its content hash."""
    m = v.meta
    return {
        "policy_id": m.policy_id,
        "title": m.title,
        "version": m.version,
        "effective": m.effective.isoformat(),
        "recorded": m.recorded.isoformat(),
        "revision_log": {
            "date": m.revision_log_date.isoformat(),
            "pt_approval": m.pt_approval,
            "text": m.revision_log_text,
        },
        "provenance": m.provenance,
        "semver_reasoning": m.semver_reasoning,
        "assumptions": list(m.assumptions),
        "choices": list(m.choices),
        "unmodelled": list(m.unmodelled),
        "content_hash": v.content_hash,
    }


def version_json(v: PolicyVersion, *, criteria: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        **metadata_json(v),
        "locked": v.locked,
        "strengths_mg": list(v.strengths_mg),
    }
    if v.corrects is not None:  # only a correction says so: other versions' JSON is unchanged
        out["corrects"] = v.corrects
        out["changes"] = [{"key": c.key, "change": c.change, "text": c.text} for c in v.meta.changes]
    if criteria:
        out["indications"] = [
            {
                "key": ind.key,
                "cite": ind.cite,
                "text": ind.title,
                "request_types": list(ind.request_types),
                "applies_to": node_json(ind.applies_to),
                "criteria": node_json(ind.criteria),
                "approval_duration": {
                    "keyed_by": ind.durations_keyed_by,
                    **{
                        k: {
                            "months": d.months,
                            "length_of_benefit": d.length_of_benefit,
                            "at_most_fact": d.at_most_fact,
                        }
                        for k, d in ind.durations.items()
                    },
                },
            }
            for ind in v.indications
        ]
        out["referrals"] = [
            {
                "key": r.key,
                "cite": r.cite,
                "text": r.text,
                "request_types": list(r.request_types),
                "keyed_by": r.keyed_by,
                "rules": [
                    {
                        "key": rule.key,
                        "cite": rule.cite,
                        "text": rule.text,
                        **({"gloss": rule.gloss} if rule.gloss is not None else {}),
                        "when": node_json(rule.when) if rule.when is not None else None,
                        "refer_to": dict(rule.refer_to),
                    }
                    for rule in r.rules
                ],
            }
            for r in v.referrals
        ]
        out["facts"] = {
            name: {"type": s.type, "text": s.text, "required": s.required, "values": list(s.values)}
            for name, s in v.facts.items()
        }
    return out
