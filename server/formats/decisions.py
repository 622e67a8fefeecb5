"""Decisions as plain JSON-ready data, and as a readable explanation."""

from __future__ import annotations

from typing import Any

from ..engine.decision import Citation, Decision, TraceNode
from ..engine.errors import InvalidRequest


def citation_json(c: Citation) -> dict[str, str]:
    return {"cite": c.cite, "key": c.key, "text": c.text}


def trace_json(node: TraceNode) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": node.key,
        "cite": node.cite,
        "text": node.text,
        "result": {True: "met", False: "not_met", None: "unknown"}[node.result],
    }
    if node.fact is not None:
        out["fact"] = node.fact
        out["observed"] = node.observed
    if node.children:
        out["children"] = [trace_json(c) for c in node.children]
    return out


def _correction_json(decision: Decision) -> dict[str, Any]:
    """Only a decision under a correction names it, so every other decision's JSON is as before."""
    ref = decision.version
    if ref.corrects is None:
        return {}
    return {"recorded": ref.recorded.isoformat() if ref.recorded else None, "corrects": ref.corrects}


def decision_json(decision: Decision) -> dict[str, Any]:
    approval = decision.approval
    months: int | str | None = None
    if approval is not None:
        months = "length_of_benefit" if approval.length_of_benefit else approval.months
    out: dict[str, Any] = {
        "decision": decision.outcome,
        "policy_id": decision.version.policy_id,
        "version": decision.version.version,
        "version_effective": decision.version.effective.isoformat(),
        "content_hash": decision.version.content_hash,
        **({"draft": True} if decision.version.draft else {}),
        **_correction_json(decision),
        "indication": citation_json(decision.indication) if decision.indication else None,
        "approval_months": months,
        "approved_through": (
            approval.approved_through.isoformat() if approval and approval.approved_through else None
        ),
        "refer_to": decision.refer_to,
        "referral": [citation_json(c) for c in decision.referral],
        "unmet": [
            citation_json(u.criterion) | {"because": [citation_json(b) for b in u.because]}
            for u in decision.unmet
        ],
        "missing": list(decision.missing),
    }
    if decision.notes:
        out["notes"] = list(decision.notes)
    if decision.trace is not None:
        out["trace"] = [trace_json(t) for t in decision.trace]
    return out


def error_json(error: InvalidRequest) -> dict[str, Any]:
    return {
        "error": {
            "code": "INVALID_ARGUMENT",
            "fields": list(dict.fromkeys(error.fields)),
            "violations": [{"field": v.field, "description": v.description} for v in error.violations],
        }
    }


_MARK = {"met": "[x]", "not_met": "[ ]", "unknown": "[?]"}


def explain(result: dict[str, Any]) -> str:
    """A readable explanation of ``decision_json`` output (or ``error_json``)."""
    if "error" in result:
        lines = ["INVALID REQUEST"]
        lines += [f"  {v['field']}: {v['description']}" for v in result["error"]["violations"]]
        return "\n".join(lines)
    d = result
    lines = [
        f"{d['decision'].upper()} under {d['policy_id']} version {d['version']} "
        f"(in force from {d['version_effective']}, {d['content_hash'][:19]}...)"
    ]
    if d.get("indication"):
        ind = d["indication"]
        lines.append(f"Section {ind['cite']}: {ind['text']}")
    if d["decision"] == "approve":
        if d["approval_months"] == "length_of_benefit":
            lines.append("Approved for the length of benefit.")
        else:
            lines.append(f"Approved for {d['approval_months']} months, through {d['approved_through']}.")
    elif d["decision"] == "deny":
        lines.append("Not met:")
        for u in d["unmet"]:
            lines.append(f"  {u['cite']}  {u['text']}")
            for b in u["because"]:
                lines.append(f"      {b['cite']}  {b['text']}")
    elif d["decision"] == "pend":
        lines.append("Pended for information; the policy needs: " + ", ".join(d["missing"]))
    elif d["decision"] == "refer":
        lines.append(f"Not covered by this policy: evaluate under {d['refer_to']}.")
        for r in d["referral"]:
            lines.append(f"  {r['cite']}  {r['text']}")
    for note in d.get("notes", ()):
        lines.append(f"Note: {note}")
    if d.get("trace"):
        lines.append("")
        lines.append("Trace ([x] met, [ ] not met, [?] unknown):")

        def walk(node: dict[str, Any], depth: int) -> None:
            fact = ""
            if "fact" in node:
                seen = "unknown" if node["observed"] is None else repr(node["observed"])
                fact = f"   <- {node['fact']} = {seen}"
            lines.append(f"{'  ' * depth}{_MARK[node['result']]} {node['cite']} {node['text']}{fact}")
            for child in node.get("children", ()):
                walk(child, depth + 1)

        for t in d["trace"]:
            walk(t, 1)
    return "\n".join(lines)
