"""The policy language, defined once: connectives, operators and derived measures.

A criterion is an all-of / any-of over children, or a leaf that compares a fact (or a
fixed derived measure of one) with a value through one of a small, closed set of
operators: no free code, no eval, so every leaf stays analysable. Each entry here says
what it applies to, its words for people and its concrete function. The loader, the
evaluator, the renderers and the JSON Schema read this registry; the semantic diff's z3
forms live in the analysis package (``analysis/semantic/forms.py``), looked up by the
names used here, and a test checks that every entry has one.

Adding an operator: one entry in OPERATORS plus its z3 form.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar

import attrs

from .model import Agent, FactSpec, FactType, Mode

Kleene = bool | None
ValueKind = Literal["int", "bool", "enum", "set"]
Test = Callable[[Any], bool]
Arg = TypeVar("Arg")

KIND_WORDS: Mapping[ValueKind, str] = {
    "int": "a number",
    "bool": "a yes/no fact",
    "enum": "a term",
    "set": "a list of agents",
}
# The kind of value a fact has when a criterion compares it directly (no measure).
DIRECT_KINDS: Mapping[FactType, ValueKind] = {"int": "int", "bool": "bool", "enum": "enum", "terms": "set"}


# ------------------------------------------------------------------ connectives


@attrs.frozen
class Connective:
    """All-of or any-of, Kleene three-valued: ``settles`` is the child value that decides
    the group on its own (False for all-of, True for any-of); otherwise the group is
    unknown if any child is, else the opposite of ``settles``."""

    mode: Mode
    settles: bool
    words: str


CONNECTIVES: Mapping[Mode, Connective] = {
    "all": Connective("all", False, "all of"),
    "any": Connective("any", True, "any of"),
}


# A child of a group as the combinator reads it: ``(fact, test)`` for a leaf (the fact's
# value is tested when the facts have one), ``(None, evaluate)`` for a group or a value
# already known (evaluated on the facts as a whole). A leaf read in place costs no Python
# frame of its own, and most children are leaves.
Child = tuple[str | None, Callable[[Any], Kleene]]


def combine(settles: bool, children: Iterable[Child], facts: Any) -> Kleene:
    """The Kleene value of a group: children read in order, stopping at the first that
    settles it. The compiled evaluator binds it (functools.partial) to a group's children;
    the trace and the case split pass values they have already evaluated (``combine_known``)."""
    unknown = False
    for fact, test in children:
        if fact is None:
            result = test(facts)
        else:
            value = facts.get(fact)
            if value is None:
                unknown = True
                continue
            result = test(value)
        if result is settles:
            return result
        if result is None:
            unknown = True
    return None if unknown else not settles


def _known_true(_arg: object) -> Kleene:
    return True


def _known_false(_arg: object) -> Kleene:
    return False


def _known_unknown(_arg: object) -> Kleene:
    return None


# Shared, not built per call: the trace asks for one per node.
_KNOWN: Mapping[Kleene, Child] = {
    True: (None, _known_true),
    False: (None, _known_false),
    None: (None, _known_unknown),
}


def combine_known(settles: bool, results: Iterable[Kleene]) -> Kleene:
    """The Kleene value of a group whose children's values are known already."""
    return combine(settles, [_KNOWN[r] for r in results], None)


# ------------------------------------------------------------------ operators


@attrs.frozen
class Operator:
    """``fact op value``. ``takes_list``: the value is a list of values of the fact's kind
    (membership); otherwise it is one such value. ``bind`` turns the criterion's
    (normalised) value into the test of a known fact value, built once per leaf."""

    name: str
    kinds: tuple[ValueKind, ...]
    takes_list: bool
    words: str
    bind: Callable[[Any], Test]

    def holds(self, fact_value: Any, criterion_value: Any) -> bool:
        return self.bind(criterion_value)(fact_value)


def _one_of(value: Any) -> Test:
    return frozenset(value).__contains__


def _none_of(value: Any) -> Test:
    members = frozenset(value)
    return lambda v: v not in members


def _compare(swapped: Callable[[Any, Any], bool], value: Any) -> Test:
    """``v OP value`` as ``value SWAPPED v`` (``v < 5`` is ``5 > v``), bound in C: a leaf's
    test costs no Python frame of its own."""
    return functools.partial(swapped, value)


_EQUALITY: tuple[ValueKind, ...] = ("int", "bool", "enum")

OPERATORS: Mapping[str, Operator] = {
    op.name: op
    for op in (
        Operator("eq", _EQUALITY, False, "=", functools.partial(_compare, operator.eq)),
        Operator("ne", _EQUALITY, False, "≠", functools.partial(_compare, operator.ne)),
        Operator("lt", ("int",), False, "<", functools.partial(_compare, operator.gt)),
        Operator("le", ("int",), False, "≤", functools.partial(_compare, operator.ge)),
        Operator("gt", ("int",), False, ">", functools.partial(_compare, operator.lt)),
        Operator("ge", ("int",), False, "≥", functools.partial(_compare, operator.le)),
        Operator("in", ("enum",), True, "is one of", _one_of),
        Operator("not_in", ("enum",), True, "is none of", _none_of),
        Operator("set_equals_any", ("set",), True, "is exactly one of", _one_of),
        Operator("set_not_equals_any", ("set",), True, "is none of", _none_of),
    )
}


