"""Metrics scraped over HTTP, the access log and its rate limit, on real servers: calls made
through a plain gRPC channel (no client retries), so every count is known."""

from __future__ import annotations

import itertools
import json
import os
import signal
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_fixtures import VALID, ServerProcess
from prometheus_client.parser import text_string_to_metric_families
from rxpolicy.client._wire import evaluate_request
from rxpolicy.server.engine.store import VersionStore, packaged_root
from rxpolicy.v1 import policy_service_pb2 as pb

EVALUATE = "/rxpolicy.v1.PolicyService/Evaluate"
STREAM = "/rxpolicy.v1.PolicyService/EvaluateStream"
LIST = "/rxpolicy.v1.PolicyService/ListVersions"
WAIT_LIMIT_S = 30.0  # a bound against hangs, not a timed assertion
# Fact values of VALID and of the invalid requests below: none may reach a log line.
FACT_TEXT = (
    "multiple_myeloma",
    "hematology",
    "selinexor",
    "lenalidomide",
    "relapsed",
    "medicaid",
    "2025-06-02",
    "Velcade",
    "zqxj-distinctive-diagnosis",
)
INVALID = dict(VALID, diagnosis="zqxj-distinctive-diagnosis")


def _call(channel: grpc.Channel, method: str, message: Any, metadata: Any = ()) -> grpc.StatusCode:
    try:
        channel.unary_unary(method)(message.SerializeToString(), timeout=30, metadata=metadata)
    except grpc.RpcError as exc:
        code: grpc.StatusCode = exc.code()
        return code
    return grpc.StatusCode.OK


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)


def _until(condition: Callable[[], bool]) -> None:
    """Wait for work the server finishes after answering (the decision log's records)."""
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def _serving(srv: ServerProcess) -> dict[str, Any]:
    return next(r for r in srv.logs() if r.get("message") == "serving")


def test_metrics_count_every_call_decision_error_and_reload(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path, "--metrics-port", "0")
    try:
        serving = _serving(srv)
        port = serving["metrics_port"]
        assert isinstance(port, int) and port > 0
        before = _scrape(port)
        assert _value(before, "rxpolicy_calls_total", method=EVALUATE, code="OK") == 0
        with grpc.insecure_channel(srv.target) as channel:
            codes = [
                _call(channel, EVALUATE, evaluate_request(VALID, request_id=f"ok-{i}")) for i in range(7)
            ]
            codes += [
                _call(channel, EVALUATE, evaluate_request(INVALID, request_id=f"bad-{i}")) for i in range(3)
            ]
            codes.append(_call(channel, LIST, pb.ListVersionsRequest()))
            batch = pb.EvaluateStreamRequest(requests=[evaluate_request(VALID) for _ in range(5)])
            responses = list(channel.stream_stream(STREAM)(iter([batch.SerializeToString()]), timeout=30))
            assert len(responses) == 1
            codes.append(_call(channel, "/rxpolicy.v1.PolicyService/NoSuchMethod", pb.ListVersionsRequest()))
        assert codes.count(grpc.StatusCode.OK) == 8
        assert codes.count(grpc.StatusCode.INVALID_ARGUMENT) == 3
        assert codes[-1] == grpc.StatusCode.UNIMPLEMENTED

        # The version that decides VALID today (the packaged set's, corrections included).
        in_force = VersionStore.load(packaged_root()).decide(dict(VALID)).version.version
        approve = {"policy_id": "CP.PHAR.431", "version": in_force, "outcome": "approve"}
        _until(lambda: _value(_scrape(port), "rxpolicy_decisions_total", **approve) >= 12)
        m = _scrape(port)
        assert _value(m, "rxpolicy_decisions_total", **approve) == 7 + 5
        assert _value(m, "rxpolicy_request_errors_total", code="INVALID_ARGUMENT") == 3
        assert _value(m, "rxpolicy_calls_total", method=EVALUATE, code="OK") == 7
        assert _value(m, "rxpolicy_calls_total", method=EVALUATE, code="INVALID_ARGUMENT") == 3
        assert _value(m, "rxpolicy_calls_total", method=LIST, code="OK") == 1
        assert _value(m, "rxpolicy_calls_total", method=STREAM, code="OK") == 1
        assert _value(m, "rxpolicy_calls_total", method="(unknown)", code="UNIMPLEMENTED") == 1
        assert _value(m, "rxpolicy_call_duration_seconds_count", method=EVALUATE) == 10
        assert _value(m, "rxpolicy_call_duration_seconds_bucket", method=EVALUATE, le="+Inf") == 10
        assert _value(m, "rxpolicy_call_duration_seconds_sum", method=EVALUATE) > 0
        assert _value(m, "rxpolicy_calls_in_flight", method=EVALUATE) == 0
        [info] = [labels for (name, labels), _ in m.items() if name == "rxpolicy_policy_set_info"]
        assert dict(info)["policy_set_digest"] == serving["policy_set_digest"]
        assert _value(m, "rxpolicy_reloads_total", result="unchanged") == 0

        srv.proc.send_signal(signal.SIGHUP)
        _until(lambda: _value(_scrape(port), "rxpolicy_reloads_total", result="unchanged") >= 1)
        assert _value(_scrape(port), "rxpolicy_reloads_total", result="unchanged") == 1
        assert "reload: policy set unchanged" in [r.get("message") for r in srv.logs()]
    finally:
        assert srv.stop() == 0


