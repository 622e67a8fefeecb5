"""The acceptance cases (../shared/cases) and the project's own (tests/cases), in process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import OWN_CASES, SHARED_CASES, needs_shared
from rxpolicy.server.engine.errors import InvalidRequest
from rxpolicy.server.engine.store import VersionStore
from rxpolicy.server.formats.cases import Case, check, iter_case_files, load_cases
from rxpolicy.server.formats.decisions import decision_json, error_json


def _cases(root: Path) -> list[Case]:
    if not root.is_dir():
        return []
    return [c for f in iter_case_files([root]) for c in load_cases(f)]


def _run(store: VersionStore, case: Case) -> dict[str, Any]:
    try:
        return decision_json(store.decide(case.request))
    except InvalidRequest as exc:
        return error_json(exc)


@needs_shared
@pytest.mark.parametrize("case", _cases(SHARED_CASES), ids=lambda c: c.id)
def test_shared_case(store: VersionStore, case: Case) -> None:
    result = check(case, _run(store, case))
    assert result.passed, result.problems


@pytest.mark.parametrize("case", _cases(OWN_CASES), ids=lambda c: c.id)
def test_own_case(store: VersionStore, case: Case) -> None:
    result = check(case, _run(store, case))
    assert result.passed, result.problems


def test_own_cases_exist() -> None:
    assert len(_cases(OWN_CASES)) >= 40
