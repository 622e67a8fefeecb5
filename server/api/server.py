"""Server assembly: the policy service plus grpc.health.v1 and reflection, TLS or mutual
TLS, bearer tokens, limits (admission.py), hot reload and a drain that loses no call.

One process is one grpc.aio server on a port of its own (SO_REUSEPORT off: a port that
anything else listens on is refused with "address already in use"). More capacity comes
from more servers (replicas behind a load balancer, or the client given several
addresses): two processes sharing a port measured no faster than one on 2 cores
(bench/grpc_bench.py), and a single process cannot leave orphans serving an old set.

Reload (SIGHUP, or ``watch``): the directory is loaded again off the event loop; a valid
set replaces the one the servicer reads in one assignment (calls in flight keep the set
they started with), an invalid or tampered set is refused with its files named and the
old set keeps serving.

Drain (SIGTERM or SIGINT): health turns NOT_SERVING; after ``shutdown_delay`` (time for
load balancers and clients' health checks to move away) new calls are refused with
UNAVAILABLE; the calls already admitted finish within ``grace``; then gRPC stops (with
nothing left in flight, nothing is cancelled) and the process exits 0.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import socket
from collections.abc import Callable
from typing import Any

import grpc
from grpc_health.v1 import health_pb2

from ..engine.errors import PolicyLoadError
from ..engine.store import VersionStore
from . import health, policy_set, reflection
from .access_log import AccessLog
from .admission import Admission, Limits
from .auth import TokenCheck
from .config import DEFAULT_PORT, DEFAULTS, MiB, ServeConfig, TlsConfig, TlsError
from .gate import Gate
from .logs import DecisionLog, event
from .metrics import ServerMetrics
from .observe import CallObserver
from .servicer import SERVICE_NAME, PolicyServicer, method_handlers

__all__ = ["DEFAULTS", "DEFAULT_PORT", "MiB", "PolicyServer", "ServeConfig", "TlsConfig", "TlsError", "serve"]


# gRPC's own stop, once every admitted call has ended.
STOP_GRACE_S = 0.5
# Calls still arriving after the refusals began come from callers that have not yet seen
# NOT_SERVING; gRPC's stop would cancel those it has not handed over. Stop once none came
# for this long (or the grace is over).
QUIET_S = 0.3


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def new_aio_server(config: ServeConfig) -> grpc.aio.Server:
    """A grpc.aio server with the limits of ``config`` (also used to build the benchmark's echo)."""
    return grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", config.max_receive_bytes),
            ("grpc.max_send_message_length", config.max_send_bytes),
            ("grpc.max_concurrent_streams", config.max_streams_per_connection),
            # Off: a second server on a used port must fail, not share it.
            ("grpc.so_reuseport", 0),
            ("grpc.keepalive_time_ms", _ms(config.keepalive_s)),
            ("grpc.keepalive_timeout_ms", _ms(config.keepalive_timeout_s)),
            ("grpc.max_connection_idle_ms", _ms(config.max_connection_idle_s)),
            ("grpc.max_connection_age_ms", _ms(config.max_connection_age_s)),
            ("grpc.max_connection_age_grace_ms", _ms(config.max_connection_age_grace_s)),
        ],
    )


def _listen_problem(host: str, port: int) -> str:
    """Why gRPC could not bind: ask the kernel the same question with a plain socket."""
    bare = host.strip("[]")
    family = socket.AF_INET6 if ":" in bare else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC does
            probe.bind((bare, port))
    except OSError as exc:
        return (exc.strerror or str(exc)).lower()
    return "refused by gRPC (in use, or not permitted)"


