"""gRPC conventions on the wire, against a real server with bearer tokens on: reflection
v1 (through a real `buf curl --reflect-protocol grpc-v1`), health and reflection without
a token, BadRequest request paths with an ErrorInfo reason, no Python names, a stable
violation order, no 32-bit truncation, one date grammar, unprintable terms refused, and
stream responses a default client (4 MiB) can read."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_fixtures import REPO, VALID, ServerProcess
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from grpc_status import rpc_status
from rxpolicy.client import InvalidRequestError, NotFoundError, PolicyClient
from rxpolicy.limits import MAX_STREAM_RESPONSE_BYTES
from rxpolicy.v1 import decision_pb2, facts_pb2, policy_service_pb2_grpc
from rxpolicy.v1 import policy_service_pb2 as pb

TOKEN = "wire-conventions-token"
AUTH = (("authorization", f"Bearer {TOKEN}"),)
BUF = REPO / "tests" / "interop" / "node_modules" / ".bin" / "buf"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("server"), env={"RXPOLICY_TOKENS": TOKEN})
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def channel(server: ServerProcess) -> Iterator[grpc.Channel]:
    # A default channel: gRPC's own 4 MiB receive limit, as grpcurl and other languages have.
    with grpc.insecure_channel(server.target) as ch:
        yield ch


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[PolicyClient]:
    with PolicyClient(server.target, token=TOKEN) as c:
        yield c


def typed_facts(**changes: Any) -> facts_pb2.Facts:
    """VALID as typed CP.PHAR.431 fields, with ``changes``."""
    facts = {**VALID, **changes}
    msg = facts_pb2.Facts()
    for name, value in facts.items():
        if name == "combination":
            msg.combination.agents.extend(value)
        elif name == "prior_therapies":
            for line in value:
                msg.prior_therapies.lines.add().agents.extend(line)
        elif name == "doses":
            for day in value:
                msg.doses.days.add(**day)
        elif value is not None:
            setattr(msg, name, value)
    return msg


def refused(channel: grpc.Channel, request: pb.EvaluateRequest) -> tuple[list[tuple[str, str]], Any]:
    """(field, description) of each violation of an Evaluate refused INVALID_ARGUMENT,
    and its ErrorInfo."""
    stub = policy_service_pb2_grpc.PolicyServiceStub(channel)
    with pytest.raises(grpc.RpcError) as info:
        stub.Evaluate(request, timeout=30, metadata=AUTH)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    status = rpc_status.from_call(info.value)
    assert status is not None
    bad, error = error_details_pb2.BadRequest(), error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(bad) and status.details[1].Unpack(error)
    return [(v.field, v.description) for v in bad.field_violations], error


# ------------------------------------------------------------------ reflection and health


def _buf_curl(server: ServerProcess, method: str, body: dict[str, Any], *extra: str) -> Any:
    return subprocess.run(
        [
            str(BUF),
            "curl",
            "--protocol",
            "grpc",
            "--http2-prior-knowledge",
            "--reflect-protocol",
            "grpc-v1",
            *extra,
            "--data",
            json.dumps(body),
            f"http://{server.target}/{method}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


needs_buf = pytest.mark.skipif(
    not BUF.exists(), reason="buf is not installed: run `npm ci --prefix tests/interop` (CI does)"
)


@needs_buf
def test_buf_curl_reflection_v1_health_without_token_and_evaluate_with_one(server: ServerProcess) -> None:
    health = _buf_curl(server, "grpc.health.v1.Health/Check", {})
    assert health.returncode == 0, health.stderr
    assert json.loads(health.stdout) == {"status": "SERVING"}
    facts = {"service_date": "2025-06-02", "line_of_business": "HIM", "request_type": "initial"}
    denied = _buf_curl(server, "rxpolicy.v1.PolicyService/Evaluate", {"facts": facts})
    assert denied.returncode != 0 and json.loads(denied.stderr)["code"] == "unauthenticated"
    ok = _buf_curl(
        server,
        "rxpolicy.v1.PolicyService/Evaluate",
        {"request_id": "buf-1", "facts": facts},
        "-H",
        f"authorization: Bearer {TOKEN}",
    )
    assert ok.returncode == 0, ok.stderr
    answer = json.loads(ok.stdout)
    assert answer["requestId"] == "buf-1" and answer["decision"]["outcome"] == "OUTCOME_PEND"
    buf_curl = [
        str(BUF),
        "curl",
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "--reflect-protocol",
        "grpc-v1",
    ]
    listed = subprocess.run(
        [*buf_curl, "--list-methods", f"http://{server.target}"], capture_output=True, text=True, timeout=120
    )
    assert listed.returncode == 0, listed.stderr
    methods = listed.stdout.split()
    assert "rxpolicy.v1.PolicyService/Evaluate" in methods
    assert "grpc.reflection.v1.ServerReflection/ServerReflectionInfo" in methods


@needs_buf
def test_the_readme_buf_curl_example_runs(server: ServerProcess) -> None:
    """The README's `buf curl` line, run as written (with this server's address and token)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    line = next(ln for ln in readme.splitlines() if ln.startswith("buf curl") and "Evaluate" in ln)
    body = json.loads(line.split("-d '", 1)[1].split("'", 1)[0])
    assert "--reflect-protocol grpc-v1" in line
    ok = _buf_curl(server, "rxpolicy.v1.PolicyService/Evaluate", body, "-H", f"authorization: Bearer {TOKEN}")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["decision"]["outcome"] == "OUTCOME_APPROVE"


