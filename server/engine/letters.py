"""What a reviewer needs beside the outcome: requests for information, the values that
failed a denial, the dose ceiling of an approval, and what the version relied on.

Built only for the decision kind that needs it (a pend's or deny's requests for
information, a deny's failed values, an approval's dose ceiling), from the trace the
decision path already made or from evaluators compiled once per version; the parts that
depend only on the version (its notes, the dose criterion's limits) are built once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping

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
from .language import CONNECTIVES, OPERATORS, Kleene, combine, given
from .model import Leaf, Node, PolicyVersion

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


class DoseCeilings:
    """For one section: the numbered criteria that read the dose, compiled once into
    functions that give a node's Kleene value together with the ceilings of its met
    branches, so an approval names the limit of the branch that was met (never that of a
    regimen not prescribed). Subtrees without a limit use the ordinary evaluator, and the
    DoseLimit values are built here, once per version."""

    def __init__(
        self,
        version: PolicyVersion,
        criteria: Iterable[Node],
        compile_node: Callable[[Node], Callable[[Facts], Kleene]],
    ) -> None:
        self._compile_node = compile_node
        dose_fact = version.dose_fact
        self.roots: tuple[_Ceilings, ...] = ()
        if dose_fact is not None:
            self.roots = tuple(self._compile(c, dose_fact) for c in criteria if _has_limit(c, dose_fact))

    def _compile(self, node: Node, dose_fact: str) -> _Ceilings:
        if not _has_limit(node, dose_fact):
            evaluate = self._compile_node(node)
            return lambda facts: (evaluate(facts), ())
        if isinstance(node, Leaf):
            path, test = node.fact, OPERATORS[node.op].bind(node.value)
            found = (DoseLimit(citation(node), node.fact, node.value - UPPER_BOUNDS[node.op]),)

            def leaf(facts: Facts) -> tuple[Kleene, tuple[DoseLimit, ...]]:
                v = facts.get(path)
                met = None if v is None else test(v)
                return met, found if met is True else ()

            return leaf
        children = tuple(self._compile(c, dose_fact) for c in node.children)
        settles = CONNECTIVES[node.mode].settles

        def group(facts: Facts) -> tuple[Kleene, tuple[DoseLimit, ...]]:
            # Every child, no short-circuit: each met branch of an any-of names its ceiling.
            results = [child(facts) for child in children]
            met = combine(settles, [given(r) for r, _ in results], None)
            if met is not True:
                return met, ()
            return met, tuple(limit for r, limits in results if r is True for limit in limits)

        return group

    def applied(self, facts: Facts) -> tuple[DoseLimit, ...]:
        out: tuple[DoseLimit, ...] = ()
        for root in self.roots:
            met, limits = root(facts)
            if met is True:
                out += limits
        return out


_Ceilings = Callable[[Facts], tuple[Kleene, tuple[DoseLimit, ...]]]


def _has_limit(node: Node, dose_fact: str) -> bool:
    if isinstance(node, Leaf):
        return _is_limit(node, dose_fact)
    return any(_has_limit(c, dose_fact) for c in node.children)


def _is_limit(leaf: Leaf, dose_fact: str) -> bool:
    return leaf.base_fact == dose_fact and leaf.op in UPPER_BOUNDS and isinstance(leaf.value, int)
