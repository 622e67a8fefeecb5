"""The service's contract against a real server: errors and their field violations,
versions, health, reflection, streams, limits and deadlines."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_fixtures import VALID, ServerProcess, running_server
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from grpc_status import rpc_status
from rxpolicy.client import (
    AsyncPolicyClient,
    Criterion,
    DeadlineExceededError,
    InvalidRequestError,
    NotFoundError,
    PolicyClient,
    PolicyVersion,
    Request,
    ResourceExhaustedError,
    UnavailableError,
    VersionDiff,
    VersionInfo,
    VersionList,
)
from rxpolicy.v1 import facts_pb2, policy_service_pb2_grpc
from rxpolicy.v1 import policy_service_pb2 as pb


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from running_server(tmp_path_factory)


@pytest.fixture(scope="module")
def client(server: Any) -> Any:
    with PolicyClient(server.target) as c:
        yield c


@pytest.fixture(scope="module")
def channel(server: Any) -> Any:
    with grpc.insecure_channel(server.target) as ch:
        yield ch


def test_decision_from_keywords(client: PolicyClient) -> None:
    d = client.evaluate(request_id="kw-1", **VALID)
    assert (d.outcome, d.request_id, d.version.version, d.indication and d.indication.cite) == (
        "approve",
        "kw-1",
        "4.5.1",
        "I.A",
    )
    assert d.approval is not None and d.approval.months == 6
    assert d.trace is None


def test_server_assigns_request_ids(client: PolicyClient) -> None:
    a, b = client.evaluate(VALID), client.evaluate(VALID)
    assert a.request_id and b.request_id and a.request_id != b.request_id


def test_invalid_argument_carries_bad_request_violations(channel: Any) -> None:
    stub = policy_service_pb2_grpc.PolicyServiceStub(channel)
    facts = facts_pb2.Facts(service_date="2025-06-02", line_of_business="medicaid", diagnosis="dlbc")
    with pytest.raises(grpc.RpcError) as info:
        stub.Evaluate(pb.EvaluateRequest(facts=facts), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(info.value)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    # The request's own paths (docs: "Errors"), and a stable reason to switch on.
    assert {v.field for v in bad.field_violations} == {"facts.diagnosis", "facts.request_type"}
    info_detail = error_details_pb2.ErrorInfo()
    assert status.details[1].Unpack(info_detail)
    assert (info_detail.reason, info_detail.domain) == ("INVALID_FACT", "rxpolicy.v1")
    assert "Traceback" not in info.value.details()


def test_typed_exception_names_fields(client: PolicyClient) -> None:
    with pytest.raises(InvalidRequestError) as info:
        client.evaluate({**VALID, "member_age": "sixty", "doses": [{"tablets": 1, "strength_mg": 30}]})
    assert set(info.value.fields) == {"member_age", "doses"}
    assert info.value.to_dict()["error"]["code"] == "INVALID_ARGUMENT"


def test_wrong_types_reach_the_validator(client: PolicyClient) -> None:
    cases = {
        "member_age": True,
        "specialist_consulted": "yes",
        "combination": "bortezomib",
        "prior_therapies": [["bortezomib", 3]],
        "doses": [{"tablets": 1, "strength_mg": 20, "when": "monday"}],
        "made_up_fact": 1,
        "service_date": "2025-02-30",
    }
    for name, value in cases.items():
        with pytest.raises(InvalidRequestError) as info:
            client.evaluate({**VALID, name: value})
        assert name in info.value.fields, (name, info.value.violations)


def test_unknown_policy_and_version_not_found(client: PolicyClient) -> None:
    with pytest.raises(NotFoundError):
        client.evaluate(VALID, policy_id="CP.NOPE.1")
    with pytest.raises(NotFoundError):
        client.get_version("9.9.9")
    with pytest.raises(NotFoundError):
        client.get_version(in_force_on="2001-01-01")
    with pytest.raises(NotFoundError):
        client.list_versions("CP.NOPE.1")


def test_as_known_on(client: PolicyClient) -> None:
    with pytest.raises(InvalidRequestError) as info:
        client.evaluate(VALID, as_known_on="yesterday")
    assert info.value.fields == ("as_known_on",)
    d = client.evaluate(VALID, as_known_on="2024-01-01")
    assert d.version.effective.isoformat() < "2024-01-01"


def test_list_and_get_versions(client: PolicyClient) -> None:
    versions = client.list_versions()
    assert [v.effective for v in versions] == sorted(v.effective for v in versions)
    # the records that decide today: 1.0.2 corrects 1.0.1, which corrects 1.0.0 (GetVersion
    # still returns both)
    assert versions[0].version == "1.0.2" and versions[0].policy_id == "CP.PHAR.431"
    assert versions[0].corrects == client.get_version("1.0.1").info.content_hash
    by_semver = client.get_version(versions[2].version)
    by_date = client.get_version(in_force_on=versions[2].effective)
    assert by_semver == by_date
    assert by_semver.info.content_hash == versions[2].content_hash
    assert by_semver.indications and by_semver.indications[0].criteria.children
    assert client.get_version().info.version == versions[-1].version
    assert client.get_version("latest").info.version == versions[-1].version
    with pytest.raises(InvalidRequestError) as info:
        client.get_version(in_force_on="July 2021")
    assert info.value.fields == ("in_force_on",)


def test_trace_on_request(client: PolicyClient) -> None:
    d = client.evaluate({k: v for k, v in VALID.items() if k != "member_age"}, include_trace=True)
    assert d.outcome == "pend" and "member_age" in d.missing
    assert d.trace and d.trace[0].children
    leaves = [n for t in d.trace for n in _walk(t) if n.fact == "member_age"]
    assert leaves and all(n.result is None for n in leaves)


def _walk(node: Any) -> Any:
    yield node
    for c in node.children:
        yield from _walk(c)


def test_stream_bad_item_gets_error_and_stream_goes_on(channel: Any) -> None:
    stub = policy_service_pb2_grpc.PolicyServiceStub(channel)
    good = pb.EvaluateRequest(
        request_id="good",
        facts=facts_pb2.Facts(**{k: VALID[k] for k in ("service_date", "line_of_business", "request_type")}),
    )
    bad = pb.EvaluateRequest(request_id="bad", facts=facts_pb2.Facts(service_date="nope"))
    lost = pb.EvaluateRequest(request_id="lost", policy_id="CP.NOPE.1", facts=good.facts)
    batches = [
        pb.EvaluateStreamRequest(requests=[good, bad]),
        pb.EvaluateStreamRequest(requests=[lost]),
        pb.EvaluateStreamRequest(requests=[good]),
    ]
    responses = list(stub.EvaluateStream(iter(batches), timeout=10))
    results = [r for resp in responses for r in resp.results]
    assert [r.request_id for r in results] == ["good", "bad", "lost", "good"]
    assert [r.WhichOneof("result") for r in results] == ["decision", "error", "error", "decision"]
    assert results[1].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert results[1].error.field_violations[0].field == "facts.service_date"
    assert (results[1].error.reason, results[2].error.reason) == ("INVALID_FACT", "UNKNOWN_POLICY")
    assert results[2].error.code == grpc.StatusCode.NOT_FOUND.value[0]


def test_undecodable_bytes_are_invalid_argument(channel: Any) -> None:
    for method in ("Evaluate", "ListVersions", "GetVersion", "DiffVersions"):
        call = channel.unary_unary(f"/rxpolicy.v1.PolicyService/{method}")
        with pytest.raises(grpc.RpcError) as info:
            call(b"\x0a\xff\xff\xff\xff\x0f", timeout=10)  # a length past the end of the message
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, method
    stream = channel.stream_stream("/rxpolicy.v1.PolicyService/EvaluateStream")
    replies = [
        pb.EvaluateStreamResponse.FromString(r) for r in stream(iter([b"\x0a\xff\xff", b""]), timeout=10)
    ]
    assert replies[0].results[0].error.field_violations[0].field == "request"
    assert replies[1].results == []  # an empty batch, answered with an empty batch


def test_message_size_limit(client: PolicyClient) -> None:
    with pytest.raises(ResourceExhaustedError):
        client.evaluate({**VALID, "diagnosis": "x" * (5 * 1024 * 1024)})


def test_huge_list_within_limits_is_invalid_argument(client: PolicyClient) -> None:
    with pytest.raises(InvalidRequestError) as info:
        client.evaluate({**VALID, "prior_therapies": [["bortezomib"]] * 20_000})
    assert info.value.fields == ("prior_therapies",)


def test_expired_deadline(client: PolicyClient, channel: Any) -> None:
    with pytest.raises(DeadlineExceededError):
        client.evaluate(VALID, timeout=-1)  # a deadline already past when sent
    # The server ends a stream that outlives its deadline, whatever the client still holds open.
    stub = policy_service_pb2_grpc.PolicyServiceStub(channel)

    def requests() -> Any:
        yield pb.EvaluateStreamRequest(requests=[pb.EvaluateRequest(facts=facts_pb2.Facts(service_date="x"))])
        time.sleep(5)  # idle: the call's deadline passes first

    call = stub.EvaluateStream(requests(), timeout=0.5)
    with pytest.raises(grpc.RpcError) as info:
        list(call)
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_health_and_reflection(channel: Any) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "rxpolicy.v1.PolicyService"):
        reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    db = ProtoReflectionDescriptorDatabase(channel)
    services = set(db.get_services())
    assert {"rxpolicy.v1.PolicyService", "grpc.health.v1.Health"} <= services
    described = db.FindFileContainingSymbol("rxpolicy.v1.PolicyService")
    assert described.package == "rxpolicy.v1"


def test_diff_versions(client: PolicyClient) -> None:
    diff = client.diff_versions("1.0.0", "1.1.0", format="markdown")
    assert diff.from_version == "1.0.0" and diff.to_version == "1.1.0"
    assert diff.content and diff.media_type
    with pytest.raises(InvalidRequestError):
        client.diff_versions("", "1.1.0")
    with pytest.raises(NotFoundError):
        client.diff_versions("1.0.0", "9.9.9")


def test_unavailable_is_typed() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # held, never listening: nobody else can take the port meanwhile
        port = s.getsockname()[1]
        with PolicyClient(f"127.0.0.1:{port}", timeout=5) as c, pytest.raises(UnavailableError):
            c.evaluate(VALID)


@pytest.mark.parametrize("timeout", [0.05, 0.3, 1.0])
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "aio"])
def test_deadline_running_out_while_retrying_is_unavailable(timeout: float, asynchronous: bool) -> None:
    """However the deadline falls among the retries of a refused connection, the caller
    is told the server was unreachable (UNAVAILABLE), not that it was slow."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with pytest.raises(UnavailableError) as raised:
            if asynchronous:

                async def call() -> None:
                    async with AsyncPolicyClient(f"127.0.0.1:{port}", timeout=timeout) as c:
                        await c.evaluate(VALID)

                asyncio.run(call())
            else:
                with PolicyClient(f"127.0.0.1:{port}", timeout=timeout) as c:
                    c.evaluate(VALID)
    assert "UNAVAILABLE" in str(raised.value)


