"""One version's decision over the symbolic request space, as z3 terms.

The decision procedure is the engine's own (engine/procedure.py: indication selection
where the first surely-applying candidate wins, referral rules first-match with "every rule
that may still apply names the same target"), run here over an algebra of z3 terms:
Kleene values as a pair of "surely true" / "surely false" booleans, and each branch an
if-then-else of both its sides. So a question about outcomes becomes a satisfiability
question. What is this module's own is how a symbolic fact splits into cases (request
type, line of business) and the duration's month count as a term. Every witness found
through it is re-decided by the real evaluator, and the tests pin random requests onto it
and compare.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import attrs
import z3  # type: ignore[import-untyped]

from ...engine import procedure
from ...engine.decision import Decision
from ...engine.errors import InvalidRequest
from ...engine.loading import REQUEST_TYPE
from ...engine.model import Duration, Group, Indication, Leaf, Node, PolicyVersion, Referral
from .forms import CONNECTIVE_FORMS, TRUE, Kleene
from .space import RequestSpace

# z3's Python API builds every term in one global context, which is not safe to share between
# threads (the gRPC service runs diffs in worker threads): every use of it holds this lock.
Z3_LOCK = threading.RLock()
# The lock does not cover the freeing of terms: Python's cyclic collector frees a term in
# whatever thread it runs in, after that thread's diff has let go of the lock, and z3's
# calls release the GIL, so the free could meet another thread inside z3 (seen as a
# segfault in Z3_solver_assert with three diffs in threads). z3's own answer for garbage
# collected bindings: frees from any thread are queued and applied by the context's owner.
z3.Z3_enable_concurrent_dec_ref(z3.main_ctx().ref())

# Outcome codes. Invalid input is an outcome of its own: validity is part of what can differ.
INVALID, APPROVE, DENY, PEND, REFER = range(5)
CODE_NAMES = ("invalid", "approve", "deny", "pend", "refer")
NO_SECTION = -1
NO_TARGET = -1

SectionId = tuple[str, str]  # ("indication" | "referral", key)


@attrs.frozen
class Outcome:
    """What a version decides, as terms; fields are neutral where they do not apply."""

    code: Any
    lob: Any  # approved for the length of benefit
    months: Any  # approved months (0 unless approved for a month count)
    target: Any  # index into Tables.targets, or NO_TARGET
    section: Any  # index into Tables.sections, or NO_SECTION


def _choose(cond: Any, a: Outcome, b: Outcome) -> Outcome:
    return Outcome(*(z3.If(cond, x, y) for x, y in zip(attrs.astuple(a), attrs.astuple(b), strict=True)))


@attrs.frozen
class Tables:
    """Index tables shared by both sides, so outcomes compare as plain integers."""

    sections: tuple[SectionId, ...]
    targets: tuple[str, ...]

    @classmethod
    def of(cls, versions: Sequence[PolicyVersion]) -> Tables:
        sections: list[SectionId] = []
        targets: list[str] = []
        for v in versions:
            for ind in v.indications:
                if ("indication", ind.key) not in sections:
                    sections.append(("indication", ind.key))
            for ref in v.referrals:
                if ("referral", ref.key) not in sections:
                    sections.append(("referral", ref.key))
                for rule in ref.rules:
                    targets += [t for t in rule.refer_to.values() if t not in targets]
        return cls(tuple(sections), tuple(targets))


class VersionEncoding:
    """The decision of one side (0 = from, 1 = to) of a RequestSpace."""

    def __init__(self, space: RequestSpace, side: int, tables: Tables) -> None:
        self.space = space
        self.side = side
        self.version = space.versions[side]
        self.tables = tables
        self._cache: dict[str, Kleene] = {}
        self.valid = space.valid(side)
        # Top-level criteria of each indication and the rules of each referral, by key:
        # what a difference kind names as "the criteria involved".
        self.criteria: dict[SectionId, dict[str, Kleene]] = {}
        for ind in self.version.indications:
            self.criteria[("indication", ind.key)] = {c.key: self.node(c) for c in ind.criteria.children}
        for ref in self.version.referrals:
            self.criteria[("referral", ref.key)] = {
                rule.key: TRUE if rule.when is None else self.node(rule.when) for rule in ref.rules
            }
        self.outcome = self._outcome()

    # ------------------------------------------------------------------ criteria

    def node(self, node: Node) -> Kleene:
        cached = self._cache.get(node.key)
        if cached is not None:
            return cached
        if isinstance(node, Leaf):
            known, test = self.space.leaf(self.side, node)
            value = Kleene(z3.And(known, test), z3.And(known, z3.Not(test)))
        else:
            assert isinstance(node, Group)
            value = CONNECTIVE_FORMS[node.mode]([self.node(c) for c in node.children])
        self._cache[node.key] = value
        return value

    # ------------------------------------------------------------------ decision

    def constant(self, code: int, section: SectionId | None = None) -> Outcome:
        index = NO_SECTION if section is None else self.tables.sections.index(section)
        return Outcome(
            z3.IntVal(code), z3.BoolVal(False), z3.IntVal(0), z3.IntVal(NO_TARGET), z3.IntVal(index)
        )

    def _outcome(self) -> Outcome:
        request_type = self.space.enum(REQUEST_TYPE)
        routes = procedure.routes(self.version, lambda ind: ind, lambda referral: referral)
        result = self.constant(INVALID)
        for cond, term in request_type.cases(self.side):
            # A request type the version does not name has no candidate and no referral.
            route = routes.get(term, procedure.Route((), None))
            result = _choose(cond, self._every_path(route), result)
        return _choose(self.valid, result, self.constant(INVALID))

    def _every_path(self, route: procedure.Route[Indication, Referral]) -> Outcome:
        """The procedure's outcome as one term: run once per path through its branches (a
        branch on a condition not yet chosen forks), the two sides of each fork joined by
        an if-then-else on its condition."""
        return procedure.every_path(_Symbolic(self), route, lambda fork, a, b: _choose(fork.cond, a, b))

    def approval(self, ind: Indication) -> Outcome:
        keyed = self.space.enum(ind.durations_keyed_by)
        lob: Any = z3.BoolVal(False)
        months: Any = z3.IntVal(0)
        for cond, term in keyed.cases(self.side):
            d_lob, d_months = self._duration(ind.durations[term])
            lob, months = z3.If(cond, d_lob, lob), z3.If(cond, d_months, months)
        index = self.tables.sections.index(("indication", ind.key))
        return Outcome(z3.IntVal(APPROVE), lob, months, z3.IntVal(NO_TARGET), z3.IntVal(index))

    def _duration(self, d: Duration) -> tuple[Any, Any]:
        if procedure.for_length_of_benefit(d):
            return z3.BoolVal(True), z3.IntVal(0)
        months: Any = z3.IntVal(d.months)
        if d.at_most_fact is not None:
            asked = self.space.int_fact(d.at_most_fact)
            months = z3.If(z3.And(asked.present, asked.value < d.months), asked.value, months)
        return z3.BoolVal(False), months

    def targets(self, referral: Referral, possible: Sequence[Any]) -> list[tuple[int, Any]]:
        """For each policy a referral can name: whether some rule that may apply names it."""
        keyed = self.space.enum(referral.keyed_by)
        has = []
        for t_index, policy in enumerate(self.tables.targets):
            names = [
                z3.And(p, cond)
                for p, rule in zip(possible, referral.rules, strict=True)
                for cond, term in keyed.cases(self.side)
                if rule.refer_to.get(term) == policy
            ]
            has.append((t_index, z3.Or(names) if names else z3.BoolVal(False)))
        return has


class _Symbolic(procedure.OnePath[Kleene, Any, Outcome, Indication, Referral]):
    """The decision procedure (engine/procedure.py) over the symbolic request space, along
    one path at a time."""

    __slots__ = ("encoding",)
    true = z3.BoolVal(True)

    def __init__(self, encoding: VersionEncoding) -> None:
        super().__init__()
        self.encoding = encoding

    def selector(self, indication: Indication) -> Kleene:
        return self.encoding.node(indication.applies_to)

    def criteria(self, indication: Indication) -> list[Kleene]:
        return list(self.encoding.criteria[("indication", indication.key)].values())

    def conditions(self, referral: Referral) -> list[Kleene]:
        return list(self.encoding.criteria[("referral", referral.key)].values())

    def surely(self, value: Kleene) -> Any:
        return value.t

    def surely_not(self, value: Kleene) -> Any:
        return value.f

    def maybe(self, value: Kleene) -> Any:
        return z3.Not(value.f)

    def some_false(self, values: Sequence[Kleene]) -> Any:
        return z3.Or([v.f for v in values] or [False])

    def some_unknown(self, values: Sequence[Kleene]) -> Any:
        return z3.Or([z3.And(z3.Not(v.t), z3.Not(v.f)) for v in values] or [False])

    def both(self, a: Any, b: Any) -> Any:
        return z3.And(a, b)

    def negation(self, a: Any) -> Any:
        return z3.Not(a)

    def some(self, conds: Sequence[Any]) -> Any:
        return z3.Or(list(conds) or [False])

    def one_target(self, referral: Referral, possible: Sequence[Any]) -> Any:
        has = self.encoding.targets(referral, possible)
        return (z3.Sum([z3.If(h, 1, 0) for _, h in has]) if has else z3.IntVal(0)) == 1

    def approve(self, indication: Indication) -> Outcome:
        return self.encoding.approval(indication)

    def deny(self, indication: Indication, criteria: Sequence[Kleene]) -> Outcome:
        return self.encoding.constant(DENY, ("indication", indication.key))

    def pend(self, indication: Indication, criteria: Sequence[Kleene]) -> Outcome:
        return self.encoding.constant(PEND, ("indication", indication.key))

    def pend_selection(self, candidates: Sequence[Indication], selectors: Sequence[Kleene]) -> Outcome:
        return self.encoding.constant(PEND)

    def refer(self, referral: Referral, conditions: Sequence[Kleene], possible: Sequence[Any]) -> Outcome:
        target: Any = z3.IntVal(NO_TARGET)
        for t_index, h in self.encoding.targets(referral, possible):
            target = z3.If(h, t_index, target)
        index = self.encoding.tables.sections.index(("referral", referral.key))
        return Outcome(z3.IntVal(REFER), z3.BoolVal(False), z3.IntVal(0), target, z3.IntVal(index))

    def refer_pend(
        self, referral: Referral, conditions: Sequence[Kleene], possible: Sequence[Any]
    ) -> Outcome:
        return self.encoding.constant(PEND, ("referral", referral.key))

    def refer_none(self, referral: Referral, conditions: Sequence[Kleene]) -> Outcome:
        return self.encoding.constant(DENY, ("referral", referral.key))

    def uncovered(self) -> Outcome:
        return self.encoding.constant(DENY)


def differs(a: Outcome, b: Outcome) -> Any:
    """The two outcomes differ in decision, approval duration, referral target or validity."""
    both_approve = z3.And(a.code == APPROVE, b.code == APPROVE)
    duration_differs = z3.Or(a.lob != b.lob, z3.And(z3.Not(a.lob), a.months != b.months))
    both_refer = z3.And(a.code == REFER, b.code == REFER)
    return z3.Or(
        a.code != b.code, z3.And(both_approve, duration_differs), z3.And(both_refer, a.target != b.target)
    )


def shorter(a: Outcome, b: Outcome) -> Any:
    """Both approve and b's approval is shorter; length of benefit outlasts any month count."""
    return z3.And(a.code == APPROVE, b.code == APPROVE, z3.Not(b.lob), z3.Or(a.lob, b.months < a.months))


