"""The z3 form of every entry of the policy language (engine/language.py), by its name.

The engine core defines each connective, operator and derived measure once, with its
concrete function; z3 stays out of the core, so its symbolic forms live here, in tables
keyed by the registry's names. tests/test_language.py checks that every registry entry has
a form here and that both give the same truth value on sample values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import attrs
import z3  # type: ignore[import-untyped]

from ...engine.language import Measure
from ...engine.model import Mode


class EncodingError(Exception):
    """A policy uses something the symbolic space cannot represent (a bug to fix here)."""


# ------------------------------------------------------------------ connectives


@attrs.frozen
class Kleene:
    """A three-valued result: ``t`` surely true, ``f`` surely false, neither: unknown."""

    t: Any
    f: Any

    def same_as(self, other: Kleene) -> Any:
        return z3.And(self.t == other.t, self.f == other.f)


TRUE = Kleene(z3.BoolVal(True), z3.BoolVal(False))
FALSE = Kleene(z3.BoolVal(False), z3.BoolVal(True))


def _all(values: Sequence[Kleene]) -> Kleene:
    return Kleene(z3.And([v.t for v in values] or [True]), z3.Or([v.f for v in values] or [False]))


def _any(values: Sequence[Kleene]) -> Kleene:
    return Kleene(z3.Or([v.t for v in values] or [False]), z3.And([v.f for v in values] or [True]))


CONNECTIVE_FORMS: Mapping[Mode, Callable[[Sequence[Kleene]], Kleene]] = {"all": _all, "any": _any}


# ------------------------------------------------------------------ operators


class Operand(Protocol):
    """What a leaf compares, as z3 terms (a fact of the request space, or a measure of one)."""

    def is_one_of(self, values: Iterable[Any]) -> Any:
        """The value equals one of ``values`` (criterion values, as normalised by the loader)."""

    def is_none_of(self, values: Iterable[Any]) -> Any:
        """The value equals none of ``values``."""

    def number(self) -> Any:
        """The value as a z3 integer (EncodingError when it is not a number)."""


OPERATOR_FORMS: Mapping[str, Callable[[Operand, Any], Any]] = {
    "eq": lambda x, c: x.is_one_of([c]),
    "ne": lambda x, c: x.is_none_of([c]),
    "lt": lambda x, c: x.number() < c,
    "le": lambda x, c: x.number() <= c,
    "gt": lambda x, c: x.number() > c,
    "ge": lambda x, c: x.number() >= c,
    "in": lambda x, c: x.is_one_of(c),
    "not_in": lambda x, c: x.is_none_of(c),
    "set_equals_any": lambda x, c: x.is_one_of(c),
    "set_not_equals_any": lambda x, c: x.is_none_of(c),
}


def operator_form(name: str) -> Callable[[Operand, Any], Any]:
    try:
        return OPERATOR_FORMS[name]
    except KeyError:
        raise EncodingError(f"operator {name} has no z3 form") from None


# ------------------------------------------------------------------ derived measures


def _sum(terms: Sequence[Any]) -> Any:
    return z3.Sum(list(terms)) if terms else z3.IntVal(0)


def _total(used: Sequence[Any], quantity: Callable[[int], Any]) -> Any:
    return _sum([z3.If(u, quantity(i), 0) for i, u in enumerate(used)])


def _largest(used: Sequence[Any], quantity: Callable[[int], Any]) -> Any:
    values = [quantity(i) for i in range(len(used))]
    best = values[0]  # slot 0 is used whenever the fact is present
    for u, v in zip(used[1:], values[1:], strict=True):
        best = z3.If(z3.And(u, v > best), v, best)
    return best


class DoseSlots(Protocol):
    """Dosing days as z3 terms: which slots are used, and each slot's tablets and mg."""

    used: list[Any]
    tablets: list[Any]

    def mg(self, i: int) -> Any: ...


class PriorLines(Protocol):
    """Prior lines as z3 terms under one version."""

    lines: Any

    def molecules_in_class(self, side: int, cls: str) -> Any: ...


# A dose measure is an aggregate of a per-day quantity (language.DOSE_QUANTITIES, AGGREGATES).
DOSE_QUANTITY_FORMS: Mapping[str, Callable[[DoseSlots, int], Any]] = {
    "mg": lambda doses, i: doses.mg(i),
    "tablets": lambda doses, i: doses.tablets[i],
    "days": lambda _doses, _i: 1,
}
# An aggregate over the used slots of a quantity of slot i.
AGGREGATE_FORMS: Mapping[str, Callable[[Sequence[Any], Callable[[int], Any]], Any]] = {
    "sum": _total,
    "max": _largest,
}
LINE_MEASURE_FORMS: Mapping[str, Callable[[PriorLines, int, str], Any]] = {
    "count": lambda lines, _side, _argument: lines.lines,
    "molecules_in_class": lambda lines, side, cls: lines.molecules_in_class(side, cls),
}


def dose_measure_form(measure: Measure) -> Callable[[DoseSlots], Any]:
    try:
        quantity = DOSE_QUANTITY_FORMS[measure.quantity or ""]
        aggregate = AGGREGATE_FORMS[measure.aggregate or ""]
    except KeyError:
        raise EncodingError(f"dose measure {measure.name} has no z3 form") from None

    def form(doses: DoseSlots) -> Any:
        return aggregate(doses.used, lambda i: quantity(doses, i))

    return form


def line_measure_form(measure: Measure) -> Callable[[PriorLines, int, str], Any]:
    try:
        return LINE_MEASURE_FORMS[measure.name]
    except KeyError:
        raise EncodingError(f"measure {measure.name} of prior lines has no z3 form") from None
