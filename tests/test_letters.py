"""Decisions a reviewer can act on: requests for information (each unknown criterion with
its alternatives, each fact with its question and source, plan and claims apart), a
denial's failed values and still-unknown criteria, an approval's first day and dose
ceiling, the version's title, P&T month, notes and assumptions, and the policy's words
apart from the project's glosses. In the JSON, through a real server into the client's
types, and never in a log."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import OWN_CASES, REPO
from grpc_fixtures import ServerProcess, json_ready
from rxpolicy.client import Decision, PolicyClient
from rxpolicy.decisions import SOURCES
from rxpolicy.server.cli import main
from rxpolicy.server.engine.errors import PolicyLoadError
from rxpolicy.server.engine.store import VersionStore
from rxpolicy.server.formats.case_letters import check_letters
from rxpolicy.server.formats.cases import CaseFileError, load_cases
from rxpolicy.server.formats.decisions import decision_json, explain

LETTER_CASES = OWN_CASES / "letters.yaml"
MM = {
    "service_date": "2025-04-02",
    "line_of_business": "medicaid",
    "request_type": "initial",
    "diagnosis": "multiple_myeloma",
    "member_age": 66,
    "prescriber_specialty": "oncology",
    "disease_status": "relapsed",
    "combination": ["bortezomib", "dexamethasone"],
    "prior_therapies": [["lenalidomide"]],
    "product": "selinexor",
}
PEND = {**MM, "product": "xpovio", "generic_contraindicated": False}
# A denial whose failing values are unusual enough to be found in any text they reach.
DENY = {
    **MM,
    "member_age": 13,
    "doses": [{"tablets": 7, "strength_mg": 60}] * 3,
    "dose_evidence_submitted": False,
}
APPROVE = {**MM, "doses": [{"tablets": 5, "strength_mg": 20}]}
REFER = {
    "service_date": "2025-04-02",
    "line_of_business": "medicaid",
    "request_type": "initial",
    "diagnosis": "other",
}
FAILED_VALUES = ("13", "1260", "21")  # member_age, doses.weekly_mg, doses.weekly_tablets


def _requests() -> list[dict[str, Any]]:
    return [json_ready(c.request) for c in load_cases(LETTER_CASES)]


def test_a_pend_groups_its_missing_facts_by_criterion_and_asks_the_plan_first(store: VersionStore) -> None:
    d = decision_json(store.decide(PEND))
    assert d["decision"] == "pend"
    grouped = [f for r in d["unknown"] for alt in r["one_of"] for f in alt["facts"]]
    # the flat list stays, each fact once, and the grouped view asks for exactly those facts
    assert len(d["missing"]) == len(set(d["missing"])) and set(grouped) == set(d["missing"])
    assert list(d["questions"]) == ["plan", "prescriber"]  # plan and claims before the prescriber
    assert d["questions"]["plan"] == [
        {"fact": "generic_available", "question": "Is a generic selinexor available?"}
    ]
    asked = [q["fact"] for qs in d["questions"].values() for q in qs]
    assert sorted(asked) == sorted(d["missing"])
    assert all(q["question"].endswith("?") for qs in d["questions"].values() for q in qs)
    dose = next(r for r in d["unknown"] if r["cite"] == "I.A.7")
    assert [(a["cite"], a["facts"]) for a in dose["one_of"]] == [
        ("I.A.7.a", ["doses"]),
        ("I.A.7.b", ["dose_evidence_submitted"]),
    ]


def test_questions_are_ordered_by_source_whatever_order_the_facts_come_in(store: VersionStore) -> None:
    d = decision_json(
        store.decide({k: v for k, v in MM.items() if k != "member_age"} | {"product": "xpovio"})
    )
    order = [s for s in SOURCES if s in d["questions"]]
    assert list(d["questions"]) == order and order[0] == "plan"
    assert "member_age" in [q["fact"] for q in d["questions"]["plan"]]


def test_a_fact_the_template_does_not_describe_is_asked_of_the_prescriber_in_its_own_words(
    demo_store: VersionStore,
) -> None:
    version = demo_store.resolve("latest")
    assert version.fact_sources == {}  # XX.DEMO.7 has no template
    request = {"service_date": "2023-05-01", "line_of_business": "medicaid", "request_type": "new_start"}
    d = demo_store.decide(request)
    assert d.outcome == "pend" and d.questions
    assert {q.source for q in d.questions} == {"prescriber"}
    assert all(q.question == version.facts[q.fact].text for q in d.questions)


def test_a_denial_lists_the_values_that_failed_and_the_criteria_still_unknown(store: VersionStore) -> None:
    d = decision_json(store.decide({k: v for k, v in DENY.items() if k != "disease_status"}))
    assert d["decision"] == "deny" and d["missing"] == []
    unmet = {u["cite"]: u for u in d["unmet"]}
    assert unmet["I.A.3"]["values"] == [{"cite": "I.A.3", "key": "mm.age", "fact": "member_age", "value": 13}]
    weekly = {v["fact"]: v["value"] for v in unmet["I.A.7"]["values"]}
    assert weekly == {
        "doses.weekly_mg": 1260,
        "doses.weekly_tablets": 21,
        "combination": ["bortezomib", "dexamethasone"],
        "dose_evidence_submitted": False,
    }
    assert [r["cite"] for r in d["unknown"]] == ["I.A.5"]
    assert [q["fact"] for q in d["questions"]["prescriber"]] == ["disease_status"] and len(
        d["questions"]
    ) == 1


def test_an_approval_carries_its_first_day_dose_ceiling_and_the_version_it_relied_on(
    store: VersionStore,
) -> None:
    decision = store.decide(APPROVE)
    d = decision_json(decision)
    assert (d["approved_from"], d["approved_through"]) == ("2025-04-02", "2025-10-01")
    assert [(x["cite"], x["measure"], x["at_most"]) for x in d["dose_limits"]] == [
        ("I.A.7.a.i.1", "doses.weekly_mg", 100),
        ("I.A.7.a.i.2", "doses.weekly_tablets", 5),
    ]
    assert d["policy_title"] == "Selinexor (Xpovio)" and "pt_approval" in d
    version = store.resolve("2025-04-02")
    assert d["assumptions"] == list(version.meta.assumptions)
    assert decision.about is store.decide(PEND).about  # one object per version, built once


def test_an_approval_on_evidence_names_no_ceiling(store: VersionStore) -> None:
    d = decision_json(
        store.decide(
            {**APPROVE, "doses": [{"tablets": 9, "strength_mg": 20}], "dose_evidence_submitted": True}
        )
    )
    assert d["decision"] == "approve" and "dose_limits" not in d


@pytest.mark.parametrize("request_", [PEND, DENY, APPROVE, REFER], ids=["pend", "deny", "approve", "refer"])
def test_every_kind_of_decision_names_the_version_title_and_its_assumptions(
    store: VersionStore, request_: dict[str, Any]
) -> None:
    d = decision_json(store.decide(request_))
    assert d["policy_title"] == "Selinexor (Xpovio)" and d["assumptions"]


def test_a_wcg_era_denial_carries_the_unmodelled_note_too(store: VersionStore) -> None:
    d = decision_json(store.decide({**DENY, "service_date": "2022-06-01"}))
    assert d["decision"] == "deny" and any("WCG" in n for n in d["notes"])


# ------------------------------------------------------------------ policy words and glosses

POLICY_SOURCE = REPO.parent / "shared" / "policy-source" / "CP.PHAR.431-selinexor-2025.txt"


def _words(text: str) -> str:
    return " ".join(text.replace("\u2010", "-").replace("off- label", "off-label").split())


@pytest.mark.skipif(
    not POLICY_SOURCE.exists(), reason="the policy's source text is not beside the repository"
)
def test_every_2025_criterion_text_is_the_policy_s_own_words(store: VersionStore) -> None:
    source = _words(POLICY_SOURCE.read_text(encoding="utf-8")).replace("off- label", "off-label")
    source = source.replace("therapies* (see", "therapies (see")  # a footnote mark
    version = store.resolve("2025-04-02")
    not_quoted, glossed = [], 0
    for node in version.nodes().values():
        words = _words(node.text).removesuffix(" [sic]")
        if words not in source:
            not_quoted.append((node.key, node.text))
        glossed += node.gloss is not None
    rules = [r for ref in version.referrals for r in ref.rules]
    not_quoted += [(r.key, r.text) for r in rules if _words(r.text) not in source]
    assert not_quoted == []
    assert glossed >= 30  # the paraphrases are glosses now, beside the policy's words


def test_explain_quotes_the_policy_and_marks_glosses(store: VersionStore) -> None:
    text = explain(decision_json(store.decide({**PEND, "member_age": 13}, with_trace=True)))
    assert "\u201cAge \u2265 18 years\u201d" in text and "submitted: member_age = 13" in text
    assert (
        "\u201cmember must use selinexor, if available\u201d [gloss: Generic selinexor is not available]"
        in text
    )
    assert "Ask the plan's own data (plan):\n    generic_available: Is a generic selinexor available?" in text
    assert "Still unknown (answer these with an appeal):" in text
    approve = explain(decision_json(store.decide(APPROVE)))
    assert "Approved for 6 months from 2025-04-02 through 2025-10-01." in approve
    assert "I.A.7.a.i.1  \u201c100 mg per week\u201d  (doses.weekly_mg at most 100)" in approve
    assert "Policy: Selinexor (Xpovio)" in approve and "Assumed: " in approve


# ------------------------------------------------------------------ the case format


def _case_file(tmp: Path, expect: dict[str, Any], request: dict[str, Any]) -> Path:
    path = tmp / "c.yaml"
    path.write_text(yaml.safe_dump({"cases": [{"name": "c", "request": request, "expect": expect}]}))
    return path


def test_letter_expectations_fail_when_the_decision_says_otherwise(store: VersionStore) -> None:
    d = decision_json(store.decide(PEND))
    assert check_letters({"unknown": ["I.A.4"], "questions": {"plan": ["generic_available"]}}, d) == []
    wrong = {
        "unknown": ["I.A.3"],
        "one_of": {"I.A.7": [["doses", "dose_evidence_submitted"]]},
        "questions": {"prescriber": ["generic_available"]},
        "values": {"I.A.3": {"member_age": 66}},
        "approved_from": "2025-04-02",
        "dose_limits": {"doses.weekly_mg": 100},
        "policy_title": "Another",
        "notes": ["WCG"],
        "assumptions": ["no such assumption"],
        "text": {"mm.generic.unavailable": "Generic selinexor is not available"},
        "gloss": {"mm.generic.unavailable": "member must use selinexor, if available"},
    }
    problems = check_letters(wrong, d)
    assert len(problems) == len(wrong), problems


def test_a_malformed_letter_expectation_is_an_error_naming_the_case(tmp_path: Path) -> None:
    path = _case_file(tmp_path, {"decision": "pend", "one_of": {"I.A.7": "doses"}}, PEND)
    with pytest.raises(CaseFileError, match=r"\(c\): 'one_of' must be a mapping"):
        load_cases(path)


def test_a_template_naming_an_unknown_source_refuses_to_load(tmp_path: Path) -> None:
    root = tmp_path / "policies" / "CP.PHAR.431"
    shutil.copytree(REPO / "policy_versions" / "CP.PHAR.431", root)
    template = root / "template.yaml"
    template.write_text(
        template.read_text().replace("member_age: {source: plan", "member_age: {source: oracle")
    )
    with pytest.raises(PolicyLoadError, match="member_age"):
        VersionStore.load(root.parent)


# ------------------------------------------------------------------ the wire and the logs


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    srv = ServerProcess(tmp_path_factory.mktemp("letters"))
    yield srv
    srv.stop()


def test_the_new_fields_travel_through_a_real_server_into_the_client_types(
    server: ServerProcess, store: VersionStore
) -> None:
    requests = [PEND, DENY, APPROVE, REFER, *_requests()]
    with PolicyClient(server.target, timeout=30) as client:
        for request in requests:
            got = client.evaluate(request)
            assert got.to_dict() == decision_json(store.decide(request)), request
        pend, deny, approve = client.evaluate(PEND), client.evaluate(DENY), client.evaluate(APPROVE)
    assert isinstance(pend, Decision) and pend.unknown and pend.questions
    assert pend.questions[0].source == "plan" and isinstance(pend.unknown[0].one_of[0].facts, tuple)
    assert any(a.criterion.gloss for r in pend.unknown for a in r.one_of)
    age = next(u for u in deny.unmet if u.criterion.cite == "I.A.3")
    assert (age.values[0].fact, age.values[0].value) == ("member_age", 13)
    assert approve.approval is not None and approve.approval.approved_from == dt.date(2025, 4, 2)
    assert [limit.at_most for limit in approve.approval.dose_limits] == [100, 5]
    assert (
        approve.about is not None
        and approve.about.title == "Selinexor (Xpovio)"
        and approve.about.assumptions
    )


def test_no_failed_value_reaches_the_decision_log_or_the_server_log(server: ServerProcess) -> None:
    with PolicyClient(server.target, timeout=30) as client:
        answer = client.evaluate(DENY, request_id="letters-deny-1")
    assert any(v.value == 1260 for u in answer.unmet for v in u.values)  # the caller gets them
    records = [r for r in server.decisions() if r.get("request_id") == "letters-deny-1"]
    assert len(records) == 1 and records[0]["unmet"] == ["I.A.3", "I.A.7"]
    logged = json.dumps(server.decisions()) + "\n".join(server.log_lines)
    for key in ('"values"', '"value"', "member_age", "doses.weekly_mg", '"unknown"', '"questions"'):
        assert key not in logged
    for value in FAILED_VALUES[1:]:  # 13 may be a digit of a timestamp; 1260 and 21 as values may not
        assert f": {value}," not in logged and f": {value}}}" not in logged


def test_no_failed_value_reaches_retro_outputs(tmp_path: Path) -> None:
    claims = tmp_path / "claims.jsonl"
    claims.write_text(
        json.dumps({"claim_id": "c1", **DENY}) + "\n" + json.dumps({"claim_id": "c2", **PEND}) + "\n"
    )
    out = tmp_path / "out"
    assert (
        main(
            ["retro", str(claims), "--out", str(out), "--format", "jsonl", "--workers", "1", "--no-progress"]
        )
        == 0
    )
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["decision"] for r in rows] == ["deny", "pend"]
    for name in ("results.jsonl", "summary.json", "report.html"):
        text = (out / name).read_text(encoding="utf-8")
        for key in ('"values"', "1260", '"questions"', '"unknown"'):
            assert key not in text, (name, key)


def test_get_version_and_show_give_each_criterion_s_gloss_apart(
    server: ServerProcess, store: VersionStore
) -> None:
    with PolicyClient(server.target, timeout=30) as client:
        version = client.get_version("latest")
    glosses: dict[str, str] = {}

    def walk(node: Any) -> None:
        if node.gloss is not None:
            glosses[node.key] = node.gloss
        for child in node.children:
            walk(child)

    for ind in version.indications:
        walk(ind.criteria)
    for rule in (r for ref in version.referrals for r in ref.rules):
        if rule.when is not None:
            walk(rule.when)
    expected = {k: n.gloss for k, n in store.resolve("latest").nodes().items() if n.gloss}
    assert glosses and {k: glosses.get(k) for k in expected} == expected
    assert glosses["mm.generic.not_brand"] == "The request is for generic selinexor, not Xpovio"
    rules = {r.key: r for ref in version.referrals for r in ref.rules}
    assert rules["other.off_label"].gloss is None  # a rule quoted whole needs none


def test_show_marks_glosses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "latest"]) == 0
    out = capsys.readouterr().out
    assert "For Xpovio requests   [gloss: The request is for generic selinexor, not Xpovio]" in out
    assert main(["show", "latest", "--json"]) == 0
    assert '"gloss": "120 mg per week"' in capsys.readouterr().out
