"""Properties over generated requests: evaluation never raises on valid input, and an
unknown fact never turns a deny into an approve or an approve into a deny."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rxpolicy.server.engine.decision import OUTCOMES
from rxpolicy.server.engine.store import VersionStore
from strategies import valid_requests

STORE = VersionStore.load()
REQUIRED = {"service_date", "line_of_business", "request_type"}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_requests(STORE))
def test_valid_requests_always_get_a_decision(request: dict[str, Any]) -> None:
    decision = STORE.decide(request, with_trace=True)
    assert decision.outcome in OUTCOMES
    if decision.outcome == "deny":
        assert decision.unmet
    if decision.outcome == "pend":
        assert decision.missing
        assert set(decision.missing) <= set(STORE.versions()[0].facts)
    if decision.outcome == "refer":
        assert decision.refer_to
    if decision.outcome == "approve":
        assert decision.approval is not None
    assert STORE.decide(request).outcome == decision.outcome  # trace does not change the answer


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_requests(STORE), st.data())
def test_an_unknown_fact_never_flips_approve_and_deny(request: dict[str, Any], data: st.DataObject) -> None:
    optional = sorted(set(request) - REQUIRED)
    if not optional:
        return
    removed = data.draw(st.sampled_from(optional))
    before = STORE.decide(request).outcome
    after = STORE.decide({k: v for k, v in request.items() if k != removed}).outcome
    assert (before, after) not in {("deny", "approve"), ("approve", "deny")}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_requests(STORE))
def test_forgetting_every_optional_fact_never_flips(request: dict[str, Any]) -> None:
    bare = {k: v for k, v in request.items() if k in REQUIRED}
    before, after = STORE.decide(request).outcome, STORE.decide(bare).outcome
    assert (before, after) not in {("deny", "approve"), ("approve", "deny")}
