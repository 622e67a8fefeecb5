"""Semantic diffs of neighbouring versions, pinned to what the revision log says changed.

Every witness is checked here once more with the real evaluator (the diff already does
it; these tests do not trust that), and each pair's required bump is pinned.
"""

from __future__ import annotations

from typing import Any

import pytest
from rxpolicy.server.analysis.diff.model import DifferenceKind, SemanticDiff
from rxpolicy.server.analysis.semantic.diff import semantic_diff
from rxpolicy.server.engine.errors import InvalidRequest
from rxpolicy.server.engine.model import PolicyVersion
from rxpolicy.server.engine.store import VersionStore

REQUIRED = ("line_of_business", "request_type", "service_date")


@pytest.fixture(scope="module")
def diffs(store: VersionStore) -> dict[tuple[str, str], SemanticDiff]:
    pairs = [("2024-05-16", "2025-03-25"), ("2021-05-11", "2021-11-24"), ("2022-04-28", "2022-09-23")]
    return {(a, b): semantic_diff(store, store.resolve(a), store.resolve(b)) for a, b in pairs}


def _outcome(store: VersionStore, version: PolicyVersion, request: dict[str, Any]) -> str:
    try:
        return store.decide(request, version=version).outcome
    except InvalidRequest:
        return "invalid"


def _check_witnesses(store: VersionStore, old: PolicyVersion, new: PolicyVersion, diff: SemanticDiff) -> None:
    for kind in diff.kinds:
        w = kind.witness
        request = dict(w.request)
        assert request["service_date"] == new.effective.isoformat()
        assert _outcome(store, new, request) == kind.new_outcome
        old_request = request | {"service_date": w.old_service_date}
        assert _outcome(store, old, old_request) == kind.old_outcome
        assert w.known_facts == len(request) - 1
        # The witness decides the same when pasted into `rxpolicy evaluate` (version by date).
        got = store.decide(old_request) if kind.old_outcome != "invalid" else None
        if got is not None:
            assert got.version.version == old.version


def _kinds(diff: SemanticDiff, old: str, new: str) -> list[DifferenceKind]:
    return [k for k in diff.kinds if (k.old_outcome, k.new_outcome) == (old, new)]


def test_2025_b_cell_limit_and_10_mg_is_minor(
    store: VersionStore, diffs: dict[tuple[str, str], SemanticDiff]
) -> None:
    old, new = store.resolve("2024-05-16"), store.resolve("2025-03-25")
    diff = diffs[("2024-05-16", "2025-03-25")]
    assert diff.required_bump == "minor"
    assert diff.complete and not diff.equivalent
    assert not any(k.less_favourable for k in diff.kinds)
    assert "No request loses an approval" in diff.proof
    _check_witnesses(store, old, new, diff)
    # The B-cell dose limit: deny -> approve under I.B and under II.A, by the dose criterion only.
    initial = [k for k in _kinds(diff, "deny", "approve") if k.new_section.startswith("I.B")]
    assert [c.key for k in initial for c in k.criteria] == ["bcell.dose"]
    assert initial[0].criteria[0].old == "not met" and initial[0].criteria[0].new == "met"
    continuation = [k for k in _kinds(diff, "deny", "approve") if k.new_section.startswith("II.A")]
    assert [c.key for k in continuation for c in k.criteria] == ["cont.dose"]
    # The 10 mg tablet: requests refused before are decided now.
    became_valid = {k.new_outcome for k in diff.kinds if k.old_outcome == "invalid"}
    assert became_valid == {"approve", "deny", "pend", "refer"}
    for kind in diff.kinds:
        if kind.old_outcome == "invalid":
            assert any(d["strength_mg"] == 10 for d in kind.witness.request["doses"])
    invalid_pend = _kinds(diff, "invalid", "pend")[0]
    assert set(invalid_pend.witness.request) == {*REQUIRED, "doses"}  # minimal: nothing else needed