@pytest.mark.parametrize("service", ["grpc.reflection.v1", "grpc.reflection.v1alpha"])
def test_reflection_answers_both_versions_without_a_token(channel: grpc.Channel, service: str) -> None:
    call = channel.stream_stream(
        f"/{service}.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    asks = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="rxpolicy.v1.PolicyService"),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="grpc.reflection.v1.ServerReflection"),
    ]
    listed, found, itself = list(call(iter(asks), timeout=30))
    assert itself.file_descriptor_response.file_descriptor_proto, itself
    names = {s.name for s in listed.list_services_response.service}
    assert {
        "rxpolicy.v1.PolicyService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    } <= names
    assert found.file_descriptor_response.file_descriptor_proto


def test_health_needs_no_token_and_the_service_does(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "rxpolicy.v1.PolicyService"):
        reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=30)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    listing = channel.unary_unary(
        "/grpc.health.v1.Health/List",
        request_serializer=health_pb2.HealthListRequest.SerializeToString,
        response_deserializer=health_pb2.HealthListResponse.FromString,
    )
    statuses = listing(health_pb2.HealthListRequest(), timeout=30).statuses
    assert statuses["rxpolicy.v1.PolicyService"].status == health_pb2.HealthCheckResponse.SERVING
    stub = policy_service_pb2_grpc.PolicyServiceStub(channel)
    with pytest.raises(grpc.RpcError) as info:
        stub.ListVersions(pb.ListVersionsRequest(), timeout=30)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


# ------------------------------------------------------------------ paths and reasons


def test_violations_name_the_request_path_and_carry_a_reason(channel: grpc.Channel) -> None:
    facts = typed_facts(
        member_age=2**32 + 64,  # int64: arrives whole, and is out of range (not 64)
        combination=["bortezomib", "nonesuch"],
        doses=[{"tablets": 0, "strength_mg": 20}],
    )
    facts.values["disease_status"].text = "sideways"
    facts.ClearField("disease_status")
    facts.other_facts.update({"zz_unknown": 1, "aa_unknown": 2})
    violations, info = refused(channel, pb.EvaluateRequest(facts=facts))
    fields = [f for f, _ in violations]
    assert fields == [
        "facts.member_age",
        "facts.combination[1]",
        "facts.doses[0].tablets",
        'facts.values["disease_status"]',
        'facts.other_facts["aa_unknown"]',
        'facts.other_facts["zz_unknown"]',
    ]
    assert "at most 130" in dict(violations)["facts.member_age"]
    assert (info.reason, info.domain, info.metadata["violations"]) == ("INVALID_FACT", "rxpolicy.v1", "6")


def test_other_request_fields_are_named_as_they_are(channel: grpc.Channel) -> None:
    violations, info = refused(channel, pb.EvaluateRequest(facts=typed_facts(), as_known_on="2025-13-01"))
    assert [f for f, _ in violations] == ["as_known_on"] and info.reason == "INVALID_FIELD"


