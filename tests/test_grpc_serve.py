"""``rxpolicy serve`` and ``--server``: option checks, TLS files, and a server killed
with SIGTERM or SIGINT exits 0 after its drain."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

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
        ("--shutdown-delay", "-1"),
        ("--message-timeout", "nan"),
        ("--decision-log-buffer", "0"),
        ("--max-concurrent-rpcs", "0"),
        ("--max-message-bytes", "-1"),
    ],
)
def test_serve_refuses_bad_numbers(option: str, value: str) -> None:
    out = _cli("serve", option, value)
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


def test_workers_are_gone() -> None:
    """One process per server: the option that forked workers sharing the port is refused."""
    out = _cli("serve", "--workers", "2")
    assert out.returncode == 2 and "--workers" in out.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_drains_and_exits_zero(tmp_path: Path, sig: int) -> None:
    srv = ServerProcess(tmp_path)
    try:
        with PolicyClient(srv.target) as c:
            assert c.evaluate(VALID).outcome == "approve"
        srv.proc.send_signal(sig)
        code = srv.wait()
    finally:
        srv.stop()
    assert code == 0
    # The server's own lines (access lines, such as the client's health watch ending, aside).
    messages = [r.get("message") for r in srv.logs() if r.get("logger") != "rxpolicy.access"]
    assert messages[-2:] == ["draining: health NOT_SERVING, in-flight calls finish", "stopped"]
    assert len(srv.decisions()) == 1
    assert (srv.decision_log.stat().st_mode & 0o777) == 0o600  # member decisions: owner only
