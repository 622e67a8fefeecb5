"""Prometheus metrics of one ``rxpolicy serve`` process, served over HTTP on their own port
(``--metrics-port``), off unless asked for.

Labels carry method names, status codes, policy ids, versions, outcomes and the policy-set
digest only: never a fact value, never a caller's text (a method the server does not
serve is counted as ``(unknown)``, so a caller cannot grow the label set).

Cheap on the serving path: each label set's child is looked up once and kept (a dict
lookup and an increment per call); exposition happens in the HTTP server's thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
    start_http_server,
)

from ..engine.store import VersionStore

UNKNOWN_METHOD = "(unknown)"
# Seconds. Decisions take about a millisecond; diffs and long streams take seconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServerMetrics:
    """The metrics, in a registry of their own (never the process-global one)."""

    def __init__(self) -> None:
        # No *_created series: a restart shows in process start time, and they double the page.
        cast(Callable[[], None], disable_created_metrics)()  # untyped in prometheus_client
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._calls = Counter(
            "rxpolicy_calls",
            "gRPC calls ended, by method and status code (errors: code other than OK)",
            ["method", "code"],
            registry=r,
        )
        self._latency = Histogram(
            "rxpolicy_call_duration_seconds",
            "gRPC call latency from the call's arrival to its status, by method",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._in_flight = Gauge(
            "rxpolicy_calls_in_flight", "gRPC calls in progress, by method", ["method"], registry=r
        )
        self._decisions = Counter(
            "rxpolicy_decisions",
            "requests decided (unary or in a stream), by policy, version and outcome",
            ["policy_id", "version", "outcome"],
            registry=r,
        )
        self._request_errors = Counter(
            "rxpolicy_request_errors",
            "requests answered with an error instead of a decision (unary or in a stream), by code",
            ["code"],
            registry=r,
        )
        self._reloads = Counter(
            "rxpolicy_reloads",
            "reloads of the policy directory (SIGHUP or --watch), by result",
            ["result"],
            registry=r,
        )
        for result in ("reloaded", "unchanged", "refused"):
            self._reloads.labels(result)  # present at 0, so a rate over them works from the start
        self._policy_set = Info("rxpolicy_policy_set", "the policy set this server decides with", registry=r)
        self._suppressed = Counter(
            "rxpolicy_access_log_suppressed_lines",
            "access log lines of refused calls not written (rate limit), by cause",
            ["cause"],
            registry=r,
        )
        self._dropped = Counter(
            "rxpolicy_access_log_dropped_lines",
            "access log lines dropped because the log's sink could not keep up",
            registry=r,
        )
        # Children by label values, looked up once: labels() costs more than the increment.
        self._call_children: dict[tuple[str, str], Any] = {}
        self._latency_children: dict[str, Any] = {}
        self._flight_children: dict[str, Any] = {}
        self._decision_children: dict[tuple[str, str, str], Any] = {}
        self._http: WSGIServer | None = None
        self._http_thread: threading.Thread | None = None

    # ------------------------------------------------------------ calls

    def call_started(self, method: str) -> None:
        child = self._flight_children.get(method)
        if child is None:
            child = self._flight_children[method] = self._in_flight.labels(method)
        child.inc()

    def call_ended(self, method: str, code: str, seconds: float) -> None:
        self._flight_children[method].dec()
        self._observe(method, code, seconds)

    def call_refused_unstarted(self, method: str, code: str) -> None:
        """A call that never reached a handler (an unknown method): counted, not timed."""
        self._observe(method, code, None)

    def _observe(self, method: str, code: str, seconds: float | None) -> None:
        key = (method, code)
        child = self._call_children.get(key)
        if child is None:
            child = self._call_children[key] = self._calls.labels(method, code)
        child.inc()
        if seconds is None:
            return
        timer = self._latency_children.get(method)
        if timer is None:
            timer = self._latency_children[method] = self._latency.labels(method)
        timer.observe(seconds)

    # ------------------------------------------------------------ decisions (decision-log records)

    def records(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Count the decision-log records of a call: decisions and request errors."""
        for record in records:
            outcome = record.get("decision")
            if outcome is None:
                self._request_errors.labels(str(record.get("error"))).inc()
                continue
            key = (str(record.get("policy_id")), str(record.get("version")), str(outcome))
            child = self._decision_children.get(key)
            if child is None:
                child = self._decision_children[key] = self._decisions.labels(*key)
            child.inc()

    # ------------------------------------------------------------ policy set, reloads, access log

    def policy_set(self, store: VersionStore) -> None:
        self._policy_set.info(
            {
                "policy_set_digest": store.policy_set_digest,
                "policies": ",".join(store.policy_ids),
                "versions": str(sum(len(store.versions(p)) for p in store.policy_ids)),
            }
        )

    def reloaded(self, result: str) -> None:
        self._reloads.labels(result).inc()

    def suppressed(self, cause: str) -> None:
        self._suppressed.labels(cause).inc()

    def dropped(self, count: int) -> None:
        self._dropped.inc(count)

    # ------------------------------------------------------------ exposition

    def serve_http(self, host: str, port: int) -> int:
        """Serve ``/metrics`` (any path, in fact) over HTTP in a daemon thread; returns the port."""
        self._http, self._http_thread = start_http_server(port, addr=host.strip("[]"), registry=self.registry)
        return int(self._http.server_port)

    def close(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
