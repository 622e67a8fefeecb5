"""Robustness against a real server: malformed and random requests (through the client,
as raw messages, and as random bytes) always get INVALID_ARGUMENT or a decision; load
from many callers is answered correctly; SIGTERM during load loses no accepted call;
the decision log never holds a fact value."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import signal
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from grpc_fixtures import VALID, ServerProcess, all_cases, canonical, local_json, running_server
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rxpolicy.client import (
    AsyncPolicyClient,
    InvalidRequestError,
    PolicyClient,
    PolicyClientError,
    UnavailableError,
)
from rxpolicy.client._wire import evaluate_request
from rxpolicy.server.engine.store import VersionStore
from rxpolicy.v1 import facts_pb2, policy_service_pb2_grpc
from rxpolicy.v1 import policy_service_pb2 as pb

FACT_NAMES = [f.name for f in facts_pb2.Facts.DESCRIPTOR.fields if f.name not in ("other_facts", "values")]
OK_CODES = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT}
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
BASE = {"service_date": "2023-06-01", "line_of_business": "commercial", "request_type": "initial"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from running_server(tmp_path_factory)


@pytest.fixture(scope="module")
def client(server: Any) -> Any:
    with PolicyClient(server.target, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def channel(server: Any) -> Any:
    with grpc.insecure_channel(server.target) as ch:
        yield ch


# ------------------------------------------------------------ malformed requests

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "Darzalex Faspro",
            "VELCADE",
            "dlbcl",
            "HIM",
            "xpovio",
            "0000-00-00",
            "9999-12-31",
            "\ud800",
            "a\udfff",
        ]
    )
    | st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
    | st.datetimes()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=8) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)
huge_lists = st.integers(min_value=100, max_value=5000).map(lambda n: [["bortezomib"]] * n)
requests = st.dictionaries(
    st.sampled_from(FACT_NAMES) | st.text(max_size=15), values | huge_lists, max_size=12
).map(lambda extra: {**BASE, **extra})


@FUZZ
@given(request=requests | st.dictionaries(st.sampled_from(FACT_NAMES), values, max_size=8))
def test_malformed_requests_through_the_client(client: PolicyClient, request: dict[str, Any]) -> None:
    try:
        result = client.evaluate(request)
    except InvalidRequestError as exc:
        assert exc.violations, exc
        return
    assert result.outcome in ("approve", "deny", "pend", "refer")


texts = st.text(max_size=40) | st.sampled_from(["", "2025-06-02", "2019-07-16", "medicaid", "initial"])
int64s = st.integers(min_value=-(2**63), max_value=2**63 - 1)  # every whole-number field is int64


@st.composite
def fact_values(draw: Any) -> facts_pb2.FactValue:
    """A typed fact value of any kind (or none), for any fact name."""
    value = facts_pb2.FactValue()
    kind = draw(st.sampled_from(["", "text", "integer", "boolean", "agents", "therapy_lines", "doses"]))
    if kind == "text":
        value.text = draw(texts)
    elif kind == "integer":
        value.integer = draw(st.integers(min_value=-(2**63), max_value=2**63 - 1))
    elif kind == "boolean":
        value.boolean = draw(st.booleans())
    elif kind == "agents":
        value.agents.agents.extend(draw(st.lists(texts, max_size=10)))
    elif kind == "therapy_lines":
        value.therapy_lines.SetInParent()
        for line in draw(st.lists(st.lists(texts, max_size=4), max_size=10)):
            value.therapy_lines.lines.add().agents.extend(line)
    elif kind == "doses":
        value.doses.SetInParent()
        for tablets, strength in draw(
            st.lists(st.tuples(int64s | st.none(), int64s | st.none()), max_size=8)
        ):
            day = value.doses.days.add()
            if tablets is not None:
                day.tablets = tablets
            if strength is not None:
                day.strength_mg = strength
    return value


@st.composite
def raw_requests(draw: Any) -> pb.EvaluateRequest:
    facts = facts_pb2.Facts()
    for field in facts_pb2.Facts.DESCRIPTOR.fields:
        if not draw(st.booleans()):
            continue
        name = field.name
        if name == "other_facts":
            facts.other_facts.update(
                draw(
                    st.dictionaries(
                        st.text(max_size=10),
                        st.from_type(type(None)) | st.text(max_size=5) | st.floats() | st.booleans(),
                        max_size=4,
                    )
                )
            )
        elif name == "values":
            for fact, value in draw(st.dictionaries(st.text(max_size=10), fact_values(), max_size=4)).items():
                facts.values[fact].CopyFrom(value)
        elif name in ("combination",):
            facts.combination.SetInParent()
            facts.combination.agents.extend(draw(st.lists(texts, max_size=30)))
        elif name == "prior_therapies":
            facts.prior_therapies.SetInParent()
            for line in draw(st.lists(st.lists(texts, max_size=5), max_size=60)):
                facts.prior_therapies.lines.add().agents.extend(line)
        elif name == "doses":
            facts.doses.SetInParent()
            for tablets, strength in draw(
                st.lists(st.tuples(int64s | st.none(), int64s | st.none()), max_size=10)
            ):
                day = facts.doses.days.add()
                if tablets is not None:
                    day.tablets = tablets
                if strength is not None:
                    day.strength_mg = strength
        elif field.type == field.TYPE_STRING:
            setattr(facts, name, draw(texts))
        elif field.type == field.TYPE_INT64:
            setattr(facts, name, draw(int64s))
        else:
            setattr(facts, name, draw(st.booleans()))
    request = pb.EvaluateRequest(
        facts=facts, include_trace=draw(st.booleans()), request_id=draw(st.text(max_size=20))
    )
    if draw(st.booleans()):
        request.as_known_on = draw(texts)
    return request


@FUZZ
@given(request=raw_requests())
def test_random_messages(channel: Any, request: pb.EvaluateRequest) -> None:
    call = channel.unary_unary("/rxpolicy.v1.PolicyService/Evaluate")
    try:
        reply = pb.EvaluateResponse.FromString(call(request.SerializeToString(), timeout=30))
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT, (exc.code(), exc.details())
        assert "Traceback" not in (exc.details() or "")
        return
    assert reply.decision.outcome != 0


METHODS = ["Evaluate", "ListVersions", "GetVersion", "DiffVersions"]


@FUZZ
@given(data=st.binary(max_size=2000), method=st.sampled_from(METHODS))
def test_random_bytes_on_the_wire(channel: Any, data: bytes, method: str) -> None:
    call = channel.unary_unary(f"/rxpolicy.v1.PolicyService/{method}")
    allowed = set(OK_CODES)
    if method != "Evaluate":
        # Random bytes can spell a well-formed request for a policy or version that does not exist.
        allowed |= {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNIMPLEMENTED}
    try:
        call(data, timeout=30)
    except grpc.RpcError as exc:
        assert exc.code() in allowed, (method, exc.code(), exc.details())


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(frames=st.lists(st.binary(max_size=500), min_size=1, max_size=10))
def test_random_bytes_on_the_stream(channel: Any, frames: list[bytes]) -> None:
    call = channel.stream_stream("/rxpolicy.v1.PolicyService/EvaluateStream")
    replies = list(call(iter(frames), timeout=30))
    assert len(replies) == len(frames)  # one answer per frame: the stream went on


def test_server_still_serving(channel: Any) -> None:
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


# ------------------------------------------------------------ load


def test_ten_thousand_requests_from_a_hundred_callers(server: Any) -> None:
    cases = all_cases()
    store = VersionStore.load()
    expected = [canonical(local_json(store, c.request)) for c in cases]

    async def run() -> list[tuple[int, str]]:
        async with AsyncPolicyClient(server.target, timeout=60) as c:

            async def caller(k: int) -> list[tuple[int, str]]:
                out = []
                for j in range(100):
                    i = (k * 100 + j) % len(cases)
                    try:
                        got = (await c.evaluate(cases[i].request)).to_dict()
                    except InvalidRequestError as exc:
                        got = exc.to_dict()
                    out.append((i, canonical(got)))
                return out

            parts = await asyncio.gather(*(caller(k) for k in range(100)))
            return [x for part in parts for x in part]

    answers = asyncio.run(run())
    assert len(answers) == 10_000
    wrong = [cases[i].id for i, got in answers if got != expected[i]]
    assert wrong == []


# ------------------------------------------------------------ drain


def test_sigterm_during_load_loses_no_accepted_call(tmp_path: Any) -> None:
    """A call is accepted when the server starts handling it; the decision log records every
    one. Each must reach its caller. Once the drain refuses new calls they fail UNAVAILABLE
    (the client's health check sees NOT_SERVING, or the server refuses them): never
    decided, safe to retry, and none is CANCELLED by the server's own shutdown."""
    srv = ServerProcess(tmp_path)
    ids = itertools.count()
    ok: set[str] = set()
    failures: dict[str, Any] = {}

    async def run() -> None:
        async with AsyncPolicyClient(srv.target, timeout=60) as c:
            signalled = asyncio.Event()

            async def caller() -> None:
                while True:
                    rid = f"load-{next(ids)}"
                    try:
                        d = await c.evaluate(VALID, request_id=rid)
                    except PolicyClientError as exc:
                        failures[rid] = exc
                        return
                    assert d.outcome == "approve" and d.request_id == rid
                    ok.add(rid)
                    if len(ok) >= 600 and not signalled.is_set():
                        signalled.set()
                        srv.proc.send_signal(signal.SIGTERM)

            await asyncio.gather(*(caller() for _ in range(32)))

    asyncio.run(run())
    assert srv.wait() == 0
    assert {f.code for f in failures.values()} <= {grpc.StatusCode.UNAVAILABLE}, failures
    decided = {r["request_id"] for r in srv.decisions()}
    assert decided == ok  # every call the server accepted reached its caller, and only those
    assert not decided & set(failures)
    messages = [r.get("message") for r in srv.logs()]
    assert messages.index("draining: health NOT_SERVING, in-flight calls finish") < messages.index("stopped")


def test_sigterm_lets_a_stream_in_flight_finish(tmp_path: Any) -> None:
    srv = ServerProcess(tmp_path)
    items = [dict(VALID, member_age=20 + i % 60) for i in range(20_000)]
    with PolicyClient(srv.target) as c:
        results = c.evaluate_many(items, batch_size=50)
        first = next(results)
        srv.terminate()  # mid-stream: this call is in flight, so it finishes
        rest = list(results)
    assert srv.wait() == 0
    assert [first.ok, *(r.ok for r in rest)] == [True] * len(items)
    assert len(srv.decisions()) == len(items)


def test_health_turns_not_serving_before_calls_are_refused(tmp_path: Any) -> None:
    srv = ServerProcess(tmp_path, "--shutdown-delay", "3")
    try:
        with grpc.insecure_channel(srv.target) as ch, PolicyClient(srv.target) as c:
            health = health_pb2_grpc.HealthStub(ch)
            assert (
                health.Check(health_pb2.HealthCheckRequest(), timeout=10).status
                == health_pb2.HealthCheckResponse.SERVING
            )
            srv.terminate()
            for _ in range(500):  # bounded poll for the signal to land
                status = health.Check(health_pb2.HealthCheckRequest(), timeout=10).status
                if status == health_pb2.HealthCheckResponse.NOT_SERVING:
                    break
                time.sleep(0.01)
            assert status == health_pb2.HealthCheckResponse.NOT_SERVING
            # Still accepted (the drain has not begun) from a caller that ignores health...
            stub = policy_service_pb2_grpc.PolicyServiceStub(ch)
            assert stub.Evaluate(evaluate_request(VALID), timeout=10).decision.outcome == 1
            # ...while the project's client, watching health, sends no more calls there.
            with pytest.raises(UnavailableError):
                c.evaluate(VALID)
        assert srv.wait() == 0
        with PolicyClient(srv.target, timeout=5) as c, pytest.raises(UnavailableError):
            c.evaluate(VALID)
    finally:
        srv.stop()


# ------------------------------------------------------------ the decision log

SECRET_TEXT = [
    "zq-secret-dx",
    "Zq Secret Agent",
    "zq-hidden-term",
    "zq-fact-name",
    "zq-fact-value",
    "2011-11-11",
]
SECRET_NUMBERS = {117, 31337, 7, 93}


def _leaves(value: Any) -> Any:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def test_decision_log_never_contains_a_fact_value(tmp_path: Any) -> None:
    srv = ServerProcess(tmp_path)
    requests = [
        {**VALID, "member_age": 117, "days_on_therapy": 31337, "requested_months": 7},
        {**VALID, "diagnosis": "zq-secret-dx"},
        {**VALID, "combination": ["Zq Secret Agent"], "prior_therapies": [["zq-hidden-term"]]},
        {**VALID, "zq-fact-name": "zq-fact-value"},
        {**VALID, "service_date": "2011-11-11"},
        {**VALID, "request_type": "continuation", "days_on_therapy": 93, "positive_response": True},
        {**VALID, "diagnosis": "other", "label_change_within_6_months": True, "on_formulary": False},
    ]
    try:
        with PolicyClient(srv.target) as c:
            for r in requests:
                with contextlib.suppress(InvalidRequestError):
                    c.evaluate(r, include_trace=True)
            list(c.evaluate_many(requests, include_trace=True))
    finally:
        assert srv.stop() == 0
    records = srv.decisions()
    assert len(records) == 2 * len(requests)
    logs = srv.logs()
    for record in records + logs:
        text = json.dumps(record)
        for secret in SECRET_TEXT:
            assert secret.lower() not in text.lower(), (secret, record)
        numbers = {v for v in _leaves(record) if isinstance(v, int) and not isinstance(v, bool)}
        assert not numbers & SECRET_NUMBERS - {record.get("pid")}, record
    assert set(records[0]) == {
        "time",
        "request_id",
        "policy_id",
        "version",
        "content_hash",
        "decision",
        "indication",
        "unmet",
        "referral",
        "refer_to",
    }


# ------------------------------------------------------------ long caller text

LONG = "v" * 100_000
NOT_FOUND_OR_INVALID = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND}


