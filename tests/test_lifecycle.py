"""The policy-version lifecycle: the README workflow, drafts, template lint, corrections."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO
from grpc_fixtures import ServerProcess
from rxpolicy.client import InvalidRequestError, PolicyClient
from rxpolicy.server.analysis.lint import lint_root
from rxpolicy.server.analysis.renumber import renumber
from rxpolicy.server.engine.errors import PolicyLoadError
from rxpolicy.server.engine.store import VersionStore, load_policy_dir, packaged_root
from rxpolicy.server.formats.yaml_dump import dump_version

POLICY = packaged_root() / "CP.PHAR.431"
BIN = Path(sys.executable).parent


def _shell(line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(line)
    assert argv[0] == "rxpolicy"
    cmd = [
        sys.executable,
        "-c",
        "import sys; from rxpolicy.server.cli import main; sys.exit(main(sys.argv[1:]))",
    ]
    return subprocess.run([*cmd, *argv[1:]], cwd=cwd, capture_output=True, text=True, timeout=900)


def _workflow_lines() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- workflow", 1)[1].split("<!-- /workflow -->", 1)[0]
    body = block.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in body.splitlines() if line.strip()]


def test_the_readme_workflow_runs_as_written(tmp_path: Path) -> None:
    lines = _workflow_lines()
    assert [line.split()[1] for line in lines if not line.startswith("#")] == [
        "init",
        "new-version",
        "lint",
        "publish",
        "serve",
    ]
    draft = tmp_path / "my-policies" / "CP.PHAR.431" / "2026-01-15.yaml"
    lint_runs = 0
    for line in lines:
        if line.startswith("# edit"):
            doc = yaml.safe_load(draft.read_text(encoding="utf-8"))
            assert doc["provenance"] == "draft" and doc["version"] == "4.5.2"  # after 4.5.1, the correction
            doc["product"]["strengths_mg"] = sorted([*doc["product"]["strengths_mg"], 30])
            doc["semver_reasoning"] = "MINOR: a 30 mg tablet becomes valid; no approval is lost."
            draft.write_text(dump_version(doc), encoding="utf-8")
            continue
        if line.split()[1] == "serve":
            args = shlex.split(line)[2:]
            _decide_under_the_new_version(tmp_path, args)
            continue
        out = _shell(line, tmp_path)
        if line.split()[1] == "lint" and lint_runs == 0:
            lint_runs += 1
            # the declared PATCH is wrong for the edit: lint says which version to write
            assert out.returncode == 1 and "write `version: 4.6.0`" in out.stdout, out.stdout
            draft.write_text(draft.read_text().replace("version: 4.5.2", "version: 4.6.0"))
            out = _shell(line, tmp_path)
            assert "warning" in out.stdout and "draft 4.6.0" in out.stdout
        assert out.returncode == 0, (line, out.stdout, out.stderr)
    text = draft.read_text(encoding="utf-8")
    assert (
        "provenance: published" in text and "2026-01-15.yaml" in (draft.parent / "versions.lock").read_text()
    )


def _decide_under_the_new_version(tmp: Path, args: list[str]) -> None:
    args = [str(tmp / a) if a == "my-policies" else a for a in args]
    server = ServerProcess(tmp, *args)
    try:
        request: dict[str, Any] = {
            "line_of_business": "medicaid",
            "request_type": "initial",
            "diagnosis": "multiple_myeloma",
            "doses": [{"tablets": 1, "strength_mg": 30}],
        }
        with PolicyClient(server.target) as client:
            decision = client.evaluate(service_date="2026-02-02", **request)
            assert decision.version.version == "4.6.0" and not decision.version.draft
            with pytest.raises(InvalidRequestError):  # no 30 mg tablet under 4.5.0
                client.evaluate(service_date="2025-06-02", **request)
    finally:
        assert server.stop() == 0


def test_writing_into_an_installed_package_is_refused(tmp_path: Path) -> None:
    installed = tmp_path / "lib" / "python3" / "site-packages" / "rxpolicy" / "policy_versions"
    shutil.copytree(POLICY, installed / "CP.PHAR.431")
    before = sorted(p.name for p in (installed / "CP.PHAR.431").iterdir())
    for line in (
        f"rxpolicy new-version --policies {installed} --effective 2026-01-15 --log x",
        f"rxpolicy publish --policies {installed}",
        f"rxpolicy renumber {installed}/CP.PHAR.431/2025-03-25.yaml",
    ):
        out = _shell(line, tmp_path)
        assert out.returncode == 1 and "installed package" in out.stderr and "rxpolicy init" in out.stderr
    assert sorted(p.name for p in (installed / "CP.PHAR.431").iterdir()) == before


def test_init_copies_the_packaged_versions_and_refuses_a_full_directory(tmp_path: Path) -> None:
    out = _shell(f"rxpolicy init {tmp_path / 'copy'}", tmp_path)
    assert out.returncode == 0, out.stderr
    copied = tmp_path / "copy" / "CP.PHAR.431"
    assert sorted(p.name for p in copied.iterdir()) == sorted(
        p.name for p in POLICY.iterdir() if p.suffix in (".yaml", ".lock")
    )
    assert len(load_policy_dir(copied)) == len(load_policy_dir(POLICY))
    again = _shell(f"rxpolicy init {tmp_path / 'copy'}", tmp_path)
    assert again.returncode == 1 and "not an empty directory" in again.stderr


# ------------------------------------------------------------------ template lint


def _myelofibrosis_draft(tmp: Path, **defects: bool) -> Path:
    """A copy of the policy with a 2026 draft adding a (made-up) myelofibrosis section I.C,
    done right unless a defect is asked for."""
    root = tmp / "policies"
    shutil.copytree(POLICY, root / "CP.PHAR.431")
    doc = yaml.safe_load((POLICY / "2025-03-25.yaml").read_text(encoding="utf-8"))
    doc.update(
        version="4.6.0", effective=dt.date(2026, 7, 1), recorded=dt.date(2026, 7, 1), provenance="draft"
    )
    doc["revision_log"] = {"date": dt.date(2026, 7, 1), "pt_approval": None, "text": "3Q 2025: myelofibrosis"}
    doc["semver_reasoning"] = "MINOR: myelofibrosis moves from a referral to covered criteria."
    doc["facts"]["diagnosis"]["values"]["myelofibrosis"] = "Myelofibrosis"
    bcell = next(i for i in doc["indications"] if i["key"] == "bcell")
    mf: dict[str, Any] = yaml.safe_load(yaml.safe_dump(bcell).replace("bcell", "mf").replace("I.B", "I.C"))
    mf["text"] = "Myelofibrosis (must meet all)"
    mf["all"][0] = {
        "key": "mf.diagnosis",
        "cite": "I.C.1",
        "text": "Diagnosis of myelofibrosis",
        "fact": "diagnosis",
        "op": "in",
        "value": ["myelofibrosis"],
    }
    if defects.get("no_generic"):
        mf["all"] = [c for c in mf["all"] if c["key"] != "mf.generic"]
        renumber({"indications": [mf], "referrals": []})
        mf["cite"] = "I.C"
    doc["indications"].insert(2, mf)
    cont = next(i for i in doc["indications"] if i["key"] == "cont")
    if not defects.get("not_covered"):
        cont["applies_to"]["value"].append("myelofibrosis")
    dose = next(c for c in cont["all"] if c["key"] == "cont.dose")
    if not defects.get("no_cont_dose"):
        text = yaml.safe_dump(dose["any"][2]).replace("cont.dose.bcell", "cont.dose.mf")
        branch = yaml.safe_load(text.replace("II.A.4.b", "II.A.4.c"))
        dose["any"][3]["cite"] = "II.A.4.d"  # the evidence branch moves down a letter
        branch["all"][0]["value"] = ["myelofibrosis"]
        branch["text"] = "For myelofibrosis: New dose does not exceed"
        dose["any"].insert(3, branch)
    if not defects.get("two_ic"):
        renumber(doc)
    if defects.get("placeholder"):
        doc["semver_reasoning"] = (
            "Scaffolded from 4.5.0. Replace this with the reason once the criteria are edited."
        )
    if defects.get("removed_key"):
        mm = doc["indications"][0]
        mm["all"] = [c for c in mm["all"] if c["key"] != "mm.age"]
        renumber(doc)
    (root / "CP.PHAR.431" / "2026-07-01.yaml").write_text(dump_version(doc), encoding="utf-8")
    return root


def _problems(root: Path) -> list[str]:
    return lint_root(root, semver_scope="none").problems


def test_a_well_formed_draft_passes_the_template_checks(tmp_path: Path) -> None:
    report = lint_root(_myelofibrosis_draft(tmp_path), semver_scope="none")
    assert report.problems == [] and len(report.warnings) == 1 and "draft 4.6.0" in report.warnings[0]


def test_lint_finds_a_section_without_generic_redirection(tmp_path: Path) -> None:
    problems = _problems(_myelofibrosis_draft(tmp_path, no_generic=True))
    assert len(problems) == 1 and "I.C Myelofibrosis" in problems[0]
    assert "no generic redirection criterion (required from 2021-11-24)" in problems[0]


def test_lint_finds_a_covered_diagnosis_without_a_continuation_dose_branch(tmp_path: Path) -> None:
    problems = _problems(_myelofibrosis_draft(tmp_path, no_cont_dose=True))
    assert len(problems) == 1 and "II.A" in problems[0]
    assert "dose criterion II.A.4 has no branch for diagnosis myelofibrosis" in problems[0]


def test_lint_finds_a_diagnosis_missing_from_continuation(tmp_path: Path) -> None:
    problems = _problems(_myelofibrosis_draft(tmp_path, not_covered=True))
    assert len(problems) == 1
    assert "continuation does not cover diagnosis myelofibrosis, which initial covers" in problems[0]


def test_lint_finds_two_sections_cited_alike(tmp_path: Path) -> None:
    problems = _problems(_myelofibrosis_draft(tmp_path, two_ic=True))
    assert "sections mf and other are both cited I.C" in problems[0]


def test_lint_finds_the_scaffold_placeholder(tmp_path: Path) -> None:
    problems = _problems(_myelofibrosis_draft(tmp_path, placeholder=True))
    assert len(problems) == 1 and "placeholder 'Replace this with the reason'" in problems[0]


def test_lint_finds_a_criterion_gone_without_a_change_note(tmp_path: Path) -> None:
    root = _myelofibrosis_draft(tmp_path, removed_key=True)
    problems = _problems(root)
    assert len(problems) == 1 and "criteria of 4.5.0 (2025-03-25.yaml) are gone: mm.age" in problems[0]
    draft = root / "CP.PHAR.431" / "2026-07-01.yaml"
    doc = yaml.safe_load(draft.read_text(encoding="utf-8"))
    doc["changes"] = [{"key": "mm.age", "change": "removed", "text": "No age limit (made up)."}]
    draft.write_text(dump_version(doc), encoding="utf-8")
    assert _problems(root) == []


def test_renumber_moves_the_following_section_and_its_rules(tmp_path: Path) -> None:
    root = _myelofibrosis_draft(tmp_path, two_ic=True)
    draft = root / "CP.PHAR.431" / "2026-07-01.yaml"
    out = _shell(f"rxpolicy renumber {draft}", tmp_path)
    assert out.returncode == 0 and "I.C -> I.D" in out.stdout, out.stdout
    doc = yaml.safe_load(draft.read_text(encoding="utf-8"))
    other = next(r for r in doc["referrals"] if r["key"] == "other")
    assert other["cite"] == "I.D" and {r["cite"] for r in other["rules"]} == {"I.D.1.a", "I.D.1.b", "I.D.2"}
    assert _problems(root) == []
    locked = _shell(f"rxpolicy renumber {root / 'CP.PHAR.431' / '2025-03-25.yaml'}", tmp_path)
    assert locked.returncode == 1 and "published" in locked.stderr


# ------------------------------------------------------------------ corrections


BCELL_2021 = {
    "service_date": "2021-06-01",
    "line_of_business": "medicaid",
    "request_type": "initial",
    "diagnosis": "dlbcl",
    "prescriber_specialty": "oncology",
    "member_age": 60,
    "disease_status": "relapsed",
    "prior_therapies": [["rituximab"], ["gemcitabine", "oxaliplatin"]],
    "dose_evidence_submitted": False,
    "doses": [{"tablets": 3, "strength_mg": 20}] * 3,  # three dosing days a week
}


def test_a_correction_decides_after_its_recorded_date_and_not_before(store: VersionStore) -> None:
    before = store.decide(BCELL_2021, as_known_on=dt.date(2026, 11, 30))
    after = store.decide(BCELL_2021, as_known_on=dt.date(2026, 12, 1))
    today = store.decide(BCELL_2021)
    assert (before.version.version, after.version.version, today.version.version) == (
        "2.1.0",
        "2.1.1",
        "2.1.2",  # the correction of 2.1.1 (the policy's words in every text) recorded 2026-12-02
    )
    assert before.version.corrects is None and after.version.corrects == before.version.content_hash
    assert after.version.recorded == dt.date(2026, 12, 1)
    assert before.outcome == after.outcome == "deny"  # a correction decides as before (PATCH) ...
    because = (
        [[b.cite for b in u.because] for u in before.unmet],
        [[b.cite for b in u.because] for u in after.unmet],
    )
    # ... citing the policy's words
    assert because == ([["I.B.6.a.iii", "I.B.6.b"]], [["I.B.6.a.i", "I.B.6.a.ii", "I.B.6.b"]])
    texts = {b.text for u in after.unmet for b in u.because if b.cite != "I.B.6.b"}
    assert texts == {
        "60 mg twice a week (at most two doses a week)",
        "3 tablets twice a week (at most two doses a week)",
    }


def test_decision_json_names_a_correction_only_when_one_decides(capsys: pytest.CaptureFixture[str]) -> None:
    from rxpolicy.server.formats.decisions import decision_json

    store = VersionStore.load()
    old = decision_json(store.decide(BCELL_2021, as_known_on=dt.date(2026, 1, 1)))
    new = decision_json(store.decide(BCELL_2021, as_known_on=dt.date(2026, 12, 1)))
    assert "corrects" not in old and "recorded" not in old
    assert new["corrects"] == old["content_hash"] and new["recorded"] == "2026-12-01"
    latest = decision_json(store.decide(BCELL_2021))  # a correction of that correction
    assert latest["corrects"] == new["content_hash"] and latest["recorded"] == "2026-12-02"


def test_tampering_with_a_corrected_file_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "CP.PHAR.431"
    shutil.copytree(POLICY, copy)
    target = copy / "2021-05-11.yaml"
    target.write_bytes(target.read_bytes().replace(b"60 mg per dose", b"60 mg twice a week"))
    with pytest.raises(PolicyLoadError) as info:
        load_policy_dir(copy)
    text = str(info.value.errors)
    assert "2021-05-11.yaml" in text and "differs from its locked hash" in text
    # a correction's own bytes are locked as well
    shutil.copy(POLICY / "2021-05-11.yaml", target)
    fixed = copy / "2021-05-11.correction-1.yaml"
    fixed.write_bytes(fixed.read_bytes().replace(b"twice a week", b"thrice a week"))
    with pytest.raises(PolicyLoadError, match="differs from its locked hash"):
        load_policy_dir(copy)


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (("recorded: 2026-12-01", "recorded: 2021-05-11"), "must be after"),
        (("version: 2.1.1", "version: 2.2.0"), "keeps MAJOR.MINOR and raises"),
        (("effective: 2021-05-11", "effective: 2021-05-12"), "keeps the effective date"),
    ],
)
def test_a_correction_that_breaks_the_rules_is_refused(
    tmp_path: Path, edit: tuple[str, str], reason: str
) -> None:
    copy = tmp_path / "CP.PHAR.431"
    shutil.copytree(POLICY, copy)
    lock = copy / "versions.lock"
    lock.write_text(
        "".join(line for line in lock.read_text().splitlines(True) if "2021-05-11.correction" not in line)
    )
    fixed = copy / "2021-05-11.correction-1.yaml"
    assert edit[0] in fixed.read_text()
    fixed.write_text(fixed.read_text().replace(edit[0], edit[1]))
    with pytest.raises(PolicyLoadError) as info:
        load_policy_dir(copy)
    assert any(reason in e.reason for e in info.value.errors), info.value.errors


def test_retro_as_known_on_answers_what_was_decided_then_and_what_should_have_been(tmp_path: Path) -> None:
    claims = tmp_path / "claims.csv"
    with claims.open("w", newline="") as f:
        writer = csv.writer(f)
        facts = ["prescriber_specialty", "member_age", "disease_status", "prior_therapies"]
        head = ["claim_id", "service_date", "line_of_business", "request_type", "diagnosis", "doses"]
        writer.writerow([*head, *facts, "dose_evidence_submitted"])
        same = ["oncology", "60", "relapsed", "rituximab|gemcitabine+oxaliplatin", "false"]
        writer.writerow(["c1", "2021-06-01", "medicaid", "initial", "dlbcl", "3x20;3x20;3x20", *same])
        writer.writerow(["c2", "2025-06-01", "medicaid", "initial", "dlbcl", "3x20;3x20;3x20", *same])
    results = {}
    for known, out in (("2026-11-30", "then"), (None, "now")):
        extra = f" --as-known-on {known}" if known else ""
        run = _shell(f"rxpolicy retro {claims} --out {tmp_path / out} --workers 1{extra}", tmp_path)
        assert run.returncode == 0, run.stderr
        with (tmp_path / out / "results.csv").open() as f:
            results[out] = {row["claim_id"]: row for row in csv.DictReader(f)}
    then, now = results["then"], results["now"]
    assert then["c1"]["version"] == "2.1.0" and now["c1"]["version"] == "2.1.2"
    assert then["c1"]["decision"] == now["c1"]["decision"] == "deny"
    # 2025: only the words were corrected (recorded 2026-12-02), after the day asked about
    assert (then["c2"]["version"], now["c2"]["version"]) == ("4.5.0", "4.5.1")


def test_the_shipped_versions_and_corrections_are_well_formed() -> None:
    report = lint_root(POLICY.parent, semver_scope="none")
    assert report.problems == [] and report.warnings == [] and report.checked == 32


def test_facts_lists_type_vocabulary_question_and_source(tmp_path: Path) -> None:
    out = _shell("rxpolicy facts 2021-12-01 --json", tmp_path)
    assert out.returncode == 0
    rows = {r["fact"]: r for r in yaml.safe_load(out.stdout)}
    assert (
        rows["generic_available"]["source"] == "plan"
        and rows["receiving_via_plan_benefit"]["source"] == "claims"
    )
    assert (
        rows["diagnosis"]["source"] == "prescriber" and "multiple_myeloma" in rows["diagnosis"]["vocabulary"]
    )
    assert rows["service_date"]["type"] == "date" and rows["service_date"]["required"]
    assert all(r["source"] != "unknown" and r["question"].endswith("?") for r in rows.values())


def test_no_user_visible_text_points_outside_the_repository() -> None:
    pattern = re.compile(r"DOMAIN\.md|\.\./shared")
    checked = [REPO / "README.md", *REPO.glob("docs/*.md"), *REPO.glob("protos/rxpolicy/v1/*.proto")]
    checked += [*REPO.glob("server/**/*.py"), *POLICY.glob("*.correction-*.yaml"), POLICY / "template.yaml"]
    offenders = [str(p.relative_to(REPO)) for p in checked if pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
    assert os.path.exists(REPO / "docs" / "cases.md")


def test_the_semantic_diff_says_what_a_new_term_was_decided_as_before(tmp_path: Path) -> None:
    from rxpolicy.server.analysis.semantic.diff import semantic_diff

    store = VersionStore.load(_myelofibrosis_draft(tmp_path))
    old, new = store.resolve("4.5.0"), store.resolve("4.6.0")
    diff = semantic_diff(store, old, new)
    new_term = [k for k in diff.kinds if k.witness.request.get("diagnosis") == "myelofibrosis"]
    assert new_term and all(k.witness.old_decided_as == {"diagnosis": "other"} for k in new_term)
    assert all(k.title.startswith(f"{k.old_outcome} (as other) -> ") for k in new_term)
    assert {k.old_outcome for k in new_term} <= {"refer", "pend"} and "invalid" not in {
        k.old_outcome for k in new_term
    }
    assert all(k.witness.old_decision["decision"] == k.old_outcome for k in new_term)


def test_lint_refuses_a_correction_that_changes_a_decision(tmp_path: Path) -> None:
    root = tmp_path / "policies"
    shutil.copytree(POLICY, root / "CP.PHAR.431")
    doc = yaml.safe_load((POLICY / "2025-03-25.correction-1.yaml").read_text(encoding="utf-8"))
    corrects = "2025-03-25.correction-1.yaml"
    doc.update(version="4.5.2", recorded=dt.date(2026, 12, 3), provenance="draft", corrects=corrects)
    doc["semver_reasoning"] = "PATCH: a correction (that in truth raises the age limit)."
    age = next(c for c in doc["indications"][0]["all"] if c["key"] == "mm.age")
    age["value"] = 21
    (root / "CP.PHAR.431" / "2025-03-25.correction-2.yaml").write_text(dump_version(doc), encoding="utf-8")
    report = lint_root(root, semver_scope="unlocked")
    assert len(report.problems) == 1, report.problems
    assert f"a correction must decide every request as {corrects} does (PATCH)" in report.problems[0]
    assert "requires MAJOR" in report.problems[0] and len(report.warnings) == 1
