"""Fault scenarios against real `rxpolicy serve` processes on loopback, with figures:
calls made, answered, failed (by status code), and seconds to recover.

    python bench/fault_bench.py            # every scenario, a few minutes on 2 cores
    python bench/fault_bench.py --quick    # smaller counts
    python bench/fault_bench.py --only rolling,floods

Scenarios: the server SIGKILLed and restarted on its port (no orphan answers); a second
server on a used port; a directory with a draft; SIGHUP publishing a version under load
(and a tampered set refused); a rolling restart of two servers under 64 client threads;
floods of calls that send nothing (header-only unary, idle streams) beside a well-behaved
client; a decision log on a pipe nobody reads.

Not a test: it asserts nothing, it prints figures. Traffic goes to 127.0.0.1 only, and
every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _shared import CLI as CLI_CODE
from _shared import REQUEST

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", CLI_CODE]
LATER = dict(REQUEST, service_date="2026-03-02")
LIMIT_S = 60.0  # bound on every wait


class Server:
    """`rxpolicy serve` in a subprocess; its JSON log lines kept from standard error."""

    def __init__(self, tmp: Path, *args: str, port: int = 0, stdout: Any = subprocess.DEVNULL) -> None:
        self.decision_log = tmp / f"decisions-{time.monotonic_ns()}.jsonl"
        if "--decision-log" not in args:
            args = ("--decision-log", str(self.decision_log), *args)
        if "--shutdown-delay" not in args:
            args = ("--shutdown-delay", "0", *args)
        self.proc = subprocess.Popen(
            [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[dict[str, Any]] = []
        self.port = 0
        ready = threading.Event()

        def read() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                self.lines.append(record)
                if record.get("message") == "serving":
                    self.port = int(record["port"])
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        ready.wait(LIMIT_S)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def messages(self) -> list[str]:
        return [str(r.get("message")) for r in self.lines]

    def decided(self) -> int:
        if not self.decision_log.exists():
            return 0
        return sum(1 for line in self.decision_log.read_text().splitlines() if line)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(LIMIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def wait_for(condition: Callable[[], bool], limit: float = LIMIT_S) -> float | None:
    """Seconds until ``condition`` held, or None if it did not within ``limit``."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        if condition():
            return time.perf_counter() - started
        time.sleep(0.02)
    return None


def raw_evaluate(target: str, request: dict[str, Any], timeout: float = 5) -> Any:
    import grpc
    from rxpolicy.client._wire import evaluate_request
    from rxpolicy.v1 import policy_service_pb2_grpc

    with grpc.insecure_channel(target) as ch:
        return policy_service_pb2_grpc.PolicyServiceStub(ch).Evaluate(
            evaluate_request(request), timeout=timeout
        )


def health(target: str) -> str:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(target) as ch:
        try:
            status = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5).status
        except grpc.RpcError as exc:
            return exc.code().name
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(status))


class Tally:
    def __init__(self) -> None:
        self.made = 0
        self.answered = 0
        self.failed: Counter[str] = Counter()
        self._lock = threading.Lock()

    def ok(self) -> None:
        with self._lock:
            self.made += 1
            self.answered += 1

    def fail(self, code: str) -> None:
        with self._lock:
            self.made += 1
            self.failed[code] += 1

    def figures(self) -> dict[str, Any]:
        return {"made": self.made, "answered": self.answered, "failed": dict(self.failed)}


def copy_policies(tmp: Path) -> Path:
    root = tmp / f"policies-{time.monotonic_ns()}"
    shutil.copytree(REPO / "policy_versions" / "CP.PHAR.431", root / "CP.PHAR.431")
    return root