def _status_of(call: Any) -> grpc.StatusCode:
    try:
        call()
    except PolicyClientError as exc:
        assert len(exc.details) <= 1024 * 4, len(exc.details)
        return exc.code
    return grpc.StatusCode.OK


@pytest.mark.parametrize(
    "name",
    [
        "unknown fact name (20k)",
        "unknown fact name (20k, not ASCII)",
        "3,000 unknown facts",
        "3,000 unknown long facts",
        "version",
        "policy_id",
        "as_known_on",
        "request_id",
        "GetVersion version",
        "GetVersion policy_id",
        "ListVersions policy_id",
        "DiffVersions from_ref",
        "DiffVersions to_ref",
        "DiffVersions semantic to_ref",
        "DiffVersions policy_id",
    ],
)
def test_long_caller_text_gets_its_status_not_resource_exhausted(client: PolicyClient, name: str) -> None:
    """Status messages and BadRequest details ride in trailing metadata (a few KiB at most):
    however long the caller's text, the answer is INVALID_ARGUMENT or NOT_FOUND."""
    calls = {
        "unknown fact name (20k)": lambda: client.evaluate({**VALID, "f" * 20_000: 1}),
        "unknown fact name (20k, not ASCII)": lambda: client.evaluate(
            {**VALID, "\u00e9\U0001f600" * 10_000: 1}
        ),
        "3,000 unknown facts": lambda: client.evaluate({**VALID, **{f"zz_{i}": i for i in range(3000)}}),
        "3,000 unknown long facts": lambda: client.evaluate(
            {**VALID, **{f"zz_{i}_" + "q" * 300: i for i in range(3000)}}
        ),
        "version": lambda: client.evaluate(VALID, version=LONG),
        "policy_id": lambda: client.evaluate(VALID, policy_id=LONG),
        "as_known_on": lambda: client.evaluate(VALID, as_known_on=LONG),
        "request_id": lambda: client.evaluate(VALID, request_id=LONG),
        "GetVersion version": lambda: client.get_version(LONG),
        "GetVersion policy_id": lambda: client.get_version(policy_id=LONG),
        "ListVersions policy_id": lambda: client.list_versions(LONG),
        "DiffVersions from_ref": lambda: client.diff_versions(LONG, "latest"),
        "DiffVersions to_ref": lambda: client.diff_versions("1.0.0", LONG),
        "DiffVersions semantic to_ref": lambda: client.diff_versions("1.0.0", LONG, semantic=True),
        "DiffVersions policy_id": lambda: client.diff_versions("1.0.0", "latest", policy_id=LONG),
    }
    assert _status_of(calls[name]) in NOT_FOUND_OR_INVALID


