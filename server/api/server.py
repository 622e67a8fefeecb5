"""Server assembly: the policy service plus grpc.health.v1 and reflection, TLS or mutual
TLS, bearer tokens, message-size and concurrency limits, and a graceful drain.

Drain (SIGTERM or SIGINT): health turns NOT_SERVING first; after ``shutdown_delay``
(time for load balancers to notice) the server refuses new calls and lets in-flight
calls finish within ``grace`` seconds; then the process exits 0.

One process runs one grpc.aio server. With ``workers`` > 1 the parent loads the
policy versions once, forks that many workers before any gRPC state exists, and
they share the port through SO_REUSEPORT; the parent forwards signals and waits. A
worker that dies on its own (a crash, a kill) is logged, the others are drained and
the parent exits non-zero, for the supervisor to restart the service whole.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from multiprocessing.connection import wait as wait_for_any
from pathlib import Path
from typing import Any

import attrs
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ..engine.store import VersionStore
from .auth import BearerTokenInterceptor
from .logs import DecisionLog, event
from .servicer import SERVICE_NAME, PolicyServicer, generic_handler

DEFAULT_PORT = 50051
MiB = 1024 * 1024


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
        try:
            return grpc.ssl_server_credentials(
                [(self.private_key, self.cert_chain)],
                root_certificates=self.client_ca,
                require_client_auth=self.client_ca is not None,
            )
        except (RuntimeError, ValueError, TypeError) as exc:
            raise TlsError(f"TLS certificate or key invalid: {type(exc).__name__}") from None


class TlsError(Exception):
    """The TLS certificate, key or client CA cannot be used (not a listening problem)."""


@attrs.frozen
class ServeConfig:
    host: str = "[::]"
    port: int = DEFAULT_PORT
    workers: int = 1
    tls: TlsConfig | None = None
    tokens: tuple[str, ...] = ()
    max_receive_bytes: int = 4 * MiB
    max_send_bytes: int = 64 * MiB
    max_concurrent_rpcs: int = 1000
    max_streams_per_connection: int = 256
    grace: float = 15.0
    shutdown_delay: float = 0.0
    decision_log: str | None = "-"
    reflection: bool = True


def new_aio_server(
    config: ServeConfig, *, reuse_port: bool, interceptors: Sequence[grpc.aio.ServerInterceptor] = ()
) -> grpc.aio.Server:
    """A grpc.aio server with the limits of ``config`` (also used to build the benchmark's echo)."""
    return grpc.aio.server(
        interceptors=list(interceptors),
        options=[
            ("grpc.max_receive_message_length", config.max_receive_bytes),
            ("grpc.max_send_message_length", config.max_send_bytes),
            ("grpc.max_concurrent_streams", config.max_streams_per_connection),
            ("grpc.so_reuseport", 1 if reuse_port else 0),
        ],
        maximum_concurrent_rpcs=config.max_concurrent_rpcs,
    )


class PolicyServer:
    """One grpc.aio server in this process."""

    def __init__(self, store: VersionStore, config: ServeConfig, *, reuse_port: bool = False) -> None:
        self.store = store
        self.config = config
        self.decision_log = DecisionLog.open(config.decision_log)
        self.health = health.aio.HealthServicer()
        interceptors = [BearerTokenInterceptor(config.tokens)] if config.tokens else []
        self.server = new_aio_server(config, reuse_port=reuse_port, interceptors=interceptors)
        self.server.add_generic_rpc_handlers((generic_handler(PolicyServicer(store, self.decision_log)),))
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        if config.reflection:
            reflection.enable_server_reflection(
                (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), self.server
            )
        address = f"{config.host}:{config.port}"
        credentials = config.tls.credentials() if config.tls is not None else None
        try:
            if credentials is not None:
                self.port = self.server.add_secure_port(address, credentials)
            else:
                self.port = self.server.add_insecure_port(address)
        except RuntimeError:  # grpc's "failed to bind"
            self.port = 0
        if self.port == 0:
            raise OSError(f"cannot listen on {address} (in use, or not permitted)")
        self._draining = False
        self._drain_task: asyncio.Task[None] | None = None

    def request_drain(self) -> None:
        """From a signal handler: start the drain once, holding the task so it is not collected."""
        if self._drain_task is None:
            self._drain_task = asyncio.get_running_loop().create_task(self.drain())

    async def start(self) -> None:
        await self.server.start()
        for service in ("", SERVICE_NAME):
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING)

    async def drain(self) -> None:
        if self._draining:
            return
        self._draining = True
        event("draining: health NOT_SERVING, in-flight calls finish", grace_s=self.config.grace)
        await self.health.enter_graceful_shutdown()
        if self.config.shutdown_delay > 0:
            await asyncio.sleep(self.config.shutdown_delay)
        await self.server.stop(self.config.grace)

    async def wait(self) -> None:
        await self.server.wait_for_termination()
        self.decision_log.close()


