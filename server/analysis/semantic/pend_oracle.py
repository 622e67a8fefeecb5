"""The z3 check of minimal pends: an oracle for the engine's case split.

For a partial request under one version, its completions are the requests that keep every
fact it states and give every other fact some valid value (a fact that only shortens an
approval, such as ``requested_months``, stays as sent: absent, nothing shorter was asked
for). Over the symbolic request space of the version (space.py) and its decision
(encode.py, which mirrors the evaluator step by step), the oracle asks:

- does some completion have an outcome other than the engine's, when the engine decides?
- when the engine pends: do two completions with different outcomes exist, and for each
  listed fact, two completions that differ only in that fact and have different outcomes?

An outcome is the decision, an approval's months or length of benefit, and a referral's
target (``encode.differs``), as docs/decisions.md says.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import z3  # type: ignore[import-untyped]

from ...engine.decision import Decision
from ...engine.evaluate import CompiledVersion
from ...engine.facts import MAX_TABLETS_PER_DOSE
from ...engine.loading import SERVICE_DATE
from ...engine.model import Leaf, PolicyVersion
from .completions import caps, constants, owned_by
from .encode import Z3_LOCK, Outcome, PairEncoding, decision_key, differs
from .space import SymFact


@attrs.frozen
class Verdict:
    """What the oracle found for one request: ``problems`` is empty when the engine agrees."""

    decision: Decision
    problems: tuple[str, ...] = ()
    checked_facts: int = 0


class PendOracle:
    """The oracle for one version (its encoding is built once)."""

    def __init__(self, compiled: CompiledVersion) -> None:
        self.compiled = compiled
        version = compiled.version
        with Z3_LOCK:
            self.encoding = PairEncoding(version, version)
            self.space = self.encoding.space
            self.outcome = self.encoding.sides[0].outcome
            self.caps = caps(version)
            terms = [*attrs.astuple(self.outcome), *self.space.constraints, self.space.valid(0)]
            self.variables = constants(terms)
            # One solver per version, the space's constraints added once; each request's
            # pins go in a pushed scope.
            self.solver = z3.Solver()
            self.solver.add(*self.space.constraints, self.space.valid(0))

    def _completions(self, request: Mapping[str, Any]) -> list[Any]:
        out = []
        for name, fact in self.space.facts.items():
            raw = request.get(name)
            if raw is not None or name in self.caps or name == SERVICE_DATE:
                out.append(fact.pin(raw))
            else:
                out.append(fact.present)
        return out

    def _copy(self, fact: SymFact) -> tuple[list[tuple[Any, Any]], list[Any]]:
        """Fresh variables for ``fact`` (the other facts shared) and their constraints."""
        pairs = [
            (var, z3.Const(name + "'", var.sort()))
            for name, var in self.variables.items()
            if owned_by(name, fact.name)
        ]
        own = [*fact.domain(), fact.valid(0), fact.present]
        return pairs, [z3.substitute(c, *pairs) for c in own] if pairs else []

    def check(self, request: Mapping[str, Any]) -> Verdict:
        decision = self.compiled.decide(self.compiled.normalise(request))
        with Z3_LOCK:
            return self._check(request, decision)

    def _check(self, request: Mapping[str, Any], decision: Decision) -> Verdict:
        solver = self.solver
        solver.push()
        try:
            return self._check_in(solver, request, decision)
        finally:
            solver.pop()

    def _check_in(self, solver: Any, request: Mapping[str, Any], decision: Decision) -> Verdict:
        solver.add(*self._completions(request))
        if solver.check() != z3.sat:
            return Verdict(decision, ("the request has no completion in the space",))
        model = solver.model()
        first = Outcome(*(model.eval(t, model_completion=True) for t in attrs.astuple(self.outcome)))
        solver.push()
        solver.add(differs(self.outcome, first))
        varies = solver.check() == z3.sat
        solver.pop()
        engine = decision_key(decision)
        if decision.outcome != "pend":
            if varies:
                return Verdict(decision, (f"{engine[0]}, but completions have different outcomes",))
            if self.encoding.outcome_key(model, 0) != engine:
                return Verdict(
                    decision, (f"{engine}, but every completion gives {self.encoding.outcome_key(model, 0)}",)
                )
            return Verdict(decision)
        if not varies:
            return Verdict(
                decision, (f"pend, but every completion gives {self.encoding.outcome_key(model, 0)}",)
            )
        problems = []
        for name in decision.missing:
            pairs, own = self._copy(self.space.facts[name])
            other = Outcome(*(z3.substitute(t, *pairs) for t in attrs.astuple(self.outcome)))
            solver.push()
            solver.add(*own, differs(self.outcome, other))
            if solver.check() != z3.sat:
                problems.append(f"lists {name}, whose value cannot change the outcome")
            solver.pop()
        return Verdict(decision, tuple(problems), len(decision.missing))


# ---------------------------------------------------------------------- random requests


def random_request(version: PolicyVersion, rng: random.Random, known: float) -> dict[str, Any]:
    """A valid request under ``version`` (on its effective date) in the case-file shape, each
    optional fact stated with probability ``known``; values near every threshold the
    criteria compare with, the regimens they name, and the version's strengths."""
    leaves = [n for n in version.nodes().values() if isinstance(n, Leaf)]
    request: dict[str, Any] = {SERVICE_DATE: version.effective.isoformat()}
    for name, spec in version.facts.items():
        if name == SERVICE_DATE or (not spec.required and rng.random() > known):
            continue
        consts = sorted(
            {
                leaf.value + d
                for leaf in leaves
                if leaf.fact.startswith(name)
                and isinstance(leaf.value, int)
                and not isinstance(leaf.value, bool)
                for d in (-1, 0, 1)
            }
        )
        agents = sorted(version.agents)
        # Values a criterion names (``positive_response = true``, ``diagnosis in [...]``) most
        # of the time, so that many requests meet most criteria and few facts decide.
        named = [
            v
            for leaf in leaves
            if leaf.fact == name and leaf.op in ("eq", "in")
            for v in (leaf.value if isinstance(leaf.value, tuple) else (leaf.value,))
        ]
        if spec.type == "enum":
            request[name] = rng.choice(named if named and rng.random() < 0.7 else spec.values)
        elif spec.type == "bool":
            request[name] = rng.choice(named) if named and rng.random() < 0.8 else rng.random() < 0.5
        elif spec.type == "int":
            low = spec.minimum if spec.minimum is not None else 0
            high = spec.maximum if spec.maximum is not None else low + 120
            pool = [c for c in consts if low <= c <= high] or [low]
            request[name] = rng.choice(pool) if rng.random() < 0.7 else rng.randint(low, high)
        elif spec.type == "terms":
            named = [sorted(g) for leaf in leaves if leaf.fact == name for g in leaf.value]
            if named and rng.random() < 0.7:
                request[name] = rng.choice(named)
            else:
                request[name] = rng.sample(agents, rng.randint(0, 3))
        elif spec.type == "lines":
            request[name] = [rng.sample(agents, rng.randint(1, 3)) for _ in range(rng.randint(0, 6))]
        elif spec.type == "doses":
            days = rng.randint(1, spec.max_items or 7)
            tablets = [1, 2, 3, 4, 5, 6, 8, MAX_TABLETS_PER_DOSE]
            request[name] = [
                {
                    "tablets": rng.choice(tablets[:-1] if rng.random() < 0.95 else tablets),
                    "strength_mg": rng.choice(version.strengths_mg),
                }
                for _ in range(days)
            ]
    return request


KNOWN = (0.5, 0.8, 0.9, 0.95)


def random_requests(
    versions: list[CompiledVersion], seed: int, count: int
) -> Iterator[tuple[CompiledVersion, dict[str, Any]]]:
    rng = random.Random(seed)
    for _ in range(count):
        compiled = rng.choice(versions)
        # Mostly complete requests with a few facts left out are where a pend can hide an
        # outcome every completion shares; sparse ones exercise the long lists.
        yield compiled, random_request(compiled.version, rng, rng.choice(KNOWN))
