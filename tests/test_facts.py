"""Normalising facts: aliases, the drug itself, derived measures, and errors naming fields."""

from __future__ import annotations

from typing import Any

import pytest
from rxpolicy.server.engine.errors import InvalidRequest
from rxpolicy.server.engine.facts import NormalisationPlan, normalise
from rxpolicy.server.engine.store import VersionStore

BASE = {"service_date": "2025-06-02", "line_of_business": "medicaid", "request_type": "initial"}
MEASURES = frozenset(
    {
        "doses.weekly_mg",
        "doses.weekly_tablets",
        "doses.per_week",
        "doses.max_dose_mg",
        "doses.max_dose_tablets",
        "prior_therapies.count",
        "prior_therapies.molecules_in_class.anti_cd38_antibody",
        "prior_therapies.molecules_in_class.proteasome_inhibitor",
    }
)


def _norm(store: VersionStore, **facts: Any) -> dict[str, Any]:
    version = store.resolve("4.5.0")
    return normalise(version, {**BASE, **facts}, NormalisationPlan.of(version, MEASURES))


def _fields(store: VersionStore, **facts: Any) -> tuple[str, ...]:
    with pytest.raises(InvalidRequest) as info:
        _norm(store, **facts)
    return info.value.fields


def test_brand_aliases_and_case(store: VersionStore) -> None:
    facts = _norm(store, combination=["VELCADE", " Decadron "], product="Xpovio", line_of_business="HIM")
    assert facts["combination"] == frozenset({"bortezomib", "dexamethasone"})
    assert facts["product"] == "xpovio" and facts["line_of_business"] == "marketplace"


def test_the_drug_itself_is_dropped_from_combination(store: VersionStore) -> None:
    assert _norm(store, combination=["selinexor", "dexamethasone"])["combination"] == {"dexamethasone"}


def test_derived_dose_measures(store: VersionStore) -> None:
    facts = _norm(store, doses=[{"tablets": 2, "strength_mg": 40}, {"tablets": 1, "strength_mg": 40}])
    assert facts["doses.weekly_mg"] == 120
    assert facts["doses.weekly_tablets"] == 3
    assert facts["doses.per_week"] == 2
    assert facts["doses.max_dose_mg"] == 80
    assert facts["doses.max_dose_tablets"] == 2


def test_class_counts_count_molecules_across_lines(store: VersionStore) -> None:
    lines = [["Darzalex", "bortezomib"], ["Darzalex Faspro", "Velcade"], ["carfilzomib"]]
    facts = _norm(store, prior_therapies=lines)
    assert facts["prior_therapies.count"] == 3
    assert facts["prior_therapies.molecules_in_class.anti_cd38_antibody"] == 1
    assert facts["prior_therapies.molecules_in_class.proteasome_inhibitor"] == 2


def test_null_is_unknown(store: VersionStore) -> None:
    facts = _norm(store, member_age=None)
    assert "member_age" not in facts


