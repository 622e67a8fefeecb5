"""Structural diffs of neighbouring versions, pinned to what the revision log says changed."""

from __future__ import annotations

from rxpolicy.server.analysis.diff.model import Change, StructuralDiff
from rxpolicy.server.analysis.diff.structural import structural_diff
from rxpolicy.server.engine.store import VersionStore

DECISION_AREAS = ("criteria", "product", "durations", "referrals", "vocabulary", "facts")


def _diff(store: VersionStore, a: str, b: str) -> StructuralDiff:
    return structural_diff(store.resolve(a), store.resolve(b))


def _by_key(changes: list[Change]) -> dict[str, Change]:
    return {c.key: c for c in changes}


def test_2025_strength_and_b_cell_dose_limit(store: VersionStore) -> None:
    diff = _diff(store, "4.4.0", "4.5.0")  # both as published, not their corrections
    assert {a for a in DECISION_AREAS if diff.in_area(a)} == {"criteria", "product"}
    strengths = _by_key(diff.in_area("product"))["strengths_mg"]
    assert strengths.fields[0].added == ("10 mg",) and strengths.fields[0].removed == ()
    criteria = _by_key(diff.in_area("criteria"))
    for prefix, cite in (("bcell.dose.limit", "I.B.7.a"), ("cont.dose.bcell.limit", "II.A.4.b")):
        removed = {k: c.old for k, c in criteria.items() if c.change == "removed" and k.startswith(prefix)}
        added = {k: c.new for k, c in criteria.items() if c.change == "added" and k.startswith(prefix)}
        assert {(v["fact"], v["op"], v["value"]) for v in removed.values() if v} == {
            ("doses.max_dose_mg", "le", 60),
            ("doses.max_dose_tablets", "le", 3),
            ("doses.per_week", "le", 2),
        }
        assert {(v["fact"], v["op"], v["value"]) for v in added.values() if v} == {
            ("doses.weekly_mg", "le", 120),
            ("doses.weekly_tablets", "le", 6),
        }
        assert criteria[prefix].change == "changed" and criteria[prefix].cite == cite
        assert [f.field for f in criteria[prefix].fields] == ["text"]
    assert {c.key for c in diff.dose_limits} == {
        k
        for k, c in criteria.items()
        if c.change != "changed" and ("weekly" in k or "dose_" in k or "per_week" in k)
    }
    assert all(c.dose_limit for c in diff.dose_limits)


def test_2021_11_generic_redirection_and_renumbering(store: VersionStore) -> None:
    diff = _diff(store, "2021-05-11", "2021-11-24")
    assert {a for a in DECISION_AREAS if diff.in_area(a)} == {"criteria"}
    criteria = _by_key(diff.in_area("criteria"))
    added = {k: c for k, c in criteria.items() if c.change == "added"}
    assert {k for k in added if k.count(".") == 1} == {"mm.generic", "bcell.generic", "cont.generic"}
    assert {added[k].cite for k in ("mm.generic", "bcell.generic", "cont.generic")} == {
        "I.A.4",
        "I.B.4",
        "II.A.3",
    }
    assert not any(c.change == "removed" for c in criteria.values())
    # Later criteria number one higher: a citation move, matched by key, not a removal.
    status = criteria["mm.status"]
    assert status.renumbered_only
    assert (status.fields[0].old, status.fields[0].new) == ("I.A.4", "I.A.5")
    assert criteria["cont.dose"].renumbered_only
    unmodelled = _by_key(diff.in_area("metadata"))["unmodelled"].fields[0]
    assert len(unmodelled.added) == 1 and "WCG" in unmodelled.added[0]


def test_2022_09_changes_referral_tables_only(store: VersionStore) -> None:
    diff = _diff(store, "2022-04-28", "2022-09-23")
    assert {a for a in DECISION_AREAS if diff.in_area(a)} == {"referrals"}
    referrals = _by_key(diff.in_area("referrals"))
    for section, cite in (("other", "I.C"), ("cont.other", "II.B")):
        for rule, targets in (
            (
                "label_change.formulary",
                {"commercial": "CP.CPA.190", "marketplace": "HIM.PA.33", "medicaid": "CP.PMN.255"},
            ),
            (
                "label_change.non_formulary",
                {"commercial": "CP.CPA.190", "marketplace": "HIM.PA.103", "medicaid": "CP.PMN.16"},
            ),
        ):
            change = referrals[f"{section}.{rule}"]
            assert change.change == "added" and change.new is not None
            assert change.new["refer_to"] == targets
            assert change.section.startswith(cite)
        off_label = referrals[f"{section}.off_label"]
        fields = {f.field: (f.old, f.new) for f in off_label.fields}
        assert fields["order"] == (1, 3)  # first-match order moved: the label-change rules come first
        assert fields["when"][0] == "always"
        assert "refer_to" not in fields  # the off-label targets themselves did not change


def test_2022_01_commercial_duration(store: VersionStore) -> None:
    diff = _diff(store, "2021-11-24", "2022-01-20")
    durations = _by_key(diff.in_area("durations"))
    assert set(durations) == {"mm.commercial", "bcell.commercial", "cont.commercial"}
    for change in durations.values():
        assert change.fields[0].old == "length of benefit"
        assert change.fields[0].new == "12 months, or requested_months if fewer"


def test_a_version_diffed_with_itself_is_empty(store: VersionStore) -> None:
    for version in store.versions():
        assert structural_diff(version, version).empty


def test_a_second_policy(demo_store: VersionStore) -> None:
    old, new = demo_store.versions("XX.DEMO.7")
    diff = structural_diff(old, new)
    criteria = _by_key(diff.in_area("criteria"))
    assert criteria["mcl"].change == "added" and criteria["mcl.prior"].change == "added"
    covered = criteria["renewal.covered"].fields[0]
    assert covered.field == "value" and covered.added == ("mantle_cell_lymphoma",)
    assert _by_key(diff.in_area("product"))["strengths_mg"].fields[0].added == ("100 mg",)
    assert _by_key(diff.in_area("referrals"))["other"].fields[0].field == "cite"