class PolicyServer:
    """One grpc.aio server in this process. Build it inside the running event loop."""

    def __init__(self, store: VersionStore, config: ServeConfig) -> None:
        self.config = config
        self._loop = asyncio.get_running_loop()
        # Observability (metrics.py, access_log.py, observe.py): each off unless configured.
        self.metrics = ServerMetrics() if config.metrics_port is not None else None
        self.metrics_port: int | None = None
        self.decision_log = DecisionLog.open(
            config.decision_log,
            capacity=config.decision_log_buffer,
            on_pressure=self._log_pressure,
            on_records=self.metrics.records if self.metrics is not None else None,
        )
        self.access_log = (
            AccessLog.open(
                config.access_log,
                on_suppressed=self.metrics.suppressed if self.metrics is not None else None,
                on_dropped=self.metrics.dropped if self.metrics is not None else None,
            )
            if config.access_log
            else None
        )
        self.health = health.Health()
        self.servicer = PolicyServicer(store, self.decision_log)
        self.admission = Admission(
            SERVICE_NAME,
            Limits(config.max_concurrent_rpcs, config.message_timeout, config.stream_idle_timeout),
            TokenCheck(config.tokens) if config.tokens else None,
            self.decision_log,
        )
        observing = self.metrics is not None or self.access_log is not None
        handlers = {
            **{f"/{SERVICE_NAME}/{name}": h for name, h in method_handlers(self.servicer).items()},
            **self.health.handlers(),
            **(reflection.handlers((SERVICE_NAME, health.SERVICE_NAME)) if config.reflection else {}),
        }
        # Every call passes the gate (gate.py): admission, and the observer around all of it.
        observer = CallObserver(self.metrics, self.access_log) if observing else None
        self.server = new_aio_server(config)
        self.server.add_generic_rpc_handlers((Gate(handlers, self.admission, observer),))
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
            self._close_logs()
            raise OSError(f"cannot listen on {address}: {_listen_problem(config.host, config.port)}")
        if self.metrics is not None and config.metrics_port is not None:
            self.metrics.policy_set(store)
            metrics_host = config.metrics_host or config.host
            try:
                self.metrics_port = self.metrics.serve_http(metrics_host, config.metrics_port)
            except OSError as exc:
                self._close_logs()
                raise OSError(
                    f"cannot serve metrics on {metrics_host}:{config.metrics_port}: "
                    f"{(exc.strerror or str(exc)).lower()}"
                ) from None
        self._draining = False
        self._tasks: set[asyncio.Task[Any]] = set()  # held, so they are not collected
        self._reloading = asyncio.Lock()

    def _close_logs(self) -> None:
        self.decision_log.close(1.0)
        if self.access_log is not None:
            self.access_log.close()

    @property
    def store(self) -> VersionStore:
        return self.servicer.store

    def _spawn(self, work: Any) -> None:
        task = self._loop.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------ health

    def _log_pressure(self, _pressed: bool) -> None:
        """From the decision log's writer thread (or this loop): health follows its state."""
        self._loop.call_soon_threadsafe(lambda: self._spawn(self._update_health()))

    async def _update_health(self) -> None:
        if self._draining:
            return
        codes = health_pb2.HealthCheckResponse
        status = codes.SERVING if self.decision_log.accepting else codes.NOT_SERVING
        for service in ("", SERVICE_NAME):
            await self.health.set(service, status)

    async def start(self) -> None:
        await self.server.start()
        await self._update_health()
        if self.config.watch:
            self._spawn(self._watch())

    # ------------------------------------------------------------ reload

    def request_reload(self) -> None:
        """From a signal handler (SIGHUP)."""
        self._spawn(self.reload("SIGHUP"))

    async def reload(self, cause: str) -> bool:
        """Load the directory again; returns whether a new set now serves."""
        async with self._reloading:
            old = self.store
            try:
                new = await asyncio.to_thread(
                    policy_set.load_served, old.root, self.config.allow_drafts, old.default_policy_id
                )
            except PolicyLoadError as exc:
                self._reloaded("refused")
                event(
                    "reload refused: the old policy set keeps serving",
                    40,
                    cause=cause,
                    errors=[str(e) for e in exc.errors],
                    files=sorted({e.file for e in exc.errors}),
                    policy_set_digest=old.policy_set_digest,
                )
                return False
            except policy_set.DraftsRefused as exc:
                self._reloaded("refused")
                event(
                    "reload refused: the old policy set keeps serving",
                    40,
                    cause=cause,
                    errors=[str(exc)],
                    files=exc.files,
                    policy_set_digest=old.policy_set_digest,
                )
                return False
            if new.policy_set_digest == old.policy_set_digest:
                self._reloaded("unchanged")
                event("reload: policy set unchanged", cause=cause, policy_set_digest=old.policy_set_digest)
                return False
            self.servicer.replace_store(new)
            self._reloaded("reloaded", new)
            event(
                "reloaded",
                cause=cause,
                previous_policy_set_digest=old.policy_set_digest,
                **policy_set.summary(new),
            )
            return True

    def _reloaded(self, result: str, new: VersionStore | None = None) -> None:
        if self.metrics is not None:
            self.metrics.reloaded(result)
            if new is not None:
                self.metrics.policy_set(new)

    async def _watch(self) -> None:
        root = self.store.root
        seen = await asyncio.to_thread(policy_set.fingerprint, root)
        while not self._draining:
            await asyncio.sleep(self.config.watch_interval)
            now = await asyncio.to_thread(policy_set.fingerprint, root)
            if now != seen:
                seen = now
                await self.reload("watch")

    # ------------------------------------------------------------ drain

    def request_drain(self) -> None:
        """From a signal handler: start the drain once."""
        if not self._draining:
            self._spawn(self.drain())

    async def drain(self) -> None:
        if self._draining:
            return
        self._draining = True
        event(
            "draining: health NOT_SERVING, in-flight calls finish",
            grace_s=self.config.grace,
            shutdown_delay_s=self.config.shutdown_delay,
        )
        await self.health.enter_graceful_shutdown()
        if self.config.shutdown_delay > 0:
            await asyncio.sleep(self.config.shutdown_delay)
        self.admission.refuse_new_calls("this server is shutting down; retry (another server, or later)")
        finished = await self.admission.wait_quiet(QUIET_S, self.config.grace)
        if not finished:
            event("grace ended with calls in flight; they are cancelled", 30, calls=self.admission.active)
        # What is left are health watches (clients' own health checks) and refusals on their
        # way out: a moment for those, not the whole grace.
        await self.server.stop(STOP_GRACE_S if finished else 0)

    async def wait(self) -> int:
        """Until the server stopped and its decision log is written; returns how many
        records the sink could not take within the grace."""
        await self.server.wait_for_termination()
        unwritten = await asyncio.to_thread(self.decision_log.close, self.config.grace)
        if self.access_log is not None:
            await asyncio.to_thread(self.access_log.close)
        if self.metrics is not None:
            self.metrics.close()
        return unwritten


