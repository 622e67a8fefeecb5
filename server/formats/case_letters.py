"""Case expectations on what a reviewer reads beside the outcome (docs/cases.md): the
requests for information, the questions by source, the values that failed a denial, an
approval's first day and dose ceiling, the version's title, P&T month, notes and
assumptions, and a criterion's policy words and gloss.

Like ``unmet`` and ``missing``, a list or mapping says what must be there; the decision
may say more. Everything is compared with the decision's JSON (``rxpolicy.decisions``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

# key -> the shape its value must have (checked when the case file loads)
LETTER_KEYS: dict[str, str] = {
    "unknown": "a list of citations",
    "one_of": "a mapping of a citation to a list of fact lists",
    "questions": "a mapping of a source to a list of facts",
    "values": "a mapping of a citation to a mapping of fact to value",
    "approved_from": "a date",
    "dose_limits": "a mapping of a dose measure to a number",
    "policy_title": "a text",
    "pt_approval": "a text",
    "notes": "a list of texts",
    "assumptions": "a list of texts",
    "text": "a mapping of a criterion key to the policy's words",
    "gloss": "a mapping of a criterion key to its gloss",
}


def shape_problem(key: str, value: Any) -> str | None:
    """Why ``value`` cannot be the expectation ``key``, or None."""
    ok: bool
    if key in ("unknown", "notes", "assumptions"):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif key == "one_of":
        ok = isinstance(value, Mapping) and all(
            isinstance(alts, list) and all(isinstance(a, list) for a in alts) for alts in value.values()
        )
    elif key == "questions":
        ok = isinstance(value, Mapping) and all(isinstance(v, list) for v in value.values())
    elif key == "values":
        ok = isinstance(value, Mapping) and all(isinstance(v, Mapping) for v in value.values())
    elif key == "approved_from":
        ok = isinstance(value, (dt.date, str))
    elif key == "dose_limits":
        ok = isinstance(value, Mapping) and all(isinstance(v, int) for v in value.values())
    elif key in ("text", "gloss"):
        ok = isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values())
    else:
        ok = isinstance(value, str)
    return None if ok else f"'{key}' must be {LETTER_KEYS[key]}"


def _citations(result: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every criterion a decision quotes."""
    for key in ("indication",):
        if result.get(key):
            yield result[key]
    yield from result.get("referral", ())
    for u in result.get("unmet", ()):
        yield u
        yield from u.get("because", ())
    for r in result.get("unknown", ()):
        yield r
        yield from r.get("one_of", ())
    yield from result.get("dose_limits", ())


def check_letters(exp: Mapping[str, Any], result: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    unknown = {r["cite"]: r for r in result.get("unknown", ())}
    for cite in exp.get("unknown", ()):
        if cite not in unknown:
            problems.append(f"unknown: expected {cite} listed, got {sorted(unknown)}")
    for cite, alternatives in exp.get("one_of", {}).items():
        got = [frozenset(a["facts"]) for a in unknown.get(cite, {}).get("one_of", ())]
        for facts in alternatives:
            if frozenset(facts) not in got:
                shown = [sorted(g) for g in got]
                problems.append(
                    f"one_of {cite}: expected an alternative needing {sorted(facts)}, got {shown}"
                )
    asked = {source: [q["fact"] for q in qs] for source, qs in result.get("questions", {}).items()}
    for source, facts in exp.get("questions", {}).items():
        for fact in facts:
            if fact not in asked.get(source, ()):
                problems.append(f"questions: expected {fact} asked of {source}, got {asked}")
    failed: dict[str, dict[str, Any]] = {}
    for u in result.get("unmet", ()):
        failed[u["cite"]] = {v["fact"]: v["value"] for v in u.get("values", ())}
    for cite, values in exp.get("values", {}).items():
        for fact, value in values.items():
            got_values = failed.get(cite, {})
            if fact not in got_values or got_values[fact] != value:
                problems.append(f"values {cite}: expected {fact} = {value!r}, got {got_values}")
    if "approved_from" in exp and _text(exp["approved_from"]) != _text(result.get("approved_from")):
        problems.append(
            f"approved_from: expected {_text(exp['approved_from'])}, got {result.get('approved_from')}"
        )
    limits = {x["measure"]: x["at_most"] for x in result.get("dose_limits", ())}
    for measure, at_most in exp.get("dose_limits", {}).items():
        if limits.get(measure) != at_most:
            problems.append(f"dose_limits: expected {measure} at most {at_most}, got {limits}")
    for key in ("policy_title", "pt_approval"):
        if key in exp and str(exp[key]) != str(result.get(key)):
            problems.append(f"{key}: expected {exp[key]}, got {result.get(key)}")
    for key in ("notes", "assumptions"):
        for words in exp.get(key, ()):
            if not any(words in text for text in result.get(key, ())):
                problems.append(f"{key}: expected one containing {words!r}, got {result.get(key, [])}")
    quoted = {c["key"]: c for c in _citations(result)}
    for field in ("text", "gloss"):
        for key, words in exp.get(field, {}).items():
            said = quoted.get(key, {}).get(field)
            if said != words:
                problems.append(f"{field} {key}: expected {words!r}, got {said!r}")
    return problems


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)
