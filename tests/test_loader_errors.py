"""Every way a policy-version file can be wrong is reported with file, path and reason."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import FIXTURE_POLICIES
from rxpolicy.server.engine.errors import PolicyLoadError
from rxpolicy.server.engine.lockfile import add_new_to_lock
from rxpolicy.server.engine.store import VersionStore, load_policy_dir

DEMO = FIXTURE_POLICIES / "XX.DEMO.7"
FIRST = "2023-01-01.yaml"


def _doc() -> dict[str, Any]:
    return yaml.safe_load((DEMO / FIRST).read_text(encoding="utf-8"))


def _write(tmp_path: Path, doc: dict[str, Any] | str, name: str = FIRST) -> Path:
    directory = tmp_path / "XX.DEMO.7"
    directory.mkdir(exist_ok=True)
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False)
    (directory / name).write_text(text, encoding="utf-8")
    return directory


def _errors(directory: Path) -> list[str]:
    with pytest.raises(PolicyLoadError) as info:
        load_policy_dir(directory)
    return [str(e) for e in info.value.errors]


def _crit(doc: dict[str, Any], i: int) -> dict[str, Any]:
    criterion: dict[str, Any] = doc["indications"][0]["all"][i]
    return criterion


Mutation = Callable[[dict[str, Any]], None]

CASES: list[tuple[str, Mutation, str, str]] = [
    ("missing required key", lambda d: d.pop("version"), "(top level)", "'version' is a required property"),
    ("wrong type", lambda d: d.update(version=3), "version", "3 is not of type 'string'"),
    ("bad semver", lambda d: d.update(version="1.0"), "version", "does not match"),
    ("unknown top-level key", lambda d: d.update(colour="blue"), "(top level)", "colour"),
    ("unknown operator", lambda d: _crit(d, 1).update(op="approx"), "indications[0].all[1].op", "approx"),
    (
        "unknown fact",
        lambda d: _crit(d, 1).update(fact="weight"),
        "indications[0].all[1].fact",
        "no fact named 'weight'",
    ),
    (
        "unknown measure",
        lambda d: _crit(d, 4).update(fact="doses.daily_mg"),
        "indications[0].all[4].fact",
        "'daily_mg' is not a measure of doses",
    ),
    (
        "unknown class",
        lambda d: _crit(d, 2).update(fact="prior_therapies.molecules_in_class.jak_inhibitor"),
        "indications[0].all[2].fact",
        "'jak_inhibitor' is not a class",
    ),
    (
        "operator does not fit the type",
        lambda d: _crit(d, 1).update(op="set_equals_any", value=[["x"]]),
        "indications[0].all[1].op",
        "does not apply to a number",
    ),
    (
        "number compared with text",
        lambda d: _crit(d, 1).update(value="adult"),
        "indications[0].all[1].value",
        "needs an integer value",
    ),
    (
        "enum value not a term",
        lambda d: _crit(d, 0).update(value="leukemia"),
        "indications[0].all[0].value",
        "'leukemia' is not one of diagnosis's values",
    ),
    (
        "duplicate key",
        lambda d: _crit(d, 1).update(key="cll.diagnosis"),
        "indications[0].all[1].key",
        "used twice",
    ),
    (
        "applies_to names no criterion",
        lambda d: d["indications"][0].update(applies_to="cll.nothing"),
        "indications[0].applies_to",
        "no criterion 'cll.nothing'",
    ),
    (
        "duration table misses a line of business",
        lambda d: d["indications"][0]["approval_duration"].pop("medicaid"),
        "indications[0].approval_duration",
        "no entry for medicaid",
    ),
    (
        "referral table misses a line of business",
        lambda d: d["referrals"][0]["rules"][0]["refer_to"].pop("commercial"),
        "referrals[0].rules[0].refer_to",
        "no entry for commercial",
    ),
    (
        "at_most_fact is not a number",
        lambda d: d["indications"][0]["approval_duration"]["commercial"].update(at_most_fact="diagnosis"),
        "indications[0].approval_duration.commercial.at_most_fact",
        "not an int fact",
    ),
    (
        "alias points nowhere",
        lambda d: d["facts"]["diagnosis"]["aliases"].update(SLL="sll"),
        "facts.diagnosis.aliases.sll",
        "not one of its values",
    ),
    (
        "core fact missing",
        lambda d: d["facts"].pop("request_type"),
        "facts.request_type",
        "needs a required enum fact",
    ),
    (
        "request type not a value",
        lambda d: d["indications"][0].update(request_types=["refill"]),
        "indications[0].request_types",
        "'refill' is not a value of request_type",
    ),
    (
        "unknown agent in a set",
        lambda d: (
            _crit(d, 2).update(fact="prior_therapies.count", op="ge", value=1)
            or d["indications"][0]["all"].append(
                {
                    "key": "cll.combo",
                    "cite": "I.A.6",
                    "text": "With zanubrutinib",
                    "fact": "prior_therapies",
                    "op": "set_equals_any",
                    "value": [["zanubrutinib"]],
                }
            )
        ),
        "indications[0].all[5].fact",
        "compared through a measure",
    ),
]


@pytest.mark.parametrize(("label", "mutate", "path", "reason"), CASES, ids=[c[0] for c in CASES])
def test_error_names_file_path_and_reason(
    tmp_path: Path, label: str, mutate: Mutation, path: str, reason: str
) -> None:
    doc = _doc()
    mutate(doc)
    errors = _errors(_write(tmp_path, doc))
    expected_prefix = f"{tmp_path / 'XX.DEMO.7' / FIRST}: {path}"
    assert any(e.startswith(expected_prefix) and reason in e for e in errors), errors


def test_unknown_agent_in_a_set_value(tmp_path: Path) -> None:
    doc = _doc()
    doc["facts"]["combination"] = {"type": "terms", "vocabulary": "agents", "text": "With"}
    doc["indications"][0]["all"].append(
        {
            "key": "cll.combo",
            "cite": "I.A.6",
            "text": "With zanubrutinib",
            "fact": "combination",
            "op": "set_equals_any",
            "value": [["zanubrutinib"]],
        }
    )
    errors = _errors(_write(tmp_path, doc))
    assert any("indications[0].all[5].value" in e and "zanubrutinib" in e for e in errors), errors


def test_not_yaml(tmp_path: Path) -> None:
    errors = _errors(_write(tmp_path, "policy: [unclosed\n"))
    assert len(errors) == 1 and "line 2" in errors[0] and "not valid YAML" in errors[0]


def test_not_a_mapping(tmp_path: Path) -> None:
    errors = _errors(_write(tmp_path, "- a list\n"))
    assert errors and "a policy version is a mapping" in errors[0]


def test_every_error_in_a_file_is_reported(tmp_path: Path) -> None:
    doc = _doc()
    _crit(doc, 1).update(fact="weight")
    _crit(doc, 3).update(value="high")
    errors = _errors(_write(tmp_path, doc))
    assert len(errors) == 2


def _two_versions(tmp_path: Path) -> Path:
    directory = tmp_path / "XX.DEMO.7"
    shutil.copytree(DEMO, directory)
    return directory


def test_duplicate_effective_date(tmp_path: Path) -> None:
    directory = _two_versions(tmp_path)
    doc = yaml.safe_load((directory / "2024-06-01.yaml").read_text())
    doc["effective"] = "2023-01-01"
    (directory / "2024-06-01.yaml").write_text(yaml.safe_dump(doc))
    (directory / "versions.lock").unlink()
    errors = _errors(directory)
    assert any("2024-06-01.yaml: effective: 2023-01-01 is also the effective date" in e for e in errors)


def test_semver_must_increase_with_effective_date(tmp_path: Path) -> None:
    directory = _two_versions(tmp_path)
    doc = yaml.safe_load((directory / "2024-06-01.yaml").read_text())
    doc["version"] = "0.9.0"
    (directory / "2024-06-01.yaml").write_text(yaml.safe_dump(doc))
    (directory / "versions.lock").unlink()
    errors = _errors(directory)
    assert any(
        "2024-06-01.yaml: version: 0.9.0 (effective 2024-06-01) must be greater than 1.0.0" in e
        for e in errors
    )


def test_directory_name_must_match_policy_id(tmp_path: Path) -> None:
    directory = tmp_path / "XX.OTHER.1"
    shutil.copytree(DEMO, directory)
    errors = _errors(directory)
    assert any("directory is named XX.OTHER.1" in e for e in errors)


def test_locked_file_that_disappeared(tmp_path: Path) -> None:
    directory = _two_versions(tmp_path)
    (directory / "2024-06-01.yaml").unlink()
    errors = _errors(directory)
    assert any("2024-06-01.yaml" in e and "locked in versions.lock but missing" in e for e in errors)


def test_store_reports_a_missing_root(tmp_path: Path) -> None:
    with pytest.raises(PolicyLoadError) as info:
        VersionStore.load(tmp_path / "nowhere")
    assert "is not a directory" in str(info.value)


def test_tampered_locked_file_is_refused(tmp_path: Path) -> None:
    directory = _two_versions(tmp_path)
    path = directory / FIRST
    path.write_text(path.read_text().replace("value: 18", "value: 17"))
    errors = _errors(directory)
    assert len(errors) == 1
    assert errors[0].startswith(str(path))
    assert "differs from its locked hash" in errors[0] and "immutable" in errors[0]


def test_even_a_comment_change_is_refused(tmp_path: Path) -> None:
    directory = _two_versions(tmp_path)
    path = directory / FIRST
    path.write_text(path.read_text() + "# harmless?\n")
    assert any("differs from its locked hash" in e for e in _errors(directory))


def test_lock_adds_new_files_only(tmp_path: Path) -> None:
    directory = _two_versions(tmp_path)
    before = (directory / "versions.lock").read_text()
    doc = yaml.safe_load((directory / "2024-06-01.yaml").read_text())
    doc.update(version="1.2.0", effective="2025-01-01")
    doc["revision_log"]["date"] = "2025-01-01"
    (directory / "2025-01-01.yaml").write_text(yaml.safe_dump(doc))
    assert add_new_to_lock(directory) == ["2025-01-01.yaml"]
    after = (directory / "versions.lock").read_text()
    for line in before.splitlines():
        assert line in after.splitlines()
    assert "2025-01-01.yaml: sha256:" in after
    assert add_new_to_lock(directory) == []
    assert len(load_policy_dir(directory)) == 3
