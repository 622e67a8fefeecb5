"""The client distribution (clients/python) installed alone, as a backend service that
only calls the API installs it: a fresh virtualenv (no system site-packages), ``pip
install ./clients/python`` through pip's ordinary configuration (the index CI has, or a
local mirror), then tests/client_only_probe.py run by that virtualenv's python against a
real server (started by this environment, which has the server installed).

The virtualenv is made once for the module; building it is the slow part (seconds)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from grpc_fixtures import VALID, ServerProcess

REPO = Path(__file__).resolve().parents[1]
CLIENT_PROJECT = REPO / "clients" / "python"
PROBE = REPO / "tests" / "client_only_probe.py"
PEND_EXAMPLE = REPO / "examples" / "dlbcl-pend.json"
INSTALL_LIMIT_S = 600  # a bound against a hung index, not a timed assertion
INVALID = {**VALID, "member_age": -1}
# The server's dependencies a client-only install must not bring (distribution names).
SERVER_DISTRIBUTIONS = {"z3-solver", "jsonschema", "pyyaml", "semver", "tqdm", "rxpolicy", "grpcio-status"}


def _isolated_env() -> dict[str, str]:
    """This process's environment (pip's index settings included) without what would let
    the virtualenv see this checkout or this environment's packages."""
    drop = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PIP_USER", "PIP_REQUIRE_VIRTUALENV"}
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.fixture(scope="module")
def client_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("client-only") / "venv"
    env = _isolated_env()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env, timeout=INSTALL_LIMIT_S)
    python = venv / "bin" / "python"
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(CLIENT_PROJECT)],
        capture_output=True,
        text=True,
        env=env,
        cwd=venv.parent,
        timeout=INSTALL_LIMIT_S,
    )
    assert pip.returncode == 0, f"pip install ./clients/python failed:\n{pip.stdout}\n{pip.stderr}"
    return python


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("server"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def probe(client_python: Path, server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Any:
    work = tmp_path_factory.mktemp("probe")
    (work / "request.json").write_text(json.dumps(VALID), encoding="utf-8")
    (work / "invalid.json").write_text(json.dumps(INVALID), encoding="utf-8")
    out = subprocess.run(
        [str(client_python), str(PROBE), server.target, "request.json", "invalid.json", str(PEND_EXAMPLE)],
        capture_output=True,
        text=True,
        env=_isolated_env(),
        cwd=work,  # not the checkout: nothing of it is importable from here
        timeout=INSTALL_LIMIT_S,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)


def _cli_evaluate(request: dict[str, Any], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    code = "import sys; from rxpolicy.server.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, "evaluate", str(path), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_client_installs_without_the_server_or_its_dependencies(probe: Any, client_python: Path) -> None:
    assert Path(probe["client_file"]).is_relative_to(client_python.parent.parent)  # installed, not this tree
    assert probe["importable"] == dict.fromkeys(probe["importable"], False)
    assert {r.split(">")[0].split("=")[0].split("<")[0].strip() for r in probe["requires"]} == {
        "attrs",
        "grpcio",
        "protobuf",
    }
    assert "rxpolicy-client" in probe["distributions"]
    contract = REPO / "protos" / "rxpolicy"
    sources = [
        *(f"rxpolicy/{f.relative_to(contract)}" for f in contract.rglob("*.py")),
        *(f"rxpolicy/client/{f.name}" for f in (REPO / "client").glob("*.py")),
    ]
    # Exactly the modules of the mapped folders: none missing, none left over from a build.
    assert probe["modules"] == sorted(sources)
    assert SERVER_DISTRIBUTIONS.isdisjoint(probe["distributions"])


def test_the_installed_client_prints_what_rxpolicy_evaluate_prints(probe: Any, tmp_path: Path) -> None:
    cli = _cli_evaluate(VALID, tmp_path)
    assert cli.returncode == 0, cli.stderr
    assert probe["decision"] + "\n" == cli.stdout  # byte for byte (print adds the newline)
    assert json.loads(cli.stdout) == probe["decision_dict"]
    traced = _cli_evaluate(VALID, tmp_path, "--trace")
    assert probe["traced"] + "\n" == traced.stdout
    pended = _cli_evaluate(json.loads(PEND_EXAMPLE.read_text(encoding="utf-8")), tmp_path, "--trace")
    assert json.loads(pended.stdout)["decision"] == "pend" and probe["pended"] + "\n" == pended.stdout
    refused = _cli_evaluate(INVALID, tmp_path)
    assert refused.returncode == 2
    assert probe["refused"] + "\n" == refused.stdout


def test_the_installed_client_gets_typed_answers_for_every_call(probe: Any, server: ServerProcess) -> None:
    assert probe["decision_typed"] and probe["decision_dict"]["decision"] == "approve"
    # The mapping's request_id travelled and came back; the server names the others.
    assert [kind for kind, _, _ in probe["many"]] == ["Decision", "Decision", "ErrorResult"]
    assert [ok for _, _, ok in probe["many"]] == [True, True, False]
    ids = [request_id for _, request_id, _ in probe["many"]]
    assert ids[0] == "claim-1" and "claim-1" not in ids[1:] and all(ids)
    assert probe["versions_typed"]
    serving = next(r for r in server.logs() if r.get("message") == "serving")
    assert probe["policy_set_digest"] == serving["policy_set_digest"]
    version, effective, indications = probe["latest"]
    assert version == probe["newest_listed"] and effective[:2] == "20" and indications > 0
    _, to_version, media_type, has_content = probe["diff"]
    assert to_version == probe["newest_listed"] and media_type.startswith("text/plain") and has_content


def test_the_client_project_maps_the_same_folders_as_the_server_project() -> None:
    """One copy of each file: the client distribution packages the folders the server
    distribution maps to the same names, and carries the same version."""
    server = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    client = tomllib.loads((CLIENT_PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    server_dirs = server["tool"]["setuptools"]["package-dir"]
    client_dirs = client["tool"]["setuptools"]["package-dir"]
    for name, folder in client_dirs.items():
        assert (CLIENT_PROJECT / folder).resolve() == (REPO / server_dirs[name]).resolve(), name
    assert set(client["tool"]["setuptools"]["packages"]) <= set(server["tool"]["setuptools"]["packages"])
    assert client["project"]["version"] == server["project"]["version"]
    server_requires = {r.split(">")[0]: r for r in server["project"]["dependencies"]}
    for requirement in client["project"]["dependencies"]:
        assert server_requires[requirement.split(">")[0]] == requirement, requirement
