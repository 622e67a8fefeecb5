"""Semantic DiffVersions against a real server: each runs in its own child process (z3 is
not thread-safe), a few at a time, killed when the caller's deadline passes."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_fixtures import ServerProcess, running_server
from grpc_health.v1 import health_pb2, health_pb2_grpc
from rxpolicy.client import DeadlineExceededError, NotFoundError, PolicyClient


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from running_server(tmp_path_factory)


def _serving(target: str) -> int:
    with grpc.insecure_channel(target) as ch:
        return int(health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10).status)


def _diff_children(pid: int) -> list[int]:
    """The server's semantic-diff child processes (multiprocessing's spawn entry point)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid and b"spawn_main" in cmdline:
            out.append(int(entry.name))
    return out


def _errors(srv: ServerProcess) -> list[dict[str, Any]]:
    return [r for r in srv.logs() if r.get("level") in ("error", "critical") or "unparsed" in r]


def test_concurrent_semantic_diffs_all_succeed(server: ServerProcess) -> None:
    pairs = [("4.4.0", "4.5.0"), ("1.0.0", "1.1.0"), ("4.4.0", "4.5.0"), ("2.0.0", "2.1.0")] * 2
    with PolicyClient(server.target, timeout=300) as c, ThreadPoolExecutor(len(pairs)) as pool:
        diffs = list(pool.map(lambda p: c.diff_versions(*p, semantic=True, format="json"), pairs))
        structural = c.diff_versions("4.4.0", "4.5.0")
    assert [(d.from_version, d.to_version) for d in diffs] == pairs
    assert all(d.equivalent is not None and d.required_bump and d.content for d in diffs)
    # The same pair, the same verdict (witness requests may differ from run to run).
    assert (diffs[0].equivalent, diffs[0].required_bump) == (diffs[2].equivalent, diffs[2].required_bump)
    assert structural.equivalent is None and structural.content
    assert _serving(server.target) == health_pb2.HealthCheckResponse.SERVING
    assert server.proc.poll() is None
    assert _errors(server) == []


def test_semantic_diff_errors(server: ServerProcess) -> None:
    with PolicyClient(server.target, timeout=60) as c, pytest.raises(NotFoundError):
        c.diff_versions("1.0.0", "9.9.9", semantic=True)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads child processes from /proc")
def test_deadline_kills_the_diff_quietly(server: ServerProcess) -> None:
    with PolicyClient(server.target) as c:
        for timeout in (0.05, 0.5, 1.0):
            with pytest.raises(DeadlineExceededError):
                c.diff_versions("1.0.0", "latest", semantic=True, timeout=timeout)
        # Bounded wait for the server to reap the children it killed (not a timed assertion).
        for _ in range(600):
            if not _diff_children(server.proc.pid):
                break
            time.sleep(0.05)
        assert _diff_children(server.proc.pid) == []
        assert c.diff_versions("4.4.0", "4.5.0", semantic=True, timeout=300).required_bump
    assert _serving(server.target) == health_pb2.HealthCheckResponse.SERVING
    # An ordinary deadline is not a server error: no "internal error" lines.
    assert _errors(server) == []
    assert os.getpid() != server.proc.pid
