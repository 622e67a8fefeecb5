"""--server: the same review through a real server's stream gives identical output."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from rxpolicy.server.cli import main
from rxpolicy.server.retro.remote import MIN_CHUNK_SECONDS, SECONDS_PER_CLAIM, chunk_deadline
from rxpolicy.server.retro.synth import write_claims
from rxpolicy.v1 import policy_service_pb2_grpc

FIXTURES = Path(__file__).parent / "retro_fixtures"
START_LIMIT_S = 60.0
SERVE = "import sys; from rxpolicy.server.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """`rxpolicy serve` on an ephemeral port, as a user would start it.

    Its standard error (JSON logs) is read to the end by a background thread, so a
    chatty server never blocks on a full pipe; the port comes from its "serving" line.
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, "serve", "--host", "127.0.0.1", "--port", "0", "--decision-log", "off"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    ports: list[int] = []
    serving = threading.Event()

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:  # until the server exits: the pipe never fills
            if serving.is_set():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("message") == "serving":
                ports.append(int(event["port"]))
                serving.set()
        serving.set()  # the server exited before serving: stop waiting

    reader = threading.Thread(target=drain, name="retro-server-stderr", daemon=True)
    reader.start()
    try:
        # A bound against a hang, not a timed assertion.
        if not serving.wait(START_LIMIT_S) or not ports:
            pytest.fail("rxpolicy serve did not report a port")
        yield f"127.0.0.1:{ports[0]}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=20)


def retro(*args: str) -> int:
    return main(["retro", "--no-progress", *args])


def outputs(out: Path, fmt: str) -> tuple[bytes, dict[str, Any]]:
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    summary.pop("run")  # how and how fast it ran: the only parts allowed to differ
    summary.pop("provenance")
    return (out / f"results.{fmt}").read_bytes(), summary


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_server_output_identical_to_in_process(server: str, tmp_path: Path, fmt: str) -> None:
    claims = tmp_path / f"claims.{fmt}"
    with claims.open("w", encoding="utf-8", newline="") as f:
        write_claims(f, 600, seed=21, fmt=fmt, invalid_rate=0.1)  # bad rows included
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert retro(str(claims), "--out", str(local), "--format", fmt, "--workers", "1") == 0
    assert (
        retro(str(claims), "--out", str(remote), "--format", fmt, "--server", server, "--workers", "2") == 0
    )
    assert outputs(local, fmt) == outputs(remote, fmt)
    assert outputs(local, fmt)[1]["rows"]["out"] == 600


@pytest.mark.parametrize("name", ["bad_rows.csv", "bad_rows.jsonl"])
def test_server_handles_bad_rows_identically(server: str, tmp_path: Path, name: str) -> None:
    local, remote = tmp_path / "local", tmp_path / "remote"
    claims = str(FIXTURES / name)
    assert retro(claims, "--out", str(local), "--format", "jsonl", "--workers", "1") == 0
    assert retro(claims, "--out", str(remote), "--format", "jsonl", "--server", server, "--workers", "1") == 0
    assert outputs(local, "jsonl") == outputs(remote, "jsonl")


def test_server_compare_to_identical_to_in_process(server: str, tmp_path: Path) -> None:
    claims = tmp_path / "claims.csv"
    with claims.open("w", encoding="utf-8", newline="") as f:
        write_claims(f, 400, seed=5, fmt="csv", invalid_rate=0.05)
    local, remote = tmp_path / "local", tmp_path / "remote"
    common = ["--format", "csv", "--compare-to", "2021-06-01"]
    assert retro(str(claims), "--out", str(local), *common, "--workers", "1") == 0
    assert retro(str(claims), "--out", str(remote), *common, "--server", server, "--workers", "2") == 0
    assert outputs(local, "csv") == outputs(remote, "csv")
    changes = outputs(local, "csv")[1]
    assert "compare" in json.dumps(changes)


def test_unreachable_server_stops_the_run(tmp_path: Path, capsys: Any) -> None:
    claims = str(FIXTURES / "bad_rows.csv")
    # Port 9 (discard) on loopback: nothing listens there; the run must stop, not
    # turn every claim into an error row.
    code = retro(claims, "--out", str(tmp_path / "o"), "--server", "127.0.0.1:9", "--workers", "1")
    assert code == 1
    assert "UNAVAILABLE" in capsys.readouterr().err
    assert not (tmp_path / "o" / "results.csv").exists()


