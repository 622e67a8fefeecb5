"""Synthetic claims take the policy's dates, strengths and terms from its versions."""

from __future__ import annotations

import datetime as dt

from rxpolicy.server.engine.model import Leaf, PolicyVersion
from rxpolicy.server.engine.store import VersionStore
from rxpolicy.server.retro.synth import GENERIC, PolicyData, synthetic_claims


def test_policy_data_is_read_from_the_versions(store: VersionStore) -> None:
    versions = store.versions()
    data = PolicyData.of(versions)
    assert data.effective[0] == versions[0].effective
    for version in versions:
        assert set(data.strengths_on(version.effective)) == set(version.strengths_mg)
        assert data.not_yet_marketed(version.effective) not in version.strengths_mg
    generic = next(v for v in versions if "generic_available" in _facts_read(v))
    assert data.generic_from == generic.effective
    terms = [t for t, _ in data.diagnoses if t]
    assert terms == list(versions[-1].facts["diagnosis"].values)


def _facts_read(version: PolicyVersion) -> set[str]:
    return {n.base_fact for n in version.nodes().values() if isinstance(n, Leaf)}


def test_claims_follow_the_versions_they_are_given(store: VersionStore) -> None:
    early = store.versions()[:4]  # before the 10 mg tablet and before generic redirection
    strengths = {mg for v in early for mg in v.strengths_mg}
    claims = list(synthetic_claims(400, 2, 0.0, versions=early))
    used = {d["strength_mg"] for c in claims for d in c.request.get("doses", ())}
    assert used and used <= strengths
    assert all(dt.date.fromisoformat(c.request["service_date"]) >= early[0].effective for c in claims)
    assert not any(c.request.get("product") == GENERIC for c in claims)
    assert any(c.request.get("product") == GENERIC for c in synthetic_claims(400, 2, 0.0))
