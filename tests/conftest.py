"""Shared fixtures. Tests that read ../shared skip with a reason where it is absent
(a user's clone has no ../shared; CI and developer machines do)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from rxpolicy.server.engine.store import VersionStore, packaged_root

REPO = Path(__file__).resolve().parent.parent
SHARED_CASES = REPO.parent / "shared" / "cases"
OWN_CASES = REPO / "tests" / "cases"
FIXTURE_POLICIES = REPO / "tests" / "fixtures" / "policies"
PACKAGED = packaged_root()

needs_shared = pytest.mark.skipif(
    not SHARED_CASES.is_dir(),
    reason=f"{SHARED_CASES} is absent: the shared acceptance cases exist in CI and on "
    "developer machines, not in a user's clone",
)


@pytest.fixture(autouse=True, scope="session")
def _own_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The schema-validation cache (and any other user cache) of this test run, in its own
    directory: the tests neither read nor write the developer's ~/.cache. Servers the tests
    start inherit it."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache-home"))
    yield
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(scope="session")
def store() -> VersionStore:
    return VersionStore.load()


@pytest.fixture(scope="session")
def demo_store() -> VersionStore:
    return VersionStore.load(FIXTURE_POLICIES)
