"""What ``rxpolicy serve`` is configured with, and its defaults, written once: the CLI's
option defaults come from here. No grpc import, so the CLI starts without loading it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    import grpc

DEFAULT_PORT = 50051
MiB = 1024 * 1024


class TlsError(Exception):
    """The TLS certificate, key or client CA cannot be used (not a listening problem)."""


@attrs.frozen
class TlsConfig:
    cert_chain: bytes
    private_key: bytes
    client_ca: bytes | None = None  # set: mutual TLS, client certificates required

    @classmethod
    def from_files(cls, cert: Path, key: Path, client_ca: Path | None = None) -> TlsConfig:
        return cls(cert.read_bytes(), key.read_bytes(), client_ca.read_bytes() if client_ca else None)

    def credentials(self) -> grpc.ServerCredentials:
        """gRPC's server credentials; raises TlsError when gRPC refuses the certificate or key."""
        import grpc

        try:
            return grpc.ssl_server_credentials(
                [(self.private_key, self.cert_chain)],
                root_certificates=self.client_ca,
                require_client_auth=self.client_ca is not None,
            )
        except (RuntimeError, ValueError, TypeError) as exc:
            raise TlsError(f"TLS certificate or key invalid: {type(exc).__name__}") from None


@attrs.frozen
class ServeConfig:
    host: str = "[::]"
    port: int = DEFAULT_PORT
    tls: TlsConfig | None = None
    tokens: tuple[str, ...] = ()
    max_receive_bytes: int = 4 * MiB
    max_send_bytes: int = 64 * MiB
    # Calls being decided at once (health and reflection are not counted): more get
    # RESOURCE_EXHAUSTED. A call holds a slot from its first request message on.
    max_concurrent_rpcs: int = 1000
    max_streams_per_connection: int = 256
    # Seconds a call may wait for its (first) request message, and a stream for its next.
    message_timeout: float = 10.0
    stream_idle_timeout: float = 60.0
    # HTTP/2 connection upkeep: pings to find dead peers, idle connections closed, and a
    # maximum age so clients reconnect (and spread over replicas) now and then.
    keepalive_s: float = 60.0
    keepalive_timeout_s: float = 20.0
    max_connection_idle_s: float = 300.0
    max_connection_age_s: float = 1800.0
    max_connection_age_grace_s: float = 300.0
    grace: float = 15.0
    # Seconds between health NOT_SERVING and refusing calls: load balancers and the
    # project's client (client-side health checks) move away in that time.
    shutdown_delay: float = 5.0
    decision_log: str | None = "-"
    decision_log_buffer: int = 10_000
    reflection: bool = True
    allow_drafts: bool = False
    watch: bool = False
    watch_interval: float = 2.0
    # One JSON line per call ('-': standard error, a path, None: off); access_log.py.
    access_log: str | None = "-"
    # Prometheus metrics over HTTP (metrics.py): off unless a port is given; their own
    # address, the gRPC one when None.
    metrics_port: int | None = None
    metrics_host: str | None = None
    # What safety.py found open about these settings (warned at start, named in 'serving').
    insecure: tuple[str, ...] = ()


DEFAULTS = ServeConfig()
