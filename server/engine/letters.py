"""What a reviewer needs beside the outcome: requests for information, the values that
failed a denial, the dose ceiling of an approval, and what the version relied on.

Built only for the decision kind that needs it (a pend's or deny's requests for
information, a deny's failed values, an approval's dose ceiling), from the trace the
decision path already made or from evaluators compiled once per version; the parts that
depend only on the version (its notes, the dose criterion's limits) are built once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping

import attrs
from rxpolicy.decisions import (
    Alternative,
    Citation,
    DoseLimit,
    InformationRequest,
    Question,
    SubmittedValue,
    TraceNode,
    VersionNotes,
)

from .facts import Facts
from .language import Kleene
from .model import Group, Leaf, Node, PolicyVersion

UPPER_BOUNDS = {"le": 0, "lt": 1}  # operator -> what to subtract from the value for "at most"


def citation(node: Node) -> Citation:
    return Citation(node.key, node.cite, node.text, node.gloss)


def trace_citation(node: TraceNode) -> Citation:
    return Citation(node.key, node.cite, node.text, node.gloss)


def version_notes(version: PolicyVersion) -> VersionNotes:
    m = version.meta
    return VersionNotes(m.title, m.pt_approval, m.unmodelled, m.assumptions)


# ------------------------------------------------------------------ requests for information


def _unknown_facts(t: TraceNode) -> list[str]:
    """Facts an unknown trace node reads, through unknown children only."""
    out: list[str] = []

    def walk(n: TraceNode) -> None:
        if n.result is not None:
            return
        if n.fact is not None:
            base = n.fact.split(".", 1)[0]
            if base not in out:
                out.append(base)
            return
        for child in n.children:
            walk(child)

    walk(t)
    return out


def _alternatives(node: Node, t: TraceNode) -> list[tuple[Node, list[str]]]:
    """The ways an unknown criterion can still be met, each with the facts it needs: each
    unknown branch of an any-of; the one unknown child of an all-of, looked into; else
    the criterion itself with every fact its unknown children read."""
    if isinstance(node, Leaf):
        return [(node, [node.base_fact])]
    unknown = [(c, tc) for c, tc in zip(node.children, t.children, strict=True) if tc.result is None]
    if node.mode == "any":
        return [(c, _unknown_facts(tc)) for c, tc in unknown]
    if len(unknown) == 1:
        return _alternatives(*unknown[0])
    return [(node, _unknown_facts(t))]


def information_requests(
    pairs: Iterable[tuple[Node, TraceNode]],
    relevant: Collection[str] | None = None,
    named: Iterable[Citation] | None = None,
    cite_of: Callable[[Node], Citation] = citation,
) -> tuple[InformationRequest, ...]:
    """Per unknown criterion (node and its trace), its alternatives. With ``relevant``
    (the decision's ``missing``), only those facts are asked for, so the grouped view
    never asks for a fact the flat list leaves out. ``named`` gives each criterion's
    citation where it is not the node's own (a referral rule and its condition)."""
    out = []
    pairs = list(pairs)
    names = list(named) if named is not None else [cite_of(node) for node, _ in pairs]
    for (node, t), name in zip(pairs, names, strict=True):
        one_of = []
        for alt, facts in _alternatives(node, t):
            kept = tuple(f for f in facts if relevant is None or f in relevant)
            if kept:
                one_of.append(Alternative(cite_of(alt), kept))
        if one_of:
            out.append(InformationRequest(name, tuple(one_of)))
    return tuple(out)


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


def submitted_values(t: TraceNode) -> tuple[SubmittedValue, ...]:
    """The values read by the leaves that make a false criterion false (the criterion
    itself, when it is a leaf)."""
    out: list[SubmittedValue] = []

    def walk(n: TraceNode) -> None:
        if n.result is not False:
            return
        if n.fact is not None:
            out.append(SubmittedValue(trace_citation(n), n.fact, n.observed))
            return
        for child in n.children:
            walk(child)

    walk(t)
    return tuple(out)


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
            if all(guard(facts) is True for guard in unit.guards):
                out.extend(limit for met, limit in unit.limits if unit.all_of or met(facts) is True)
        return tuple(out)


def _is_limit(leaf: Leaf, dose_fact: str) -> bool:
    return leaf.base_fact == dose_fact and leaf.op in UPPER_BOUNDS and isinstance(leaf.value, int)
