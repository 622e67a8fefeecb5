"""Kleene three-valued evaluation of a version's criteria, and the decisions it reaches.

Each version is compiled once: its criteria into closures (the fast path, no trace) and
the decision procedure over them into one function per request type (route_code.py). The
explanation of a deny or pend, and the full trace on request, come from a tree walk over
the same nodes; both take their operators and their all-of / any-of combinator from the
language registry (language.py). ``_Outcomes`` builds each decision the procedure reaches.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
from rxpolicy.decisions import Alternative, InformationRequest, SubmittedValue

from . import procedure, route_code
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
from .language import CONNECTIVES, OPERATORS, Child, Kleene, combine, combine_known
from .letters import (
    DoseCeilings,
    facts_of,
    narrowed,
    question_table,
    questions,
    version_notes,
)
from .loading import REQUEST_TYPE, SERVICE_DATE
from .minimal_pends import MinimalPends
from .model import Group, Indication, Leaf, Node, PolicyVersion, Referral, ReferralRule
from .value_classes import ValueClasses

Evaluator = Callable[[Facts], Kleene]


def leaf_test(leaf: Leaf) -> Callable[[Any], bool]:
    """The comparison a leaf makes, as a function of the (known) fact value."""
    try:
        operator = OPERATORS[leaf.op]
    except KeyError:
        raise ValueError(f"unknown operator {leaf.op!r}") from None
    return operator.bind(leaf.value)


@attrs.frozen
class CompiledLeaf:
    """A leaf compiled once: its evaluator, its test and its citation, so neither a
    decision's explanation nor the trace rebuilds them. ``base_fact``: the request fact
    its path ("doses.weekly_mg") is read from."""

    node: Leaf
    evaluate: Evaluator
    citation: Citation
    test: Callable[[Any], bool]
    base_fact: str
    children: tuple[()] = ()


@attrs.frozen
class CompiledGroup:
    """An all-of / any-of compiled once, over its children compiled the same way."""

    node: Group
    evaluate: Evaluator
    citation: Citation
    children: tuple[CompiledNode, ...]


CompiledNode = CompiledLeaf | CompiledGroup


def compile_node(node: Node) -> CompiledNode:
    citation = Citation(node.key, node.cite, node.text, node.gloss)
    if isinstance(node, Leaf):
        path, test = node.fact, leaf_test(node)

        def leaf_eval(facts: Facts) -> Kleene:
            v = facts.get(path)
            return None if v is None else test(v)

        return CompiledLeaf(node, leaf_eval, citation, test, node.base_fact)
    children = tuple(compile_node(c) for c in node.children)
    # A partial is called from C: the group costs one Python frame, as a hand-written loop
    # would, and its leaves are read in that frame (no frame of their own).
    evaluate = functools.partial(combine, CONNECTIVES[node.mode].settles, tuple(_child(c) for c in children))
    return CompiledGroup(node, evaluate, citation, children)


def _child(c: CompiledNode) -> Child:
    return (c.node.fact, c.test) if isinstance(c, CompiledLeaf) else (None, c.evaluate)


def _compile(node: Node) -> Evaluator:
    return compile_node(node).evaluate


def trace(node: Node | CompiledNode, facts: Facts) -> TraceNode:
    """Evaluate ``node`` and every node beneath it (no short-circuit), for explanations."""
    return _trace(node if isinstance(node, CompiledLeaf | CompiledGroup) else compile_node(node), facts)


def _trace(c: CompiledNode, facts: Facts) -> TraceNode:
    node = c.node
    if isinstance(c, CompiledLeaf):
        v = facts.get(c.node.fact)
        result = None if v is None else c.test(v)
        return TraceNode(node.key, node.cite, node.text, result, c.node.fact, _observed(v), gloss=node.gloss)
    kids = tuple(_trace(child, facts) for child in c.children)
    combined = combine_known(CONNECTIVES[c.node.mode].settles, [k.result for k in kids])
    return TraceNode(node.key, node.cite, node.text, combined, children=kids, gloss=node.gloss)


def _observed(v: Any) -> Any:
    if isinstance(v, frozenset):
        return sorted(v)
    return v


def unknown_leaves(node: CompiledNode, facts: Facts, out: list[CompiledLeaf]) -> None:
    """Add to ``out`` (in order) the leaves through which an unknown ``node`` is unknown:
    only through children that are themselves unknown, so an any-of already satisfied
    adds none. Children are evaluated again rather than traced: no tree is built."""
    if isinstance(node, CompiledLeaf):
        out.append(node)
        return
    for child in node.children:
        if isinstance(child, CompiledLeaf):  # unknown exactly when its fact is absent
            if facts.get(child.node.fact) is None:
                out.append(child)
        elif child.evaluate(facts) is None:
            unknown_leaves(child, facts, out)


def missing_facts(node: CompiledNode, facts: Facts, out: list[str]) -> None:
    """Add to ``out`` (once each, in order) the facts an unknown ``node`` reads through
    its unknown leaves."""
    leaves: list[CompiledLeaf] = []
    unknown_leaves(node, facts, leaves)
    for leaf in leaves:
        if leaf.base_fact not in out:
            out.append(leaf.base_fact)


def failed_leaves(node: CompiledNode, facts: Facts, out: list[CompiledNode]) -> None:
    """Add to ``out`` the leaf criteria that make a false ``node`` false (a leaf, or an
    empty group, is its own reason)."""
    if not node.children:
        out.append(node)
        return
    for child in node.children:
        if isinstance(child, CompiledLeaf):  # false: its fact is known and fails the test
            value = facts.get(child.node.fact)
            if value is not None and not child.test(value):
                out.append(child)
        elif child.evaluate(facts) is False:
            failed_leaves(child, facts, out)


def _unknown_facts(node: CompiledNode, facts: Facts) -> list[str]:
    out: list[str] = []
    missing_facts(node, facts, out)
    return out


def _alternatives(node: CompiledNode, facts: Facts) -> list[tuple[CompiledNode, list[str]]]:
    """The ways an unknown criterion can still be met, each with the facts it needs: each
    unknown branch of an any-of; the one unknown child of an all-of, looked into; else
    the criterion itself with every fact its unknown children read."""
    if isinstance(node, CompiledLeaf):
        return [(node, [node.base_fact])]
    unknown = [child for child in node.children if child.evaluate(facts) is None]
    if node.node.mode == "any":
        return [(child, _unknown_facts(child, facts)) for child in unknown]
    if len(unknown) == 1:
        return _alternatives(unknown[0], facts)
    return [(node, _unknown_facts(node, facts))]


def _submitted(leaves: list[CompiledNode], facts: Facts) -> tuple[SubmittedValue, ...]:
    """The values the failed leaves read, as the request gave them (a denial letter's)."""
    return tuple(
        SubmittedValue(leaf.citation, leaf.node.fact, _observed(facts.get(leaf.node.fact)))
        for leaf in leaves
        if isinstance(leaf, CompiledLeaf)
    )


def _index(node: CompiledNode, out: dict[str, CompiledNode]) -> None:
    out[node.node.key] = node
    for child in node.children:
        _index(child, out)


@attrs.frozen
class _CompiledIndication:
    indication: Indication
    citation: Citation
    selector: CompiledNode
    root: CompiledGroup  # its children are the numbered criteria
    dose_ceilings: DoseCeilings  # names the dose limits an approval was granted under
    evaluators: tuple[Evaluator, ...] = attrs.field()  # of the numbered criteria, in order

    @evaluators.default
    def _evaluators(self) -> tuple[Evaluator, ...]:
        return tuple(c.evaluate for c in self.root.children)


@attrs.frozen
class _CompiledRule:
    rule: ReferralRule
    citation: Citation
    when: CompiledNode | None  # None: always applies


@attrs.frozen
class _CompiledReferral:
    referral: Referral
    citation: Citation
    rules: tuple[_CompiledRule, ...]

    def targets(self, facts: Facts, possible: Sequence[bool]) -> set[str]:
        """The policies the rules that may apply name, for the request's key value."""
        key_value = facts[self.referral.keyed_by]
        return {rule.rule.refer_to[key_value] for rule, p in zip(self.rules, possible, strict=False) if p}


def _compile_referral(referral: Referral) -> _CompiledReferral:
    rules = tuple(
        _CompiledRule(
            rule,
            Citation(rule.key, rule.cite, rule.text, rule.gloss),
            None if rule.when is None else compile_node(rule.when),
        )
        for rule in referral.rules
    )
    return _CompiledReferral(referral, Citation(referral.key, referral.cite, referral.text), rules)


class CompiledVersion:
    """A version ready to decide: every criterion compiled once (evaluator, explanation,
    citations), and the normalisation plan of the facts and measures it reads."""

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
        self._indications: dict[str, _CompiledIndication] = {}
        self._nodes: dict[str, CompiledNode] = {}
        routes = procedure.routes(version, self._compile_indication, _compile_referral)
        outcomes = functools.partial(_Outcomes, self)
        # Named by the content too: a draft edited and reloaded under the same semver
        # shows its own source in a traceback.
        label = f"{version.version} {version.content_hash.partition(':')[2][:12]}"
        self._deciders = {
            request_type: route_code.compile_route(route, _READS, outcomes, f"{label} {request_type}")
            for request_type, route in routes.items()
        }

    def _compile_indication(self, ind: Indication) -> _CompiledIndication:
        root = compile_node(ind.criteria)
        assert isinstance(root, CompiledGroup)
        compiled = _CompiledIndication(
            ind,
            Citation(ind.key, ind.cite, ind.title),
            compile_node(ind.applies_to),
            root,
            DoseCeilings(self.version, ind.criteria.children, _compile),
        )
        self._indications[ind.key] = compiled
        _index(root, self._nodes)
        return compiled

    def normalise(self, raw: Mapping[str, Any], given: Mapping[str, Any] | None = None) -> Facts:
        """The request's facts under this version, with the measures its criteria read."""
        return normalise(self.version, raw, self.plan, given)

    # ---- minimal pends (minimal_pends.py): the case split runs only when Kleene pends
    def decide(self, facts: Facts, *, with_trace: bool = False) -> Decision:
        decision = self.decide_kleene(facts, with_trace=with_trace)
        if decision.outcome != "pend":
            return decision
        settled = self.minimal_pends.settle(facts, decision)
        if settled is decision:
            return decision
        return self._explain_settled(facts, decision, settled)

    @functools.cached_property
    def minimal_pends(self) -> MinimalPends:
        return MinimalPends(
            ValueClasses(self.version, self.plan),
            functools.partial(self.decide_kleene, explain=False),
            self._open_leaves,
        )

    def _open_leaves(self, indication: str, facts: Facts) -> list[Leaf]:
        """The leaves through which the indication's numbered criteria are unknown."""
        leaves: list[CompiledLeaf] = []
        for criterion in self._indications[indication].root.children:
            if criterion.evaluate(facts) is None:
                unknown_leaves(criterion, facts, leaves)
        return [leaf.node for leaf in leaves]

    def _explain_settled(self, facts: Facts, pend: Decision, settled: Decision) -> Decision:
        """A decision the case split reached, explained from the request as sent: the
        split's branches filled in values the request never carried, and none of them
        may appear as submitted, nor shape the dose ceiling or the questions."""
        if settled.outcome == "pend":  # the same pend, asking for fewer facts
            return attrs.evolve(
                settled,
                unknown=narrowed(pend.unknown, settled.missing),
                questions=questions(settled.missing, self.questions),
            )
        if settled.outcome == "approve" and settled.approval is not None and settled.indication is not None:
            ci = self._indications[settled.indication.key]
            approval = attrs.evolve(settled.approval, dose_limits=ci.dose_ceilings.applied(facts))
            return attrs.evolve(settled, approval=approval)
        if settled.outcome == "deny":
            unmet = tuple(
                attrs.evolve(u, values=self._failed_values(u.criterion.key, facts)) for u in settled.unmet
            )
            failed = {u.criterion.key for u in unmet}
            still_unknown = tuple(r for r in pend.unknown if r.criterion.key not in failed)
            return attrs.evolve(
                settled,
                unmet=unmet,
                unknown=still_unknown,
                questions=questions(facts_of(still_unknown), self.questions),
                notes=self.about.notes,
                about=self.about,
            )
        return settled

    def _failed_values(self, key: str, facts: Facts) -> tuple[SubmittedValue, ...]:
        """The submitted values of the leaves under criterion ``key`` that are false. Not
        failed_leaves: under the request as sent the criterion may be unknown (the split
        found it false in every completion), so every false leaf under it counts, not only
        those beneath false groups."""
        node = self._nodes.get(key)
        if node is None:
            return ()
        out: list[SubmittedValue] = []
        stack: list[CompiledNode] = [node]
        while stack:
            c = stack.pop()
            if isinstance(c, CompiledLeaf):
                if c.evaluate(facts) is False:
                    out.append(SubmittedValue(c.citation, c.node.fact, _observed(facts.get(c.node.fact))))
            else:
                stack.extend(reversed(c.children))
        return tuple(out)

    # ---- end minimal pends

    def decide_kleene(self, facts: Facts, *, with_trace: bool = False, explain: bool = True) -> Decision:
        """The fast path: Kleene evaluation, which may pend where a case split would not.
        ``explain=False`` (the case split's branches): a pend or denial without the
        letters' parts (requests for information, questions, submitted values), an
        approval without its dose ceilings."""
        # The loader gives every request type a route.
        return self._deciders[facts[REQUEST_TYPE]](facts, with_trace, explain)

    def information_requests(
        self,
        criteria: list[CompiledNode],
        facts: Facts,
        missing: tuple[str, ...] | None = None,
        named: list[Citation] | None = None,
    ) -> tuple[InformationRequest, ...]:
        """Per unknown criterion, its alternatives, each with the facts it needs. With
        ``missing`` (a pend's), only those facts are asked for, so the grouped view never
        asks for a fact the flat list leaves out. ``named``: each criterion's citation
        where it is not the node's own (a referral rule and its condition)."""
        out = []
        names = named if named is not None else [c.citation for c in criteria]
        for criterion, name in zip(criteria, names, strict=True):
            one_of = []
            for alternative, needed in _alternatives(criterion, facts):
                kept = tuple(f for f in needed if missing is None or f in missing)
                if kept:
                    one_of.append(Alternative(alternative.citation, kept))
            if one_of:
                out.append(InformationRequest(name, tuple(one_of)))
        return tuple(out)

    def pend_decision(
        self,
        section: Citation | None,
        missing: tuple[str, ...],
        open_criteria: list[CompiledNode],
        facts: Facts,
        full_trace: tuple[TraceNode, ...] | None,
        named: list[Citation] | None = None,
    ) -> Decision:
        """A pend: the flat ``missing`` list, and beside it the same facts grouped by the
        unknown criterion that needs them, with the question for each."""
        return Decision(
            "pend",
            self.ref,
            section,
            missing=missing,
            trace=full_trace,
            unknown=self.information_requests(open_criteria, facts, missing, named),
            questions=questions(missing, self.questions),
            notes=self.about.notes,
            about=self.about,
        )


_READS: route_code.Reads[_CompiledIndication, _CompiledReferral] = route_code.Reads(
    selector=lambda ind: ind.selector.evaluate,
    criteria=lambda ind: ind.evaluators,
    rules=lambda referral: tuple(
        None if rule.when is None else rule.when.evaluate for rule in referral.rules
    ),
    targets=lambda referral: referral.targets,
)


class _Outcomes:
    """The decisions the compiled procedure (route_code.py) reaches for one concrete
    request, each built with its explanation.

    The values it is given come one per criterion or rule, by construction (route_code
    reads them from the same tuples), so its zips are not strict: a strict zip costs
    about 0.3 us, a tenth of a referral's decision."""

    __slots__ = ("compiled", "explain", "facts", "with_trace")

    def __init__(self, compiled: CompiledVersion, facts: Facts, with_trace: bool, explain: bool) -> None:
        self.compiled = compiled
        self.facts = facts
        self.with_trace = with_trace
        self.explain = explain

    # ---- outcomes
    def _full_trace(self, ci: _CompiledIndication) -> tuple[TraceNode, ...] | None:
        return (trace(ci.root, self.facts),) if self.with_trace else None

    def approve(self, indication: _CompiledIndication) -> Decision:
        about = self.compiled.about
        return Decision(
            "approve",
            self.compiled.ref,
            indication.citation,
            approval=self._approval(indication),
            notes=about.notes,  # what this version says but the engine cannot model
            trace=self._full_trace(indication),
            about=about,
        )

    def _approval(self, ci: _CompiledIndication) -> Approval:
        facts = self.facts
        ind = ci.indication
        first_day = facts[SERVICE_DATE]
        # A branch of the case split is compared by its outcome and duration only; the
        # decision it settles on has its ceilings named from the request as sent.
        limits = ci.dose_ceilings.applied(facts) if self.explain else ()
        duration = ind.durations[facts[ind.durations_keyed_by]]
        if procedure.for_length_of_benefit(duration):
            return Approval(None, True, None, first_day, limits)
        months = duration.months
        assert months is not None  # a month count, or the length of benefit above
        if duration.at_most_fact is not None:
            asked = facts.get(duration.at_most_fact)
            if asked is not None and asked < months:
                months = asked
        return Approval(months, False, approved_through(first_day, months), first_day, limits)

    def deny(self, indication: _CompiledIndication, criteria: Sequence[Kleene]) -> Decision:
        facts, compiled = self.facts, self.compiled
        unmet = []
        for criterion, result in zip(indication.root.children, criteria, strict=False):
            if result is False:
                because: list[CompiledNode] = []
                failed_leaves(criterion, facts, because)
                key = criterion.node.key
                unmet.append(
                    Unmet(
                        criterion.citation,
                        tuple([c.citation for c in because if c.node.key != key]),
                        _submitted(because, facts) if self.explain else (),
                    )
                )
        if not self.explain:
            return Decision("deny", compiled.ref, indication.citation, unmet=tuple(unmet))
        # The criteria still unknown, with what would settle them, so an appeal can
        # answer every open question at once.
        open_criteria = [
            c for c, result in zip(indication.root.children, criteria, strict=False) if result is None
        ]
        still_unknown = compiled.information_requests(open_criteria, facts)
        return Decision(
            "deny",
            compiled.ref,
            indication.citation,
            unmet=tuple(unmet),
            trace=self._full_trace(indication),
            unknown=still_unknown,
            questions=questions(facts_of(still_unknown), compiled.questions),
            notes=compiled.about.notes,
            about=compiled.about,
        )

    def pend(self, indication: _CompiledIndication, criteria: Sequence[Kleene]) -> Decision:
        facts = self.facts
        missing: list[str] = []
        open_criteria = []
        for criterion, result in zip(indication.root.children, criteria, strict=False):
            if result is None:
                missing_facts(criterion, facts, missing)
                open_criteria.append(criterion)
        if not self.explain:
            return Decision("pend", self.compiled.ref, indication.citation, missing=tuple(missing))
        return self.compiled.pend_decision(
            indication.citation, tuple(missing), open_criteria, facts, self._full_trace(indication)
        )

    def pend_selection(
        self, candidates: Sequence[_CompiledIndication], selectors: Sequence[Kleene]
    ) -> Decision:
        facts = self.facts
        unknown = [c for c, selected in zip(candidates, selectors, strict=False) if selected is None]
        missing: list[str] = []
        for c in unknown:
            missing_facts(c.selector, facts, missing)
        if not self.explain:
            return Decision("pend", self.compiled.ref, missing=tuple(missing))
        return self.compiled.pend_decision(
            None,
            tuple(missing),
            [c.selector for c in unknown],
            facts,
            tuple(trace(c.selector, facts) for c in unknown) if self.with_trace else None,
        )

    def _referral_trace(
        self, referral: _CompiledReferral, conditions: Sequence[Kleene]
    ) -> tuple[TraceNode, ...] | None:
        """The rules up to the first that surely applies (no later rule can apply)."""
        if not self.with_trace:
            return None
        read = referral.rules[: conditions.index(True) + 1] if True in conditions else referral.rules
        return tuple(trace(rule.when, self.facts) for rule in read if rule.when is not None)

    def refer(
        self,
        referral: _CompiledReferral,
        conditions: Sequence[Kleene],
        possible: Sequence[bool],
        targets: set[str],
    ) -> Decision:
        about = self.compiled.about
        return Decision(
            "refer",
            self.compiled.ref,
            referral.citation,
            refer_to=next(iter(targets)),
            referral=tuple([rule.citation for rule, p in zip(referral.rules, possible, strict=False) if p]),
            trace=self._referral_trace(referral, conditions) if self.with_trace else None,
            notes=about.notes,
            about=about,
        )

    def refer_pend(
        self, referral: _CompiledReferral, conditions: Sequence[Kleene], possible: Sequence[bool]
    ) -> Decision:
        facts = self.facts
        open_rules = [
            rule
            for rule, value, p in zip(referral.rules, conditions, possible, strict=False)
            if p and value is None and rule.when is not None
        ]
        missing: list[str] = []
        for rule in open_rules:
            assert rule.when is not None
            missing_facts(rule.when, facts, missing)
        if not self.explain:
            return Decision("pend", self.compiled.ref, referral.citation, missing=tuple(missing))
        return self.compiled.pend_decision(
            referral.citation,
            tuple(missing),
            [rule.when for rule in open_rules if rule.when is not None],
            facts,
            self._referral_trace(referral, conditions),
            [rule.citation for rule in open_rules],
        )

    def refer_none(self, referral: _CompiledReferral, conditions: Sequence[Kleene]) -> Decision:
        about = self.compiled.about
        return Decision(
            "deny",
            self.compiled.ref,
            referral.citation,
            unmet=(Unmet(referral.citation),),
            trace=self._referral_trace(referral, conditions),
            notes=about.notes,
            about=about,
        )

    def uncovered(self) -> Decision:
        return Decision("deny", self.compiled.ref, notes=self.compiled.about.notes, about=self.compiled.about)