def test_client_does_not_import_the_server() -> None:
    code = (
        "import sys, rxpolicy.client; "
        "banned = ('rxpolicy.server', 'yaml', 'grpc_status'); "
        "bad = [m for m in sys.modules if m.startswith(banned)]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_decide_under_a_named_version(client: PolicyClient) -> None:
    in_force = client.evaluate(VALID)
    old = client.evaluate(VALID, version="2021-06-01")
    assert (in_force.version.version, old.version.version) == ("4.5.1", "2.1.2")  # the latest corrections
    with pytest.raises(NotFoundError):
        client.evaluate(VALID, version="7.7.7")
    results = list(client.evaluate_many([VALID, Request(VALID, version="1.0.0")], version="latest"))
    assert [r.version.version for r in results] == ["4.5.1", "1.0.0"]


def test_concurrency_limit(tmp_path: Any) -> None:
    srv = ServerProcess(tmp_path, "--max-concurrent-rpcs", "1")
    release = threading.Event()
    try:
        with PolicyClient(srv.target) as c:

            def held() -> Any:
                yield VALID
                release.wait(60)  # keeps the stream, and so the one allowed call, open

            stream = c.evaluate_many(held(), batch_size=1)
            assert next(stream).ok  # the stream is in progress on the server
            with pytest.raises(ResourceExhaustedError):
                c.evaluate(VALID)
            release.set()
            assert list(stream) == []
            assert c.evaluate(VALID).outcome == "approve"
    finally:
        release.set()
        assert srv.stop() == 0


def test_empty_version_is_invalid_argument(client: PolicyClient) -> None:
    for text in ("", "  "):
        with pytest.raises(InvalidRequestError) as info:
            client.evaluate(VALID, version=text)
        assert info.value.fields == ("version",)
        assert "latest" in info.value.violations[0].description
    [result] = client.evaluate_many([Request(VALID, version="")])
    assert not result.ok and result.fields == ("version",)


def test_request_id_length_is_bounded(server: ServerProcess, client: PolicyClient) -> None:
    assert client.evaluate(VALID, request_id="k" * 256).request_id == "k" * 256
    with pytest.raises(InvalidRequestError) as info:
        client.evaluate(VALID, request_id="k" * 257)
    assert info.value.fields == ("request_id",)
    huge = "h" * 100_000
    with pytest.raises(InvalidRequestError) as info:
        client.evaluate(VALID, request_id=huge)
    assert info.value.fields == ("request_id",)
    bad, good = client.evaluate_many([Request(VALID, request_id=huge), Request(VALID, request_id="ok-1")])
    assert not bad.ok and bad.fields == ("request_id",) and bad.request_id and len(bad.request_id) < 100
    assert good.ok and good.request_id == "ok-1"
    # The decision log's lines stay whole (atomic appends below PIPE_BUF) and never hold the id.
    lines = server.decision_log.read_bytes().splitlines()
    assert lines and max(len(line) for line in lines) < 4096
    assert not any(b"hhhhhhhh" in line for line in lines)


def test_local_errors_are_named_alike_by_both_clients(server: ServerProcess) -> None:
    items: list[Any] = [VALID] * 5 + [5] + [VALID] * 3 + ["not a mapping"] + [VALID] * 2

    def named(results: list[Any]) -> list[tuple[int, str]]:
        return [(i, r.request_id) for i, r in enumerate(results) if not r.ok]

    with PolicyClient(server.target) as c:
        sync = named(list(c.evaluate_many(items, batch_size=3)))

    async def run() -> list[tuple[int, str]]:
        async with AsyncPolicyClient(server.target) as c:
            return named([r async for r in c.evaluate_many(items, batch_size=3)])

    assert sync == asyncio.run(run()) == [(5, "item-5"), (9, "item-9")]


def test_a_mapping_carries_its_request_id_in_both_clients(server: ServerProcess) -> None:
    items: list[Any] = [
        {"request_id": "claim-1", **VALID},
        VALID,
        {"request_id": None, **VALID},  # None: no id given, the server names it
        Request({"request_id": "claim-4", **VALID}),
        {"request_id": 7, **VALID},  # not text: the item's error, in its place
        Request({"request_id": "claim-6", **VALID}, request_id="other"),  # two ids
    ]

    def seen(results: list[Any]) -> list[tuple[bool, str]]:
        return [(r.ok, r.request_id if r.request_id.startswith(("claim", "item")) else "") for r in results]

    with PolicyClient(server.target) as c:
        sync = seen(list(c.evaluate_many(items, batch_size=2)))
        assert c.evaluate({"request_id": "one-1", **VALID}).request_id == "one-1"
        assert c.evaluate({"request_id": "one-2", **VALID}, request_id="one-2").request_id == "one-2"
        with pytest.raises(TypeError, match="two request ids"):
            c.evaluate({"request_id": "one-3", **VALID}, request_id="other")

    async def run() -> list[tuple[bool, str]]:
        async with AsyncPolicyClient(server.target) as c:
            assert (await c.evaluate({"request_id": "one-4", **VALID})).request_id == "one-4"
            return seen([r async for r in c.evaluate_many(items, batch_size=2)])

    decided = [(True, "claim-1"), (True, ""), (True, ""), (True, "claim-4")]
    expected = [*decided, (False, "item-4"), (False, "item-5")]
    # Each decided: the id never reached the server as a fact (an unknown fact is refused).
    assert sync == asyncio.run(run()) == expected


def test_version_results_are_typed_in_both_clients(server: ServerProcess) -> None:
    with PolicyClient(server.target) as c:
        listed = c.list_versions()
        version = c.get_version("4.5.0")
    serving = next(r for r in server.logs() if r.get("message") == "serving")
    assert isinstance(listed, VersionList) and listed.policy_set_digest == serving["policy_set_digest"]
    assert len(listed) == len(listed.versions) and list(listed) == list(listed.versions)
    assert all(isinstance(v, VersionInfo) and isinstance(v.effective, dt.date) for v in listed)
    assert listed[-1].locked and not listed[-1].draft and listed[-1].content_hash.startswith("sha256:")
    assert all(v.corrects is None or v.corrects.startswith("sha256:") for v in listed)
    assert any(v.corrects is not None for v in listed)  # corrections list what they correct
    assert isinstance(version, PolicyVersion)
    assert (version.info.version, version.info.effective) == ("4.5.0", dt.date(2025, 3, 25))
    leaves = _leaves(version.indications[0].criteria)
    assert leaves and all(leaf.fact and leaf.op and leaf.is_leaf for leaf in leaves)
    age = next(leaf for leaf in leaves if leaf.fact == "member_age")
    assert (age.op, age.value) == ("ge", 18)
    assert {f.name for f in version.facts} >= {"service_date", "diagnosis"}
    assert version.indications[0].durations and version.referrals[0].rules

    async def run() -> tuple[VersionList, PolicyVersion, VersionDiff]:
        async with AsyncPolicyClient(server.target) as c:
            diff = await c.diff_versions("4.4.0", "4.5.0")
            return await c.list_versions(), await c.get_version("4.5.0"), diff

    async_listed, async_version, diff = asyncio.run(run())
    assert (async_listed, async_version) == (listed, version)
    assert isinstance(diff, VersionDiff) and (diff.from_version, diff.to_version) == ("4.4.0", "4.5.0")


def _leaves(node: Criterion) -> list[Criterion]:
    return [node] if node.is_leaf else [leaf for child in node.children for leaf in _leaves(child)]
