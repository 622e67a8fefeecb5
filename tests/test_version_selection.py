"""The version in force: the day before and the day of every effective date; as known on."""

from __future__ import annotations

import datetime as dt

import pytest
from rxpolicy.server.engine.errors import InvalidRequest, NotFound
from rxpolicy.server.engine.store import VersionStore

EFFECTIVE = [
    "2019-07-16",
    "2020-07-01",
    "2021-01-06",
    "2021-05-11",
    "2021-11-24",
    "2022-01-20",
    "2022-04-28",
    "2022-09-23",
    "2023-04-14",
    "2024-05-16",
    "2025-03-25",
]


def test_eleven_versions(store: VersionStore) -> None:
    assert [v.effective.isoformat() for v in store.versions()] == EFFECTIVE
    assert all(v.locked for v in store.versions())


@pytest.mark.parametrize("index", range(len(EFFECTIVE)))
def test_day_before_and_day_of(store: VersionStore, index: int) -> None:
    day = dt.date.fromisoformat(EFFECTIVE[index])
    on_the_day = store.in_force(day)
    assert on_the_day is not None and on_the_day.version.effective == day
    before = store.in_force(day - dt.timedelta(days=1))
    if index == 0:
        assert before is None
    else:
        assert before is not None
        assert before.version.effective.isoformat() == EFFECTIVE[index - 1]


def test_decide_reports_the_version_used(store: VersionStore) -> None:
    request = {"service_date": "2021-11-24", "line_of_business": "medicaid", "request_type": "initial"}
    decision = store.decide(request)
    assert decision.version.effective == dt.date(2021, 11, 24)
    assert decision.version.version == "3.0.2"  # the latest correction of 3.0.0 decides today
    assert decision.version.content_hash.startswith("sha256:")


def test_before_the_first_version_is_an_error_naming_service_date(store: VersionStore) -> None:
    with pytest.raises(InvalidRequest) as info:
        store.decide(
            {
                "service_date": "2019-07-15",
                "line_of_business": "medicaid",
                "request_type": "initial",
                "member_age": -1,
            }
        )
    assert info.value.fields[0] == "service_date"
    assert "first took effect on 2019-07-16" in info.value.violations[0].description
    assert "member_age" in info.value.fields  # the other problems are reported at once


def test_as_known_on_hides_later_versions(store: VersionStore) -> None:
    day = dt.date(2025, 6, 1)
    current = store.in_force(day)
    known_then = store.in_force(day, as_known_on=dt.date(2024, 12, 31))
    assert current is not None and current.version.version == "4.5.1"
    assert known_then is not None and known_then.version.version == "4.4.0"
    assert store.in_force(day, as_known_on=dt.date(2019, 1, 1)) is None


def test_resolve_by_semver_date_and_latest(store: VersionStore) -> None:
    assert store.resolve("2.1.0").effective == dt.date(2021, 5, 11)
    assert store.resolve("2021-06-30").version == "2.1.2"  # the latest correction in force that day
    assert store.resolve("latest").version == "4.5.1"  # the correction of 4.5.0
    with pytest.raises(NotFound):
        store.resolve("9.9.9")
    with pytest.raises(NotFound):
        store.resolve("2001-01-01")
    with pytest.raises(NotFound):
        store.versions("CP.NOPE.1")


def test_approvals_carry_what_the_version_does_not_model(store: VersionStore) -> None:
    request = {
        "line_of_business": "medicaid",
        "request_type": "continuation",
        "diagnosis": "multiple_myeloma",
        "product": "selinexor",
        "receiving_via_plan_benefit": True,
        "positive_response": True,
        "dose_increase": False,
    }
    legacy = store.decide({**request, "service_date": "2022-02-01"})
    assert legacy.outcome == "approve" and any("WCG" in note for note in legacy.notes)
    assert store.decide({**request, "service_date": "2023-04-14"}).notes == ()
