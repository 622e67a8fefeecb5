"""Decisions as JSON (made by ``rxpolicy.decisions``, the one place), and as a readable
explanation of that JSON."""

from __future__ import annotations

from typing import Any

from rxpolicy.decisions import INVALID_ARGUMENT, citation_json, decision_json, trace_json
from rxpolicy.decisions import error_json as _error_json

from ..engine.errors import InvalidRequest

__all__ = ["citation_json", "decision_json", "error_json", "explain", "trace_json"]


def error_json(error: InvalidRequest) -> dict[str, Any]:
    return _error_json(INVALID_ARGUMENT, error.violations)


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
