"""What the sync and asyncio clients share: channel options, credentials, metadata."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
from rxpolicy.v1 import policy_service_pb2

SERVICE = policy_service_pb2.DESCRIPTOR.services_by_name["PolicyService"].full_name
DEFAULT_TARGET = "localhost:50051"
DEFAULT_TIMEOUT = 10.0
MiB = 1024 * 1024

# Retries of UNAVAILABLE (a server restarting, a connection refused) are gRPC's own,
# configured here rather than hand-written: every method is a pure read, so safe.
SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{"service": SERVICE}],
                "retryPolicy": {
                    "maxAttempts": 5,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)

PemSource = bytes | str | Path | None


def _pem(source: PemSource) -> bytes | None:
    if source is None or isinstance(source, bytes):
        return source
    return Path(source).read_bytes()


def channel_args(
    target: str,
    *,
    tls: bool,
    root_certificates: PemSource,
    certificate_chain: PemSource,
    private_key: PemSource,
    server_name: str | None,
    options: Sequence[tuple[str, Any]],
) -> tuple[grpc.ChannelCredentials | None, list[tuple[str, Any]]]:
    opts: list[tuple[str, Any]] = [
        ("grpc.service_config", SERVICE_CONFIG),
        ("grpc.enable_retries", 1),
        ("grpc.max_receive_message_length", 64 * MiB),
        ("grpc.max_send_message_length", 64 * MiB),
    ]
    secure = tls or any(x is not None for x in (root_certificates, certificate_chain, private_key))
    if server_name:
        opts.append(("grpc.ssl_target_name_override", server_name))
    opts += list(options)
    if not secure:
        return None, opts
    creds = grpc.ssl_channel_credentials(
        root_certificates=_pem(root_certificates),
        private_key=_pem(private_key),
        certificate_chain=_pem(certificate_chain),
    )
    return creds, opts


def call_metadata(token: str | None) -> tuple[tuple[str, str], ...] | None:
    return (("authorization", f"Bearer {token}"),) if token else None