def test_no_metrics_port_unless_asked(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path)
    try:
        assert _serving(srv)["metrics_port"] is None
    finally:
        srv.stop()


def _access_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_access_log_has_one_line_per_call_and_no_fact_value(tmp_path: Path) -> None:
    access = tmp_path / "access.jsonl"
    srv = ServerProcess(tmp_path, "--access-log", str(access))
    try:
        with grpc.insecure_channel(srv.target) as channel:
            for i in range(20):
                assert (
                    _call(channel, EVALUATE, evaluate_request(VALID, request_id=f"call-{i}"))
                    == grpc.StatusCode.OK
                )
            assert _call(channel, EVALUATE, evaluate_request(VALID)) == grpc.StatusCode.OK  # the server's id
            assert (
                _call(channel, EVALUATE, evaluate_request(INVALID, request_id="bad-0")) != grpc.StatusCode.OK
            )
            batch = pb.EvaluateStreamRequest(requests=[evaluate_request(VALID)] * 3)
            list(channel.stream_stream(STREAM)(iter([batch.SerializeToString()] * 2), timeout=30))
            unknown = "/rxpolicy.v1.PolicyService/zqxj-caller-text"
            assert _call(channel, unknown, pb.ListVersionsRequest()) == grpc.StatusCode.UNIMPLEMENTED
    finally:
        assert srv.stop() == 0  # the access log is written out before the process ends
    assert (access.stat().st_mode & 0o777) == 0o600
    text = access.read_text()
    for value in FACT_TEXT:
        assert value not in text
    for record in srv.logs():  # nor in the other logs
        for value in FACT_TEXT:
            assert value not in json.dumps(record)
    lines = _access_lines(access)
    evaluate = [r for r in lines if r["method"] == EVALUATE]
    assert len(evaluate) == 22
    assert [r["request_id"] for r in evaluate[:20]] == [f"call-{i}" for i in range(20)]
    assert evaluate[20]["request_id"].startswith("rx-")  # the id the server gave, as in the decision log
    assert {r["request_id"] for r in srv.decisions()} >= {r["request_id"] for r in evaluate}
    for r in evaluate[:21]:
        assert r["code"] == "OK" and r["message"] == "call" and r["level"] == "info"
        assert r["logger"] == "rxpolicy.access" and r["peer"].startswith("ipv4:127.0.0.1:")
        assert r["latency_ms"] > 0
    assert evaluate[21]["code"] == "INVALID_ARGUMENT" and evaluate[21]["message"] == "call refused"
    assert evaluate[21]["request_id"] == "bad-0"
    [stream] = [r for r in lines if r["method"] == STREAM]
    assert stream["code"] == "OK" and stream["messages"] == 2 and "request_id" not in stream
    # A method not served: its line, without the caller's text (nor a peer: no call context).
    [unknown_line] = [r for r in lines if r["code"] == "UNIMPLEMENTED"]
    assert unknown_line["method"] == "(unknown)" and "zqxj" not in text
    # No fact in any field: the keys of a call line are these, always.
    for r in lines:
        assert set(r) <= {
            "time",
            "level",
            "logger",
            "message",
            "pid",
            "method",
            "code",
            "latency_ms",
            "peer",
        } | {
            "request_id",
            "messages",
        }


