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
from .loading import REQUEST_TYPE, SERVICE_DATE
from .minimal_pends import FactsRead, MinimalPends
from .model import Indication, Leaf, Node, PolicyVersion, Referral
from .value_classes import ValueClasses

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
        return TraceNode(node.key, node.cite, node.text, result, node.fact, _observed(v))
    kids = tuple(trace(c, facts) for c in node.children)
    combined = combine(CONNECTIVES[node.mode].settles, [given(k.result) for k in kids], None)
    return TraceNode(node.key, node.cite, node.text, combined, children=kids)


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
            out.append(Citation(n.key, n.cite, n.text))
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
        self.by_request_type: dict[str, list[_CompiledIndication]] = {}
        for ind in version.indications:
            compiled = _CompiledIndication(
                ind, _compile(ind.applies_to), tuple(_compile(c) for c in ind.criteria.children)
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

    # ---- minimal pends (minimal_pends.py): the case split runs only when Kleene pends
    def decide(self, facts: Facts, *, with_trace: bool = False) -> Decision:
        decision = self.decide_kleene(facts, with_trace=with_trace)
        if decision.outcome != "pend":
            return decision
        return self.minimal_pends.settle(facts, decision)

    @functools.cached_property
    def minimal_pends(self) -> MinimalPends:
        return MinimalPends(
            ValueClasses(self.version, self.plan), functools.partial(self.decide_kleene, explain=False)
        )

    @functools.cached_property
    def reads(self) -> FactsRead:
        return FactsRead(self.version)

    # ---- end minimal pends

    def decide_kleene(self, facts: Facts, *, with_trace: bool = False, explain: bool = True) -> Decision:
        """The fast path: Kleene evaluation, which may pend where a case split would not.
        ``explain=False`` (the case split's branches): a pend's ``missing`` is every unknown
        fact its unknown criteria read anywhere, without the trace walk that narrows it."""
        request_type = facts[REQUEST_TYPE]
        candidates = self.by_request_type.get(request_type, [])
        unknown: list[_CompiledIndication] = []
        for candidate in candidates:
            selected = candidate.selector(facts)
            if selected is True:
                return self._decide_indication(candidate, facts, with_trace, explain)
            if selected is None:
                unknown.append(candidate)
        if unknown:
            # The indication cannot be chosen (typically: diagnosis unknown).
            if not explain:
                return Decision(
                    "pend",
                    self.ref,
                    missing=self.reads.unknown(facts, [c.indication.applies_to for c in unknown]),
                )
            traces = [trace(c.indication.applies_to, facts) for c in unknown]
            return Decision(
                "pend",
                self.ref,
                missing=_merge_missing(traces),
                trace=tuple(traces) if with_trace else None,
            )
        return self._refer(request_type, facts, with_trace, explain)

    def _decide_indication(
        self, ci: _CompiledIndication, facts: Facts, with_trace: bool, explain: bool = True
    ) -> Decision:
        ind = ci.indication
        citation = Citation(ind.key, ind.cite, ind.title)
        results = [evaluate(facts) for evaluate in ci.criteria]
        full_trace = (trace(ind.criteria, facts),) if with_trace else None
        if False in results:
            unmet = []
            for node, result in zip(ind.criteria.children, results, strict=True):
                if result is False:
                    because = failed_leaves(trace(node, facts))
                    because_other = tuple(c for c in because if c.key != node.key)
                    unmet.append(Unmet(Citation(node.key, node.cite, node.text), because_other))
            return Decision("deny", self.ref, citation, unmet=tuple(unmet), trace=full_trace)
        if None in results:
            if not explain:
                open_criteria = [n for n, r in zip(ind.criteria.children, results, strict=True) if r is None]
                return Decision("pend", self.ref, citation, missing=self.reads.unknown(facts, open_criteria))
            unknown_nodes = [
                trace(node, facts)
                for node, result in zip(ind.criteria.children, results, strict=True)
                if result is None
            ]
            return Decision(
                "pend", self.ref, citation, missing=_merge_missing(unknown_nodes), trace=full_trace
            )
        return Decision(
            "approve",
            self.ref,
            citation,
            approval=self._approval(ind, facts),
            notes=self.version.meta.unmodelled,  # what this version says but the engine cannot model
            trace=full_trace,
        )

    def _approval(self, ind: Indication, facts: Facts) -> Approval:
        duration = ind.durations[facts[ind.durations_keyed_by]]
        if duration.length_of_benefit or duration.months is None:
            return Approval(None, True, None)
        months = duration.months
        if duration.at_most_fact is not None:
            asked = facts.get(duration.at_most_fact)
            if asked is not None and asked < months:
                months = asked
        return Approval(months, False, approved_through(facts[SERVICE_DATE], months))

    def _refer(self, request_type: str, facts: Facts, with_trace: bool, explain: bool = True) -> Decision:
        referral = self.referrals[request_type]  # the loader ensures every request type has one
        section = Citation(referral.key, referral.cite, referral.text)
        key_value = facts[referral.keyed_by]
        possible = []  # rules that may apply, in order, up to the first that surely does
        unknown_traces: list[TraceNode] = []
        unknown_rules: list[Node] = []
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
            if explain:
                unknown_traces.append(trace(rule.when, facts))
            else:
                unknown_rules.append(rule.when)
        full_trace = tuple(all_traces) if with_trace else None
        if not possible:
            # No rule applies: nothing in the policy covers the request, so it is not met.
            return Decision(
                "deny",
                self.ref,
                section,
                unmet=(Unmet(Citation(referral.key, referral.cite, referral.text)),),
                trace=full_trace,
            )
        targets = {rule.refer_to[key_value] for rule in possible}
        if len(targets) == 1:
            # Every rule that could still apply names the same policy: refer now.
            return Decision(
                "refer",
                self.ref,
                section,
                refer_to=targets.pop(),
                referral=tuple(Citation(r.key, r.cite, r.text) for r in possible),
                trace=full_trace,
            )
        missing = _merge_missing(unknown_traces) if explain else self.reads.unknown(facts, unknown_rules)
        return Decision("pend", self.ref, section, missing=missing, trace=full_trace)