@pytest.mark.parametrize(
    ("facts", "field"),
    [
        ({"diagnosis": "dlbc"}, "diagnosis"),
        ({"member_age": -3}, "member_age"),
        ({"member_age": 17.5}, "member_age"),
        ({"member_age": True}, "member_age"),
        ({"member_age": 1000}, "member_age"),
        ({"combination": "bortezomib"}, "combination"),
        ({"combination": ["bortezomibb"]}, "combination"),
        ({"combination": [3]}, "combination"),
        ({"prior_therapies": [["x"]]}, "prior_therapies"),
        ({"doses": []}, "doses"),
        ({"doses": [{"tablets": 0, "strength_mg": 20}]}, "doses"),
        ({"doses": [{"tablets": 1, "strength_mg": 30}]}, "doses"),
        ({"doses": [{"tablets": 1, "strength_mg": 20, "when": "am"}]}, "doses"),
        ({"doses": [{"tablets": 1, "strength_mg": 20}] * 8}, "doses"),
        ({"doses": ["20mg"]}, "doses"),
        ({"positive_response": "true"}, "positive_response"),
        ({"days_on_therapy": -1}, "days_on_therapy"),
        ({"request_type": "renewal"}, "request_type"),
        ({"line_of_business": None}, "line_of_business"),
        ({"service_date": "2025-13-01"}, "service_date"),
        ({"service_date": "3025-01-01"}, "service_date"),
        ({"service_date": "20250602"}, "service_date"),
        ({"service_date": "2025-W23-1"}, "service_date"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
    ],
)
def test_invalid_input_names_the_field(store: VersionStore, facts: dict[str, Any], field: str) -> None:
    assert field in _fields(store, **facts)


def test_every_bad_field_is_reported_at_once(store: VersionStore) -> None:
    fields = _fields(store, member_age=-1, diagnosis="x", doses=[])
    assert set(fields) == {"member_age", "diagnosis", "doses"}


def test_unavailable_strength_says_which_were_available(store: VersionStore) -> None:
    with pytest.raises(InvalidRequest) as info:
        version = store.resolve("4.4.0")
        normalise(
            version,
            {**BASE, "doses": [{"tablets": 6, "strength_mg": 10}]},
            NormalisationPlan.of(version, MEASURES),
        )
    message = info.value.violations[0].description
    assert "10 mg" in message and "20 mg, 40 mg, 50 mg, 60 mg" in message


def test_messages_do_not_echo_long_member_text(store: VersionStore) -> None:
    with pytest.raises(InvalidRequest) as info:
        _norm(store, diagnosis="x" * 500)
    assert len(str(info.value)) < 400


def test_a_request_that_is_not_a_mapping(store: VersionStore) -> None:
    with pytest.raises(InvalidRequest) as info:
        store.decide(["not", "a", "mapping"])
    assert info.value.fields == ("request",)


def test_thousands_of_bad_fields_are_capped(store: VersionStore) -> None:
    with pytest.raises(InvalidRequest) as info:
        _norm(store, **{f"unknown_{i}": 1 for i in range(3000)})
    violations = info.value.violations
    assert len(violations) == 51
    assert violations[-1].field == "request" and "2950 more" in violations[-1].description


def test_a_long_unknown_field_name_is_clipped(store: VersionStore) -> None:
    with pytest.raises(InvalidRequest) as info:
        _norm(store, **{"x" * 20000: 1})
    assert len(info.value.violations[0].field) < 80


def test_no_version_in_force_still_reports_every_other_field_once(store: VersionStore) -> None:
    with pytest.raises(InvalidRequest) as info:
        store.decide({"service_date": "2019-07-15", "request_type": "initial", "member_age": -1})
    fields = info.value.fields
    assert fields[0] == "service_date" and fields.count("service_date") == 1
    assert set(fields) == {"service_date", "member_age", "line_of_business"}


def test_a_missing_service_date_is_reported_with_the_other_fields(store: VersionStore) -> None:
    with pytest.raises(InvalidRequest) as info:
        store.decide({"line_of_business": "medicaid", "request_type": "initial", "diagnosis": "x"})
    assert info.value.fields == ("service_date", "diagnosis")
    assert info.value.violations[0].description == "is required"


def test_under_a_named_version_a_bad_date_is_reported_among_the_fields(store: VersionStore) -> None:
    version = store.resolve("4.5.0")
    with pytest.raises(InvalidRequest) as info:
        store.decide({**BASE, "member_age": -1, "service_date": "2025-02-30"}, version=version)
    assert set(info.value.fields) == {"member_age", "service_date"}


def test_the_plan_derives_exactly_what_the_criteria_read(store: VersionStore) -> None:
    for version in store.versions():
        compiled = store.compiled(version)
        assert {d.path for d in compiled.plan.derived} == compiled.measures
        assert set(compiled.plan.required) == {n for n, s in version.facts.items() if s.required}
