"""``rxpolicy serve`` and ``--server``: option checks, TLS files, and a multi-worker server
whose worker dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trustme
from grpc_fixtures import VALID, ServerProcess
from rxpolicy.client import PolicyClient

CLI = [sys.executable, "-c", "import sys; from rxpolicy.server.cli import main; sys.exit(main(sys.argv[1:]))"]


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--port", "99999"),
        ("--port", "-1"),
        ("--port", "http"),
        ("--workers", "0"),
        ("--max-concurrent-rpcs", "0"),
        ("--max-message-bytes", "-1"),
    ],
)
def test_serve_refuses_bad_numbers(option: str, value: str) -> None:
    out = _cli("serve", "--workers", "2", option, value)
    assert out.returncode == 2
    assert f"argument {option}:" in out.stderr and "Traceback" not in out.stderr


@pytest.fixture(scope="module")
def pems(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pems")
    ca = trustme.CA()
    a, b = ca.issue_cert("localhost"), ca.issue_cert("other.test")
    files = {
        "cert": a.cert_chain_pems[0],
        "key": a.private_key_pem,
        "other_key": b.private_key_pem,
        "ca": ca.cert_pem,
    }
    out = {}
    for name, blob in files.items():
        out[name] = d / f"{name}.pem"
        blob.write_to_path(str(out[name]))
    out["junk"] = d / "junk.pem"
    out["junk"].write_text("not a certificate\n")
    return out


@pytest.mark.parametrize(
    ("cert", "key", "client_ca", "why"),
    [
        ("junk", "key", None, "not a PEM certificate"),
        ("cert", "junk", None, "not a PEM certificate"),
        ("cert", "other_key", None, "does not match"),
        ("cert", "key", "junk", "--tls-client-ca"),
    ],
)
def test_serve_reports_unusable_tls_files(
    pems: dict[str, Path], cert: str, key: str, client_ca: str | None, why: str
) -> None:
    args = [
        "serve",
        "--port",
        "0",
        "--workers",
        "1",
        "--tls-cert",
        str(pems[cert]),
        "--tls-key",
        str(pems[key]),
    ]
    if client_ca:
        args += ["--tls-client-ca", str(pems[client_ca])]
    out = _cli(*args)
    assert out.returncode == 1, out.stderr
    assert "TLS certificate or key invalid" in out.stderr and why in out.stderr
    assert "cannot listen" not in out.stderr and "Traceback" not in out.stderr


def test_remote_evaluate_with_a_missing_tls_ca(tmp_path: Path) -> None:
    request = tmp_path / "request.yaml"
    request.write_text("service_date: 2025-06-02\n")
    missing = str(tmp_path / "missing-ca.pem")
    out = _cli("evaluate", "--server", "127.0.0.1:1", str(request), env={"RXPOLICY_TLS_CA": missing})
    assert out.returncode == 1
    assert f"RXPOLICY_TLS_CA={missing}" in out.stderr and "Traceback" not in out.stderr


def test_a_dead_worker_drains_the_others_and_fails_the_service(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path, "--workers", "2")
    try:
        [serving] = [r for r in srv.logs() if r.get("message") == "serving"]
        victim, other = serving["worker_pids"]
        with PolicyClient(srv.target) as c:
            assert c.evaluate(VALID).outcome == "approve"
        os.kill(victim, signal.SIGKILL)
        code = srv.wait()
    finally:
        srv.stop()
    assert code != 0
    logs = srv.logs()
    crash: dict[str, Any] = next(
        r for r in logs if r.get("message", "").startswith("worker exited unexpectedly")
    )
    assert (crash["worker_pid"], crash["exitcode"], crash["level"]) == (victim, -signal.SIGKILL, "critical")
    assert not any(str(VALID["diagnosis"]) in str(r) for r in logs)
    with pytest.raises(ProcessLookupError):
        os.kill(other, 0)  # drained and gone too
