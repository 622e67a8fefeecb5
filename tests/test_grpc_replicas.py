"""Replicas behind one client: real `rxpolicy serve` processes on ephemeral ports of
127.0.0.1, balanced round-robin by the client (a list of addresses), one killed with
SIGKILL under load, and a replica serving another policy set refused when the client is
told the digest it expects.

Every loop here is bounded in count and time; traffic goes to 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_fixtures import VALID, ServerProcess
from rxpolicy.client import (
    AsyncPolicyClient,
    Decision,
    PolicyClient,
    PolicyClientError,
    PolicySetMismatchError,
    Request,
)
from rxpolicy.client._channel import channel_target
from rxpolicy.server.engine.lockfile import add_new_to_lock
from rxpolicy.v1 import policy_service_pb2 as pb
from rxpolicy.v1 import policy_service_pb2_grpc
from test_grpc_service import LATER, _new_version, _policies, _wait_for

UNARY_CALLERS = 12
STREAM_CALLERS = 2
CALLS_PER_CALLER = 4000  # a bound, never reached unless the stop never comes
STREAM_ITEMS = 64
CALLS_UNTIL_BOTH_SEEN = 200  # round_robin alternates: both replicas answer long before


def _unary(srv: ServerProcess) -> int:
    """Unary calls srv decided (their ids start with u; stream items' with s)."""
    return sum(1 for r in srv.decisions() if str(r.get("request_id", "")).startswith("u"))


def _serving_digest(srv: ServerProcess) -> str:
    digest: str = next(r for r in srv.logs() if r.get("message") == "serving")["policy_set_digest"]
    return digest


def test_a_list_of_addresses_becomes_one_balanced_target() -> None:
    assert channel_target(["127.0.0.1:1", "127.0.0.1:2"]) == "ipv4:127.0.0.1:1,127.0.0.1:2"
    assert channel_target(("[::1]:7", "[::1]:8")) == "ipv6:[::1]:7,[::1]:8"
    assert channel_target(["localhost:5", "localhost:6"]).startswith("ipv4:127.0.0.1:5,")
    assert channel_target(["10.0.0.1:50051"]) == "10.0.0.1:50051"
    assert channel_target("dns:///rx.internal:50051") == "dns:///rx.internal:50051"
    with pytest.raises(ValueError, match="not host:port"):
        channel_target(["127.0.0.1:1", "nohost"])
    with pytest.raises(ValueError, match="no server address"):
        channel_target([])


# ------------------------------------------------------------ one replica killed under load


def test_two_replicas_one_killed_under_load_lose_no_call(tmp_path: Path) -> None:
    a = ServerProcess(tmp_path)
    b = ServerProcess(tmp_path)
    stop = threading.Event()
    made = Counter[str]()
    answered = Counter[str]()
    errors: list[str] = []
    lock = threading.Lock()

    def count(kind: str, n_made: int, n_answered: int) -> None:
        with lock:
            made[kind] += n_made
            answered[kind] += n_answered

    with PolicyClient([a.target, b.target], timeout=30) as client:

        def unary_caller(k: int) -> None:
            for n in range(CALLS_PER_CALLER):
                if stop.is_set():
                    return
                try:
                    decision = client.evaluate(dict(VALID, member_age=20 + k), request_id=f"u{k}-{n}")
                    count("evaluate", 1, int(decision.outcome == "approve"))
                except PolicyClientError as exc:
                    count("evaluate", 1, 0)
                    errors.append(f"evaluate {exc.code.name}: {exc.details}")

        def stream_caller(k: int) -> None:
            for n in range(CALLS_PER_CALLER // STREAM_ITEMS):
                if stop.is_set():
                    return
                facts = dict(VALID, member_age=20 + k)
                items = [Request(facts, request_id=f"s{k}-{n}-{i}") for i in range(STREAM_ITEMS)]
                try:
                    results = list(client.evaluate_many(items, timeout=60))
                    ok = [r for r in results if getattr(r, "outcome", None) == "approve"]
                    ids = [r.request_id for r in results]
                    if ids != [item.request_id for item in items]:
                        errors.append("evaluate_many: results out of order, lost or doubled")
                    count("evaluate_many items", STREAM_ITEMS, len(ok))
                except PolicyClientError as exc:
                    count("evaluate_many items", STREAM_ITEMS, 0)
                    errors.append(f"evaluate_many {exc.code.name}: {exc.details}")

        threads = [threading.Thread(target=unary_caller, args=(k,)) for k in range(UNARY_CALLERS)]
        threads += [threading.Thread(target=stream_caller, args=(k,)) for k in range(STREAM_CALLERS)]
        for t in threads:
            t.start()
        try:
            # Both live: both take calls, round-robin.
            assert _wait_for(lambda: _unary(a) >= 100 and _unary(b) >= 100)
            before_a, before_b = len(a.decisions()), len(b.decisions())
            unary_a, unary_b = _unary(a), _unary(b)
            b.proc.kill()  # SIGKILL: no drain, calls in flight on b fail UNAVAILABLE
            b.proc.wait(60)
            unary_at_kill = made["evaluate"]
            # a takes them all: unary calls and streams go on after the kill.
            assert _wait_for(
                lambda: len(a.decisions()) >= before_a + 2000 and made["evaluate"] >= unary_at_kill + 300
            )
        finally:
            stop.set()
            for t in threads:
                t.join(120)
            a_total = len(a.decisions())
            assert a.stop() == 0
            b.stop()

    total_made, total_answered = sum(made.values()), sum(answered.values())
    share_b = unary_b / (unary_a + unary_b)
    print(
        f"\ncalls made {dict(made)} ({total_made}), answered {dict(answered)} ({total_answered}), "
        f"failed {len(errors)}; decided while both live: a {before_a}, b {before_b}, of which unary "
        f"a {unary_a}, b {unary_b} (b's share {share_b:.2f}); a after b was killed: {a_total - before_a} "
        f"({made['evaluate'] - unary_at_kill} unary calls)"
    )
    assert errors == []
    assert total_made == total_answered > 0
    # Unary calls are balanced one by one (a stream stays on its replica): spread over both.
    assert 0.3 <= share_b <= 0.7
    assert a_total - before_a >= 2000


# ------------------------------------------------------------ the policy-set digest


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Replica a serves the packaged versions; b a copy holding one more published version."""
    tmp = tmp_path_factory.mktemp("replicas")
    root = _policies(tmp)
    _new_version(root)
    add_new_to_lock(root / "CP.PHAR.431")
    a = ServerProcess(tmp)
    try:
        b = ServerProcess(tmp, "--policies", str(root))
    except Exception:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()


def test_every_answer_names_its_policy_set(replicas: tuple[ServerProcess, ServerProcess]) -> None:
    from rxpolicy.client._wire import evaluate_request

    a, b = replicas
    for srv in (a, b):
        with grpc.insecure_channel(srv.target) as ch:
            stub = policy_service_pb2_grpc.PolicyServiceStub(ch)
            listed = stub.ListVersions(pb.ListVersionsRequest(), timeout=10)
            evaluated = stub.Evaluate(evaluate_request(VALID), timeout=10)
            got = stub.GetVersion(pb.GetVersionRequest(), timeout=10)
            diffed = stub.DiffVersions(pb.DiffVersionsRequest(from_ref="1.0.0", to_ref="latest"), timeout=30)
            streamed = list(
                stub.EvaluateStream(
                    iter([pb.EvaluateStreamRequest(requests=[evaluate_request(VALID)])]), timeout=10
                )
            )
        for answer in (evaluated, got, diffed, *streamed):
            assert answer.policy_set_digest == listed.policy_set_digest
        assert listed.policy_set_digest == _serving_digest(srv)
    assert _serving_digest(a) != _serving_digest(b)


def _both_outcomes(client: PolicyClient, call: Any) -> tuple[list[Any], list[PolicySetMismatchError]]:
    answers: list[Any] = []
    refused: list[PolicySetMismatchError] = []
    for _ in range(CALLS_UNTIL_BOTH_SEEN):
        try:
            answers.append(call())
        except PolicySetMismatchError as exc:
            refused.append(exc)
        if answers and refused:
            break
    return answers, refused


def test_a_replica_serving_another_set_is_refused_when_a_digest_is_expected(
    replicas: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = replicas
    expected, other = _serving_digest(a), _serving_digest(b)
    with PolicyClient([a.target, b.target], expected_policy_set_digest=expected, timeout=30) as client:
        decisions, refused = _both_outcomes(client, lambda: client.evaluate(LATER))
        assert decisions and refused
        # Only a's answers come back: b (with 4.5.2 in force on LATER's date) is refused.
        assert {d.version.version for d in decisions} == {"4.5.1"}
        for exc in refused:
            assert (exc.expected, exc.served) == (expected, other)
            assert expected in str(exc) and other in str(exc)
            assert isinstance(exc, PolicyClientError) and exc.code == grpc.StatusCode.FAILED_PRECONDITION
        for method in (client.list_versions, client.get_version):
            answers, refused = _both_outcomes(client, method)
            assert answers and refused, method

    with PolicyClient(b.target, expected_policy_set_digest=expected, timeout=30) as only_b:
        with pytest.raises(PolicySetMismatchError) as caught:
            list(only_b.evaluate_many([LATER] * 10))
        assert caught.value.served == other
        assert list(only_b.evaluate_many([])) == []  # nothing answered: nothing to refuse
    with PolicyClient(b.target, expected_policy_set_digest=other, timeout=30) as right:
        results = list(right.evaluate_many([LATER] * 10))
        assert [r.version.version for r in results if isinstance(r, Decision)] == ["4.5.2"] * 10

    # Without the option nothing changes: both replicas answer, each under its own set.
    with PolicyClient([a.target, b.target], timeout=30) as plain:
        seen: set[str] = set()
        for _ in range(CALLS_UNTIL_BOTH_SEEN):
            seen.add(plain.evaluate(LATER).version.version)
            if len(seen) == 2:
                break
        assert seen == {"4.5.1", "4.5.2"}


def test_the_async_client_refuses_another_set_too(replicas: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = replicas
    expected, other = _serving_digest(a), _serving_digest(b)

    async def run() -> tuple[set[str], list[PolicySetMismatchError], PolicySetMismatchError, list[str]]:
        versions: set[str] = set()
        refused: list[PolicySetMismatchError] = []
        async with AsyncPolicyClient(
            [a.target, b.target], expected_policy_set_digest=expected, timeout=30
        ) as client:
            for _ in range(CALLS_UNTIL_BOTH_SEEN):
                try:
                    versions.add((await client.evaluate(LATER)).version.version)
                except PolicySetMismatchError as exc:
                    refused.append(exc)
                if versions and refused:
                    break
        async with AsyncPolicyClient(b.target, expected_policy_set_digest=expected, timeout=30) as only_b:
            try:
                async for _ in only_b.evaluate_many([LATER] * 10):
                    raise AssertionError("a result from the replica serving another set")
                raise AssertionError("evaluate_many was not refused")
            except PolicySetMismatchError as exc:
                stream_refusal = exc
        async with AsyncPolicyClient(b.target, expected_policy_set_digest=other, timeout=30) as right:
            accepted = [
                r.version.version async for r in right.evaluate_many([LATER] * 10) if isinstance(r, Decision)
            ]
        return versions, refused, stream_refusal, accepted

    versions, refused, stream_refusal, accepted = asyncio.run(run())
    assert versions == {"4.5.1"} and refused
    assert all((e.expected, e.served) == (expected, other) for e in refused)
    assert (stream_refusal.expected, stream_refusal.served) == (expected, other)
    assert accepted == ["4.5.2"] * 10
