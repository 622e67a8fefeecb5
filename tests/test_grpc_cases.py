"""Every acceptance case through a real server, via the Python client, checked with the
same expectations as in process; and the same JSON, byte for byte, as in process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from grpc_fixtures import CASES_DIR, ServerProcess, all_cases, canonical, local_json, running_server
from rxpolicy.client import AsyncPolicyClient, InvalidRequestError, PolicyClient, Request
from rxpolicy.server.engine.store import VersionStore
from rxpolicy.server.formats.cases import check

CASES = all_cases()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from running_server(tmp_path_factory)


@pytest.fixture(scope="module")
def store() -> VersionStore:
    return VersionStore.load()


@pytest.fixture(scope="module")
def client(server: Any) -> Any:
    with PolicyClient(server.target) as c:
        yield c


def remote_json(client: PolicyClient, request: Any, *, trace: bool = False) -> dict[str, Any]:
    try:
        return client.evaluate(request, include_trace=trace).to_dict()
    except InvalidRequestError as exc:
        return exc.to_dict()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_through_server(client: PolicyClient, store: VersionStore, case: Any) -> None:
    result = remote_json(client, case.request)
    assert check(case, result).problems == ()
    assert canonical(result) == canonical(local_json(store, case.request))


def test_traces_match_in_process(client: PolicyClient, store: VersionStore) -> None:
    for case in CASES:
        remote = remote_json(client, case.request, trace=True)
        assert canonical(remote) == canonical(local_json(store, case.request, with_trace=True)), case.id


def test_evaluate_many_in_order(client: PolicyClient) -> None:
    items: list[Any] = [Request(case.request, request_id=f"id-{i}") for i, case in enumerate(CASES * 3)]
    items.insert(5, ["not", "a", "mapping"])  # a bad item: an error result, the stream goes on
    results = list(client.evaluate_many(items, batch_size=16))
    assert len(results) == len(items)
    assert not results[5].ok and results[5].fields == ("request",)
    rest = results[:5] + results[6:]
    for i, (case, result) in enumerate(zip(CASES * 3, rest, strict=True)):
        assert result.request_id == f"id-{i}"
        assert check(case, result.to_dict()).problems == (), case.id


def test_evaluate_many_batch_of_one(client: PolicyClient) -> None:
    results = list(client.evaluate_many((c.request for c in CASES), batch_size=1))
    assert [check(c, r.to_dict()).problems for c, r in zip(CASES, results, strict=True)] == [()] * len(CASES)


def test_async_client(server: Any) -> None:
    async def run() -> list[tuple[Any, ...]]:
        async with AsyncPolicyClient(server.target) as c:
            singles = []
            for case in CASES[:20]:
                try:
                    singles.append((await c.evaluate(case.request)).to_dict())
                except InvalidRequestError as exc:
                    singles.append(exc.to_dict())

            async def items() -> Any:
                for case in CASES:
                    yield case.request

            many = [r.to_dict() async for r in c.evaluate_many(items(), batch_size=10)]
            return [tuple(singles), tuple(many)]

    singles, many = asyncio.run(run())
    assert [check(c, r).problems for c, r in zip(CASES[:20], singles, strict=True)] == [()] * 20
    assert [check(c, r).problems for c, r in zip(CASES, many, strict=True)] == [()] * len(CASES)


def test_cli_test_and_evaluate_with_server(server: Any, tmp_path: Any) -> None:
    cli = [
        sys.executable,
        "-c",
        "import sys; from rxpolicy.server.cli import main; sys.exit(main(sys.argv[1:]))",
    ]
    out = subprocess.run(
        [*cli, "test", "--server", server.target, str(CASES_DIR)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().splitlines()[-1] == f"{len(CASES)} passed, 0 failed"
    request = tmp_path / "request.yaml"
    request.write_text("service_date: 2025-06-02\nline_of_business: medicaid\nrequest_type: initial\n")
    out = subprocess.run(
        [*cli, "evaluate", "--server", server.target, str(request)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert '"decision": "pend"' in out.stdout
