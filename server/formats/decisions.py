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
_ASKED_OF = {
    "plan": "the plan's own data",
    "claims": "the plan's claims history",
    "request": "the requesting system",
    "prescriber": "the prescriber",
}


def words(c: dict[str, Any]) -> str:
    """A criterion as a letter quotes it: the policy's words in quotes, and the project's
    gloss, where there is one, marked as such."""
    quoted = f"\u201c{c['text']}\u201d"
    return f"{quoted} [gloss: {c['gloss']}]" if c.get("gloss") else quoted


def _value(v: Any) -> str:
    return "unknown" if v is None else repr(v)


def _requests(d: dict[str, Any], lines: list[str]) -> None:
    for r in d.get("unknown", ()):
        lines.append(f"  {r['cite']}  {words(r)}")
        alternatives = r["one_of"]
        lead = "one of:" if len(alternatives) > 1 else "needs:"
        lines.append(f"      {lead}")
        for alt in alternatives:
            lines.append(f"        {alt['cite']}  {words(alt)}  <- {', '.join(alt['facts'])}")
    questions = d.get("questions", {})
    for source, asked in questions.items():
        lines.append(f"  Ask {_ASKED_OF.get(source, source)} ({source}):")
        for q in asked:
            lines.append(f"    {q['fact']}: {q['question']}")


def explain(result: dict[str, Any]) -> str:
    """A readable explanation of ``decision_json`` output (or ``error_json``). Criteria
    are quoted in the policy's words; a paraphrase is marked ``[gloss: ...]``."""
    if "error" in result:
        lines = ["INVALID REQUEST"]
        lines += [f"  {v['field']}: {v['description']}" for v in result["error"]["violations"]]
        return "\n".join(lines)
    d = result
    lines = [
        f"{d['decision'].upper()} under {d['policy_id']} version {d['version']} "
        f"(in force from {d['version_effective']}, {d['content_hash'][:19]}...)"
    ]
    if d.get("policy_title"):
        pt = f", P&T approval {d['pt_approval']}" if d.get("pt_approval") else ""
        lines.append(f"Policy: {d['policy_title']}{pt}")
    if d.get("indication"):
        ind = d["indication"]
        lines.append(f"Section {ind['cite']}: {ind['text']}")
    if d["decision"] == "approve":
        start = f" from {d['approved_from']}" if d.get("approved_from") else ""
        if d["approval_months"] == "length_of_benefit":
            lines.append(f"Approved{start} for the length of benefit.")
        else:
            lines.append(
                f"Approved for {d['approval_months']} months{start} through {d['approved_through']}."
            )
        if d.get("dose_limits"):
            lines.append("Dose ceiling that applied:")
            for limit in d["dose_limits"]:
                lines.append(
                    f"  {limit['cite']}  {words(limit)}  ({limit['measure']} at most {limit['at_most']})"
                )
    elif d["decision"] == "deny":
        lines.append("Not met:")
        for u in d["unmet"]:
            lines.append(f"  {u['cite']}  {words(u)}")
            for b in u["because"]:
                lines.append(f"      {b['cite']}  {words(b)}")
            for v in u.get("values", ()):
                lines.append(f"      submitted: {v['fact']} = {_value(v['value'])} (failed {v['cite']})")
        if d.get("unknown"):
            lines.append("Still unknown (answer these with an appeal):")
            _requests(d, lines)
    elif d["decision"] == "pend":
        lines.append("Pended for information; the policy needs: " + ", ".join(d["missing"]))
        if d.get("unknown"):
            lines.append("Requests for information:")
            _requests(d, lines)
    elif d["decision"] == "refer":
        lines.append(f"Not covered by this policy: evaluate under {d['refer_to']}.")
        for r in d["referral"]:
            lines.append(f"  {r['cite']}  {words(r)}")
    for note in d.get("notes", ()):
        lines.append(f"Note: {note}")
    for assumption in d.get("assumptions", ()):
        lines.append(f"Assumed: {assumption}")
    if d.get("trace"):
        lines.append("")
        lines.append("Trace ([x] met, [ ] not met, [?] unknown):")

        def walk(node: dict[str, Any], depth: int) -> None:
            fact = ""
            if "fact" in node:
                fact = f"   <- {node['fact']} = {_value(node['observed'])}"
            lines.append(f"{'  ' * depth}{_MARK[node['result']]} {node['cite']} {words(node)}{fact}")
            for child in node.get("children", ()):
                walk(child, depth + 1)

        for t in d["trace"]:
            walk(t, 1)
    return "\n".join(lines)
