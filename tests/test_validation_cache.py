"""The schema-validation cache: a locked file already known to pass the schema is not
validated again; anything else (another file, another schema, a broken cache) is."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import FIXTURE_POLICIES
from rxpolicy.server.engine import loading
from rxpolicy.server.engine.errors import PolicyFileError, PolicyLoadError
from rxpolicy.server.engine.lockfile import HEADER, LOCK_NAME
from rxpolicy.server.engine.store import VersionStore
from rxpolicy.server.engine.validation_cache import CACHE_FILE, ValidationCache, default_path

DEMO = "XX.DEMO.7"


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache-home"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


@pytest.fixture
def schema_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the JSON Schema pass ran on, in order."""
    runs: list[str] = []
    real = loading._schema_errors

    def counting(file: str, doc: Any) -> list[PolicyFileError]:
        runs.append(Path(file).name)
        return real(file, doc)

    monkeypatch.setattr(loading, "_schema_errors", counting)
    return runs


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "policies"
    shutil.copytree(FIXTURE_POLICIES, root)
    return root


def _relock(directory: Path) -> None:
    """versions.lock as publishing would write it for the files as they are now."""
    lines = "".join(
        f"{p.name}: {loading.sha256_of(p.read_bytes())}\n" for p in sorted(directory.glob("*.yaml"))
    )
    (directory / LOCK_NAME).write_text(HEADER + lines, encoding="utf-8")


def test_the_cache_lives_under_xdg_cache_home(cache_home: Path) -> None:
    assert default_path() == cache_home / "rxpolicy" / CACHE_FILE


def test_a_second_load_skips_the_schema_for_files_that_passed(
    tmp_path: Path, cache_home: Path, schema_runs: list[str]
) -> None:
    root = _copy(tmp_path)
    first = VersionStore.load(root)
    assert sorted(schema_runs) == ["2023-01-01.yaml", "2024-06-01.yaml"]
    schema_runs.clear()
    second = VersionStore.load(root)
    assert schema_runs == []
    assert [v.content_hash for v in second.versions(DEMO)] == [v.content_hash for v in first.versions(DEMO)]
    assert second.policy_set_digest == first.policy_set_digest


def test_a_changed_file_is_validated_again(tmp_path: Path, cache_home: Path, schema_runs: list[str]) -> None:
    root = _copy(tmp_path)
    VersionStore.load(root)
    directory = root / DEMO
    doc = yaml.safe_load((directory / "2024-06-01.yaml").read_text(encoding="utf-8"))
    doc["surprise"] = "a key the schema does not allow"
    (directory / "2024-06-01.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    _relock(directory)  # locked with its new hash: only the cache could hide the problem
    schema_runs.clear()
    with pytest.raises(PolicyLoadError) as info:
        VersionStore.load(root)
    assert schema_runs == ["2024-06-01.yaml"]
    assert any("surprise" in str(e) for e in info.value.errors)


def test_a_changed_schema_validates_every_file_again(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILE
    old = ValidationCache(path, b'{"title": "one schema"}')
    old.add("sha256:ab")
    old.save()
    assert ValidationCache(path, b'{"title": "one schema"}').passed("sha256:ab")
    assert not ValidationCache(path, b'{"title": "another schema"}').passed("sha256:ab")
    assert not ValidationCache(path, b'{"title": "one schema"}').passed("sha256:cd")


def test_drafts_are_never_recorded(tmp_path: Path, cache_home: Path, schema_runs: list[str]) -> None:
    root = _copy(tmp_path)
    (root / DEMO / LOCK_NAME).unlink()
    VersionStore.load(root)
    VersionStore.load(root)
    assert len(schema_runs) == 4
    assert not (cache_home / "rxpolicy" / CACHE_FILE).exists()


@pytest.mark.parametrize(
    "content",
    [
        b"not json at all",
        b"[1, 2]",
        b'{"format": 1, "passed": 7}',
        b'{"format": 999, "passed": []}',
        b"\xff\xfe",
    ],
)
def test_a_corrupt_cache_is_ignored_and_replaced(
    tmp_path: Path, cache_home: Path, schema_runs: list[str], content: bytes
) -> None:
    root = _copy(tmp_path)
    path = cache_home / "rxpolicy" / CACHE_FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    VersionStore.load(root)
    assert len(schema_runs) == 2
    assert json.loads(path.read_bytes())["format"] == 1
    schema_runs.clear()
    VersionStore.load(root)
    assert schema_runs == []


def test_an_unwritable_cache_place_still_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, schema_runs: list[str]
) -> None:
    blocker = tmp_path / "a-file-not-a-directory"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    root = _copy(tmp_path)
    assert VersionStore.load(root).versions(DEMO)
    assert VersionStore.load(root).versions(DEMO)
    assert len(schema_runs) == 4  # nothing could be recorded, so each load validates


_SERVE_PATH = """
import sys
from rxpolicy.server.api import server
from rxpolicy.server.cli import build_parser
from rxpolicy.server.engine.store import VersionStore
build_parser("serve")
VersionStore.load()
heavy = ("jsonschema", "z3", "rxpolicy.server.analysis", "rxpolicy.server.retro")
print(sorted({m.split(".")[0] if m.startswith(("jsonschema", "z3")) else m
              for m in sys.modules if m.startswith(heavy)}))
"""


def test_a_warm_start_imports_no_schema_validator_solver_or_analysis(cache_home: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    run = [sys.executable, "-c", _SERVE_PATH]
    cold = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout
    warm = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout
    assert "jsonschema" in cold  # the first load validates, so the test sees what it checks
    assert warm.strip() == "[]"
