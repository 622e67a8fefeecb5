"""Semantic diff: which requests two versions decide differently, by kind, with witnesses.

Method: z3. Both versions' decisions are encoded over one symbolic request space
(semantic_space, semantic_encode) and z3 is asked for a request whose outcomes
differ. Each answer is generalised to its *kind* (outcome transition, the sections
decided under, and which numbered criteria change value), the kind is excluded, and
the question is asked again until z3 answers "unsatisfiable": that answer is the
proof that the listed kinds are every difference there is (with none listed: that
the versions are equivalent over the whole request space). Each kind then gets a
witness with the fewest stated facts (then the shortest lists, then the fewest tablets;
each minimum proved by z3), which is decided again by the real evaluator; a witness
the evaluator does not confirm is an error, never output.

Why z3 rather than enumerating the partition the leaves' thresholds induce: that
partition is a product over some twenty facts, each with an absent state, and the
dose measures are not independent cells but sums and maxima over up to seven
(tablets, strength) days, so the product runs to well over 10^12 cells; the solver
explores only what the question needs, and keeps the doses exact.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import z3  # type: ignore[import-untyped]

from ...engine.decision import Decision
from ...engine.errors import InvalidRequest, RxPolicyError
from ...engine.evaluate import trace
from ...engine.loading import SERVICE_DATE
from ...engine.model import PolicyVersion
from ...engine.store import VersionStore
from ...formats.decisions import decision_json, error_json
from ..diff.model import Bump, CriterionChange, DifferenceKind, SemanticDiff, Witness
from .completions import Completions
from .encode import (
    APPROVE,
    CODE_NAMES,
    INVALID,
    NO_SECTION,
    REFER,
    Z3_LOCK,
    Outcome,
    PairEncoding,
    SectionId,
    decision_key,
    differs,
    less_favourable,
    shorter,
)
from .forms import FALSE, TRUE, Kleene
from .space import DosesFact

METHOD = "z3 SMT solver, whole request space"
MAX_KINDS = 200
_VALUE_WORDS = {True: "met", False: "not met", None: "unknown"}
_ABSENT = "absent"


class SemanticDiffError(RxPolicyError):
    """The solver and the real evaluator disagree: a bug in the encoding, never a result."""


@attrs.frozen
class _Signature:
    """A kind of difference, as the solver sees it."""

    codes: tuple[int, int]
    shorter: bool | None  # both approve: is the new approval the shorter one
    targets: tuple[int, int] | None  # both refer
    sections: tuple[int, int] | None  # neither side invalid
    changed: tuple[str, ...] | None  # same section on both sides: criteria whose value changes

    def order(self) -> tuple[Any, ...]:
        lost = self.codes[0] == APPROVE and (self.codes[1] != APPROVE or bool(self.shorter))
        return (not lost, self.sections or (99, 99), self.codes, self.targets or (), self.changed or ())


def _default(section: SectionId) -> Kleene:
    # A criterion a version lacks is vacuously met; a referral rule it lacks never applies.
    return TRUE if section[0] == "indication" else FALSE


class _Search:
    def __init__(self, store: VersionStore, old: PolicyVersion, new: PolicyVersion) -> None:
        self.store = store
        self.versions = (old, new)
        self.pair = PairEncoding(old, new)
        self.space = self.pair.space
        self.tables = self.pair.tables
        self.enc = self.pair.sides
        self.a: Outcome = self.enc[0].outcome
        self.b: Outcome = self.enc[1].outcome
        self.queries = 0
        self._solver: Any = None
        # The engine pends only where completions of the request disagree (minimal pends):
        # a side that pends in the encoding must pend so for a witness to be the engine's.
        completions = Completions(self.pair)
        self.constraints = [*self.space.constraints, completions.real_pend(0), completions.real_pend(1)]

    # ------------------------------------------------------------ kinds

    def _keys(self, section: SectionId) -> list[str]:
        keys: list[str] = []
        for enc in reversed(self.enc):
            keys += [k for k in enc.criteria.get(section, {}) if k not in keys]
        return keys

    def _value(self, side: int, section: SectionId, key: str) -> Kleene:
        return self.enc[side].criteria.get(section, {}).get(key, _default(section))

    def _changed(self, section: SectionId, key: str) -> Any:
        return z3.Not(self._value(0, section, key).same_as(self._value(1, section, key)))

    def signature(self, model: Any) -> _Signature:
        def ev(term: Any) -> int:
            return int(model.eval(term, model_completion=True).as_long())

        codes = (ev(self.a.code), ev(self.b.code))
        both_approve = codes == (APPROVE, APPROVE)
        is_shorter = z3.is_true(model.eval(shorter(self.a, self.b), model_completion=True))
        targets = (ev(self.a.target), ev(self.b.target)) if codes == (REFER, REFER) else None
        sections = None if INVALID in codes else (ev(self.a.section), ev(self.b.section))
        changed = None
        if sections is not None and sections[0] == sections[1] and sections[0] != NO_SECTION:
            section = self.tables.sections[sections[0]]
            changed = tuple(
                k
                for k in self._keys(section)
                if z3.is_true(model.eval(self._changed(section, k), model_completion=True))
            )
        return _Signature(codes, is_shorter if both_approve else None, targets, sections, changed)

    def condition(self, sig: _Signature) -> Any:
        out = [self.a.code == sig.codes[0], self.b.code == sig.codes[1]]
        if sig.shorter is not None:
            out.append(shorter(self.a, self.b) if sig.shorter else shorter(self.b, self.a))
        if sig.targets is not None:
            out += [self.a.target == sig.targets[0], self.b.target == sig.targets[1]]
        if sig.sections is not None:
            out += [self.a.section == sig.sections[0], self.b.section == sig.sections[1]]
        if sig.changed is not None and sig.sections is not None:
            section = self.tables.sections[sig.sections[0]]
            out += [self._changed(section, k) == (k in sig.changed) for k in self._keys(section)]
        return z3.And(out)

    def kinds(self, limit: int) -> tuple[list[_Signature], bool]:
        """Every kind of difference; True when z3 proved there are no others."""
        solver = z3.Solver()
        solver.add(*self.constraints, differs(self.a, self.b))
        found: list[_Signature] = []
        while len(found) < limit:
            self.queries += 1
            answer = solver.check()
            if answer == z3.unsat:
                return found, True
            if answer != z3.sat:
                raise SemanticDiffError(f"z3 could not decide the difference query ({answer})")
            sig = self.signature(solver.model())
            found.append(sig)
            solver.add(z3.Not(self.condition(sig)))
        return found, False

    def exists(self, condition: Any) -> bool:
        solver = z3.Solver()
        solver.add(*self.constraints, condition)
        self.queries += 1
        answer = solver.check()
        if answer not in (z3.sat, z3.unsat):
            raise SemanticDiffError(f"z3 could not decide ({answer})")
        return bool(answer == z3.sat)

    # ------------------------------------------------------------ witnesses

    def minimal_model(self, condition: Any) -> Any:
        """A request meeting ``condition`` with the fewest facts stated, then the shortest lists,
        then the fewest tablets.

        A descent with one incremental solver (ask for a smaller count until z3 says
        there is none) rather than z3's Optimize: the same minimum, found several
        times faster on these formulas.
        """
        solver = self._witness_solver()
        solver.push()
        try:
            solver.add(condition)
            model = self._check(solver)
            if model is None:
                raise SemanticDiffError("a kind found by the solver has no witness")
            for objective in (self.space.known_count(), self.space.complexity(), self.space.magnitude()):
                best = model.eval(objective, model_completion=True).as_long()
                while best > 0:
                    solver.push()
                    solver.add(objective < best)
                    smaller = self._check(solver)
                    solver.pop()
                    if smaller is None:
                        break
                    model = smaller
                    best = model.eval(objective, model_completion=True).as_long()
                solver.add(objective == best)  # keep the first objective while lowering the next
            return model
        finally:
            solver.pop()

    def _witness_solver(self) -> Any:
        if self._solver is None:
            self._solver = z3.Solver()
            self._solver.add(*self.constraints, differs(self.a, self.b))
        return self._solver

    def _check(self, solver: Any) -> Any:
        self.queries += 1
        answer = solver.check()
        if answer == z3.sat:
            return solver.model()
        if answer != z3.unsat:
            raise SemanticDiffError(f"z3 could not decide a witness query ({answer})")
        return None

    def witness(self, sig: _Signature | None, condition: Any) -> DifferenceKind:
        model = self.minimal_model(condition)
        old, new = self.versions
        request = self.space.realise(model, new.effective)
        if sig is None:
            sig = self.signature(model)
        decisions = [self._decide(v, request | {SERVICE_DATE: v.effective.isoformat()}) for v in (old, new)]
        for side, decision in enumerate(decisions):
            self._confirm(model, side, decision, request)
        criteria = self._criteria(sig, request)
        old_outcome = CODE_NAMES[sig.codes[0]]
        decided_as = _catch_all_terms(old, request, decisions[0])
        if decided_as:
            # A term new to the vocabulary: say what the old version decided such a request
            # as (its catch-all term), not only that the term was not valid there.
            as_other = self._decide(old, request | decided_as | {SERVICE_DATE: old.effective.isoformat()})
            if isinstance(as_other, Decision):
                decisions[0], old_outcome = as_other, as_other.outcome
            else:
                decided_as = {}
        return DifferenceKind(
            old_outcome=old_outcome,
            new_outcome=CODE_NAMES[sig.codes[1]],
            detail=self._detail(sig),
            old_section=self._section_title(sig, 0),
            new_section=self._section_title(sig, 1),
            criteria=criteria,
            less_favourable=sig.codes[0] == APPROVE and (sig.codes[1] != APPROVE or bool(sig.shorter)),
            witness=Witness(
                request=request,
                old_service_date=old.effective.isoformat(),
                old_decision=_json(decisions[0]),
                new_decision=_json(decisions[1]),
                known_facts=len(request) - 1,
                old_decided_as=decided_as,
            ),
        )

    def _decide(self, version: PolicyVersion, request: Mapping[str, Any]) -> Decision | InvalidRequest:
        try:
            return self.store.decide(request, policy_id=version.policy_id, version=version)
        except InvalidRequest as exc:
            return exc

    def _confirm(self, model: Any, side: int, got: Decision | InvalidRequest, request: Any) -> None:
        expected = self.pair.outcome_key(model, side)
        actual = decision_key(got)
        if actual != expected:
            raise SemanticDiffError(
                f"the evaluator decides {actual} where the solver predicted {expected} under "
                f"{self.versions[side].version} for {request}"
            )

    def _criteria(self, sig: _Signature, request: Mapping[str, Any]) -> tuple[CriterionChange, ...]:
        if sig.changed is None or sig.sections is None:
            return ()
        section = self.tables.sections[sig.sections[0]]
        values = [self._concrete(side, section, request) for side in (0, 1)]
        # Compared as the encoding compares them: a criterion a version lacks is met, a
        # referral rule it lacks does not apply; shown as missing, not as a value it never had.
        missing = "met" if section[0] == "indication" else "not met"

        def effective(side: int, key: str) -> str:
            value = values[side][key]
            return missing if value == _ABSENT else value

        concrete = tuple(k for k in self._keys(section) if effective(0, k) != effective(1, k))
        if concrete != sig.changed:
            raise SemanticDiffError(
                f"criteria changing value: the evaluator finds {concrete}, the solver {sig.changed}, "
                f"for {request}"
            )
        out = []
        for key in concrete:
            cite, text = self._node(section, key)
            out.append(CriterionChange(key, cite, text, values[0][key], values[1][key]))
        return tuple(out)

    def _concrete(self, side: int, section: SectionId, request: Mapping[str, Any]) -> dict[str, str]:
        """Each criterion of a section, evaluated by the real evaluator's own trace walk.

        Not read from the decision's trace: a referral stops at the first rule that applies,
        and a later rule's value still tells which rules changed.
        """
        version = self.versions[side]
        facts = self.store.compiled(version).normalise(request)
        out = dict.fromkeys(self._keys(section), _ABSENT)
        for ind in version.indications:
            if ("indication", ind.key) == section:
                for child in ind.criteria.children:
                    out[child.key] = _VALUE_WORDS[trace(child, facts).result]
        for ref in version.referrals:
            if ("referral", ref.key) == section:
                for rule in ref.rules:
                    out[rule.key] = (
                        "met" if rule.when is None else _VALUE_WORDS[trace(rule.when, facts).result]
                    )
        return out

    def _node(self, section: SectionId, key: str) -> tuple[str, str]:
        for version in reversed(self.versions):
            for ind in version.indications:
                if ("indication", ind.key) == section:
                    for child in ind.criteria.children:
                        if child.key == key:
                            return child.cite, child.text
            for ref in version.referrals:
                if ("referral", ref.key) == section:
                    for rule in ref.rules:
                        if rule.key == key:
                            return rule.cite, rule.text
        return "", key

    def _section_title(self, sig: _Signature, side: int) -> str:
        if sig.sections is None or sig.sections[side] == NO_SECTION:
            return ""
        kind, key = self.tables.sections[sig.sections[side]]
        # The newer wording names a section on both sides, so one section reads as one.
        for version in reversed(self.versions):
            for ind in version.indications:
                if kind == "indication" and ind.key == key:
                    return f"{ind.cite} {ind.title}"
            for ref in version.referrals:
                if kind == "referral" and ref.key == key:
                    return f"{ref.cite} {ref.text}"
        return key

    def _detail(self, sig: _Signature) -> str:
        if sig.shorter is not None:
            return "shorter approval" if sig.shorter else "longer approval"
        if sig.targets is not None:
            return f"{self.tables.targets[sig.targets[0]]} -> {self.tables.targets[sig.targets[1]]}"
        return ""

    def describe_space(self) -> str:
        doses = [f for f in self.space.facts.values() if isinstance(f, DosesFact)]
        dose_words = "".join(
            f"; {d.name} as up to {d.slots} (tablets, strength) days over strengths "
            f"{', '.join(str(s) for s in d.strengths)} mg"
            for d in doses
        )
        return f"{len(self.space.facts)} facts, each possibly absent{dose_words}"


CATCH_ALL = "other"


def _catch_all_terms(
    old: PolicyVersion, request: Mapping[str, Any], result: Decision | InvalidRequest
) -> dict[str, str]:
    """The enum facts whose term the old version lacks but whose vocabulary has the catch-all
    'other', when those are the only reasons the old version refused the request."""
    if not isinstance(result, InvalidRequest):
        return {}
    out: dict[str, str] = {}
    for violation in result.violations:
        spec = old.facts.get(violation.field)
        value = request.get(violation.field)
        if spec is None or spec.type != "enum" or CATCH_ALL not in spec.values or value in spec.values:
            return {}
        out[violation.field] = CATCH_ALL
    return out


def _json(result: Decision | InvalidRequest) -> dict[str, Any]:
    return error_json(result) if isinstance(result, InvalidRequest) else decision_json(result)


def _required(kinds: Sequence[DifferenceKind]) -> Bump:
    if any(k.less_favourable for k in kinds):
        return "major"
    return "minor" if kinds else "patch"


def semantic_diff(
    store: VersionStore, old: PolicyVersion, new: PolicyVersion, *, max_kinds: int = MAX_KINDS
) -> SemanticDiff:
    """Every kind of request the two versions decide differently, each with a verified witness."""
    with Z3_LOCK:
        return _semantic_diff(store, old, new, max_kinds)


def _semantic_diff(
    store: VersionStore, old: PolicyVersion, new: PolicyVersion, max_kinds: int
) -> SemanticDiff:
    started = time.perf_counter()
    search = _Search(store, old, new)
    sigs, complete = search.kinds(max_kinds)
    sigs.sort(key=_Signature.order)
    kinds = tuple(search.witness(sig, search.condition(sig)) for sig in sigs)
    required = _required(kinds)
    if not complete and required != "major" and search.exists(less_favourable(search.a, search.b)):
        required = "major"  # the listing stopped early; the MAJOR question is still answered exactly
    space = search.describe_space()
    if not kinds:
        proof = (
            "z3 proved the versions equivalent: no request, over the whole request space "
            f"({space}), gets a different decision, approval duration, referral target or validity."
        )
    elif complete:
        proof = (
            f"z3 proved that these {len(kinds)} kinds are every difference: with requests of each "
            f"kind excluded, no request in the whole space ({space}) is decided differently."
        )
        if required != "major":
            proof += " No request loses an approval or gets a shorter one."
    else:
        proof = f"Listing stopped after {max_kinds} kinds; more kinds may exist."
    return SemanticDiff(
        method=METHOD,
        kinds=kinds,
        complete=complete,
        required_bump=required,
        proof=proof,
        seconds=round(time.perf_counter() - started, 3),
        queries=search.queries,
    )


def required_bump(
    store: VersionStore, old: PolicyVersion, new: PolicyVersion
) -> tuple[Bump, DifferenceKind | None]:
    """The bump the semver rule (docs/policy-format.md) requires, and the witness that decides it.

    Two questions, not the full listing: is any approval lost or shortened (MAJOR), else
    does any outcome change (MINOR), else PATCH, proved by the second answer.
    """
    with Z3_LOCK:
        return _required_bump(store, old, new)


def _required_bump(
    store: VersionStore, old: PolicyVersion, new: PolicyVersion
) -> tuple[Bump, DifferenceKind | None]:
    search = _Search(store, old, new)
    lost = less_favourable(search.a, search.b)
    if search.exists(lost):
        return "major", search.witness(None, lost)
    change = differs(search.a, search.b)
    if search.exists(change):
        return "minor", search.witness(None, change)
    return "patch", None
