"""Minimal pends: a decision is pend only when filling in its unknown facts can change it.

Kleene evaluation is the fast path and it is sound: a criterion it calls true or false is
so however the unknown facts turn out. It is not complete: it cannot see that two tests
are complementary, so "(regimen is BVd and dose <= 100) or (regimen is not BVd and dose
<= 160)" stays unknown for a dose of 100 mg with the regimen unknown, though every regimen
approves it. When the fast path pends, this module settles the question by a case split
over the facts the pend reads, one value class of a fact at a time (value_classes.py), each
branch decided by the fast path again (so a branch is closed as soon as Kleene evaluation
can decide it):

- if every branch reaches the same outcome, that is the decision;
- otherwise the decision pends and lists only the facts whose value can change the outcome:
  a fact is listed when some filling-in of the other unknown facts gives two different
  outcomes for two values of it.

An outcome is the decision (approve, deny, refer) with, for an approval, its duration in
months or length of benefit, and for a referral, the policy it names. Which criteria a
denial cites is not part of it (every completion denies: the request is denied). A fact that
only shortens an approval (``requested_months``) is read by no criterion, so it is never
split on or asked for: absent, nothing shorter was requested.

The split is bounded: past ``BUDGET`` decisions for one request, the fast path's pend stands
as it is, and past ``FACT_BUDGET`` decisions for one listed fact, the fact stays listed;
neither is ever a wrong decision, at worst a longer list than needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from .decision import Decision, Unmet
from .facts import Facts
from .language import OPERATORS, Test
from .model import Indication, Leaf
from .value_classes import ValueClasses

Decide = Callable[[Facts], Decision]
OutcomeKey = tuple[Any, ...]

BUDGET = 400
FACT_BUDGET = 48


def outcome_key(decision: Decision) -> OutcomeKey:
    """What two completions must share to be the same outcome."""
    if decision.outcome == "approve":
        assert decision.approval is not None
        return ("approve", decision.approval.months, decision.approval.length_of_benefit)
    if decision.outcome == "refer":
        return ("refer", decision.refer_to)
    return (decision.outcome,)


class _OutOfBudget(Exception):
    pass


class _Split:
    """One request's case split: the decisions it has made so far count against the budget."""

    def __init__(self, classes: ValueClasses, decide: Decide, budget: int) -> None:
        self.classes = classes
        self.decide_fast = decide
        self.left = budget
        # Branches are the request plus witness patches; the searches for different facts
        # meet the same branches again, so each is decided once.
        self.seen: dict[tuple[tuple[str, Any], ...], Decision] = {}
        # Settled completions the outcome search reached: (facts, facts filled in, outcome).
        self.reached: list[tuple[Facts, tuple[str, ...], OutcomeKey]] = []

    def decide(self, facts: Facts, filled: Iterable[str]) -> Decision:
        key = tuple(sorted((name, facts[name]) for name in filled))  # normalised values hash
        found = self.seen.get(key)
        if found is None:
            if self.left <= 0:
                raise _OutOfBudget
            self.left -= 1
            found = self.seen[key] = self.decide_fast(facts)
        return found

    def split_on(self, candidates: Iterable[str]) -> str:
        """The unknown fact to split on next: the one with the fewest classes."""
        best: str | None = None
        best_size = 0
        for name in candidates:
            size = len(self.classes.of(name))
            if size and (best is None or size < best_size):
                best, best_size = name, size
        if best is None:
            raise _OutOfBudget  # nothing to split on: leave the fast path's answer
        return best

    def outcomes(
        self,
        facts: Facts,
        decision: Decision,
        found: dict[OutcomeKey, list[Decision]],
        filled: tuple[str, ...] = (),
    ) -> None:
        """Every outcome the completions of ``facts`` reach (stops at the second)."""
        if decision.outcome != "pend":
            key = outcome_key(decision)
            found.setdefault(key, []).append(decision)
            self.reached.append((facts, filled, key))
            return
        name = self.split_on(decision.missing)
        now = (*filled, name)
        # Settled branches first: two of them that differ end the search without going deeper.
        pending = []
        for patch in self.classes.of(name):
            branch = {**facts, **dict(patch)}
            branch_decision = self.decide(branch, now)
            if branch_decision.outcome == "pend":
                pending.append((branch, branch_decision))
                continue
            self.outcomes(branch, branch_decision, found, now)
            if len(found) > 1:
                return
        # Then the pending ones, those with the fewest facts still open first: they settle soonest.
        pending.sort(key=lambda bd: len(bd[1].missing))
        for branch, branch_decision in pending:
            self.outcomes(branch, branch_decision, found, now)
            if len(found) > 1:
                return

    def parts_at_the_ends(
        self, facts: Facts, decision: Decision, found: dict[OutcomeKey, list[Decision]]
    ) -> bool:
        """Whether the first and the last value class of the fact the search splits on first
        settle on different outcomes (then ``found`` holds both, and the request pends
        whatever the other branches reach). A fact's classes run from its least to its
        most (none to many prior lines, the smallest dose to the largest), so two
        outcomes show at the ends sooner than in the order the search takes them."""
        name = self.split_on(decision.missing)
        classes = self.classes.of(name)
        if len(classes) < 3:
            return False  # the search itself decides both at once
        ends = []
        for patch in (classes[0], classes[-1]):
            branch = {**facts, **dict(patch)}
            settled = self.decide(branch, (name,))
            if settled.outcome == "pend":
                return False
            ends.append((branch, settled))
        keys = [outcome_key(settled) for _, settled in ends]
        if keys[0] == keys[1]:
            return False
        for (branch, settled), key in zip(ends, keys, strict=True):
            found.setdefault(key, []).append(settled)
            self.reached.append((branch, (name,), key))
        return True

    def matters(self, facts: Facts, name: str) -> bool:
        """Whether some completion of the other unknown facts makes the outcome depend on
        the value of ``name``."""
        # Cheapest first: a completion the outcome search reached with ``name`` filled in,
        # whose outcome changes when only ``name`` does (if the changed branch pends, on
        # facts it reads that the reached one did not need: the reached one is settled, so
        # filling those in as well leaves its outcome as it is).
        # The latest first: the outcome search stops at the first completion that differs
        # from the ones before it, so the last reached is the likeliest to flip.
        for reached, filled, key in reversed(self.reached):
            if name not in filled:
                continue
            for patch in self.classes.of(name):
                branch = {**reached, **dict(patch)}
                flipped = self.decide(branch, filled)
                if flipped.outcome != "pend":
                    if outcome_key(flipped) != key:
                        return True
                    continue
                found: dict[OutcomeKey, list[Decision]] = {key: []}
                self.outcomes(branch, flipped, found, filled)
                if len(found) > 1:
                    return True
        classes = self.classes.of(name)
        if len(classes) > 2:
            # Its least and its most value first (see ``parts_at_the_ends``): a search over
            # two branches is one over all of them with fewer decisions at every step, and
            # what it decides the search over all of them would decide too (``seen``).
            ends = [{**facts, **dict(patch)} for patch in (classes[0], classes[-1])]
            if self._differs(ends, [self.decide(b, (name,)) for b in ends], name, (name,)):
                return True
        branches = [{**facts, **dict(patch)} for patch in classes]
        return self._differs(branches, [self.decide(b, (name,)) for b in branches], name, (name,))

    def _differs(
        self, branches: Sequence[Facts], decisions: Sequence[Decision], name: str, filled: tuple[str, ...]
    ) -> bool:
        settled = {outcome_key(d) for d in decisions if d.outcome != "pend"}
        if len(settled) > 1:
            return True
        pending = [d for d in decisions if d.outcome == "pend"]
        if not pending:
            return False
        other = self.split_on(m for d in pending for m in d.missing if m != name)
        now = (*filled, other)
        for patch in self.classes.of(other):
            next_branches: list[Facts] = []
            next_decisions: list[Decision] = []
            outcomes: set[OutcomeKey] = set()
            # One decision per branch, as built above (a strict zip costs a fraction of a us).
            for branch, decision in zip(branches, decisions, strict=False):
                if decision.outcome == "pend":
                    branch = {**branch, **dict(patch)}
                    decision = self.decide(branch, now)
                # A settled branch stays settled as more facts become known.
                next_branches.append(branch)
                next_decisions.append(decision)
                if decision.outcome != "pend":
                    outcomes.add(outcome_key(decision))
                    if len(outcomes) > 1:
                        return True  # two values of ``name`` already part here: no need to decide the rest
            if self._differs(next_branches, next_decisions, name, now):
                return True
        return False


