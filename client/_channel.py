"""What the sync and asyncio clients share: channel options, credentials, metadata."""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
from rxpolicy.v1 import policy_service_pb2

SERVICE = policy_service_pb2.DESCRIPTOR.services_by_name["PolicyService"].full_name
DEFAULT_TARGET = "localhost:50051"
DEFAULT_TIMEOUT = 10.0
MiB = 1024 * 1024

# Retries of UNAVAILABLE (a server draining or restarting, a connection refused) are
# gRPC's own, configured here rather than hand-written: every method is a pure read
# (Evaluate, EvaluateStream until its first answer, ListVersions, GetVersion,
# DiffVersions), so safe to send again: 5 attempts (gRPC's maximum), each waiting a
# random part of a backoff that doubles from 0.1 s.
#
# round_robin over every address the target resolves to ("dns:///rx.internal:50051",
# or "ipv4:10.0.0.1:50051,10.0.0.2:50051"), with client-side health checking: a server
# whose health turns NOT_SERVING (draining, or its decision log behind) gets no new
# calls while the others take them, so a rolling restart loses none. With one address
# it behaves as a single connection.
SERVICE_CONFIG = json.dumps(
    {
        "loadBalancingConfig": [{"round_robin": {}}],
        "healthCheckConfig": {"serviceName": SERVICE},
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
        ],
    }
)


PemSource = bytes | str | Path | None
Target = str | Sequence[str]


def _host_port(address: str) -> tuple[str, str]:
    host, sep, port = address.strip().rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"server address {address!r} is not host:port")
    return host.removeprefix("[").removesuffix("]"), port


def _addresses(host: str, port: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ValueError(f"server address {host}:{port}: cannot resolve {host!r} ({exc})") from None
    found = dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos)
    return list(found)


def channel_target(target: Target) -> str:
    """The gRPC target for ``target``: a string is any gRPC target and is kept as given
    ("host:port", "dns:///rx.internal:50051", "ipv4:10.0.0.1:50051,10.0.0.2:50051"); a
    list or tuple of "host:port" becomes one ``ipv4:``/``ipv6:`` target over every
    address (host names resolved once, here; give a ``dns:///`` target to follow DNS)."""
    if isinstance(target, str):
        if not target.strip():
            raise ValueError("the server target is empty")
        return target
    addresses = list(target)
    if not addresses:
        raise ValueError("no server address given")
    if len(addresses) == 1:
        return channel_target(addresses[0])
    v4: list[str] = []
    v6: list[str] = []
    every_v4 = every_v6 = True
    for address in addresses:
        host, port = _host_port(address)
        resolved = _addresses(host, port)
        four = [f"{a}:{port}" for a in resolved if a.version == 4]
        six = [f"[{a}]:{port}" for a in resolved if a.version == 6]
        every_v4 &= bool(four)
        every_v6 &= bool(six)
        v4 += four
        v6 += six
    if every_v4:
        return "ipv4:" + ",".join(dict.fromkeys(v4))
    if every_v6:
        return "ipv6:" + ",".join(dict.fromkeys(v6))
    raise ValueError(
        "server addresses mix IPv4-only and IPv6-only hosts; one target takes one family "
        "(give a dns:/// target, or addresses of one family)"
    )


def _pem(source: PemSource) -> bytes | None:
    if source is None or isinstance(source, bytes):
        return source
    return Path(source).read_bytes()


def channel_args(
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
