"""Words for diff items, shared by every renderer so text, Markdown and HTML agree."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml

from ...engine.language import OPERATORS
from .model import Change, DifferenceKind, FieldChange

OP_WORDS = {name: op.words for name, op in OPERATORS.items()}
MARK = {"added": "+", "removed": "-", "changed": "~"}


def value_words(value: Any) -> str:
    """A criterion value or a field value, compactly."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        if value and all(isinstance(v, list) for v in value):
            return " | ".join("{" + ", ".join(v) + "}" for v in value)
        return ", ".join(value_words(v) for v in value) if value else "(empty)"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {value_words(v)}" for k, v in value.items())
    return str(value)


def rule_words(fact: str, op: str, value: Any) -> str:
    return f"{fact} {OP_WORDS.get(op, op)} {value_words(value)}"


def field_words(f: FieldChange) -> str:
    """One changed field: what was added and removed, or old -> new."""
    if f.added or f.removed:
        parts = [f"+ {a}" for a in f.added] + [f"- {r}" for r in f.removed]
        return f"{f.field}: {'; '.join(parts)}"
    return f"{f.field}: {value_words(f.old)} -> {value_words(f.new)}"


def item_words(item: Mapping[str, Any] | None) -> str:
    """A snapshot of an item (old or new side) in one line."""
    if not item:
        return ""
    parts = []
    if item.get("cite"):
        parts.append(str(item["cite"]))
    if item.get("text"):
        parts.append(str(item["text"]))
    if item.get("rule"):
        parts.append(f"[{item['rule']}]")
    elif "value" in item:
        parts.append(value_words(item["value"]))
    return "  ".join(parts)


def change_heading(c: Change) -> str:
    cite = f" {c.cite}" if c.cite else ""
    return f"{MARK[c.change]} {c.key}{cite}"


def renumbering_words(changes: list[Change]) -> str:
    """Criteria that only moved citation, without repeating what their parents' moves imply."""
    moved = [c for c in changes if c.renumbered_only]
    if not moved:
        return ""
    keys = {c.key for c in moved}
    heads = [c for c in moved if (c.new or {}).get("parent") not in keys]
    words = "; ".join(f"{c.key} {c.fields[0].old} -> {c.fields[0].new}" for c in heads)
    rest = len(moved) - len(heads)
    return f"renumbered only: {words}" + (f"; and {rest} criteria beneath them" if rest else "")


def outcome_words(decision: Mapping[str, Any]) -> str:
    """A decision (or an error) in a few words: what a reviewer compares."""
    if "error" in decision:
        fields = ", ".join(decision["error"].get("fields", []))
        return f"invalid input ({fields})" if fields else "invalid input"
    outcome = str(decision["decision"])
    if outcome == "approve":
        months = decision.get("approval_months")
        return "approve, length of benefit" if months == "length_of_benefit" else f"approve, {months} months"
    if outcome == "refer":
        return f"refer to {decision.get('refer_to')}"
    if outcome == "deny":
        cites = ", ".join(u["cite"] for u in decision.get("unmet", []) if u.get("cite"))
        return f"deny (not met: {cites})" if cites else "deny"
    if outcome == "pend":
        missing = ", ".join(decision.get("missing", []))
        return f"pend (needs: {missing})" if missing else "pend"
    return outcome


def outcome_short(decision: Mapping[str, Any]) -> str:
    """The outcome alone (with its duration or target): the reasons are listed beside it."""
    words = outcome_words(decision)
    return words.split(" (", 1)[0] if words.startswith(("deny", "pend", "invalid")) else words


def decision_lines(decision: Mapping[str, Any]) -> list[str]:
    """The reasons behind a decision, one per line (unmet criteria with their words)."""
    if "error" in decision:
        return [f"{v['field']}: {v['description']}" for v in decision["error"]["violations"]]
    lines = []
    for u in decision.get("unmet", []):
        lines.append(f"not met {u['cite']}: {u['text']}".strip())
        lines += [f"  because {b['cite']}: {b['text']}" for b in u.get("because", [])]
    if decision.get("missing"):
        lines.append("missing: " + ", ".join(decision["missing"]))
    if decision.get("refer_to"):
        lines += [f"rule {r['cite']}: {r['text']}" for r in decision.get("referral", [])]
    if decision.get("approved_through"):
        lines.append(f"approved through {decision['approved_through']}")
    return lines


def criteria_words(kind: DifferenceKind) -> list[str]:
    return [f"{c.cite} {c.text} [{c.key}]: {c.old} -> {c.new}" for c in kind.criteria]


def kind_heading(kind: DifferenceKind) -> str:
    where = kind.new_section or kind.old_section
    if kind.old_section and kind.new_section and kind.old_section != kind.new_section:
        where = f"{kind.old_section} -> {kind.new_section}"
    head = kind.title
    return f"{head} under {where}" if where else head


def request_yaml(request: Mapping[str, Any]) -> str:
    """A witness in the case-file shape, one fact a line, ready for ``rxpolicy evaluate``."""
    return "".join(f"{name}: {_flow(value)}\n" for name, value in request.items())


def _flow(value: Any) -> str:
    text: str = yaml.safe_dump(
        value, default_flow_style=True, sort_keys=False, width=10**6, allow_unicode=True
    )
    return text.strip().removesuffix("...").strip()


def request_json(request: Mapping[str, Any]) -> str:
    return json.dumps(dict(request), ensure_ascii=False)