def _merged_unmet(denials: Sequence[Decision]) -> tuple[Unmet, ...]:
    """A denial every completion reaches: each criterion some completion fails, once."""
    out: dict[str, Unmet] = {}
    for denial in denials:
        for unmet in denial.unmet:
            out.setdefault(unmet.criterion.key, unmet)
    return tuple(out.values())


class MinimalPends:
    """The case split of one compiled version (``decide``: its Kleene fast path)."""

    def __init__(
        self,
        classes: ValueClasses,
        decide: Decide,
        open_leaves: Callable[[str, Facts], list[Leaf]],
        budget: int = BUDGET,
        fact_budget: int = FACT_BUDGET,
    ) -> None:
        """``open_leaves(indication, facts)``: the leaves through which the indication's
        numbered criteria are unknown (the compiled criteria's walk, evaluate.py)."""
        self.classes = classes
        self.decide = decide
        self.open_leaves = open_leaves
        self.budget = budget
        self.fact_budget = fact_budget
        version = classes.version
        self.indications: dict[str, Indication] = {ind.key: ind for ind in version.indications}
        self.tests: dict[str, Test] = {
            node.key: OPERATORS[node.op].bind(node.value)
            for node in version.nodes().values()
            if isinstance(node, Leaf)
        }
        self._two_sided: dict[str, bool] = {}

    def two_sided(self, leaf: Leaf) -> bool:
        """Some value of its fact makes ``leaf`` true and some other makes it false."""
        found = self._two_sided.get(leaf.key)
        if found is None:
            test = self.tests[leaf.key]
            results = {test(dict(patch)[leaf.fact]) for patch in self.classes.of(leaf.base_fact)}
            found = self._two_sided[leaf.key] = len(results) == 2
        return found

    def kleene_is_exact(self, facts: Facts, pend: Decision) -> bool:
        """Whether the fast path's pend is already minimal, without a case split.

        It is when the pend is an indication's and what is unknown of its criteria is
        read-once: no unknown fact is read by two leaves through which a criterion is
        unknown, and each such leaf can go either way. Then the unknown criteria can be
        made all true (an approval) or one false (a denial) independently, and each leaf
        can be made to decide its criterion and the criterion the request, so every listed
        fact can change the outcome. Shared facts (the regimen in two dose limits), a
        selection of the indication or a referral go to the case split.
        """
        if pend.indication is None:
            return False
        indication = self.indications.get(pend.indication.key)
        if indication is None or indication.durations_keyed_by not in facts:
            return False
        leaves = self.open_leaves(indication.key, facts)
        read = [leaf.base_fact for leaf in leaves]
        return len(read) == len(set(read)) and all(self.two_sided(leaf) for leaf in leaves)

    def settle(self, facts: Facts, pend: Decision) -> Decision:
        """The decision for ``facts``, given that the fast path pends with ``pend``."""
        if self.kleene_is_exact(facts, pend):
            return pend
        split = _Split(self.classes, self.decide, self.budget)
        found: dict[OutcomeKey, list[Decision]] = {}
        try:
            if not split.parts_at_the_ends(facts, pend, found):
                split.outcomes(facts, pend, found)
        except _OutOfBudget:
            return pend
        if len(found) == 1:
            ((key, decisions),) = found.items()
            first = decisions[0]
            if key == ("deny",):
                first = attrs.evolve(first, unmet=_merged_unmet(decisions))
            # The explanation is of the request as sent, not of a filled-in branch.
            return attrs.evolve(first, trace=pend.trace)
        missing = []
        for name in pend.missing:
            split.left = self.fact_budget
            try:
                if split.matters(facts, name):
                    missing.append(name)
            except _OutOfBudget:
                missing.append(name)  # undecided within the budget: keep asking for it
        return attrs.evolve(pend, missing=tuple(missing) or pend.missing)
