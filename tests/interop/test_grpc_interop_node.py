"""Clients not written in Python against a real server: Node's @grpc/grpc-js with the
.proto files, and `buf curl` through server reflection (no .proto at all).

The npm packages are installed here by the test itself (npm ci, from the committed
package-lock.json) unless CI already did. Skipped only when node or npm is absent
from the machine, since then neither client can run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from grpc_fixtures import REPO, ServerProcess, running_server

HERE = Path(__file__).resolve().parent
NODE, NPM = shutil.which("node"), shutil.which("npm")
pytestmark = pytest.mark.skipif(
    NODE is None or NPM is None,
    reason="node and npm are needed for the non-Python clients and are not installed",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from running_server(tmp_path_factory)


@pytest.fixture(scope="module")
def node_modules() -> Path:
    modules = HERE / "node_modules"
    marker = modules / ".package-lock.json"
    lock = HERE / "package-lock.json"
    if not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime:
        assert NPM is not None
        subprocess.run(
            [NPM, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=True, timeout=600
        )
    return modules


def test_node_grpc_js_client(server: Any, node_modules: Path) -> None:
    assert NODE is not None
    out = subprocess.run(
        [NODE, str(HERE / "client.js"), server.target, str(REPO / "protos")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["decision"] == {
        "request_id": "node-1",
        "outcome": "OUTCOME_APPROVE",
        "version": "4.5.1",
        "months": 6,
    }
    assert got["typed"] == {"outcome": "OUTCOME_APPROVE", "version": "4.5.1", "months": 6}
    assert got["error"]["name"] == "INVALID_ARGUMENT"
    assert set(got["error"]["fields"]) == {"facts.diagnosis", "facts.member_age"}  # request paths
    assert got["health"] == "SERVING"
    assert got["stream"] == [["s-1", "decision"], ["s-2", "error"]]


def _buf_curl(
    node_modules: Path, server: Any, method: str, body: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    buf = node_modules / ".bin" / "buf"
    return subprocess.run(
        [
            str(buf),
            "curl",
            "--protocol",
            "grpc",
            "--http2-prior-knowledge",
            "--data",
            json.dumps(body),
            f"http://{server.target}/{method}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_buf_curl_through_reflection(server: Any, node_modules: Path) -> None:
    ok = _buf_curl(
        node_modules,
        server,
        "rxpolicy.v1.PolicyService/Evaluate",
        {"facts": {"service_date": "2025-06-02", "line_of_business": "HIM", "request_type": "initial"}},
    )
    assert ok.returncode == 0, ok.stderr
    decision = json.loads(ok.stdout)["decision"]
    assert decision["outcome"] == "OUTCOME_PEND" and "diagnosis" in decision["missing"]
    bad = _buf_curl(
        node_modules, server, "rxpolicy.v1.PolicyService/Evaluate", {"facts": {"diagnosis": "nope"}}
    )
    assert bad.returncode != 0
    assert json.loads(bad.stdout or bad.stderr)["code"] == "invalid_argument"
    health = _buf_curl(node_modules, server, "grpc.health.v1.Health/Check", {})
    assert health.returncode == 0, health.stderr
    assert json.loads(health.stdout)["status"] == "SERVING"