def operators_for(kind: ValueKind) -> tuple[str, ...]:
    return tuple(name for name, op in OPERATORS.items() if kind in op.kinds)


# ------------------------------------------------------------------ derived measures

Dose = tuple[int, int]  # (tablets, strength_mg) for one dosing day

# A dose measure is an aggregate over the dosing days of a per-day quantity; the z3 form
# builds the same two parts, so each dose measure is written once, as a pair of names.
# Each quantity maps the dosing days to their per-day values (in C: no frame per day).
DOSE_QUANTITIES: Mapping[str, Callable[[Sequence[Dose]], Iterable[int]]] = {
    "mg": functools.partial(itertools.starmap, operator.mul),
    "tablets": functools.partial(map, operator.itemgetter(0)),
    "days": lambda doses: itertools.repeat(1, len(doses)),
}
AGGREGATES: Mapping[str, Callable[[Iterable[int]], int]] = {"sum": sum, "max": max}

# A measure bound to its argument ('' when none) and the version's agents: the function
# of the normalised fact value, built once per compiled version.
Bind = Callable[[str, Mapping[str, Agent]], Callable[[Any], int]]


@attrs.frozen
class Measure:
    """``fact.name`` (or ``fact.name.<argument>``): an integer derived from a list fact.
    ``bind`` takes the argument ('' when none) and the version's agents and returns the
    function of the normalised fact value. Dose measures also name their aggregate and
    per-day quantity."""

    name: str
    of: FactType
    words: str
    bind: Bind
    argument: str | None = None  # what follows the name, in words ("class")
    kind: ValueKind = "int"
    aggregate: str | None = None
    quantity: str | None = None


def _dose_measure(name: str, aggregate: str, quantity: str, words: str) -> Measure:
    total, per_day = AGGREGATES[aggregate], DOSE_QUANTITIES[quantity]

    def bind(_argument: str, _agents: Mapping[str, Agent]) -> Callable[[Sequence[Dose]], int]:
        return lambda doses: total(per_day(doses))

    return Measure(name, "doses", words, bind, aggregate=aggregate, quantity=quantity)


def _line_count(_argument: str, _agents: Mapping[str, Agent]) -> Callable[[Sequence[Any]], int]:
    return len


def _molecules_in_class(cls: str, agents: Mapping[str, Agent]) -> Callable[[Sequence[Sequence[str]]], int]:
    # Distinct molecules across all lines: Darzalex then Darzalex Faspro is one anti-CD38 antibody.
    molecule = {term: agent.molecule for term, agent in agents.items() if cls in agent.classes}
    return lambda lines: len({molecule[term] for line in lines for term in line if term in molecule})


MEASURES: Mapping[tuple[FactType, str], Measure] = {
    (m.of, m.name): m
    for m in (
        _dose_measure("weekly_mg", "sum", "mg", "mg per week"),
        _dose_measure("weekly_tablets", "sum", "tablets", "tablets per week"),
        _dose_measure("per_week", "sum", "days", "doses per week"),
        _dose_measure("max_dose_mg", "max", "mg", "largest single dose in mg"),
        _dose_measure("max_dose_tablets", "max", "tablets", "largest single dose in tablets"),
        Measure("count", "lines", "number of prior lines", _line_count),
        Measure(
            "molecules_in_class",
            "lines",
            "distinct molecules of a class across prior lines",
            _molecules_in_class,
            argument="class",
        ),
    )
}


def measures_of(fact_type: str) -> tuple[Measure, ...]:
    return tuple(m for (of, _), m in MEASURES.items() if of == fact_type)


def find_measure(fact_type: str, path: str) -> tuple[Measure | None, str]:
    """The measure a reference ``name`` or ``name.argument`` names, and its argument."""
    name, _, argument = path.partition(".")
    for measure in measures_of(fact_type):
        if measure.name == name and (measure.argument is None) == (not argument):
            return measure, argument
    return None, ""


def _measure_list(spec: FactSpec) -> str:
    found = [m.name + (f".<{m.argument}>" if m.argument else "") for m in measures_of(spec.type)]
    return ", ".join(found) or "none"


def measure_kind(spec: FactSpec, path: str, agents: Mapping[str, Agent]) -> tuple[ValueKind | None, str]:
    """The kind of value ``spec.name.path`` has, or (None, why it is not a valid reference)."""
    if not path:
        kind = DIRECT_KINDS.get(spec.type)
        if kind is None:
            return None, f"a {spec.type} fact is compared through a measure ({_measure_list(spec)})"
        return kind, ""
    if not measures_of(spec.type):
        return None, f"a {spec.type} fact has no measure '{path}'"
    measure, argument = find_measure(spec.type, path)
    if measure is None:
        return None, f"'{path}' is not a measure of {spec.type} ({_measure_list(spec)})"
    if measure.argument == "class" and argument not in {c for a in agents.values() for c in a.classes}:
        return None, f"'{argument}' is not a class of any agent in the vocabulary"
    return measure.kind, ""
