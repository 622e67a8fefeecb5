"""Value classes of a fact: one witness value for every way the criteria can see it.

The criteria read a fact through leaves (``member_age >= 18``, ``doses.weekly_mg <= 100``,
``combination is exactly bortezomib + dexamethasone``). Two values that give every leaf
over the fact the same truth value are interchangeable for every decision of the version,
so a case split over a fact needs one value per class, not every value. The classes are
built from values a request can really have, and each witness's truth values are computed
from the value itself, so tests over the same fact stay as correlated as they are in a
request: ``weekly mg <= 100`` true with ``weekly mg <= 160`` false is never a class, nor a
weekly dose below the largest single dose.

A witness is a patch of normalised facts: the fact's value and every derived measure of it
that the version reads (``doses.weekly_mg`` ...), as ``normalise`` would have stored them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from .facts import MAX_AGENTS_PER_LINE, MAX_TABLETS_PER_DOSE, NormalisationPlan
from .language import OPERATORS, Test
from .model import FactSpec, Leaf, PolicyVersion

Patch = tuple[tuple[str, Any], ...]  # (fact path, normalised value), the fact itself first


def leaves_over(version: PolicyVersion) -> dict[str, list[Leaf]]:
    """Every leaf of the version (criteria and referral rules), by the fact it reads."""
    out: dict[str, list[Leaf]] = {}
    for node in version.nodes().values():
        if isinstance(node, Leaf):
            out.setdefault(node.base_fact, []).append(node)
    return out


def fact_classes(
    version: PolicyVersion, plan: NormalisationPlan, name: str, leaves: Sequence[Leaf]
) -> tuple[Patch, ...]:
    """One witness patch per class of values of fact ``name`` (empty when no leaf reads it
    or its type has no values a criterion can compare)."""
    spec = version.facts.get(name)
    if spec is None or not leaves:
        return ()
    tests: list[tuple[str, Test]] = [(leaf.fact, OPERATORS[leaf.op].bind(leaf.value)) for leaf in leaves]
    derived = [d for d in plan.derived if d.fact == name]
    # The leaves read the value itself or its measures: a candidate whose readings were
    # all met before (most dose schedules share their weekly totals) is of a known class.
    read_itself = any(path == name for path, _ in tests)
    readings: set[tuple[Any, ...]] = set()
    seen: set[tuple[bool, ...]] = set()
    out: list[Patch] = []
    for value in _candidates(version, spec, leaves):
        # The measures as the plan bound them, once (binding one builds its lookup tables).
        measures = tuple([d.compute(value) for d in derived])
        reading = (value, *measures) if read_itself else measures
        if reading in readings:
            continue
        readings.add(reading)
        patch: Patch = ((name, value), *zip([d.path for d in derived], measures, strict=True))
        paths = dict(patch)
        pattern = tuple([test(paths[path]) for path, test in tests])
        if pattern not in seen:
            seen.add(pattern)
            out.append(patch)
    return tuple(out)


def _constants(leaves: Iterable[Leaf], path: str) -> set[int]:
    return {
        leaf.value
        for leaf in leaves
        if leaf.fact == path and isinstance(leaf.value, int) and not isinstance(leaf.value, bool)
    }


def _around(constants: Iterable[int], low: int, high: int | None) -> list[int]:
    """Each constant and its neighbours, and the ends of the range: every side of every
    comparison with an integer."""
    values = {low, *(c + d for c in constants for d in (-1, 0, 1))}
    if high is not None:
        values.add(high)
    return sorted(v for v in values if v >= low and (high is None or v <= high))


def _candidates(version: PolicyVersion, spec: FactSpec, leaves: Sequence[Leaf]) -> Iterable[Any]:
    kind = spec.type
    if kind == "bool":
        return (True, False)
    if kind == "enum":
        return spec.values
    if kind == "int":
        low = spec.minimum if spec.minimum is not None else 0
        return _around(_constants(leaves, spec.name), low, spec.maximum)
    if kind == "terms":
        return _term_sets(version, spec, leaves)
    if kind == "lines":
        return _lines(version, spec, leaves)
    if kind == "doses":
        return _doses(version, spec, leaves)
    return ()  # dates: no criterion compares one


def _term_sets(version: PolicyVersion, spec: FactSpec, leaves: Sequence[Leaf]) -> list[frozenset[str]]:
    # A set leaf asks "is it exactly one of these sets": the sets named, and any set named by
    # no leaf (the empty set, or one agent), are all the classes there are.
    named = [frozenset(group) for leaf in leaves for group in leaf.value]
    others = [frozenset(), *(frozenset({term}) for term in version.agents)]
    limit = spec.max_items
    return [s for s in (*named, *others) if limit is None or len(s) <= limit]


def _lines(
    version: PolicyVersion, spec: FactSpec, leaves: Sequence[Leaf]
) -> Iterator[tuple[tuple[str, ...], ...]]:
    """Prior lines: a number of lines and, per class a criterion counts, a number of distinct
    molecules of that class spread over them."""
    prefix = f"{spec.name}.molecules_in_class."
    counted = sorted({leaf.fact[len(prefix) :] for leaf in leaves if leaf.fact.startswith(prefix)})
    count_constants = _constants(leaves, f"{spec.name}.count")
    most = spec.max_items if spec.max_items is not None else max([*count_constants, 0]) + 2
    line_counts = _around(count_constants, 0, most)
    # One agent per molecule of each counted class, preferring agents in no other counted class.
    reps: dict[str, list[str]] = {}
    for cls in counted:
        by_molecule: dict[str, str] = {}
        for term, agent in sorted(
            version.agents.items(), key=lambda kv: len(set(kv[1].classes) & set(counted))
        ):
            if cls in agent.classes:
                by_molecule.setdefault(agent.molecule, term)
        reps[cls] = list(by_molecule.values())
    neutral = next(
        (term for term, agent in version.agents.items() if not set(agent.classes) & set(counted)), None
    )
    per_class = [_around(_constants(leaves, prefix + cls), 0, len(reps[cls])) for cls in counted]
    for n in line_counts:
        for wanted in itertools.product(*per_class):
            if n == 0:
                if not any(wanted):
                    yield ()
                continue
            # ``wanted`` has one count per counted class (product over per_class).
            agents = [term for cls, k in zip(counted, wanted, strict=False) for term in reps[cls][:k]]
            if len(agents) > MAX_AGENTS_PER_LINE * n:
                continue
            lines = [tuple(agents[i::n]) for i in range(n)]
            # A line names at least one agent: a spare line names one that no criterion counts,
            # or the drug itself (dropped, yet the line counts), or repeats one already named.
            filler = (neutral,) if neutral else () if version.self_names else tuple(agents[:1])
            if not filler and not version.self_names:
                continue
            yield tuple(line or filler for line in lines)


def _doses(
    version: PolicyVersion, spec: FactSpec, leaves: Sequence[Leaf]
) -> Iterator[tuple[tuple[int, int], ...]]:
    """Dose schedules: every (days, largest tablets, weekly tablets) at one strength, which is
    all a single-strength week can look like, and weeks with one day at another strength."""
    strengths = sorted(version.strengths_mg)
    if not strengths:
        return
    days_max = spec.max_items if spec.max_items is not None else 7
    needed = [2]
    for leaf in leaves:
        if isinstance(leaf.value, int) and not isinstance(leaf.value, bool):
            if leaf.fact.endswith("tablets"):
                needed.append(leaf.value + 1)
            elif leaf.fact.endswith("mg"):
                needed.append(math.ceil((leaf.value + 1) / strengths[0]))
            elif spec.max_items is None:
                days_max = max(days_max, leaf.value + 1)  # doses per week
    top = min(MAX_TABLETS_PER_DOSE, max(needed))
    for s in strengths:
        for days in range(1, days_max + 1):
            for largest in range(1, top + 1):
                for weekly in range(days - 1 + largest, days * largest + 1):
                    yield _spread(days, largest, weekly, s)
    for s1, s2 in itertools.permutations(strengths, 2):
        for days in range(2, days_max + 1):
            for t1 in range(1, top + 1):
                for t2 in range(1, top + 1):
                    yield ((t1, s1),) * (days - 1) + ((t2, s2),)


def _spread(days: int, largest: int, weekly: int, strength: int) -> tuple[tuple[int, int], ...]:
    """``days`` dosing days at one strength, ``weekly`` tablets in all, none above ``largest``."""
    rest = weekly - largest
    others = []
    for i in range(days - 1):
        left = days - 1 - i  # days still to fill, this one included
        take = min(largest, rest - (left - 1))
        others.append(take)
        rest -= take
    return tuple((t, strength) for t in (largest, *others))


class ValueClasses:
    """The witness patches of a version's facts, each fact's built on first use (a dose
    schedule's classes take thousands of candidate weeks, paid only by a pend that needs them)."""

    def __init__(self, version: PolicyVersion, plan: NormalisationPlan) -> None:
        self.version = version
        self.plan = plan
        self.leaves = leaves_over(version)
        self._built: dict[str, tuple[Patch, ...]] = {}

    def of(self, name: str) -> tuple[Patch, ...]:
        found = self._built.get(name)
        if found is None:
            found = fact_classes(self.version, self.plan, name, self.leaves.get(name, ()))
            self._built[name] = found
        return found
