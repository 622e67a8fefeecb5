"""Counts over result rows, made per chunk in the workers and merged in input order.

Everything here is bounded whatever the number of claims: counters keyed by
decision, version, month, criterion or field, and the first few examples. Error
descriptions can echo a bad term, so their distinct texts are capped; the count per
field stays exact.

A violation's field can be any key of a JSON line (the engine names an unknown fact by
its key), so the summary names only fields the run knows (the policy's facts, the row,
the claim id, the request) and counts any other as UNKNOWN_FIELD; distinct fields are
capped too. The per-row results keep the engine's own words: they are the user's data.
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
from collections.abc import Container, Mapping
from typing import Any

import attrs
from rxpolicy.decisions import Decision, Result

from .results import ERROR, Row
from .values import redact

ERROR_EXAMPLES = 20
TRANSITION_EXAMPLES = 5
MAX_ERROR_DESCRIPTIONS = 200
OTHER_DESCRIPTIONS = "(other descriptions)"
MAX_ERROR_FIELDS = 100
OTHER_FIELDS = "(other fields)"
UNKNOWN_FIELD = "(unknown field)"
# Fields a violation may name besides the policy's facts (see results.field_order).
RUN_FIELDS = frozenset({"row", "claim_id", "request"})


def summary_field(field: str, known: Container[str]) -> str:
    """``field`` as the summary names it: itself when the run knows it, else UNKNOWN_FIELD."""
    return field if field in known or field in RUN_FIELDS else UNKNOWN_FIELD


def summary_violations(violations: list[dict[str, Any]], known: Container[str]) -> list[dict[str, Any]]:
    """Violations as an aggregate may show them: known fields only, and no value quoted."""
    return [
        {
            "field": summary_field(str(v.get("field", "")), known),
            "description": redact(str(v.get("description", ""))),
        }
        for v in violations
    ]


# The line of business of a row that could not be read at all.
UNREADABLE_LOB = "(row not readable)"
# Decisions that take an approval away from the member (an error is the data's problem).
ADVERSE_DECISIONS = ("deny", "pend")


def _months(o: Row) -> float | None:
    value = o["approval_months"]
    if value == "length_of_benefit":
        return float("inf")
    return float(value) if isinstance(value, int | float) else None


def adverse(before: Row, after: Row) -> str:
    """Why a change is adverse to the member ("" when it is not): an approval lost, or
    shortened."""
    if before["decision"] == "approve" and after["decision"] in ADVERSE_DECISIONS:
        return f"approve -> {after['decision']}"
    if before["decision"] == after["decision"] == "approve":
        b, a = _months(before), _months(after)
        if b is not None and a is not None and a < b:
            return "shorter approval"
    return ""


@functools.lru_cache(maxsize=8192)  # claims repeat their service dates: each is read once
def month_of(service_date: str) -> str | None:
    """YYYY-MM of a service date as the engine reads it, or None when it is not a date."""
    try:
        return dt.date.fromisoformat(service_date.strip()).isoformat()[:7]
    except ValueError:
        return None


# A mutable accumulator (not frozen like the model): merged thousands of times, and
# rebuilding it immutably per chunk would cost more than the whole chunk's counting.
@attrs.define
class Tally:
    rows: int = 0
    decisions: collections.Counter[str] = attrs.field(factory=collections.Counter)
    by_version: collections.Counter[tuple[str, str]] = attrs.field(factory=collections.Counter)
    effective: dict[str, str] = attrs.field(factory=dict)
    by_month: collections.Counter[tuple[str, str]] = attrs.field(factory=collections.Counter)
    undated: int = 0
    unmet: collections.Counter[tuple[str, str, str]] = attrs.field(factory=collections.Counter)
    missing: collections.Counter[str] = attrs.field(factory=collections.Counter)
    approval: collections.Counter[str] = attrs.field(factory=collections.Counter)
    refer_to: collections.Counter[str] = attrs.field(factory=collections.Counter)
    error_fields: collections.Counter[str] = attrs.field(factory=collections.Counter)
    error_descriptions: collections.Counter[tuple[str, str]] = attrs.field(factory=collections.Counter)
    error_examples: list[dict[str, Any]] = attrs.field(factory=list)
    # --compare-to
    compare_decisions: collections.Counter[str] = attrs.field(factory=collections.Counter)
    transitions: collections.Counter[str] = attrs.field(factory=collections.Counter)
    changed: collections.Counter[str] = attrs.field(factory=collections.Counter)
    transitions_by_version: collections.Counter[tuple[str, str]] = attrs.field(factory=collections.Counter)
    examples: dict[str, list[dict[str, Any]]] = attrs.field(factory=dict)
    # rows with an internal error (a bug, not bad input), counted apart from invalid rows
    internal: int = 0
    by_lob: collections.Counter[tuple[str, str]] = attrs.field(factory=collections.Counter)
    by_indication: collections.Counter[tuple[str, str]] = attrs.field(factory=collections.Counter)
    indication_text: dict[str, str] = attrs.field(factory=dict)
    adverse: collections.Counter[str] = attrs.field(factory=collections.Counter)

    def add(self, row: Row, result: Result, *, known: Container[str], lob: str = UNREADABLE_LOB) -> None:
        """Count one result row; ``known``: the fields the summary may name (the facts);
        ``lob``: the row's line of business as the summary may name it."""
        self.rows += 1
        decision = row["decision"]
        self.decisions[decision] += 1
        version = row["version"] or ""
        self.by_version[(version, decision)] += 1
        self.by_lob[(lob, decision)] += 1
        indication = result.indication if isinstance(result, Decision) else None
        if indication is not None and indication.key:
            self.by_indication[(indication.key, decision)] += 1
            self.indication_text.setdefault(indication.key, indication.text)
        elif decision != ERROR:
            self.by_indication[("(no indication)", decision)] += 1
        if version and version not in self.effective:
            self.effective[version] = row["version_effective"]
        month = month_of(row["service_date"])
        if month is None:
            self.undated += 1
        else:
            self.by_month[(month, decision)] += 1
        if not isinstance(result, Decision):
            self._add_error(row, known)
            return
        for u in result.unmet:
            self.unmet[(u.criterion.key, u.criterion.cite, u.criterion.text)] += 1
        for fact in row["missing"]:
            self.missing[fact] += 1
        if decision == "approve":
            self.approval[str(row["approval_months"])] += 1
        if row["refer_to"]:
            self.refer_to[row["refer_to"]] += 1

    def _add_error(self, row: Row, known: Container[str]) -> None:
        violations = summary_violations(row["error"]["violations"], known)
        for field in dict.fromkeys(v["field"] for v in violations):  # rows naming the field
            self.error_fields[field] += 1
        for v in violations:
            self.error_descriptions[(v["field"], v["description"])] += 1
        if len(self.error_examples) < ERROR_EXAMPLES:
            self.error_examples.append(
                {"line": row["line"], "claim_id": row["claim_id"], "violations": violations}
            )

    def add_compare(self, row: Row, *, known: Container[str]) -> None:
        other = row["compare"]
        self.compare_decisions[other["decision"]] += 1
        transition = row["transition"]
        self.transitions[transition] += 1
        harm = adverse(row, other)
        if harm:
            self.adverse[harm] += 1
        if row["changed"]:
            self.changed[row["changed"]] += 1
            self.transitions_by_version[(row["version"] or "", transition)] += 1
            found = self.examples.setdefault(f"{transition} ({row['changed']})", [])
            if len(found) < TRANSITION_EXAMPLES:
                found.append(_example(row, known))

    def merge(self, other: Tally) -> None:
        """Add ``other`` (the next chunk in input order) into this tally."""
        self.rows += other.rows
        for name in (
            "decisions",
            "by_version",
            "by_month",
            "unmet",
            "missing",
            "approval",
            "refer_to",
            "compare_decisions",
            "transitions",
            "changed",
            "transitions_by_version",
            "by_lob",
            "by_indication",
            "adverse",
        ):
            getattr(self, name).update(getattr(other, name))
        self.undated += other.undated
        self.internal += other.internal
        for indication, text in other.indication_text.items():
            self.indication_text.setdefault(indication, text)
        for version, effective in other.effective.items():
            self.effective.setdefault(version, effective)
        for field, count in other.error_fields.items():
            if field in self.error_fields or len(self.error_fields) < MAX_ERROR_FIELDS:
                self.error_fields[field] += count
            else:
                self.error_fields[OTHER_FIELDS] += count
        for key, count in other.error_descriptions.items():
            if key in self.error_descriptions or len(self.error_descriptions) < MAX_ERROR_DESCRIPTIONS:
                self.error_descriptions[key] += count
            else:
                self.error_descriptions[(key[0], OTHER_DESCRIPTIONS)] += count
        room = ERROR_EXAMPLES - len(self.error_examples)
        if room > 0:
            self.error_examples.extend(other.error_examples[:room])
        for label, found in other.examples.items():
            mine = self.examples.setdefault(label, [])
            mine.extend(found[: TRANSITION_EXAMPLES - len(mine)])