def new_version(root: Path) -> str:
    """A new patch version after the latest one (named from the directory: the latest served
    version changes with every correction record), returned."""
    from rxpolicy.server.engine.store import VersionStore

    major, minor, patch = (int(part) for part in VersionStore.load(root).resolve("latest").version.split("."))
    version = f"{major}.{minor}.{patch + 1}"
    subprocess.run(
        [*CLI, "new-version", "--policies", str(root), "--effective", "2026-01-15", "--log", "Annual review",
         "--version", version],
        check=True, capture_output=True,
    )  # fmt: skip
    return version


# ------------------------------------------------------------------ scenarios


def orphan(tmp: Path, quick: bool) -> dict[str, Any]:
    """SIGKILL the server, restart it on its port; fresh connections meanwhile."""
    first = Server(tmp)
    port = first.port
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    killed = time.perf_counter()
    with socket.socket() as s:
        listening = s.connect_ex(("127.0.0.1", port)) == 0
    second = Server(tmp, port=port)
    tally = Tally()
    recovered = None
    for i in range(30 if quick else 60):
        try:
            raw_evaluate(f"127.0.0.1:{port}", dict(REQUEST, member_age=20 + i))
            tally.ok()
            recovered = recovered or time.perf_counter() - killed
        except Exception as exc:  # a figure, whatever it is
            tally.fail(type(exc).__name__)
    second.stop()
    return {
        **tally.figures(),
        "listening_after_kill": listening,
        "decided_by_new_server": second.decided(),
        "seconds_to_recover": recovered,
    }


