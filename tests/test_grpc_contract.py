"""The contract's one home for each rule, held to against real servers: every rpc of the
service descriptor is served and has both client methods; the limits are one set of
numbers; any policy's facts travel typed; a restarted server costs a stream nothing."""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import FIXTURE_POLICIES
from grpc_fixtures import VALID, ServerProcess, running_server
from rxpolicy import limits
from rxpolicy.client import AsyncPolicyClient, InvalidRequestError, PolicyClient, Request, _wire
from rxpolicy.client._base import RPC_METHODS
from rxpolicy.client._stream import stream_batch_size
from rxpolicy.client.errors import from_rpc_error
from rxpolicy.decisions import ErrorResult
from rxpolicy.server.api import servicer as servicer_module
from rxpolicy.server.api.logs import DecisionLog
from rxpolicy.server.engine.errors import InvalidRequest
from rxpolicy.server.engine.store import VersionStore
from rxpolicy.server.formats.decisions import decision_json, error_json
from rxpolicy.v1 import facts_pb2, policy_service_pb2_grpc
from rxpolicy.v1 import policy_service_pb2 as pb

RPCS = [m.name for m in pb.DESCRIPTOR.services_by_name["PolicyService"].methods]

# XX.DEMO.7's own facts (creatinine_clearance, tolerating, its request types), which have no
# typed field in Facts: they arrive typed only through Facts.values.
DEMO = {
    "service_date": "2023-05-01",
    "line_of_business": "medicaid",
    "request_type": "new_start",
    "member_age": 70,
    "diagnosis": "CLL",
    "creatinine_clearance": 45,
    "prior_therapies": [["Imbruvica"], ["venetoclax", "obinutuzumab"]],
    "doses": [{"tablets": 4, "strength_mg": 50}],
}
DEMO_REQUESTS = [
    DEMO,
    {**DEMO, "creatinine_clearance": 20},  # deny I.A.4
    {**DEMO, "creatinine_clearance": None},  # unknown: pend
    {**DEMO, "creatinine_clearance": "45"},  # text for an integer fact: invalid, named
    {**DEMO, "creatinine_clearance": 45.5},  # a fraction: invalid, named
    {**DEMO, "tolerating": "yes"},
    # no 100 mg tablet before 2024-06-01: invalid, named
    {**DEMO, "diagnosis": "mantle_cell_lymphoma", "doses": [{"tablets": 2, "strength_mg": 100}]},
    {
        **DEMO,
        "service_date": "2024-06-01",
        "diagnosis": "mantle_cell_lymphoma",
        "doses": [{"tablets": 2, "strength_mg": 100}],
    },
    {**DEMO, "service_date": "2024-07-01", "request_type": "renewal", "tolerating": True},
    {**DEMO, "prior_therapies": []},  # an empty list is a value, not an unknown fact
    {**DEMO, "prior_therapies": [[]]},
    {**DEMO, "doses": []},
]


# ------------------------------------------------------------------ the service table


def test_every_rpc_has_a_servicer_method_and_both_client_methods() -> None:
    assert sorted(RPC_METHODS) == sorted(RPCS)  # a new rpc must be named here, and so in both clients
    for rpc in RPCS:
        assert callable(getattr(servicer_module.PolicyServicer, rpc, None)), rpc
        name = RPC_METHODS[rpc]
        sync, aio = getattr(PolicyClient, name), getattr(AsyncPolicyClient, name)
        assert not inspect.iscoroutinefunction(sync) and not inspect.isasyncgenfunction(sync), rpc
        assert inspect.iscoroutinefunction(aio) or inspect.isasyncgenfunction(aio), rpc
        assert inspect.signature(sync).parameters.keys() == inspect.signature(aio).parameters.keys(), rpc


def test_the_handler_table_serves_every_rpc_and_refuses_a_missing_one(store: VersionStore) -> None:
    real = servicer_module.PolicyServicer(store, DecisionLog(None))
    assert sorted(servicer_module.method_handlers(real)) == sorted(RPCS)
    for rpc in RPCS:
        partial = types.SimpleNamespace(**{n: getattr(real, n) for n in RPCS if n != rpc})
        with pytest.raises(TypeError, match=rpc):
            servicer_module.method_handlers(partial)


def test_limits_are_defined_once() -> None:
    assert servicer_module.MAX_STREAM_BATCH == limits.MAX_STREAM_BATCH == 1000
    assert servicer_module.MAX_REQUEST_ID_CHARS == limits.MAX_REQUEST_ID_CHARS == 256
    assert stream_batch_size(10**6) == limits.MAX_STREAM_BATCH and stream_batch_size(0) == 1
    for client in (PolicyClient, AsyncPolicyClient):
        default = inspect.signature(client.evaluate_many).parameters["batch_size"].default
        assert default == limits.CLIENT_STREAM_BATCH == 64


# ------------------------------------------------------------------ typed facts


def test_the_client_sends_facts_typed_by_shape_not_by_name() -> None:
    message = _wire.evaluate_request(
        {**DEMO, "tolerating": True, "when": "2024-01-01", "ratio": 0.5, "big": 2**40}
    ).facts
    assert [f.name for f, _ in message.ListFields()] == ["other_facts", "values"]
    kinds = {name: value.WhichOneof("kind") for name, value in message.values.items()}
    assert kinds == {
        "service_date": "text",
        "line_of_business": "text",
        "request_type": "text",
        "member_age": "integer",
        "diagnosis": "text",
        "creatinine_clearance": "integer",
        "prior_therapies": "therapy_lines",
        "doses": "doses",
        "tolerating": "boolean",
        "when": "text",
        "big": "integer",
    }
    assert message.values["big"].integer == 2**40
    assert dict(message.other_facts) == {"ratio": 0.5}  # fits no kind: the server names it


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from running_server(tmp_path_factory, "--policies", str(FIXTURE_POLICIES))


