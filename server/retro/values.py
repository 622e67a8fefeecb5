"""Which value was wrong: shown in the result rows, never in summary.json or the report.

A result row already holds the member's data (it is the claim, re-decided), so an
error row says which value was wrong: `` (got '...')`` after each violation of a
field the row carries, the value clipped. The summary and the report are aggregates
meant to be passed around: ``redact`` takes every quoted value back out of a
description, the suffix added here and the engine's own quoting of an unknown term.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import attrs
from rxpolicy.decisions import ErrorResult, FieldViolation, Result

VALUE_LIMIT = 40
_SUFFIX = " (got "
# The engine quotes an unknown term or agent as '<value>' is not a known ...
_ENGINE_QUOTE = re.compile(r"'.*'(?= is not a known)", re.DOTALL)
_GOT = re.compile(r" \(got .*\)$", re.DOTALL)
# The engine's words that carry a value of the claim: its service date, the strength asked
# for. (A version's own effective date, "effective 2024-05-16", is the policy's, and stays.)
_IN_FORCE_ON = re.compile(r"\bin force on \d{4}-\d{2}-\d{2}")
_STRENGTH = re.compile(r"\b\d+ mg tablets are not available")
WITHHELD = "(description withheld: it quotes a value)"


def clip(text: str, limit: int = VALUE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def shown(value: Any) -> str:
    """A value as the row's error shows it: a CSV cell as typed, a JSON value as JSON."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError, RecursionError):
            text = type(value).__name__
    return clip(" ".join(text.split()))


def base_field(field: str) -> str:
    """``doses[1].tablets`` -> ``doses``: the fact a violation's field belongs to."""
    return field.split("[", 1)[0].split(".", 1)[0]


def with_values(result: Result, raw: Mapping[str, Any]) -> Result:
    """``result`` with each violation of a field in ``raw`` (fact name -> the value as given)
    saying what the value was, unless the description already quotes it."""
    if not isinstance(result, ErrorResult) or not raw:
        return result
    violations = []
    for v in result.violations:
        field = base_field(v.field)
        if field in raw and "'" not in v.description:
            v = FieldViolation(v.field, f"{v.description}{_SUFFIX}'{shown(raw[field])}')")
        violations.append(v)
    return attrs.evolve(result, violations=tuple(violations))


def redact(description: str) -> str:
    """A violation's description with no value in it, for aggregates."""
    text = _GOT.sub("", description)
    text = _ENGINE_QUOTE.sub("a value", text)
    text = _IN_FORCE_ON.sub("in force on the service date", text)
    text = _STRENGTH.sub("tablets of the strength given are not available", text)
    return WITHHELD if "'" in text or '"' in text else text
