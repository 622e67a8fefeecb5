"""Derived measures of list-valued facts, named in criteria as ``fact.measure``.

A criterion never runs code: it names a fact, optionally one of these fixed
measures of it, and compares the result with a value. That keeps every leaf a
comparison over an integer, a term, a yes/no or a set of terms, which the
semantic diff can enumerate.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from .model import Agent, FactSpec

Dose = tuple[int, int]  # (tablets, strength_mg) for one dosing day

DoseMeasure = Callable[[tuple[Dose, ...]], int]

DOSE_MEASURES: dict[str, DoseMeasure] = {
    "weekly_mg": lambda doses: sum(t * s for t, s in doses),
    "weekly_tablets": lambda doses: sum(t for t, _ in doses),
    "per_week": len,
    "max_dose_mg": lambda doses: max(t * s for t, s in doses),
    "max_dose_tablets": lambda doses: max(t for t, _ in doses),
}

LINE_MEASURES = ("count", "molecules_in_class")


def measure_kind(spec: FactSpec, measure: str, agents: Mapping[str, Agent]) -> tuple[str, str | None]:
    """The kind of value ``spec.name.measure`` has, or why it is not a valid reference."""
    if not measure:
        kind = {"int": "int", "bool": "bool", "enum": "enum", "terms": "set"}.get(spec.type)
        if kind is None:
            return "", f"a {spec.type} fact is compared through a measure ({_measures_of(spec)})"
        return kind, None
    if spec.type == "doses":
        if measure not in DOSE_MEASURES:
            return "", f"'{measure}' is not a measure of doses ({_measures_of(spec)})"
        return "int", None
    if spec.type == "lines":
        name, _, argument = measure.partition(".")
        if name == "count" and not argument:
            return "int", None
        if name == "molecules_in_class":
            classes = {c for a in agents.values() for c in a.classes}
            if argument not in classes:
                return "", f"'{argument}' is not a class of any agent in the vocabulary"
            return "int", None
        return "", f"'{measure}' is not a measure of lines ({_measures_of(spec)})"
    return "", f"a {spec.type} fact has no measure '{measure}'"


def _measures_of(spec: FactSpec) -> str:
    if spec.type == "doses":
        return ", ".join(DOSE_MEASURES)
    if spec.type == "lines":
        return "count, molecules_in_class.<class>"
    return "none"


@functools.cache
def _dose_plan(
    fact: str, wanted: frozenset[str]
) -> tuple[tuple[str, Callable[[tuple[Dose, ...]], int]], ...]:
    return tuple((f"{fact}.{name}", fn) for name, fn in DOSE_MEASURES.items() if f"{fact}.{name}" in wanted)


@functools.cache
def _line_plan(fact: str, wanted: frozenset[str]) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    count_path = f"{fact}.count"
    prefix = f"{fact}.molecules_in_class."
    classes = tuple(sorted((p, p[len(prefix) :]) for p in wanted if p.startswith(prefix)))
    return (count_path if count_path in wanted else None), classes


def derive(
    fact: str, spec_type: str, value: Any, wanted: frozenset[str], agents: Mapping[str, Agent]
) -> dict[str, Any]:
    """The measures of one normalised fact value that some criterion reads."""
    out: dict[str, Any] = {}
    if spec_type == "doses":
        for path, fn in _dose_plan(fact, wanted):
            out[path] = fn(value)
    elif spec_type == "lines":
        count_path, class_paths = _line_plan(fact, wanted)
        if count_path is not None:
            out[count_path] = len(value)
        if class_paths:
            # Class counts count distinct molecules across all lines: Darzalex then
            # Darzalex Faspro is one anti-CD38 antibody.
            by_class: dict[str, set[str]] = {}
            for line in value:
                for term in line:
                    agent = agents[term]
                    for cls in agent.classes:
                        by_class.setdefault(cls, set()).add(agent.molecule)
            for path, cls in class_paths:
                out[path] = len(by_class.get(cls, ()))
    return out
