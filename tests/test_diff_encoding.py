"""The solver's encoding of a version decides as the real evaluator does.

The semantic diff's proofs are only as good as this agreement, so random requests
(thresholds and their neighbours, absent facts, aliases, a strength only one version
has, values no version accepts) are pinned onto the symbolic space and the outcome z3
computes is compared with store.decide under each version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import FIXTURE_POLICIES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rxpolicy.server.analysis.semantic.diff import semantic_diff
from rxpolicy.server.analysis.semantic.encode import PairEncoding, decision_key
from rxpolicy.server.analysis.semantic.space import OutsideSpace
from rxpolicy.server.engine.errors import InvalidRequest
from rxpolicy.server.engine.model import PolicyVersion
from rxpolicy.server.engine.store import VersionStore
from strategies import any_requests

# Pairs whose changes touch every part of the encoding: new indications and referral
# rules, regimen-dependent dose limits, strengths, durations, per-dose vs weekly limits.
PAIRS = [
    ("2020-07-01", "2021-01-06"),
    ("2021-11-24", "2022-01-20"),
    ("2022-04-28", "2022-09-23"),
    ("2024-05-16", "2025-03-25"),
]

STORE = VersionStore.load()
_request = any_requests(STORE.versions())


@pytest.fixture(scope="module")
def pairs(store: VersionStore) -> list[tuple[PolicyVersion, PolicyVersion, PairEncoding]]:
    out = []
    for a, b in PAIRS:
        old, new = store.resolve(a), store.resolve(b)
        out.append((old, new, PairEncoding(old, new)))
    return out


def _decide(store: VersionStore, version: PolicyVersion, request: dict[str, Any]) -> tuple[Any, ...]:
    try:
        return decision_key(
            store.decide(request | {"service_date": version.effective.isoformat()}, version=version)
        )
    except InvalidRequest as exc:
        return decision_key(exc)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=_request, which=st.integers(0, len(PAIRS) - 1))
def test_encoding_decides_like_the_evaluator(
    store: VersionStore,
    pairs: list[tuple[PolicyVersion, PolicyVersion, PairEncoding]],
    request: dict[str, Any],
    which: int,
) -> None:
    old, new, pair = pairs[which]
    request = {k: v for k, v in request.items() if v is not None} | {
        "service_date": new.effective.isoformat()
    }
    actual = (_decide(store, old, request), _decide(store, new, request))
    try:
        predicted = pair.predict(request)
    except OutsideSpace:
        assert actual == (("invalid",), ("invalid",))  # no version accepts it: no point in the space
        return
    assert predicted == actual, request


def test_a_request_with_a_strength_only_the_new_version_has(
    store: VersionStore, pairs: list[tuple[PolicyVersion, PolicyVersion, PairEncoding]]
) -> None:
    old, new, pair = pairs[-1]
    request = {
        "service_date": "2025-03-25",
        "line_of_business": "medicaid",
        "request_type": "initial",
        "doses": [{"tablets": 3, "strength_mg": 10}],
    }
    assert pair.predict(request) == (("invalid",), ("pend",))
    assert (_decide(store, old, request), _decide(store, new, request)) == (("invalid",), ("pend",))


def _variant(tmp_path: Path) -> VersionStore:
    """The demo policy plus a version that changes what a request may say: a new fact and
    criterion, a new alias, tighter list limits, a length-of-benefit duration."""
    directory = tmp_path / "XX.DEMO.7"
    directory.mkdir()
    source = FIXTURE_POLICIES / "XX.DEMO.7" / "2024-06-01.yaml"
    (directory / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    doc.update(
        version="2.0.0", effective="2025-01-01", revision_log={"date": "2025-01-01", "text": "variant"}
    )
    doc["facts"]["ecog"] = {"type": "int", "minimum": 0, "maximum": 4, "text": "ECOG performance status"}
    doc["facts"]["diagnosis"]["aliases"]["MCL"] = "mantle_cell_lymphoma"
    doc["facts"]["prior_therapies"]["max_items"] = 3
    doc["facts"]["doses"]["max_items"] = 5
    doc["vocabulary"]["agents"]["zanubrutinib"] = {
        "aliases": ["Brukinsa"],
        "molecule": "zanubrutinib",
        "classes": ["btk_inhibitor"],
    }
    mcl = doc["indications"][1]
    mcl["all"].append(
        {"key": "mcl.ecog", "cite": "I.B.4", "text": "ECOG 0-2", "fact": "ecog", "op": "le", "value": 2}
    )
    doc["indications"][2]["approval_duration"]["commercial"] = {"length_of_benefit": True}
    (directory / "2025-01-01.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return VersionStore.load(tmp_path)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_encoding_follows_validity_changes(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    store = _VARIANT.get("store") or _VARIANT.setdefault(
        "store", _variant(tmp_path_factory.mktemp("variant"))
    )
    old, new = store.versions("XX.DEMO.7")
    pair = _VARIANT.get("pair") or _VARIANT.setdefault("pair", PairEncoding(old, new))
    assert isinstance(pair, PairEncoding) and isinstance(store, VersionStore)
    requests = data.draw(st.lists(any_requests([old, new]), min_size=20, max_size=20))
    for request in requests:
        request = {k: v for k, v in request.items() if v is not None} | {"service_date": "2025-01-01"}
        actual = (_decide(store, old, request), _decide(store, new, request))
        try:
            predicted = pair.predict(request)
        except OutsideSpace:
            assert actual == (("invalid",), ("invalid",))
            continue
        assert predicted == actual, request


def test_semantic_diff_of_the_variant_verifies_every_witness(tmp_path: Path) -> None:
    store = _variant(tmp_path)
    old, new = store.versions("XX.DEMO.7")
    diff = semantic_diff(store, old, new)  # raises if the evaluator disagrees with any witness
    assert diff.complete and diff.required_bump == "major"
    transitions = {(k.old_outcome, k.new_outcome) for k in diff.kinds}
    assert ("approve", "invalid") in transitions  # a fourth prior line, or a sixth dosing day
    # the new alias, agent or fact; a new term of a vocabulary with "other" is shown as what
    # the old version decided it as ("refer (as other) -> approve")
    assert ("invalid", "approve") in transitions or any(
        k.new_outcome == "approve" and k.witness.old_decided_as for k in diff.kinds
    )
    assert ("approve", "pend") in transitions  # ECOG is new: unknown to a request that was approved
    # ECOG 3 or 4, a fact the old version refused (or a new term, shown as decided as other)
    assert ("invalid", "deny") in transitions or any(
        k.new_outcome == "deny" and k.witness.old_decided_as for k in diff.kinds
    )
    assert any(k.detail == "longer approval" for k in diff.kinds)  # commercial renewal: length of benefit


_VARIANT: dict[str, Any] = {}
