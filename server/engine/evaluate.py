"""Kleene three-valued evaluation of a version's criteria.

Each version is compiled once into closures (the fast path, no trace); the
explanation of a deny or pend, and the full trace on request, come from a
tree walk over the same nodes; both paths take their operators and their all-of / any-of
combinator from the language registry (language.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from .dates import approved_through
from .decision import (
    Approval,
    Citation,
    Decision,
    TraceNode,
    Unmet,
    VersionRef,
)
from .facts import Facts, NormalisationPlan, normalise
from .language import CONNECTIVES, OPERATORS, Kleene, combine, given
from .letters import (
    DoseCeilings,
    citation,
    facts_of,
    information_requests,
    question_table,
    questions,
    submitted_values,
    trace_citation,
    version_notes,
)
from .loading import REQUEST_TYPE, SERVICE_DATE
from .model import Indication, Leaf, Node, PolicyVersion, Referral, ReferralRule

Evaluator = Callable[[Facts], Kleene]


def leaf_test(leaf: Leaf) -> Callable[[Any], bool]:
    """The comparison a leaf makes, as a function of the (known) fact value."""
    try:
        operator = OPERATORS[leaf.op]
    except KeyError:
        raise ValueError(f"unknown operator {leaf.op!r}") from None
    return operator.bind(leaf.value)


def _compile(node: Node) -> Evaluator:
    if isinstance(node, Leaf):
        path, test = node.fact, leaf_test(node)

        def leaf_eval(facts: Facts) -> Kleene:
            v = facts.get(path)
            return None if v is None else test(v)

        return leaf_eval
    children = tuple(_compile(c) for c in node.children)
    # A partial is called from C: the group costs one Python frame, as a hand-written loop would.
    return functools.partial(combine, CONNECTIVES[node.mode].settles, children)


def trace(node: Node, facts: Facts) -> TraceNode:
    """Evaluate ``node`` and every node beneath it (no short-circuit), for explanations."""
    if isinstance(node, Leaf):
        v = facts.get(node.fact)
        result = None if v is None else leaf_test(node)(v)
        return TraceNode(node.key, node.cite, node.text, result, node.fact, _observed(v), gloss=node.gloss)
    kids = tuple(trace(c, facts) for c in node.children)
    combined = combine(CONNECTIVES[node.mode].settles, [given(k.result) for k in kids], None)
    return TraceNode(node.key, node.cite, node.text, combined, children=kids, gloss=node.gloss)


def _observed(v: Any) -> Any:
    if isinstance(v, frozenset):
        return sorted(v)
    return v


def missing_facts(node: TraceNode) -> list[str]:
    """Facts an unknown node reads: only through children that are themselves unknown,
    so an any-of already satisfied never asks for more."""
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

    walk(node)
    return out


def failed_leaves(node: TraceNode) -> list[Citation]:
    """The leaf criteria that make a false node false."""
    out: list[Citation] = []

    def walk(n: TraceNode) -> None:
        if n.result is not False:
            return
        if not n.children:
            out.append(trace_citation(n))
            return
        for child in n.children:
            walk(child)

    walk(node)
    return out


def _merge_missing(nodes: Iterable[TraceNode]) -> tuple[str, ...]:
    out: list[str] = []
    for node in nodes:
        for fact in missing_facts(node):
            if fact not in out:
                out.append(fact)
    return tuple(out)


@attrs.frozen
class _CompiledIndication:
    indication: Indication
    selector: Evaluator
    criteria: tuple[Evaluator, ...]  # one per numbered criterion (children of the root)
    dose_ceilings: DoseCeilings  # names the dose limits an approval was granted under


class CompiledVersion:
    """A version ready to decide: closures built once, derived measures it reads."""

    def __init__(self, version: PolicyVersion) -> None:
        self.version = version
        self.ref = VersionRef(
            version.policy_id,
            version.version,
            version.effective,
            version.content_hash,
            draft=not version.locked,
            recorded=version.meta.recorded,
            corrects=version.corrects,
        )
        self.measures = frozenset(
            node.fact for node in version.nodes().values() if isinstance(node, Leaf) and "." in node.fact
        )
        self.plan = NormalisationPlan.of(version, self.measures)
        self.about = version_notes(version)  # the same for every decision of this version
        self.questions = question_table(version)
        citations = {key: citation(node) for key, node in version.nodes().items()}
        self.citation: Callable[[Node], Citation] = lambda node: citations[node.key]
        self.by_request_type: dict[str, list[_CompiledIndication]] = {}
        for ind in version.indications:
            compiled = _CompiledIndication(
                ind,
                _compile(ind.applies_to),
                tuple(_compile(c) for c in ind.criteria.children),
                DoseCeilings(version, ind.criteria.children, _compile),
            )
            for rt in ind.request_types:
                self.by_request_type.setdefault(rt, []).append(compiled)
        self.referrals: dict[str, Referral] = {}
        for referral in version.referrals:
            for rt in referral.request_types:
                self.referrals.setdefault(rt, referral)
        self.rule_evaluators = {
            rule.key: _compile(rule.when) if rule.when is not None else None
            for referral in version.referrals
            for rule in referral.rules
        }

    def normalise(self, raw: Mapping[str, Any], given: Mapping[str, Any] | None = None) -> Facts:
        """The request's facts under this version, with the measures its criteria read."""
        return normalise(self.version, raw, self.plan, given)

    def decide(self, facts: Facts, *, with_trace: bool = False) -> Decision:
        request_type = facts[REQUEST_TYPE]
        candidates = self.by_request_type.get(request_type, [])
        unknown: list[_CompiledIndication] = []
        for candidate in candidates:
            selected = candidate.selector(facts)
            if selected is True:
                return self._decide_indication(candidate, facts, with_trace)
            if selected is None:
                unknown.append(candidate)
        if unknown:
            # The indication cannot be chosen (typically: diagnosis unknown).
            traces = [trace(c.indication.applies_to, facts) for c in unknown]
            missing = _merge_missing(traces)
            return self._pend(
                None,
                missing,
                [(c.indication.applies_to, t) for c, t in zip(unknown, traces, strict=True)],
                tuple(traces) if with_trace else None,
            )
        return self._refer(request_type, facts, with_trace)

    def _decide_indication(self, ci: _CompiledIndication, facts: Facts, with_trace: bool) -> Decision:
        ind = ci.indication
        section = Citation(ind.key, ind.cite, ind.title)
        results = [evaluate(facts) for evaluate in ci.criteria]
        full_trace = (trace(ind.criteria, facts),) if with_trace else None
        if False in results:
            unmet = []
            for node, result in zip(ind.criteria.children, results, strict=True):
                if result is False:
                    failed = trace(node, facts)
                    because = failed_leaves(failed)
                    because_other = tuple(c for c in because if c.key != node.key)
                    unmet.append(Unmet(self.citation(node), because_other, submitted_values(failed)))
            # The criteria still unknown, with what would settle them, so an appeal can
            # answer every open question at once.
            still_unknown = information_requests(self._unknown(ind, results, facts), cite_of=self.citation)
            return Decision(
                "deny",
                self.ref,
                section,
                unmet=tuple(unmet),
                trace=full_trace,
                unknown=still_unknown,
                questions=questions(facts_of(still_unknown), self.questions),
                notes=self.about.notes,
                about=self.about,
            )
        if None in results:
            pairs = self._unknown(ind, results, facts)
            return self._pend(section, _merge_missing(t for _, t in pairs), pairs, full_trace)
        return Decision(
            "approve",
            self.ref,
            section,
            approval=self._approval(ci, facts),
            notes=self.about.notes,  # what this version says but the engine cannot model
            trace=full_trace,
            about=self.about,
        )

    def _unknown(self, ind: Indication, results: list[Kleene], facts: Facts) -> list[tuple[Node, TraceNode]]:
        return [
            (node, trace(node, facts))
            for node, result in zip(ind.criteria.children, results, strict=True)
            if result is None
        ]

    def _pend(
        self,
        section: Citation | None,
        missing: tuple[str, ...],
        unknown: list[tuple[Node, TraceNode]],
        full_trace: tuple[TraceNode, ...] | None,
    ) -> Decision:
        """A pend: the flat ``missing`` list, and beside it the same facts grouped by the
        unknown criterion that needs them, with the question for each."""
        return Decision(
            "pend",
            self.ref,
            section,
            missing=missing,
            trace=full_trace,
            unknown=information_requests(unknown, missing, cite_of=self.citation),
            questions=questions(missing, self.questions),
            notes=self.about.notes,
            about=self.about,
        )

    def _approval(self, ci: _CompiledIndication, facts: Facts) -> Approval:
        ind = ci.indication
        first_day = facts[SERVICE_DATE]
        limits = ci.dose_ceilings.applied(facts)
        duration = ind.durations[facts[ind.durations_keyed_by]]
        if duration.length_of_benefit or duration.months is None:
            return Approval(None, True, None, first_day, limits)
        months = duration.months
        if duration.at_most_fact is not None:
            asked = facts.get(duration.at_most_fact)
            if asked is not None and asked < months:
                months = asked
        return Approval(months, False, approved_through(first_day, months), first_day, limits)

    def _refer(self, request_type: str, facts: Facts, with_trace: bool) -> Decision:
        referral = self.referrals[request_type]  # the loader ensures every request type has one
        section = Citation(referral.key, referral.cite, referral.text)
        key_value = facts[referral.keyed_by]
        possible = []  # rules that may apply, in order, up to the first that surely does
        unknown_traces: list[TraceNode] = []
        unknown_rules: list[ReferralRule] = []
        all_traces: list[TraceNode] = []
        for rule in referral.rules:
            evaluate = self.rule_evaluators[rule.key]
            result = True if evaluate is None else evaluate(facts)
            if with_trace and rule.when is not None:
                all_traces.append(trace(rule.when, facts))
            if result is False:
                continue
            possible.append(rule)
            if result is True:
                break
            assert rule.when is not None
            unknown_traces.append(trace(rule.when, facts))
            unknown_rules.append(rule)
        full_trace = tuple(all_traces) if with_trace else None
        if not possible:
            # No rule applies: nothing in the policy covers the request, so it is not met.
            return Decision(
                "deny",
                self.ref,
                section,
                unmet=(Unmet(Citation(referral.key, referral.cite, referral.text)),),
                trace=full_trace,
                notes=self.about.notes,
                about=self.about,
            )
        targets = {rule.refer_to[key_value] for rule in possible}
        if len(targets) == 1:
            # Every rule that could still apply names the same policy: refer now.
            return Decision(
                "refer",
                self.ref,
                section,
                refer_to=targets.pop(),
                referral=tuple(_rule_citation(r) for r in possible),
                trace=full_trace,
                notes=self.about.notes,
                about=self.about,
            )
        missing = _merge_missing(unknown_traces)
        return Decision(
            "pend",
            self.ref,
            section,
            missing=missing,
            trace=full_trace,
            unknown=information_requests(
                [
                    (r.when, t)
                    for r, t in zip(unknown_rules, unknown_traces, strict=True)
                    if r.when is not None
                ],
                missing,
                [_rule_citation(r) for r in unknown_rules],
            ),
            questions=questions(missing, self.questions),
            notes=self.about.notes,
            about=self.about,
        )


def _rule_citation(rule: ReferralRule) -> Citation:
    return Citation(rule.key, rule.cite, rule.text, rule.gloss)
