"""What a reviewer needs beside the outcome, the parts that are not a walk of the compiled
criteria: questions and their sources, a pend's requests narrowed to what it still asks,
the dose ceiling of an approval, and what the version relied on. (The requests for
information and a denial's failed values walk the compiled criteria: evaluate.py.)

Built only for the decision kind that needs it, from evaluators compiled once per
version; the parts that depend only on the version (its notes, the dose criterion's
limits, the question table) are built once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping

import attrs
from rxpolicy.decisions import (
    Citation,
    DoseLimit,
    InformationRequest,
    Question,
    VersionNotes,
)

from .facts import Facts
from .language import Kleene
from .model import Group, Leaf, Node, PolicyVersion

UPPER_BOUNDS = {"le": 0, "lt": 1}  # operator -> what to subtract from the value for "at most"


def citation(node: Node) -> Citation:
    return Citation(node.key, node.cite, node.text, node.gloss)


def version_notes(version: PolicyVersion) -> VersionNotes:
    m = version.meta
    return VersionNotes(m.title, m.pt_approval, m.unmodelled, m.assumptions)


# ------------------------------------------------------------------ requests for information


def narrowed(
    requests: Iterable[InformationRequest], relevant: Collection[str]
) -> tuple[InformationRequest, ...]:
    """``requests`` asking only for the ``relevant`` facts (a pend the case split narrowed):
    an alternative left with no fact goes, and a criterion left with no alternative."""
    out = []
    for r in requests:
        one_of = []
        for alt in r.one_of:
            kept = tuple(f for f in alt.facts if f in relevant)
            if kept:
                one_of.append(attrs.evolve(alt, facts=kept))
        if one_of:
            out.append(attrs.evolve(r, one_of=tuple(one_of)))
    return tuple(out)


def question_table(version: PolicyVersion) -> dict[str, Question]:
    """Per declared fact, who can supply it and the question (from the policy's template;
    a fact it does not describe is asked of the prescriber in its own words). Built once
    per version."""
    table = {}
    for name, spec in version.facts.items():
        known = version.fact_sources.get(name)
        if known is not None:
            table[name] = Question(name, known.source, known.question)
        else:
            table[name] = Question(name, "prescriber", spec.text)
    return table


def questions(facts: Iterable[str], table: Mapping[str, Question]) -> tuple[Question, ...]:
    """Each fact once, with its question."""
    return tuple(table[f] if f in table else Question(f, "prescriber", f) for f in dict.fromkeys(facts))


def facts_of(requests: Iterable[InformationRequest]) -> list[str]:
    out: list[str] = []
    for r in requests:
        for alt in r.one_of:
            out.extend(f for f in alt.facts if f not in out)
    return out


# ------------------------------------------------------------------ denials


# ------------------------------------------------------------------ approvals


@attrs.frozen
class _LimitUnit:
    """A group with dose-limit leaves among its children (e.g. I.A.7.a.i: the BVd regimen,
    100 mg, 5 tablets), the evaluators that must all be met for its limits to apply (the
    group and every all-of above it), and its limits, built once."""

    guards: tuple[Callable[[Facts], Kleene], ...]
    limits: tuple[tuple[Callable[[Facts], Kleene], DoseLimit], ...]
    all_of: bool  # an all-of that is met has every limit met: no leaf needs checking


class DoseCeilings:
    """For one section: the ceilings an approval was granted under. Found statically, per
    version: each group holding dose-limit leaves in a numbered criterion that reads the
    dose. At approval, a unit applies when it and the all-of groups above it are met (so
    the limit of a regimen not prescribed is never named); the approved criterion itself
    is met already. A handful of compiled evaluator calls, no tree walk."""

    def __init__(
        self,
        version: PolicyVersion,
        criteria: Iterable[Node],
        compile_node: Callable[[Node], Callable[[Facts], Kleene]],
    ) -> None:
        units: list[_LimitUnit] = []
        dose_fact = version.dose_fact
        if dose_fact is not None:
            for criterion in criteria:
                if isinstance(criterion, Leaf) and _is_limit(criterion, dose_fact):
                    # A numbered criterion that is itself a limit: met whenever approved.
                    limit = DoseLimit(
                        citation(criterion), criterion.fact, criterion.value - UPPER_BOUNDS[criterion.op]
                    )
                    units.append(_LimitUnit((), ((compile_node(criterion), limit),), True))
                self._find(criterion, dose_fact, (), compile_node, units)
        self.units = tuple(units)

    def _find(
        self,
        node: Node,
        dose_fact: str,
        above: tuple[Group, ...],
        compile_node: Callable[[Node], Callable[[Facts], Kleene]],
        units: list[_LimitUnit],
    ) -> None:
        if isinstance(node, Leaf):
            return
        leaves = [c for c in node.children if isinstance(c, Leaf) and _is_limit(c, dose_fact)]
        if leaves:
            # The criterion itself (above[0]) is met when the approval is made.
            guards = tuple(compile_node(g) for g in (*above[1:], node) if g.mode == "all" or g is node)
            limits = tuple(
                (compile_node(leaf), DoseLimit(citation(leaf), leaf.fact, leaf.value - UPPER_BOUNDS[leaf.op]))
                for leaf in leaves
            )
            units.append(_LimitUnit(guards, limits, node.mode == "all"))
        for child in node.children:
            self._find(child, dose_fact, (*above, node), compile_node, units)

    def applied(self, facts: Facts) -> tuple[DoseLimit, ...]:
        out: list[DoseLimit] = []
        for unit in self.units:
            for guard in unit.guards:
                if guard(facts) is not True:
                    break
            else:
                for met, limit in unit.limits:
                    if unit.all_of or met(facts) is True:
                        out.append(limit)
        return tuple(out)


def _is_limit(leaf: Leaf, dose_fact: str) -> bool:
    return leaf.base_fact == dose_fact and leaf.op in UPPER_BOUNDS and isinstance(leaf.value, int)
