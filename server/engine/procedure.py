"""The decision procedure, written once, over an algebra of truth values.

A request type's candidate indications are tried in order: the first whose selector is
surely true decides the request; when none is and one is unknown, the request pends (the
indication cannot be chosen); otherwise the request type's referral decides it. An
indication denies when one of its numbered criteria is surely false, pends when one is
unknown, and approves otherwise. A referral's rules apply first-match: a rule may apply
when it is not surely false and no earlier rule surely applies; when no rule may apply the
request is denied, when every rule that may apply names the same policy it is referred
there, and otherwise it pends.

Two back ends run this one procedure, written as plain Python branches on
``Algebra.holds``, and both run it once per path through those branches (``every_path``):
a branch not yet chosen forks, and the two sides are joined on its condition. The engine
(route_code.py) does so once per request type when a version is compiled, over Python
expressions of Kleene's True / False / None: the joined paths are the source of one plain
Python function per route, so a concrete request is decided with no call per step; each
outcome is built with its explanation (evaluate.py). The semantic analysis does so over
z3 terms (analysis/semantic/encode.py: the paths joined by if-then-else), so that a
question about outcomes becomes a satisfiability question. Neither back end decides in its
own words, so they cannot drift apart.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import attrs

from .model import Duration, Indication, PolicyVersion, Referral

Value = TypeVar("Value")  # a three-valued truth value of the back end
Cond = TypeVar("Cond")  # a two-valued condition of the back end
Result = TypeVar("Result")  # what the back end decides: a Decision, or z3 terms of one
Ind = TypeVar("Ind")  # the back end's handle on an indication (compiled, or the model's)
Ref = TypeVar("Ref")  # the back end's handle on a referral


@attrs.frozen
class Route(Generic[Ind, Ref]):
    """What a request type is decided by: its candidate indications, in the version's
    order, and its referral (the first that names the request type)."""

    candidates: tuple[Ind, ...]
    referral: Ref | None


def routes(
    version: PolicyVersion, indication: Callable[[Indication], Ind], referral: Callable[[Referral], Ref]
) -> dict[str, Route[Ind, Ref]]:
    """Each request type's route, with the back end's handle for each indication and referral."""
    indications = [(ind, indication(ind)) for ind in version.indications]
    referrals = [(r, referral(r)) for r in version.referrals]
    types = [rt for ind in version.indications for rt in ind.request_types]
    types += [rt for r in version.referrals for rt in r.request_types]
    return {
        rt: Route(
            tuple(h for ind, h in indications if rt in ind.request_types),
            next((h for r, h in referrals if rt in r.request_types), None),
        )
        for rt in dict.fromkeys(types)
    }


def for_length_of_benefit(duration: Duration) -> bool:
    """An approval with no month count runs for the member's length of benefit."""
    return duration.length_of_benefit or duration.months is None


class Algebra(abc.ABC, Generic[Value, Cond, Result, Ind, Ref]):
    """What a back end provides: the truth values of a version's criteria, conditions
    over them, a branch, and the outcomes the procedure can reach."""

    __slots__ = ()
    true: Cond

    # ---- truth values
    @abc.abstractmethod
    def selector(self, indication: Ind) -> Value:
        """Whether the request is for this indication."""

    @abc.abstractmethod
    def criteria(self, indication: Ind) -> Sequence[Value]:
        """The indication's numbered criteria, in order."""

    @abc.abstractmethod
    def conditions(self, referral: Ref) -> Sequence[Value]:
        """The referral's rules in order: whether each applies (a rule with no condition surely
        does), one value per rule. A back end may leave the rules after one that surely
        applies unread and give True for each (none of them can apply whatever it holds: an
        earlier rule does), so the procedure reads the values given as all there are."""

    # ---- conditions
    @abc.abstractmethod
    def surely(self, value: Value) -> Cond: ...

    @abc.abstractmethod
    def surely_not(self, value: Value) -> Cond: ...

    @abc.abstractmethod
    def maybe(self, value: Value) -> Cond:
        """Not surely false: true, or unknown."""

    @abc.abstractmethod
    def some_false(self, values: Sequence[Value]) -> Cond: ...

    @abc.abstractmethod
    def some_unknown(self, values: Sequence[Value]) -> Cond: ...

    @abc.abstractmethod
    def both(self, a: Cond, b: Cond) -> Cond: ...

    @abc.abstractmethod
    def negation(self, a: Cond) -> Cond: ...

    @abc.abstractmethod
    def some(self, conds: Sequence[Cond]) -> Cond: ...

    @abc.abstractmethod
    def one_target(self, referral: Ref, possible: Sequence[Cond]) -> Cond:
        """Every rule that may apply (``possible``, per rule) names the same policy."""

    @abc.abstractmethod
    def holds(self, cond: Cond) -> bool:
        """Which way the procedure goes at a branch on ``cond``. A back end that decided one
        request could answer from the value; both back ends here follow paths instead
        (``OnePath``): each way in turn, the procedure run once per path, the paths joined
        on the conditions (``every_path``)."""

    # ---- outcomes
    @abc.abstractmethod
    def approve(self, indication: Ind) -> Result: ...

    @abc.abstractmethod
    def deny(self, indication: Ind, criteria: Sequence[Value]) -> Result: ...

    @abc.abstractmethod
    def pend(self, indication: Ind, criteria: Sequence[Value]) -> Result: ...

    @abc.abstractmethod
    def pend_selection(self, candidates: Sequence[Ind], selectors: Sequence[Value]) -> Result:
        """No indication can be chosen yet (typically: the diagnosis is unknown)."""

    @abc.abstractmethod
    def refer(self, referral: Ref, conditions: Sequence[Value], possible: Sequence[Cond]) -> Result: ...

    @abc.abstractmethod
    def refer_pend(self, referral: Ref, conditions: Sequence[Value], possible: Sequence[Cond]) -> Result:
        """The rules that may still apply name different policies."""

    @abc.abstractmethod
    def refer_none(self, referral: Ref, conditions: Sequence[Value]) -> Result:
        """No rule applies: nothing in the policy covers the request."""

    @abc.abstractmethod
    def uncovered(self) -> Result:
        """The request type has no referral (the loader refuses such a version)."""