def test_access_log_goes_to_standard_error_by_default_and_off_means_none(tmp_path: Path) -> None:
    on = ServerProcess(tmp_path)
    off = ServerProcess(tmp_path, "--access-log", "off")
    for srv in (on, off):
        with grpc.insecure_channel(srv.target) as channel:
            assert _call(channel, EVALUATE, evaluate_request(VALID, request_id="one")) == grpc.StatusCode.OK
        assert srv.stop() == 0
    assert [r["request_id"] for r in on.logs() if r.get("logger") == "rxpolicy.access"] == ["one"]
    assert _serving(on)["access_log"] == "-"
    assert not [r for r in off.logs() if r.get("logger") == "rxpolicy.access"]
    assert _serving(off)["access_log"] == "off"


@pytest.mark.parametrize("with_metrics", [True, False])
def test_refusals_are_rate_limited_with_counts_of_the_lines_left_out(
    tmp_path: Path, with_metrics: bool
) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("the-token\n")
    os.chmod(tokens, 0o600)
    access = tmp_path / "access.jsonl"
    metrics = ("--metrics-port", "0") if with_metrics else ()
    srv = ServerProcess(tmp_path, "--token-file", str(tokens), "--access-log", str(access), *metrics)
    refused = 300
    try:
        with grpc.insecure_channel(srv.target) as channel:
            request = evaluate_request(VALID)
            codes = {_call(channel, EVALUATE, request) for _ in range(refused)}
            assert codes == {grpc.StatusCode.UNAUTHENTICATED}
            good = [("authorization", "Bearer the-token")]
            for i in range(5):
                assert (
                    _call(channel, EVALUATE, evaluate_request(VALID, request_id=f"ok-{i}"), good)
                    == grpc.StatusCode.OK
                )
        if with_metrics:
            m = _scrape(_serving(srv)["metrics_port"])
            assert _value(m, "rxpolicy_calls_total", method=EVALUATE, code="UNAUTHENTICATED") == refused
            suppressed_metric = _value(
                m, "rxpolicy_access_log_suppressed_lines_total", cause="UNAUTHENTICATED"
            )
    finally:
        assert srv.stop() == 0
    lines = _access_lines(access)
    refusal_lines = [
        r for r in lines if r.get("code") == "UNAUTHENTICATED" and r["message"] == "call refused"
    ]
    suppressed = sum(
        r["suppressed"] for r in lines if r.get("code") == "UNAUTHENTICATED" and "suppressed" in r
    )
    # Every refusal is accounted for: a line, or counted in a later line's 'suppressed'.
    assert len(refusal_lines) + suppressed == refused
    assert len(refusal_lines) < refused
    # At most one line per cause a second (the line's time is the call's end).
    times = [_seconds(r["time"]) for r in refusal_lines]
    assert all(b - a >= 0.999 for a, b in itertools.pairwise(times))
    # The calls that were let in each have their line, rate limit or not.
    assert [r["request_id"] for r in lines if r.get("code") == "OK"] == [f"ok-{i}" for i in range(5)]
    # The server's own log no longer has a warning per refused call.
    assert not [r for r in srv.logs() if "bearer token" in str(r.get("message"))]
    if with_metrics:
        assert suppressed_metric == suppressed


def _seconds(stamp: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