def test_the_client_exposes_paths_reason_and_domain(client: PolicyClient) -> None:
    with pytest.raises(InvalidRequestError) as info:
        client.evaluate({**VALID, "doses": [{"tablets": 1000, "strength_mg": 20}], "member_age": None})
    error = info.value
    assert error.paths == ('facts.values["doses"][0].tablets',)
    assert error.fields == ("doses",)  # the fact, as the engine (and `rxpolicy evaluate`) names it
    assert (error.reason, error.domain) == ("INVALID_FACT", "rxpolicy.v1")
    with pytest.raises(NotFoundError) as missing:
        client.evaluate(VALID, version="9.9.9")
    assert (missing.value.reason, missing.value.domain) == ("UNKNOWN_VERSION", "rxpolicy.v1")
    streamed = list(client.evaluate_many([VALID, {**VALID, "diagnosis": "nope"}]))
    assert streamed[0].ok and not streamed[1].ok
    assert streamed[1].reason == "INVALID_FACT"
    assert [(v.field, v.path) for v in streamed[1].violations] == [("diagnosis", 'facts.values["diagnosis"]')]


def test_no_python_names_on_the_wire(channel: grpc.Channel) -> None:
    facts = facts_pb2.Facts(service_date="2025-06-02")
    facts.other_facts.update(
        {
            "combination": ["bortezomib", None, {"a": 1}],
            "prior_therapies": [None],
            "doses": [None],
            "diagnosis": None,
            "line_of_business": ["medicaid"],
            "request_type": {"x": None},
            "member_age": "sixty",
        }
    )
    violations, _ = refused(channel, pb.EvaluateRequest(facts=facts))
    text = " ".join(d for _, d in violations)
    for python in ("NoneType", "dict", "<class", "float", "int'", "str'", "tuple"):
        assert python not in text, (python, violations)
    assert "null" in text


def test_violation_order_is_the_same_every_call(channel: grpc.Channel) -> None:
    facts = typed_facts()
    names = [f"unknown_{i:02d}_{chr(122 - i)}" for i in range(20)]
    facts.other_facts.update({n: i for i, n in enumerate(reversed(names))})
    for i, n in enumerate(names):
        facts.values[f"v{n}"].integer = i
    orders = {tuple(f for f, _ in refused(channel, pb.EvaluateRequest(facts=facts))[0]) for _ in range(5)}
    assert len(orders) == 1
    (order,) = orders
    assert list(order) == sorted(order, key=lambda f: (not f.startswith("facts.values"), f))


# ------------------------------------------------------------------ values


def test_a_whole_number_is_never_cut_to_32_bits(channel: grpc.Channel) -> None:
    """Field 4 (member_age) as a 64-bit varint, the bytes any int64 encoder writes: the
    server reads 2**32 + 64, not 64."""
    request = pb.EvaluateRequest(facts=typed_facts(member_age=2**32 + 64))
    assert pb.EvaluateRequest.FromString(request.SerializeToString()).facts.member_age == 2**32 + 64
    violations, _ = refused(channel, request)
    assert [f for f, _ in violations] == ["facts.member_age"]
    stub = policy_service_pb2_grpc.PolicyServiceStub(channel)
    decided = stub.Evaluate(pb.EvaluateRequest(facts=typed_facts(member_age=64)), timeout=30, metadata=AUTH)
    assert decided.decision.outcome == decision_pb2.OUTCOME_APPROVE


@pytest.mark.parametrize("text", ["20250602", "2025-W23-1", "2025-06-02T00:00", "2025-6-2", "٢٠٢٥-٠٦-٠٢"])
def test_one_date_grammar_for_every_date_field(
    channel: grpc.Channel, client: PolicyClient, text: str
) -> None:
    violations, _ = refused(channel, pb.EvaluateRequest(facts=typed_facts(service_date=text)))
    assert [f for f, _ in violations][:1] == ["facts.service_date"]
    violations, _ = refused(channel, pb.EvaluateRequest(facts=typed_facts(), as_known_on=text))
    assert violations == [("as_known_on", "must be a date in the form YYYY-MM-DD")]
    stub = policy_service_pb2_grpc.PolicyServiceStub(channel)
    with pytest.raises(grpc.RpcError) as info:
        stub.GetVersion(pb.GetVersionRequest(in_force_on=text), timeout=30, metadata=AUTH)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "in_force_on" in (
        info.value.details() or ""
    )
    with pytest.raises(NotFoundError, match="YYYY-MM-DD"):
        client.evaluate(VALID, version=text)