def _local(store: VersionStore, request: dict[str, Any]) -> dict[str, Any]:
    try:
        return decision_json(store.decide(request))
    except InvalidRequest as exc:
        return error_json(exc)


def _remote(client: PolicyClient, request: dict[str, Any]) -> dict[str, Any]:
    try:
        return client.evaluate(request).to_dict()
    except InvalidRequestError as exc:
        return exc.to_dict()


def test_a_second_policy_is_decided_over_grpc_with_typed_facts(
    demo_server: ServerProcess, demo_store: VersionStore
) -> None:
    with PolicyClient(demo_server.target) as client:
        remote = [_remote(client, r) for r in DEMO_REQUESTS]
        streamed = [r.to_dict() for r in client.evaluate_many(DEMO_REQUESTS, batch_size=3)]
    local = [_local(demo_store, r) for r in DEMO_REQUESTS]
    assert remote == local == streamed
    assert [r.get("decision") or r["error"]["fields"] for r in remote] == [
        "approve",
        "deny",
        "pend",
        ["creatinine_clearance"],
        ["creatinine_clearance"],
        ["tolerating"],
        ["doses"],
        "approve",
        "approve",
        "deny",  # no prior therapy: no BTK inhibitor
        ["prior_therapies"],
        ["doses"],
    ]
    assert remote[0]["policy_id"] == "XX.DEMO.7"


def test_a_fact_sent_twice_is_invalid_and_named(demo_server: ServerProcess) -> None:
    facts = facts_pb2.Facts(service_date="2023-05-01")
    facts.values["service_date"].text = "2023-05-01"
    facts.values["creatinine_clearance"].integer = 45
    facts.other_facts.update({"creatinine_clearance": 45})
    with grpc.insecure_channel(demo_server.target) as channel:
        stub = policy_service_pb2_grpc.PolicyServiceStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.Evaluate(pb.EvaluateRequest(facts=facts), timeout=10)
    error = from_rpc_error(info.value)
    assert isinstance(error, InvalidRequestError)
    assert set(error.fields) == {"service_date", "creatinine_clearance"}


# ------------------------------------------------------------------ a restart mid-stream


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# With traces (about 5 KB a decision) the server cannot run far ahead of a slow reader:
# flow control holds it, so a kill leaves requests sent and unanswered.
ITEMS = [
    Request(dict(VALID, member_age=20 + i % 60), request_id=f"r-{i}", include_trace=True) for i in range(2000)
]


def _check_complete(results: list[Any]) -> None:
    assert [r.request_id for r in results] == [item.request_id for item in ITEMS]  # in order, once each
    assert all(r.ok for r in results)
    assert {r.outcome for r in results} == {"approve"}


def test_evaluate_many_resends_what_a_killed_server_left_unanswered(tmp_path: Path) -> None:
    port = _free_port()
    first = ServerProcess(tmp_path, "--port", str(port))
    second: ServerProcess | None = None
    try:
        with PolicyClient(first.target) as client:
            stream = client.evaluate_many(ITEMS, batch_size=50)
            results = [next(stream) for _ in range(120)]  # the stream is under way
            first.proc.kill()  # no drain: the calls in flight fail UNAVAILABLE
            first.wait()
            second = ServerProcess(tmp_path, "--port", str(port))
            results += list(stream)
        _check_complete(results)
        assert second.decisions()  # the second server answered what the first left
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_async_evaluate_many_resends_what_a_killed_server_left_unanswered(tmp_path: Path) -> None:
    port = _free_port()
    first = ServerProcess(tmp_path, "--port", str(port))
    servers = [first]

    async def run() -> list[Any]:
        async with AsyncPolicyClient(first.target) as client:
            stream = client.evaluate_many(ITEMS, batch_size=50)
            results = [await anext(stream) for _ in range(120)]
            first.proc.kill()
            first.wait()
            servers.append(ServerProcess(tmp_path, "--port", str(port)))
            results += [r async for r in stream]
            return results

    try:
        _check_complete(asyncio.run(run()))
        assert servers[1].decisions()
    finally:
        for srv in servers:
            srv.stop()


def test_evaluate_many_gives_up_after_bounded_attempts(tmp_path: Path) -> None:
    """With no server coming back, the call fails UNAVAILABLE (bounded, not a hang), having
    handed out each answered result once."""
    srv = ServerProcess(tmp_path)
    with PolicyClient(srv.target) as client:
        stream = client.evaluate_many(ITEMS, batch_size=50)
        results = [next(stream) for _ in range(60)]
        srv.proc.kill()
        srv.wait()
        with pytest.raises(Exception) as info:
            results += list(stream)
    assert getattr(info.value, "code", None) is not None and info.value.code.name == "UNAVAILABLE"
    assert [r.request_id for r in results] == [item.request_id for item in ITEMS[: len(results)]]


def test_error_results_keep_their_json_shape() -> None:
    error = ErrorResult.invalid([servicer_module.FieldViolation("a", "is bad")], request_id="x")
    assert json.loads(json.dumps(error.to_dict())) == {
        "error": {
            "code": "INVALID_ARGUMENT",
            "fields": ["a"],
            "violations": [{"field": "a", "description": "is bad"}],
        }
    }
    assert not error.ok and error.fields == ("a",)