def _summary(store: VersionStore, config: ServeConfig) -> dict[str, Any]:
    return {
        "policies": {pid: [v.version for v in store.versions(pid)] for pid in store.policy_ids},
        "tls": "mutual" if config.tls and config.tls.client_ca else ("server" if config.tls else "off"),
        "auth": "bearer" if config.tokens else "off",
        "workers": config.workers,
        "max_receive_bytes": config.max_receive_bytes,
        "max_concurrent_rpcs": config.max_concurrent_rpcs,
    }


async def serve_async(
    store: VersionStore,
    config: ServeConfig,
    *,
    reuse_port: bool = False,
    on_serving: Callable[[int], None] | None = None,
    announce: bool = True,
) -> None:
    """Serve until SIGTERM or SIGINT, then drain."""
    server = PolicyServer(store, config, reuse_port=reuse_port)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.request_drain)
    await server.start()
    if announce:
        event("serving", host=config.host, port=server.port, **_summary(store, config))
    if on_serving is not None:
        on_serving(server.port)
    await server.wait()
    event("stopped", port=server.port)


def _reserve_port(host: str, port: int) -> socket.socket:
    """A socket holding the port (bound, not listening, SO_REUSEPORT), so every worker gets
    the same one even when 0 asked for any free port. Close it once the workers are gone."""
    bare = host.strip("[]")
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in bare else socket.AF_INET, socket.SOCK_STREAM)
    except OSError:  # no IPv6 on this host: gRPC listens on IPv4 for [::] too
        sock, bare = socket.socket(socket.AF_INET, socket.SOCK_STREAM), "0.0.0.0"
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((bare, port))
    except OSError:
        sock.close()
        raise
    return sock


def _worker(store: VersionStore, config: ServeConfig, ready: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent forwards SIGTERM
    try:
        asyncio.run(
            serve_async(store, config, reuse_port=True, on_serving=lambda _p: ready.release(), announce=False)
        )
    except (OSError, TlsError) as exc:
        event("worker cannot serve", 50, error=str(exc))
        sys.exit(1)


def serve(store: VersionStore, config: ServeConfig) -> int:
    """Run the server in the foreground (``rxpolicy serve``); returns the exit code."""
    # The store lives as long as the server: take it out of the collector's sight, so
    # collections stay cheap and forked workers do not copy its pages by touching them.
    gc.freeze()
    if config.workers <= 1:
        try:
            asyncio.run(serve_async(store, config))
        except (OSError, TlsError) as exc:
            event("cannot serve", 50, error=str(exc))
            return 1
        return 0
    try:
        reserved = _reserve_port(config.host, config.port)
    except OSError as exc:
        event("cannot serve", 50, error=f"cannot listen on {config.host}:{config.port}: {exc.strerror}")
        return 1
    with reserved:
        port = reserved.getsockname()[1]
        cfg = attrs.evolve(config, port=port)
        ctx = multiprocessing.get_context("fork")
        ready = ctx.Semaphore(0)
        workers = [
            ctx.Process(target=_worker, args=(store, cfg, ready), daemon=False) for _ in range(config.workers)
        ]
        for w in workers:
            w.start()

        stopping: list[bool] = []  # set once a SIGTERM is forwarded: workers exit on purpose

        def forward(signum: int, _frame: Any) -> None:
            stopping.append(True)
            for w in workers:
                if w.pid is not None and w.is_alive():
                    os.kill(w.pid, signal.SIGTERM)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        for _ in workers:
            while not ready.acquire(timeout=0.5):
                if not all(w.is_alive() for w in workers):
                    forward(signal.SIGTERM, None)
                    for w in workers:
                        w.join()
                    return 1
        event(
            "serving",
            host=config.host,
            port=port,
            worker_pids=[w.pid for w in workers],
            **_summary(store, config),
        )
        crashed = _supervise(workers, stopping, forward)
    event("stopped", port=port)
    if crashed or any(w.exitcode != 0 for w in workers):
        return 1  # a negative exit code (killed by a signal) counts too
    return 0


def _supervise(workers: list[Any], stopping: list[bool], forward: Callable[[int, Any], None]) -> bool:
    """Wait for every worker. One that exits before a SIGTERM asked it to is logged and the
    others are drained; returns whether that happened."""
    crashed = False
    running = {w.sentinel: w for w in workers}
    while running:
        for sentinel in wait_for_any(list(running)):
            w = running.pop(sentinel)
            w.join()
            if not stopping:
                crashed = True
                event(
                    "worker exited unexpectedly; draining the others",
                    50,
                    worker_pid=w.pid,
                    exitcode=w.exitcode,
                )
                forward(signal.SIGTERM, None)
            elif w.exitcode != 0:
                event("worker exited with an error", 40, worker_pid=w.pid, exitcode=w.exitcode)
    return crashed
