"""Hypothesis strategies for valid CP.PHAR.431 requests (any version, any outcome)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st
from rxpolicy.server.engine.store import VersionStore

AGENTS = [
    "bortezomib",
    "Velcade",
    "carfilzomib",
    "Kyprolis",
    "ixazomib",
    "lenalidomide",
    "pomalidomide",
    "thalidomide",
    "daratumumab",
    "Darzalex Faspro",
    "isatuximab",
    "dexamethasone",
    "Decadron",
    "rituximab",
    "gemcitabine",
    "axicabtagene_ciloleucel",
    "other",
]
DIAGNOSES = [
    "multiple_myeloma",
    "dlbcl",
    "dlbcl_transformed_follicular",
    "dlbcl_transformed_indolent",
    "high_grade_b_cell_lymphoma",
    "hiv_related_dlbcl",
    "primary_effusion_lymphoma",
    "hhv8_positive_dlbcl",
    "monomorphic_ptld_b_cell",
    "follicular_lymphoma",
    "other",
]
REGIMENS = [
    ["dexamethasone"],
    ["bortezomib", "dexamethasone"],
    ["Darzalex", "dexamethasone"],
    ["Darzalex Faspro", "dexamethasone"],
    ["Kyprolis", "dexamethasone"],
    ["pomalidomide", "dexamethasone"],
    ["lenalidomide", "dexamethasone"],
]

OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    "member_age": st.integers(0, 100),
    "diagnosis": st.sampled_from(DIAGNOSES),
    "prescriber_specialty": st.sampled_from(["oncology", "hematology", "other"]),
    "specialist_consulted": st.booleans(),
    "disease_status": st.sampled_from(
        ["relapsed", "refractory", "progressive", "responding", "newly_diagnosed"]
    ),
    "combination": st.one_of(st.sampled_from(REGIMENS), st.lists(st.sampled_from(AGENTS), max_size=4)),
    "prior_therapies": st.lists(st.lists(st.sampled_from(AGENTS), min_size=1, max_size=3), max_size=6),
    "product": st.sampled_from(["xpovio", "selinexor", "Xpovio"]),
    "generic_available": st.booleans(),
    "generic_contraindicated": st.booleans(),
    "dose_evidence_submitted": st.booleans(),
    "receiving_via_plan_benefit": st.booleans(),
    "days_on_therapy": st.integers(0, 400),
    "positive_response": st.booleans(),
    "dose_increase": st.booleans(),
    "label_change_within_6_months": st.booleans(),
    "on_formulary": st.booleans(),
    "requested_months": st.integers(1, 24),
}


@st.composite
def valid_requests(draw: st.DrawFn, store: VersionStore) -> dict[str, Any]:
    day = draw(st.dates(min_value=dt.date(2019, 7, 16), max_value=dt.date(2027, 12, 31)))
    version = store.in_force(day)
    assert version is not None
    request: dict[str, Any] = {
        "service_date": day.isoformat(),
        "line_of_business": draw(st.sampled_from(["commercial", "marketplace", "medicaid"])),
        "request_type": draw(st.sampled_from(["initial", "continuation"])),
    }
    for name, strategy in OPTIONAL.items():
        if draw(st.booleans()):
            request[name] = draw(strategy)
    if draw(st.booleans()):
        strengths = version.version.strengths_mg
        request["doses"] = draw(
            st.lists(
                st.fixed_dictionaries(
                    {"tablets": st.integers(1, 8), "strength_mg": st.sampled_from(strengths)}
                ),
                min_size=1,
                max_size=7,
            )
        )
    return request