class Fork(Exception):
    """The procedure reached a branch its path has not chosen a side of yet. ``before``:
    what the back end gathered on this path since its last branch (its ``at_fork``)."""

    def __init__(self, cond: Any, before: Any) -> None:
        super().__init__()
        self.cond = cond
        self.before = before


class OnePath(Algebra[Value, Cond, Result, Ind, Ref]):
    """An algebra that runs the procedure along one path at a time: ``path`` says which side
    each branch takes, in the order they come, and a branch past its end forks."""

    __slots__ = ("asked", "path")

    def __init__(self) -> None:
        self.path: list[bool] = []
        self.asked = 0

    def follow(self, path: list[bool]) -> None:
        self.path, self.asked = path, 0

    def at_fork(self) -> Any:
        """What the fork carries of this path (``Fork.before``); nothing by default."""
        return None

    def holds(self, cond: Cond) -> bool:
        if self.asked == len(self.path):
            raise Fork(cond, self.at_fork())
        self.asked += 1
        return self.path[self.asked - 1]


def every_path(
    algebra: OnePath[Value, Cond, Result, Ind, Ref],
    route: Route[Ind, Ref],
    join: Callable[[Fork, Result, Result], Result],
) -> Result:
    """The procedure run once per path through its branches, each fork's two sides (its
    condition true, then false) joined by ``join``."""

    def explore(path: list[bool]) -> Result:
        algebra.follow(path)
        try:
            return decide(algebra, route)
        except Fork as fork:
            return join(fork, explore([*path, True]), explore([*path, False]))

    return explore([])


def decide(algebra: Algebra[Value, Cond, Result, Ind, Ref], route: Route[Ind, Ref]) -> Result:
    """The procedure of this module's docstring, for one request type's route."""
    selectors: list[Value] = []
    for candidate in route.candidates:
        # The first surely-applying candidate wins, even when an earlier one is unknown.
        selected = algebra.selector(candidate)
        selectors.append(selected)
        if algebra.holds(algebra.surely(selected)):
            return _indication(algebra, candidate)
    if algebra.holds(algebra.some_unknown(selectors)):
        return algebra.pend_selection(route.candidates, selectors)
    return _refer(algebra, route.referral)


def _indication(algebra: Algebra[Value, Cond, Result, Ind, Ref], indication: Ind) -> Result:
    values = algebra.criteria(indication)
    if algebra.holds(algebra.some_false(values)):
        return algebra.deny(indication, values)
    if algebra.holds(algebra.some_unknown(values)):
        return algebra.pend(indication, values)
    return algebra.approve(indication)


def _refer(algebra: Algebra[Value, Cond, Result, Ind, Ref], referral: Ref | None) -> Result:
    if referral is None:
        return algebra.uncovered()
    values = algebra.conditions(referral)
    possible: list[Cond] = []
    none_before = algebra.true  # no earlier rule surely applies
    for value in values:
        possible.append(algebra.both(algebra.maybe(value), none_before))
        none_before = algebra.both(none_before, algebra.negation(algebra.surely(value)))
    if not algebra.holds(algebra.some(possible)):
        return algebra.refer_none(referral, values)
    if algebra.holds(algebra.one_target(referral, possible)):
        return algebra.refer(referral, values, possible)
    return algebra.refer_pend(referral, values, possible)