def less_favourable(a: Outcome, b: Outcome) -> Any:
    """The semver rule (docs/policy-format.md), MAJOR: an approval lost, or a shorter approval."""
    return z3.Or(z3.And(a.code == APPROVE, b.code != APPROVE), shorter(a, b))


# What the engine's outcome is, in one comparable shape: ("approve", months or None for the
# length of benefit), ("refer", target), or just the decision ("deny", "pend", "invalid").
OutcomeKey = tuple[Any, ...]


def decision_key(result: Decision | InvalidRequest) -> OutcomeKey:
    """The outcome key of a real decision (or of refused input)."""
    if isinstance(result, InvalidRequest):
        return ("invalid",)
    if result.outcome == "approve":
        assert result.approval is not None
        return ("approve", result.approval.months)
    if result.outcome == "refer":
        return ("refer", result.refer_to)
    return (result.outcome,)


class PairEncoding:
    """Both versions' decisions over one request space: what every solver question is asked of."""

    def __init__(self, old: PolicyVersion, new: PolicyVersion) -> None:
        self.space = RequestSpace((old, new))
        self.tables = Tables.of((old, new))
        self.sides = (
            VersionEncoding(self.space, 0, self.tables),
            VersionEncoding(self.space, 1, self.tables),
        )

    def outcome_key(self, model: Any, side: int) -> OutcomeKey:
        """The outcome key a model of the space predicts for one side."""
        out = self.sides[side].outcome

        def ev(term: Any) -> Any:
            value = model.eval(term, model_completion=True)
            return z3.is_true(value) if z3.is_bool(value) else value.as_long()

        code = ev(out.code)
        if code == APPROVE:
            return ("approve", None if ev(out.lob) else ev(out.months))
        if code == REFER:
            return ("refer", self.tables.targets[ev(out.target)])
        return (CODE_NAMES[code],)

    def predict(self, request: Any) -> tuple[OutcomeKey, OutcomeKey]:
        """What the encoding says the two versions decide for a concrete request."""
        with Z3_LOCK:
            return self._predict(request)

    def _predict(self, request: Any) -> tuple[OutcomeKey, OutcomeKey]:
        solver = z3.Solver()
        solver.add(*self.space.constraints, self.space.pin(request))
        if solver.check() != z3.sat:
            raise AssertionError(f"the request space has no point for {request}")
        model = solver.model()
        return self.outcome_key(model, 0), self.outcome_key(model, 1)