def _brief(o: Row, known: Container[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"decision": o["decision"], "version": o["version"]}
    for name in ("approval_months", "approved_through", "refer_to"):
        if o[name] is not None:
            out[name] = o[name]
    if o["unmet"]:
        out["unmet"] = o["unmet"]
    if o["missing"]:
        out["missing"] = o["missing"]
    if o["error"]:
        out["error_fields"] = list(dict.fromkeys(summary_field(f, known) for f in o["error"]["fields"]))
    return out


def _example(row: Row, known: Container[str]) -> dict[str, Any]:
    return {
        "line": row["line"],
        "claim_id": row["claim_id"],
        "service_date": row["service_date"],
        "before": _brief(row, known),
        "after": _brief(row["compare"], known),
    }


# ------------------------------------------------------------------ saved for --resume

_COUNTERS = (
    "decisions",
    "by_version",
    "by_month",
    "unmet",
    "missing",
    "approval",
    "refer_to",
    "error_fields",
    "error_descriptions",
    "compare_decisions",
    "transitions",
    "changed",
    "transitions_by_version",
    "by_lob",
    "by_indication",
    "adverse",
)


def _key_out(key: Any) -> Any:
    return list(key) if isinstance(key, tuple) else key


def _key_in(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def tally_state(tally: Tally) -> dict[str, Any]:
    """The tally as JSON-ready data (counters as [key, count] pairs, in their order)."""
    state: dict[str, Any] = {
        name: [[_key_out(k), c] for k, c in getattr(tally, name).items()] for name in _COUNTERS
    }
    state |= {
        "rows": tally.rows,
        "undated": tally.undated,
        "internal": tally.internal,
        "effective": tally.effective,
        "indication_text": tally.indication_text,
        "error_examples": tally.error_examples,
        "examples": tally.examples,
    }
    return state


def tally_from_state(state: Mapping[str, Any]) -> Tally:
    tally = Tally()
    for name in _COUNTERS:
        counter = getattr(tally, name)
        for key, count in state[name]:
            counter[_key_in(key)] = count
    tally.rows = int(state["rows"])
    tally.undated = int(state["undated"])
    tally.internal = int(state["internal"])
    tally.effective = dict(state["effective"])
    tally.indication_text = dict(state["indication_text"])
    tally.error_examples = list(state["error_examples"])
    tally.examples = {k: list(v) for k, v in state["examples"].items()}
    return tally