async def serve_async(
    store: VersionStore,
    config: ServeConfig,
    *,
    on_serving: Callable[[PolicyServer], None] | None = None,
) -> int:
    """Serve until SIGTERM or SIGINT, then drain; SIGHUP reloads the policy directory.
    Returns how many decision-log records could not be written."""
    server = PolicyServer(store, config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.request_drain)
    loop.add_signal_handler(signal.SIGHUP, server.request_reload)
    await server.start()
    event(
        "serving",
        host=config.host,
        port=server.port,
        metrics_port=server.metrics_port,
        **_summary(store, config),
    )
    if on_serving is not None:
        on_serving(server)
    unwritten = await server.wait()
    event("stopped", port=server.port)
    return unwritten


def _summary(store: VersionStore, config: ServeConfig) -> dict[str, Any]:
    return {
        **policy_set.summary(store),
        "policies_dir": str(store.root) if store.root is not None else "(packaged)",
        "tls": "mutual" if config.tls and config.tls.client_ca else ("server" if config.tls else "off"),
        "auth": "bearer" if config.tokens else "off",
        "watch": config.watch,
        "max_receive_bytes": config.max_receive_bytes,
        "max_concurrent_rpcs": config.max_concurrent_rpcs,
        "shutdown_delay_s": config.shutdown_delay,
        "grace_s": config.grace,
        "access_log": config.access_log or "off",
        "insecure": list(config.insecure),
    }


def serve(store: VersionStore, config: ServeConfig) -> int:
    """Run the server in the foreground (``rxpolicy serve``); returns the exit code."""
    # The store lives as long as the server: take it out of the collector's sight, so
    # collections stay cheap.
    gc.freeze()
    try:
        unwritten = asyncio.run(serve_async(store, config))
    except (OSError, TlsError) as exc:
        event("cannot serve", 50, error=str(exc))
        return 1
    return 1 if unwritten else 0