def used_port(tmp: Path, quick: bool) -> dict[str, Any]:
    first = Server(tmp)
    started = time.perf_counter()
    out = subprocess.run(
        [*CLI, "serve", "--host", "127.0.0.1", "--port", str(first.port), "--decision-log", "off"],
        capture_output=True, text=True, timeout=LIMIT_S,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    first.stop()
    return {
        "second_exit_code": out.returncode,
        "address_already_in_use": "address already in use" in out.stderr,
        "seconds_to_fail": round(seconds, 2),
    }


def draft(tmp: Path, quick: bool) -> dict[str, Any]:
    root = copy_policies(tmp)
    new_version(root)
    out = subprocess.run(
        [*CLI, "serve", "--policies", str(root), "--port", "0", "--decision-log", "off"],
        capture_output=True, text=True, timeout=LIMIT_S,
    )  # fmt: skip
    allowed = Server(tmp, "--policies", str(root), "--allow-drafts")
    version = raw_evaluate(allowed.target, LATER).decision.version
    allowed.stop()
    return {
        "exit_code_without_allow_drafts": out.returncode,
        "names_the_file": "2026-01-15.yaml" in out.stderr,
        "decision_with_allow_drafts": f"{version.version} draft={version.draft}",
    }


def _load(target: str, calls: int, callers: int, tally: Tally, versions: Counter[str]) -> None:
    from rxpolicy.client import AsyncPolicyClient, PolicyClientError

    async def run() -> None:
        async with AsyncPolicyClient(target, timeout=60) as c:

            async def caller() -> None:
                for _ in range(calls // callers):
                    try:
                        d = await c.evaluate(LATER)
                    except PolicyClientError as exc:
                        tally.fail(exc.code.name)
                        continue
                    tally.ok()
                    versions[d.version.version] += 1

            await asyncio.gather(*(caller() for _ in range(callers)))

    asyncio.run(run())


def reload(tmp: Path, quick: bool) -> dict[str, Any]:
    root = copy_policies(tmp)
    srv = Server(tmp, "--policies", str(root))
    tally, versions = Tally(), Counter[str]()
    calls = 2000 if quick else 10_000
    loader = threading.Thread(target=_load, args=(srv.target, calls, 50, tally, versions))
    loader.start()
    wait_for(lambda: tally.made >= calls // 5)
    added = new_version(root)
    from rxpolicy.server.engine.lockfile import add_new_to_lock

    add_new_to_lock(root / "CP.PHAR.431")
    srv.proc.send_signal(signal.SIGHUP)
    to_new = wait_for(lambda: versions[added] > 0)
    loader.join(LIMIT_S * 5)
    tampered = root / "CP.PHAR.431" / "2025-03-25.yaml"
    tampered.write_text(tampered.read_text() + "\n# edited after publication\n")
    srv.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: any(m.startswith("reload refused") for m in srv.messages()))
    still = raw_evaluate(srv.target, LATER).decision.version.version
    status = health(srv.target)
    srv.stop()
    return {
        **tally.figures(),
        "versions": dict(versions),
        "seconds_from_sighup_to_new_version": to_new,
        "tampered_set_refused": any(m.startswith("reload refused") for m in srv.messages()),
        "serving_after_refusal": f"{still} ({status})",
    }


def rolling(tmp: Path, quick: bool) -> dict[str, Any]:
    from rxpolicy.client import PolicyClient, PolicyClientError

    delay = ("--shutdown-delay", "1")
    servers = [Server(tmp, *delay), Server(tmp, *delay)]
    ports = [s.port for s in servers]
    tally = Tally()
    stop = threading.Event()
    recover: list[float | None] = []
    with PolicyClient(f"ipv4:127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}", timeout=30) as client:

        def caller(k: int) -> None:
            for _ in range(20_000):
                if stop.is_set():
                    return
                try:
                    client.evaluate(dict(REQUEST, member_age=20 + k))
                    tally.ok()
                except PolicyClientError as exc:
                    tally.fail(exc.code.name)

        threads = [threading.Thread(target=caller, args=(k,)) for k in range(64)]
        for t in threads:
            t.start()
        started = time.perf_counter()
        for i in (0, 1):
            wait_for(lambda s=servers[i]: s.decided() >= 50)
            servers[i].stop()
            servers.append(Server(tmp, *delay, port=ports[i]))
            recover.append(wait_for(lambda s=servers[-1]: s.decided() >= 50))
        seconds = time.perf_counter() - started
        stop.set()
        for t in threads:
            t.join(LIMIT_S)
    for s in servers:
        s.stop()
    return {
        **tally.figures(),
        "decided": sum(s.decided() for s in servers),
        "seconds_for_the_roll": round(seconds, 1),
        "seconds_until_each_new_server_answers": [None if r is None else round(r, 2) for r in recover],
    }


async def _nothing(never: asyncio.Event) -> Any:
    await never.wait()
    yield b""


def _flood(tmp: Path, kind: str, tokens: Path, quick: bool) -> dict[str, Any]:
    """2,400 header-only unary calls or 2,000 idle streams (half without a token) on 12
    connections, while a well-behaved client calls and checks health."""
    import grpc
    from rxpolicy.client import PolicyClient, PolicyClientError

    srv = Server(tmp, "--token-file", str(tokens))
    tally = Tally()
    statuses: Counter[str] = Counter()

    def behave() -> None:
        with PolicyClient(srv.target, token="good-token", timeout=30) as c:
            for i in range(100 if quick else 300):
                try:
                    c.evaluate(dict(REQUEST, member_age=20 + i % 60))
                    tally.ok()
                except PolicyClientError as exc:
                    tally.fail(exc.code.name)
                if i % 25 == 0:
                    statuses[health(srv.target)] += 1

    async def run() -> int:
        never = asyncio.Event()
        stream = kind == "idle_stream"
        path = "/rxpolicy.v1.PolicyService/" + ("EvaluateStream" if stream else "Evaluate")
        channels = [
            grpc.aio.insecure_channel(srv.target, options=[("grpc.use_local_subchannel_pool", 1)])
            for _ in range(12)
        ]
        calls = []
        for i in range(2000 if stream else 2400):
            ch = channels[i % len(channels)]
            md = None if i % 2 else (("authorization", "Bearer good-token"),)
            make = ch.stream_stream(path) if stream else ch.stream_unary(path)
            calls.append(make(_nothing(never), metadata=md, timeout=120))
        await asyncio.sleep(1)
        await asyncio.to_thread(behave)
        never.set()
        for call in calls:
            call.cancel()
        await asyncio.gather(*(call.code() for call in calls))
        for ch in channels:
            await ch.close()
        return len(calls)

    flood = asyncio.run(run())
    srv.stop()
    return {"flood_calls": flood, "well_behaved": tally.figures(), "health": dict(statuses)}


def floods(tmp: Path, quick: bool) -> dict[str, Any]:
    tokens = tmp / "tokens"
    tokens.write_text("good-token\n")
    return {kind: _flood(tmp, kind, tokens, quick) for kind in ("header_only", "idle_stream")}


def stalled_log(tmp: Path, quick: bool) -> dict[str, Any]:
    import grpc
    from rxpolicy.client import PolicyClient, PolicyClientError

    srv = Server(tmp, "--decision-log", "-", "--decision-log-buffer", "200", stdout=subprocess.PIPE)
    tally = Tally()
    refused_in: list[float] = []
    with PolicyClient(srv.target, timeout=30) as c:
        for _ in range(5000):
            started = time.perf_counter()
            try:
                c.evaluate(REQUEST)
                tally.ok()
            except PolicyClientError as exc:
                tally.fail(exc.code.name)
                refused_in.append(time.perf_counter() - started)
                if len(refused_in) >= 20:
                    break
    status = health(srv.target)
    raw_refusals: list[float] = []
    for _ in range(20):  # without the client's retries: the server's own answer
        started = time.perf_counter()
        try:
            raw_evaluate(srv.target, REQUEST)
            tally.ok()
        except grpc.RpcError as exc:
            tally.fail(exc.code().name)
            raw_refusals.append(time.perf_counter() - started)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(srv.proc.stdout or ()))
    reader.start()
    recovered = wait_for(lambda: health(srv.target) == "SERVING")
    with PolicyClient(srv.target, timeout=30) as c:
        c.evaluate(REQUEST)
        tally.ok()
    srv.stop()
    reader.join(LIMIT_S)
    return {
        **tally.figures(),
        "health_while_stalled": status,
        "median_ms_to_refuse_through_client_retries": _median_ms(refused_in),
        "median_ms_to_refuse_one_raw_call": _median_ms(raw_refusals),
        "seconds_to_recover_once_read": recovered,
        "records": len(lines),
        "records_match_answers": len(lines) == tally.answered,
    }


def _median_ms(seconds: list[float]) -> float | None:
    return round(statistics.median(seconds) * 1e3, 1) if seconds else None


SCENARIOS: dict[str, Callable[[Path, bool], dict[str, Any]]] = {
    "orphan": orphan,
    "used_port": used_port,
    "draft": draft,
    "reload": reload,
    "rolling": rolling,
    "floods": floods,
    "stalled_log": stalled_log,
}


def main() -> None:
    parser = argparse.ArgumentParser(description="fault scenarios (not a test)")
    parser.add_argument("--quick", action="store_true", help="smaller counts")
    parser.add_argument("--only", help=f"comma-separated, of: {', '.join(SCENARIOS)}")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:
        # One process per scenario: grpc.aio binds to the first event loop of a process.
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            result = SCENARIOS[args.scenario](Path(tmp), args.quick)
        result["scenario_seconds"] = round(time.perf_counter() - started, 1)
        print(json.dumps(result))
        return
    chosen = args.only.split(",") if args.only else list(SCENARIOS)
    figures: dict[str, Any] = {}
    print(f"cores: {os.cpu_count()}")
    for name in chosen:
        out = subprocess.run(
            [sys.executable, __file__, "--scenario", name, *(["--quick"] if args.quick else [])],
            capture_output=True, text=True, timeout=LIMIT_S * 20,
        )  # fmt: skip
        lines = out.stdout.strip().splitlines()
        figures[name] = (
            json.loads(lines[-1]) if out.returncode == 0 and lines else {"error": out.stderr[-2000:]}
        )
        print(f"{name}: {json.dumps(figures[name])}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
