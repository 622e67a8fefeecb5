"""TLS, mutual TLS and bearer tokens on a real server, with certificates made in the test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
import trustme
from grpc_fixtures import ServerProcess
from grpc_health.v1 import health_pb2, health_pb2_grpc
from rxpolicy.client import PolicyClient, UnauthenticatedError, UnavailableError

REQUEST = {"service_date": "2025-06-02", "line_of_business": "medicaid", "request_type": "initial"}
TOKEN = "s3cr3t-token-for-tests"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("pki")
    ca, other_ca = trustme.CA(), trustme.CA()
    server_cert = ca.issue_cert("localhost", "127.0.0.1")
    client_cert = ca.issue_cert("client@example.test")
    stranger = other_ca.issue_cert("stranger@example.test")
    files = {
        "ca": ca.cert_pem,
        "other_ca": other_ca.cert_pem,
        "server_chain": server_cert.private_key_and_cert_chain_pem,
        "client_chain": client_cert.private_key_and_cert_chain_pem,
        "stranger_chain": stranger.private_key_and_cert_chain_pem,
    }
    out: dict[str, Any] = {"dir": d}
    for name, blob in files.items():
        path = d / f"{name}.pem"
        blob.write_to_path(str(path))
        out[name] = path
    out["server_cert"] = d / "server_cert.pem"
    out["server_key"] = d / "server_key.pem"
    server_cert.private_key_pem.write_to_path(str(out["server_key"]))
    for i, blob in enumerate(server_cert.cert_chain_pems):
        blob.write_to_path(str(out["server_cert"]), append=i > 0)
    out["client_cert"] = d / "client_cert.pem"
    out["client_key"] = d / "client_key.pem"
    client_cert.private_key_pem.write_to_path(str(out["client_key"]))
    for i, blob in enumerate(client_cert.cert_chain_pems):
        blob.write_to_path(str(out["client_cert"]), append=i > 0)
    out["stranger_cert"] = d / "stranger_cert.pem"
    out["stranger_key"] = d / "stranger_key.pem"
    stranger.private_key_pem.write_to_path(str(out["stranger_key"]))
    for i, blob in enumerate(stranger.cert_chain_pems):
        blob.write_to_path(str(out["stranger_cert"]), append=i > 0)
    return out


@pytest.fixture(scope="module")
def tls_token_server(pki: dict[str, Any]) -> Any:
    tokens = pki["dir"] / "tokens"
    tokens.write_text("# accepted tokens\nold-token\n" + TOKEN + "\n")
    srv = ServerProcess(
        pki["dir"],
        "--tls-cert",
        str(pki["server_cert"]),
        "--tls-key",
        str(pki["server_key"]),
        "--token-file",
        str(tokens),
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def mtls_server(pki: dict[str, Any]) -> Any:
    srv = ServerProcess(
        pki["dir"],
        "--tls-cert",
        str(pki["server_cert"]),
        "--tls-key",
        str(pki["server_key"]),
        "--tls-client-ca",
        str(pki["ca"]),
    )
    yield srv
    srv.stop()


def _target(srv: ServerProcess) -> str:
    return f"localhost:{srv.port}"


def test_tls_and_token_accepted(tls_token_server: Any, pki: dict[str, Any]) -> None:
    for token in (TOKEN, "old-token"):
        with PolicyClient(_target(tls_token_server), root_certificates=pki["ca"], token=token) as c:
            assert c.evaluate(REQUEST).outcome == "pend"
            assert list(c.evaluate_many([REQUEST, REQUEST]))[1].ok
            assert c.list_versions()


def test_token_refused(tls_token_server: Any, pki: dict[str, Any]) -> None:
    for token in (None, "wrong", TOKEN + "x", ""):
        with PolicyClient(_target(tls_token_server), root_certificates=pki["ca"], token=token) as c:
            with pytest.raises(UnauthenticatedError):
                c.evaluate(REQUEST)
            with pytest.raises(UnauthenticatedError):
                list(c.evaluate_many([REQUEST]))
            with pytest.raises(UnauthenticatedError):
                c.get_version()
    creds = grpc.ssl_channel_credentials(root_certificates=Path(pki["ca"]).read_bytes())
    with grpc.secure_channel(_target(tls_token_server), creds) as ch:
        bad = [("authorization", "Basic " + TOKEN)]
        with pytest.raises(grpc.RpcError) as info:
            ch.unary_unary("/rxpolicy.v1.PolicyService/ListVersions")(b"", metadata=bad, timeout=10)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_health_is_open_without_a_token(tls_token_server: Any, pki: dict[str, Any]) -> None:
    creds = grpc.ssl_channel_credentials(root_certificates=Path(pki["ca"]).read_bytes())
    with grpc.secure_channel(_target(tls_token_server), creds) as ch:
        reply = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_tls_refuses_an_untrusted_server_certificate(tls_token_server: Any, pki: dict[str, Any]) -> None:
    with (
        PolicyClient(
            _target(tls_token_server), root_certificates=pki["other_ca"], token=TOKEN, timeout=5
        ) as c,
        pytest.raises(UnavailableError),
    ):
        c.evaluate(REQUEST)
    plaintext = PolicyClient(_target(tls_token_server), token=TOKEN, timeout=5)  # to a TLS port
    with plaintext as c, pytest.raises(UnavailableError):
        c.evaluate(REQUEST)


def test_mutual_tls(mtls_server: Any, pki: dict[str, Any]) -> None:
    with PolicyClient(
        _target(mtls_server),
        root_certificates=pki["ca"],
        certificate_chain=pki["client_cert"],
        private_key=pki["client_key"],
    ) as c:
        assert c.evaluate(REQUEST).outcome == "pend"
    for cert, key in ((None, None), (pki["stranger_cert"], pki["stranger_key"])):
        with (
            PolicyClient(
                _target(mtls_server),
                root_certificates=pki["ca"],
                certificate_chain=cert,
                private_key=key,
                timeout=5,
            ) as c,
            pytest.raises(UnavailableError),
        ):
            c.evaluate(REQUEST)