def test_many_violations_are_capped_and_counted(client: PolicyClient) -> None:
    with pytest.raises(InvalidRequestError) as info:
        client.evaluate({**VALID, **{f"zz_{i}": i for i in range(3000)}})
    violations = info.value.violations
    assert 1 < len(violations) <= 51
    assert "more" in violations[-1].description and violations[-1].field == "request"
    assert all(len(v.field) <= 200 and len(v.description) <= 1024 for v in violations)
    [result] = client.evaluate_many([{**VALID, **{f"zz_{i}": i for i in range(3000)}}])
    assert not result.ok and 1 < len(result.violations) <= 51
    assert "2950 more" in result.violations[-1].description


# ------------------------------------------------------------ stream batch limit


def test_oversized_stream_message_gets_one_error_and_the_stream_goes_on(server: Any) -> None:
    one = pb.EvaluateRequest(facts=facts_pb2.Facts(**BASE), include_trace=True)
    messages = [
        pb.EvaluateStreamRequest(requests=[one] * 20_000),
        pb.EvaluateStreamRequest(requests=[one] * 1000),  # the limit itself is fine
        pb.EvaluateStreamRequest(requests=[one]),
    ]
    big_reply = [("grpc.max_receive_message_length", 256 * 1024 * 1024)]
    with grpc.insecure_channel(server.target, options=big_reply) as ch:
        stub = policy_service_pb2_grpc.PolicyServiceStub(ch)
        replies = list(stub.EvaluateStream(iter(messages), timeout=120))
    assert [len(r.results) for r in replies] == [1, 1000, 1]
    [refused] = replies[0].results
    assert refused.WhichOneof("result") == "error"
    assert refused.error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert [v.field for v in refused.error.field_violations] == ["requests"]
    assert "20000" in refused.error.field_violations[0].description
    assert "1000" in refused.error.field_violations[0].description
    assert all(r.WhichOneof("result") == "decision" for r in [*replies[1].results, *replies[2].results])


def test_client_batches_never_exceed_the_server_limit(client: PolicyClient) -> None:
    results = list(client.evaluate_many([BASE] * 2500, batch_size=10_000, include_trace=True))
    assert len(results) == 2500 and all(r.ok for r in results)

    async def run() -> list[Any]:
        async with AsyncPolicyClient(client.target) as c:
            return [r async for r in c.evaluate_many([BASE] * 2500, batch_size=10_000)]

    assert all(r.ok for r in asyncio.run(run()))