class SilentServicer(policy_service_pb2_grpc.PolicyServiceServicer):  # type: ignore[misc]
    """Accepts every stream and never answers, until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def EvaluateStream(self, request_iterator: Any, context: Any) -> Iterator[Any]:
        self.calls += 1
        self.release.wait()
        yield from ()


@pytest.fixture
def silent_server() -> Iterator[tuple[str, SilentServicer]]:
    servicer = SilentServicer()
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    policy_service_pb2_grpc.add_PolicyServiceServicer_to_server(servicer, srv)
    port = srv.add_insecure_port("127.0.0.1:0")
    srv.start()
    try:
        yield f"127.0.0.1:{port}", servicer
    finally:
        servicer.release.set()
        srv.stop(None)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_server_that_never_answers_stops_the_run(
    silent_server: tuple[str, SilentServicer], tmp_path: Path, capsys: Any, workers: str
) -> None:
    target, servicer = silent_server
    claims = str(FIXTURES / "bad_rows.csv")
    out = tmp_path / "o"
    code = retro(
        claims, "--out", str(out), "--server", target, "--server-timeout", "0.5", "--workers", workers
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "DEADLINE_EXCEEDED" in err and "--server-timeout" in err
    assert not (out / "results.csv").exists()
    if workers == "1":
        assert servicer.calls == 1  # the first chunk's stream; the run stopped there


def test_chunk_deadline_is_generous_by_default() -> None:
    assert chunk_deadline(10) == MIN_CHUNK_SECONDS == 60
    assert chunk_deadline(2000) == 2000 * SECONDS_PER_CLAIM > MIN_CHUNK_SECONDS
    assert chunk_deadline(2000, 5.0) == 5.0  # --server-timeout, as given


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_server_timeout_must_be_positive(tmp_path: Path, capsys: Any, value: str) -> None:
    claims = str(FIXTURES / "bad_rows.csv")
    assert retro(claims, "--out", str(tmp_path / "o"), "--server-timeout", value) == 1
    assert "--server-timeout" in capsys.readouterr().err


KILL_LIMIT_S = 300.0  # a bound against a hang, not a timed assertion


def test_server_killed_mid_run_ends_the_run_without_orphans(tmp_path: Path) -> None:
    from grpc_fixtures import ServerProcess
    from test_retro_outputs import children, outlived, start_retro, wait_for_rows

    claims = tmp_path / "claims.csv"
    with claims.open("w", encoding="utf-8", newline="") as f:
        write_claims(f, 20_000, seed=8, fmt="csv", invalid_rate=0.02)
    srv = ServerProcess(tmp_path)
    out = tmp_path / "out"
    try:
        proc = start_retro(
            str(claims),
            "--out",
            str(out),
            "--server",
            srv.target,
            "--workers",
            "2",
            "--chunk-size",
            "200",
            "--server-timeout",
            "20",
        )
        wait_for_rows(proc, out / "results.csv.partial", 20_000)
        workers = children(proc.pid)
        srv.proc.kill()  # the server dies mid-run, as a crash would
        _out, err = proc.communicate(timeout=KILL_LIMIT_S)
    finally:
        srv.stop()
    assert proc.returncode == 1, err
    assert f"server {srv.target}" in err and "--resume" in err
    assert not outlived(workers), "a worker outlived the run"
    assert not (out / "results.csv").exists() and not (out / "summary.json").exists()
    assert (out / "results.csv.partial").exists() and (out / "resume.json").exists()


def test_provenance_names_the_servers_versions(server: str, tmp_path: Path) -> None:
    out = tmp_path / "o"
    claims = str(FIXTURES / "bad_rows.csv")
    assert retro(claims, "--out", str(out), "--server", server, "--workers", "1") == 0
    served = json.loads((out / "summary.json").read_text(encoding="utf-8"))["provenance"]["server"]
    assert served["target"] == server and served["differ_from_local"] == []
    assert len(served["versions"]) == 11 and all(
        v["content_hash"].startswith("sha256:") for v in served["versions"]
    )
    assert served["versions"][0]["content_hash"] in (out / "report.html").read_text(encoding="utf-8")