@pytest.mark.parametrize(
    "term", ["multiple_myeloma\t", "\u00a0multiple_myeloma", "multiple\u200bmyeloma", "multiple_myeloma\x00"]
)
def test_a_term_with_a_control_or_unicode_space_is_refused(channel: grpc.Channel, term: str) -> None:
    violations, _ = refused(channel, pb.EvaluateRequest(facts=typed_facts(diagnosis=term)))
    assert [f for f, _ in violations] == ["facts.diagnosis"]
    assert "control or non-ASCII space" in violations[0][1]
    agents, _ = refused(
        channel, pb.EvaluateRequest(facts=typed_facts(combination=["bortezomib", "Velcade\u2003"]))
    )
    assert [f for f, _ in agents] == ["facts.combination[1]"]


def test_ascii_spaces_around_a_term_are_still_read(channel: grpc.Channel) -> None:
    stub = policy_service_pb2_grpc.PolicyServiceStub(channel)
    facts = typed_facts(diagnosis="  multiple_myeloma ")
    decided = stub.Evaluate(pb.EvaluateRequest(facts=facts), timeout=30, metadata=AUTH)
    assert decided.decision.outcome == decision_pb2.OUTCOME_APPROVE


# ------------------------------------------------------------------ stream sizing


def _until(condition: Any, limit_s: float = 60.0) -> bool:
    """Whether ``condition()`` came true within a bound (the decision log is written by a
    thread): a guard against hangs, not a timed assertion."""
    end = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def test_a_full_traced_batch_is_readable_by_a_default_client(
    channel: grpc.Channel, server: ServerProcess
) -> None:
    """1,000 traced requests answer with about 5 MB: the default channel (4 MiB) reads the
    response; the results that fit are decisions, the rest say to send them again."""
    stub = policy_service_pb2_grpc.PolicyServiceStub(channel)
    requests = [
        pb.EvaluateRequest(request_id=f"r{i}", include_trace=True, facts=typed_facts()) for i in range(1000)
    ]
    (response,) = list(
        stub.EvaluateStream(iter([pb.EvaluateStreamRequest(requests=requests)]), timeout=120, metadata=AUTH)
    )
    assert response.ByteSize() <= MAX_STREAM_RESPONSE_BYTES
    results = list(response.results)
    assert [r.request_id for r in results] == [f"r{i}" for i in range(1000)]
    kinds = [r.WhichOneof("result") for r in results]
    decided = kinds.index("error")
    assert 0 < decided < 1000 and set(kinds[decided:]) == {"error"}
    withheld = results[decided].error
    assert (withheld.code, withheld.reason) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED.value[0],
        "RESPONSE_TOO_LARGE",
    )
    assert "smaller message" in withheld.message
    # Sent again, the withheld ones fit.
    again = [requests[i] for i in range(decided, 1000)]
    (second,) = list(
        stub.EvaluateStream(iter([pb.EvaluateStreamRequest(requests=again)]), timeout=120, metadata=AUTH)
    )
    assert all(r.WhichOneof("result") == "decision" for r in second.results)
    # The decision log says which were decided but never reached the caller.
    withheld_ids = {f"r{i}" for i in range(decided, 1000)}

    def undelivered() -> set[str]:
        return {
            r["request_id"]
            for r in server.decisions()
            if str(r.get("request_id", "")).startswith("r") and r.get("delivered") is False
        }

    assert _until(lambda: len(undelivered()) >= len(withheld_ids))
    assert undelivered() == withheld_ids


def test_an_untraced_full_batch_is_sent_whole(channel: grpc.Channel) -> None:
    stub = policy_service_pb2_grpc.PolicyServiceStub(channel)
    requests = [pb.EvaluateRequest(request_id=f"u{i}", facts=typed_facts()) for i in range(1000)]
    (response,) = list(
        stub.EvaluateStream(iter([pb.EvaluateStreamRequest(requests=requests)]), timeout=120, metadata=AUTH)
    )
    assert all(r.WhichOneof("result") == "decision" for r in response.results)
