"""A made-up second policy (its own facts, vocabulary, request types and strengths)
loads and decides from data alone: the engine knows nothing about either drug."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURE_POLICIES, PACKAGED
from rxpolicy.server.cli import main
from rxpolicy.server.engine.errors import InvalidRequest, NotFound
from rxpolicy.server.engine.store import VersionStore

CLL: dict[str, Any] = {
    "line_of_business": "medicaid",
    "request_type": "new_start",
    "member_age": 70,
    "diagnosis": "CLL",
    "creatinine_clearance": 45,
    "prior_therapies": [["Imbruvica"], ["venetoclax", "obinutuzumab"]],
    "doses": [{"tablets": 4, "strength_mg": 50}],
}


def test_loads_two_versions(demo_store: VersionStore) -> None:
    assert demo_store.policy_ids == ["XX.DEMO.7"]
    assert [v.version for v in demo_store.versions()] == ["1.0.0", "1.1.0"]


def test_approves_under_its_own_criteria(demo_store: VersionStore) -> None:
    decision = demo_store.decide({**CLL, "service_date": "2023-05-01"})
    assert decision.outcome == "approve"
    assert decision.version.version == "1.0.0"
    assert decision.approval is not None and decision.approval.months == 6


def test_denies_with_its_own_citations(demo_store: VersionStore) -> None:
    decision = demo_store.decide({**CLL, "service_date": "2023-05-01", "creatinine_clearance": 20})
    assert decision.outcome == "deny" and decision.unmet_cites == ("I.A.4",)


def test_second_version_adds_an_indication_and_a_strength(demo_store: VersionStore) -> None:
    mcl = {**CLL, "diagnosis": "mantle_cell_lymphoma", "doses": [{"tablets": 2, "strength_mg": 100}]}
    with pytest.raises(InvalidRequest) as info:
        demo_store.decide({**mcl, "service_date": "2024-05-31"})
    assert info.value.fields == ("doses",)
    refer = demo_store.decide(
        {**mcl, "service_date": "2024-05-31", "doses": [{"tablets": 2, "strength_mg": 50}]}
    )
    assert refer.outcome == "refer" and refer.refer_to == "XX.OFF.2"
    approve = demo_store.decide({**mcl, "service_date": "2024-06-01"})
    assert approve.outcome == "approve" and approve.indication is not None
    assert approve.indication.cite == "I.B"


def test_its_own_request_types(demo_store: VersionStore) -> None:
    renewal = {
        "service_date": "2024-07-01",
        "line_of_business": "commercial",
        "request_type": "renewal",
        "diagnosis": "chronic_lymphocytic_leukemia",
    }
    assert demo_store.decide(renewal).missing == ("tolerating",)
    with pytest.raises(InvalidRequest):
        demo_store.decide({**renewal, "request_type": "initial"})


@pytest.fixture
def two_policies(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGED / "CP.PHAR.431", tmp_path / "CP.PHAR.431")
    shutil.copytree(FIXTURE_POLICIES / "XX.DEMO.7", tmp_path / "XX.DEMO.7")
    return tmp_path


def test_both_policies_in_one_store(two_policies: Path) -> None:
    both = VersionStore.load(two_policies)
    assert both.policy_ids == ["CP.PHAR.431", "XX.DEMO.7"]
    assert both.decide({**CLL, "service_date": "2023-05-01"}, policy_id="XX.DEMO.7").outcome == "approve"
    with pytest.raises(NotFound, match="several policies are loaded"):
        both.decide({**CLL, "service_date": "2023-05-01"})


def test_a_named_default_policy_decides_calls_that_name_none(two_policies: Path) -> None:
    both = VersionStore.load(two_policies, default_policy="XX.DEMO.7")
    assert both.default_policy() == "XX.DEMO.7"
    assert both.decide({**CLL, "service_date": "2023-05-01"}).version.policy_id == "XX.DEMO.7"
    assert [v.version for v in both.versions()] == ["1.0.0", "1.1.0"]
    selinexor = {"service_date": "2025-06-02", "line_of_business": "medicaid", "request_type": "initial"}
    assert both.decide(selinexor, policy_id="CP.PHAR.431").version.policy_id == "CP.PHAR.431"


def test_a_default_policy_that_is_not_loaded_is_refused(two_policies: Path) -> None:
    with pytest.raises(NotFound, match=r"XX\.NONE\.1"):
        VersionStore.load(two_policies, default_policy="XX.NONE.1")


def test_the_cli_takes_a_default_policy(two_policies: Path, tmp_path: Path, capsys: Any) -> None:
    request = tmp_path / "cll.json"
    request.write_text(json.dumps({**CLL, "service_date": "2023-05-01"}), encoding="utf-8")
    args = ["evaluate", str(request), "--policies", str(two_policies)]
    assert main([*args, "--default-policy", "XX.DEMO.7"]) == 0
    assert json.loads(capsys.readouterr().out)["policy_id"] == "XX.DEMO.7"
    assert main([*args, "--default-policy", "XX.NONE.1"]) != 0
    assert "XX.NONE.1" in capsys.readouterr().err