def test_2025_the_revision_logs_own_example(store: VersionStore) -> None:
    """40 mg on three days a week: over the old 2-doses-a-week limit, within 120 mg a week."""
    request = {
        "line_of_business": "medicaid",
        "request_type": "initial",
        "member_age": 60,
        "diagnosis": "dlbcl",
        "prescriber_specialty": "hematology",
        "disease_status": "refractory",
        "prior_therapies": [["rituximab"], ["gemcitabine", "oxaliplatin"]],
        "product": "selinexor",
        "doses": [{"tablets": 2, "strength_mg": 20}] * 3,
        "dose_evidence_submitted": False,
    }
    before = store.decide(request | {"service_date": "2024-05-16"})
    after = store.decide(request | {"service_date": "2025-03-25"})
    assert (before.outcome, before.unmet_cites) == ("deny", ("I.B.7",))
    assert after.outcome == "approve"


def test_2021_11_generic_redirection_is_major(
    store: VersionStore, diffs: dict[tuple[str, str], SemanticDiff]
) -> None:
    old, new = store.resolve("2021-05-11"), store.resolve("2021-11-24")
    diff = diffs[("2021-05-11", "2021-11-24")]
    assert diff.required_bump == "major" and diff.complete
    _check_witnesses(store, old, new, diff)
    lost = _kinds(diff, "approve", "deny")
    assert {k.new_section.split()[0] for k in lost} == {"I.A", "I.B", "II.A"}
    for kind in lost:
        assert kind.less_favourable
        assert [c.key.split(".", 1)[1] for c in kind.criteria] == ["generic"]
        request = kind.witness.request
        assert request["product"] == "xpovio" and request["generic_available"] is True
        assert request["generic_contraindicated"] is False
        cites = [u["cite"] for u in kind.witness.new_decision["unmet"]]
        assert cites in (["I.A.4"], ["I.B.4"], ["II.A.3"])
    # The new criterion is the only thing that changes: every kind names it.
    assert all(k.criteria and all(c.key.endswith("generic") for c in k.criteria) for k in diff.kinds)


def test_2022_09_changes_referral_targets_only(
    store: VersionStore, diffs: dict[tuple[str, str], SemanticDiff]
) -> None:
    old, new = store.resolve("2022-04-28"), store.resolve("2022-09-23")
    diff = diffs[("2022-04-28", "2022-09-23")]
    assert diff.required_bump == "minor" and diff.complete
    _check_witnesses(store, old, new, diff)
    assert {(k.old_outcome, k.new_outcome) for k in diff.kinds} == {("refer", "refer"), ("refer", "pend")}
    assert {k.new_section.split()[0] for k in diff.kinds} == {"I.C", "II.B"}
    moves = {k.detail for k in _kinds(diff, "refer", "refer")}
    assert moves == {
        "CP.CPA.09 -> CP.CPA.190",
        "HIM.PA.154 -> HIM.PA.33",
        "HIM.PA.154 -> HIM.PA.103",
        "CP.PMN.53 -> CP.PMN.255",
        "CP.PMN.53 -> CP.PMN.16",
    }
    for kind in _kinds(diff, "refer", "pend"):
        assert "label_change_within_6_months" in kind.witness.new_decision["missing"]


def test_a_version_diffed_with_itself_is_proven_equivalent(store: VersionStore) -> None:
    version = store.resolve("2022-01-20")
    diff = semantic_diff(store, version, version)
    assert diff.equivalent and diff.complete
    assert diff.kinds == () and diff.required_bump == "patch"
    assert diff.proof.startswith("z3 proved the versions equivalent")


def test_a_second_policy_needs_no_code(demo_store: VersionStore) -> None:
    old, new = demo_store.versions("XX.DEMO.7")
    forward = semantic_diff(demo_store, old, new)
    assert forward.required_bump == "minor" and forward.complete
    _check_witnesses(demo_store, old, new, forward)
    assert {k.new_section for k in _kinds(forward, "refer", "approve")} == {
        "I.B Mantle cell lymphoma (must meet all)",
        "II.A Renewal (must meet all)",
    }
    backward = semantic_diff(demo_store, new, old)
    assert backward.required_bump == "major"
    assert {k.old_outcome for k in backward.kinds if k.less_favourable} == {"approve"}
