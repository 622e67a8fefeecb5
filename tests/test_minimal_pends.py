"""Minimal pends (docs/decisions.md, "What a pend lists"): never pend when every completion
of the unknown facts gives the same outcome, and list only facts that can change it. The
z3 encoding of the version is the oracle (server/analysis/semantic/pend_oracle.py)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rxpolicy.server.analysis.semantic.encode import Z3_LOCK
from rxpolicy.server.analysis.semantic.pend_oracle import PendOracle, random_requests
from rxpolicy.server.engine.errors import InvalidRequest
from rxpolicy.server.engine.store import VersionStore
from rxpolicy.server.formats.cases import iter_case_files, load_cases

STORE = VersionStore.load()
CASES = Path(__file__).parent / "cases"

MM_CONTINUATION: dict[str, Any] = {
    "service_date": "2025-03-26",
    "line_of_business": "medicaid",
    "request_type": "continuation",
    "diagnosis": "multiple_myeloma",
    "doses": [{"tablets": 1, "strength_mg": 20}] * 5,
    "product": "selinexor",
    "receiving_via_plan_benefit": True,
    "positive_response": True,
}
OTHER_DIAGNOSIS = {
    "service_date": "2025-03-26",
    "line_of_business": "commercial",
    "request_type": "initial",
    "diagnosis": "other",
}


def test_a_dose_within_both_limits_approves_whatever_the_regimen() -> None:
    decision = STORE.decide(MM_CONTINUATION)
    assert decision.outcome == "approve"
    assert decision.approval is not None and decision.approval.months == 12


def test_a_dose_within_only_the_larger_limit_still_pends_for_the_regimen() -> None:
    decision = STORE.decide(dict(MM_CONTINUATION, doses=[{"tablets": 1, "strength_mg": 20}] * 7))
    assert decision.outcome == "pend"
    assert "combination" in decision.missing


def test_commercial_label_change_pend_does_not_ask_for_the_formulary() -> None:
    decision = STORE.decide(OTHER_DIAGNOSIS)
    assert decision.outcome == "pend"
    assert decision.missing == ("label_change_within_6_months",)


def test_marketplace_label_change_pend_asks_for_the_formulary_too() -> None:
    # HIM.PA.33 and HIM.PA.103: for marketplace the formulary does choose the policy.
    decision = STORE.decide(dict(OTHER_DIAGNOSIS, line_of_business="marketplace"))
    assert decision.missing == ("label_change_within_6_months", "on_formulary")


def test_a_settled_decision_explains_the_request_as_sent() -> None:
    decision = STORE.decide(MM_CONTINUATION, with_trace=True)
    assert decision.trace is not None
    observed = [n for root in decision.trace for n in _walk(root) if n.fact == "combination"]
    assert observed and all(n.result is None for n in observed)


def _walk(node: Any) -> Any:
    yield node
    for child in node.children:
        yield from _walk(child)


def test_the_oracle_rejects_the_kleene_pends_of_the_issue() -> None:
    """The check can fail: the fast path alone gets both examples wrong."""
    compiled = STORE.in_force(dt.date(2025, 3, 26))
    assert compiled is not None
    oracle = PendOracle(compiled)
    for request, problem in (
        (MM_CONTINUATION, "pend, but every completion gives ('approve', 12)"),
        (OTHER_DIAGNOSIS, "lists on_formulary, whose value cannot change the outcome"),
    ):
        kleene = compiled.decide_kleene(compiled.normalise(request))
        with Z3_LOCK:
            assert problem in oracle._check(request, kleene).problems


RANDOM_REQUESTS = 2000


@pytest.fixture(scope="module")
def oracles() -> dict[str, PendOracle]:
    return {v.version: PendOracle(STORE.compiled(v)) for v in STORE.versions()}


def test_the_engine_agrees_with_the_oracle_on_random_partial_requests(oracles: dict[str, PendOracle]) -> None:
    compiled = [o.compiled for o in oracles.values()]
    problems = []
    outcomes: dict[str, int] = {}
    for version, request in random_requests(compiled, seed=431, count=RANDOM_REQUESTS):
        verdict = oracles[version.version.version].check(request)
        outcomes[verdict.decision.outcome] = outcomes.get(verdict.decision.outcome, 0) + 1
        if verdict.problems:
            problems.append((request, verdict.problems))
    assert not problems, problems[:5]
    assert set(outcomes) == {"approve", "deny", "pend", "refer"}, outcomes


def _requests_with_facts_left_out() -> Iterator[dict[str, Any]]:
    """The project's case requests with one or two facts left out: partial requests
    where the case split often decides or narrows what Kleene evaluation pends."""
    for path in iter_case_files([CASES]):
        for case in load_cases(path):
            request = case.request
            optional = [k for k in request if k not in ("service_date", "request_type", "line_of_business")]
            for left_out in itertools.chain(
                itertools.combinations(optional, 1), itertools.combinations(optional, 2)
            ):
                yield {k: v for k, v in request.items() if k not in left_out}


def test_letters_of_partial_requests_speak_only_of_the_request_as_sent() -> None:
    """Whatever path decided it (Kleene, or the case split over filled-in branches): no
    value the request did not carry is shown as submitted, a pend's grouped view and
    questions ask for exactly the facts of its ``missing``, and a denial's open
    criteria are not among its unmet ones."""
    settled_by_split = 0
    for request in _requests_with_facts_left_out():
        try:
            compiled = STORE.in_force(dt.date.fromisoformat(str(request["service_date"])))
            if compiled is None:
                continue  # before the first version
            facts = compiled.normalise(request)
        except (InvalidRequest, ValueError):
            continue  # a case of invalid input stays invalid with less of it
        decision = compiled.decide(facts)
        if decision != compiled.decide_kleene(facts):
            settled_by_split += 1
        for unmet in decision.unmet:
            for value in unmet.values:
                assert value.fact.split(".", 1)[0] in request, (request, value)
        if decision.outcome == "pend":
            grouped = {f for r in decision.unknown for alt in r.one_of for f in alt.facts}
            assert grouped <= set(decision.missing), (request, decision)
            assert [q.fact for q in decision.questions] == list(decision.missing), (request, decision)
        if decision.outcome == "deny":
            failed = {u.criterion.key for u in decision.unmet}
            assert not failed & {r.criterion.key for r in decision.unknown}, (request, decision)
    assert settled_by_split > 0  # the split's path was exercised, not only Kleene's
