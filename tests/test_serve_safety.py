"""Settings that leave a server open are warned about at start (a warning line each, and
the 'serving' line's 'insecure' list): tokens over plaintext, a TLS key or token file
readable by others, a wildcard address with no authentication. Real servers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import trustme
from grpc_fixtures import VALID, ServerProcess
from rxpolicy.client import PolicyClient
from rxpolicy.server.api.safety import insecure_settings


def _token_file(tmp: Path, mode: int) -> Path:
    path = tmp / f"tokens-{mode:o}"
    path.write_text("the-token\n")
    os.chmod(path, mode)
    return path


def _started(srv: ServerProcess) -> tuple[list[str], list[dict[str, Any]]]:
    """The 'serving' line's insecure list, and the warning lines before it."""
    logs = srv.logs()
    serving = next(r for r in logs if r.get("message") == "serving")
    warnings = [r for r in logs if str(r.get("message", "")).startswith("INSECURE: ")]
    assert all(r["level"] == "warning" and r["fix"] for r in warnings)
    assert [r["problem"] for r in warnings] == serving["insecure"]
    return serving["insecure"], warnings


def test_a_wildcard_address_without_authentication_is_warned(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path, "--host", "0.0.0.0")
    try:
        insecure, [warning] = _started(srv)
        with PolicyClient(srv.target) as client:  # it still serves: a warning, not a refusal
            assert client.evaluate(VALID).outcome == "approve"
    finally:
        assert srv.stop() == 0
    assert insecure == ["wildcard_without_auth"]
    assert "0.0.0.0" in warning["message"] and "--token-file" in warning["fix"]


def test_tokens_over_plaintext_and_a_readable_token_file_are_warned(tmp_path: Path) -> None:
    tokens = _token_file(tmp_path, 0o644)
    srv = ServerProcess(tmp_path, "--host", "0.0.0.0", "--token-file", str(tokens))
    try:
        insecure, warnings = _started(srv)
    finally:
        assert srv.stop() == 0
    # Tokens are authentication: no wildcard warning.
    assert insecure == ["tokens_over_plaintext", "secret_file_readable"]
    assert "--tls-cert" in warnings[0]["fix"]
    assert str(tokens) in warnings[1]["message"] and "0644" in warnings[1]["message"]
    assert f"chmod 600 {tokens}" in warnings[1]["fix"]


def test_a_tls_key_readable_by_others_is_warned(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    os.chmod(key_file, 0o640)
    srv = ServerProcess(tmp_path, "--tls-cert", str(cert_file), "--tls-key", str(key_file))
    try:
        insecure, [warning] = _started(srv)
        assert "--tls-key" in warning["message"] and "0640" in warning["message"]
        ca_file = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        with PolicyClient(f"localhost:{srv.port}", root_certificates=ca_file) as client:
            assert client.evaluate(VALID).outcome == "approve"
    finally:
        assert srv.stop() == 0
    assert insecure == ["secret_file_readable"]


def test_safe_settings_start_without_a_warning(tmp_path: Path) -> None:
    tokens = _token_file(tmp_path, 0o600)
    # Loopback: a token over plaintext never crosses a network (TLS ended by a local proxy).
    srv = ServerProcess(tmp_path, "--token-file", str(tokens))
    try:
        insecure, warnings = _started(srv)
    finally:
        assert srv.stop() == 0
    assert insecure == [] and warnings == []


def test_the_rules() -> None:
    def problems(**settings: Any) -> list[str]:
        base: dict[str, Any] = {
            "host": "10.0.0.5",
            "tls": False,
            "mutual_tls": False,
            "tokens": False,
            "tls_key": None,
            "token_file": None,
        }
        return [p.problem for p in insecure_settings(**(base | settings))]

    assert problems() == []
    for wildcard in ("[::]", "::", "0.0.0.0", ""):
        assert problems(host=wildcard) == ["wildcard_without_auth"]
        assert problems(host=wildcard, tls=True, mutual_tls=True) == []  # client certificates
        assert problems(host=wildcard, tls=True, tokens=True) == []
    assert problems(tokens=True) == ["tokens_over_plaintext"]
    assert problems(tokens=True, tls=True) == []
    for loopback in ("127.0.0.1", "[::1]", "localhost"):
        assert problems(host=loopback, tokens=True) == []
