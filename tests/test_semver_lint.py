"""rxpolicy lint checks every version's semver against its predecessor (docs/policy-format.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import PACKAGED
from rxpolicy.server.analysis.diff.semver import declared_bump
from rxpolicy.server.analysis.lint import lint_root

POLICY = PACKAGED / "CP.PHAR.431"
# The verdict the semantic diff reaches for each neighbouring pair, as the files declare it.
EXPECTED = {
    "1.1.0": "MINOR",
    "2.0.0": "MAJOR",
    "2.1.0": "MINOR",
    "3.0.0": "MAJOR",
    "4.0.0": "MAJOR",
    "4.1.0": "MINOR",
    "4.2.0": "MINOR",
    "4.3.0": "MINOR",
    "4.4.0": "MINOR",
    "4.5.0": "MINOR",
}


def test_packaged_versions_have_the_semver_the_semantic_diff_requires() -> None:
    report = lint_root(PACKAGED)
    assert report.problems == []
    verdicts = [line.strip() for line in report.lines if line.strip().startswith("semver ")]
    assert len(verdicts) == len(EXPECTED)
    for line in verdicts:
        new = line.split(" -> ")[1].split(":")[0]
        assert f"declared {EXPECTED[new]}, required {EXPECTED[new]} (ok)" in line


def _copy(tmp_path: Path, names: dict[str, tuple[str, str] | None]) -> Path:
    """A policy directory with some packaged versions, optionally with a new version number
    (and effective date), without a lock file: drafts, as an analyst has them before locking."""
    root = tmp_path / "policies"
    directory = root / "CP.PHAR.431"
    directory.mkdir(parents=True)
    for name, change in names.items():
        text = (POLICY / name).read_text(encoding="utf-8")
        target = name
        if change is not None:
            version, effective = change
            old_version = text.split("\nversion: ", 1)[1].split("\n", 1)[0]
            text = text.replace(f"version: {old_version}\n", f"version: {version}\n")
            if effective:
                old_effective = name.removesuffix(".yaml")
                text = text.replace(f"effective: {old_effective}", f"effective: {effective}")
                text = text.replace(f"recorded: {old_effective}", f"recorded: {effective}")
                target = f"{effective}.yaml"
        (directory / target).write_text(text, encoding="utf-8")
    return root


def _semver_problems(root: Path) -> list[str]:
    return [p for p in lint_root(root).problems if "the semver rule requires" in p]


def test_a_minor_bump_that_loses_approvals_fails_with_the_witness(tmp_path: Path) -> None:
    root = _copy(tmp_path, {"2021-05-11.yaml": None, "2021-11-24.yaml": ("2.2.0", "")})
    [problem] = _semver_problems(root)
    assert "2.2.0 declares a MINOR bump from 2.1.0, but the semver rule requires MAJOR" in problem
    assert "witness (approve -> " in problem and '"service_date": "2021-11-24"' in problem
    assert "under 2.1.0 (service_date 2021-05-11): approve" in problem


def test_a_major_bump_for_new_coverage_only_fails(tmp_path: Path) -> None:
    root = _copy(tmp_path, {"2021-01-06.yaml": None, "2021-05-11.yaml": ("3.0.0", "")})
    [problem] = _semver_problems(root)
    assert "requires MINOR: no approval is lost or shortened" in problem
    assert "under 2.0.0 (service_date 2021-01-06): invalid input (doses)" in problem


def test_a_bump_without_any_change_of_outcome_must_be_a_patch(tmp_path: Path) -> None:
    # The same criteria again, later: only metadata differs, so no request is decided differently.
    root = _copy(tmp_path, {"2025-03-25.yaml": None})
    draft = root / "CP.PHAR.431" / "2025-09-01.yaml"
    text = (POLICY / "2025-03-25.yaml").read_text(encoding="utf-8")
    text = text.replace("effective: 2025-03-25", "effective: 2025-09-01")
    draft.write_text(text.replace("version: 4.5.0\n", "version: 4.6.0\n"), encoding="utf-8")
    [problem] = _semver_problems(root)
    assert "requires PATCH: no request's outcome changes (z3 proved it" in problem
    draft.write_text(text.replace("version: 4.5.0\n", "version: 4.5.1\n"), encoding="utf-8")
    assert _semver_problems(root) == []


@pytest.mark.parametrize(
    ("old", "new", "bump"),
    [
        ("1.0.0", "1.1.0", "minor"),
        ("2.1.0", "3.0.0", "major"),
        ("4.5.0", "4.5.1", "patch"),
        ("4.5.0", "4.5.0", None),
    ],
)
def test_declared_bump(old: str, new: str, bump: str | None) -> None:
    assert declared_bump(old, new) == bump
