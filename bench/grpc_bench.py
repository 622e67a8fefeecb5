"""gRPC benchmark: the policy service against a bare grpcio echo service built the same
way, side by side in one run on loopback, each one grpc.aio process (the process model
of `rxpolicy serve`: more capacity is more servers).

    python bench/grpc_bench.py            # about two minutes on 2 cores
    python bench/grpc_bench.py --quick    # a smoke run

Measures unary Evaluate throughput and p50/p99 latency at 1 and 64 concurrent callers
(each server measured in alternation, several rounds, medians reported), EvaluateStream
decisions per second through the Python client's evaluate_many (with the CPU a decision
of the server and of the client: on a busy machine steadier than the rate), and the time from
starting `rxpolicy serve` to its health check answering SERVING. Absolute numbers
depend on the machine and what else runs on it; the ratios are the point.

Not a test: it asserts nothing, it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _shared import CLI as CLI_CODE
from _shared import REQUEST

METHOD = "/rxpolicy.v1.PolicyService/Evaluate"
OBSERVED = "policy+obs"  # --observability: the policy server with metrics and access log on


# ------------------------------------------------------------------ servers (child processes)


def _echo_handler() -> Any:
    """The same service shape with no policy work: each request answered with its id."""
    import grpc
    from rxpolicy.v1 import policy_service_pb2 as pb

    async def evaluate(request: Any, context: Any) -> Any:
        return pb.EvaluateResponse(request_id=request.request_id)

    async def stream(requests: Any, context: Any) -> Any:
        async for batch in requests:
            yield pb.EvaluateStreamResponse(
                results=[pb.EvaluateResult(request_id=r.request_id) for r in batch.requests]
            )

    return grpc.method_handlers_generic_handler(
        "rxpolicy.v1.PolicyService",
        {
            "Evaluate": grpc.unary_unary_rpc_method_handler(
                evaluate, pb.EvaluateRequest.FromString, pb.EvaluateResponse.SerializeToString
            ),
            "EvaluateStream": grpc.stream_stream_rpc_method_handler(
                stream, pb.EvaluateStreamRequest.FromString, pb.EvaluateStreamResponse.SerializeToString
            ),
        },
    )


async def _serve_echo(port: int, ready: Any) -> None:
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc
    from rxpolicy.server.api.server import ServeConfig, new_aio_server

    server = new_aio_server(ServeConfig())
    server.add_generic_rpc_handlers((_echo_handler(),))
    h = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(h, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await h.set("", health_pb2.HealthCheckResponse.SERVING)
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []  # holds the task, so it is not garbage-collected
    loop.add_signal_handler(signal.SIGTERM, lambda: stopping.append(loop.create_task(server.stop(5))))
    ready()
    await server.wait_for_termination()


def serve_echo(port: int) -> None:
    asyncio.run(_serve_echo(port, lambda: print("ready", flush=True)))


# ------------------------------------------------------------------ load (child process)


async def _unary_load(target: str, concurrency: int, seconds: float) -> dict[str, Any]:
    import grpc
    from rxpolicy.client._wire import evaluate_request

    payload = evaluate_request(REQUEST, request_id="bench").SerializeToString()
    # Several connections, as from several client hosts.
    channels = [
        grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(1 if concurrency == 1 else 8)
    ]
    calls = [ch.unary_unary(METHOD) for ch in channels]
    for call in calls:
        for _ in range(20):
            await call(payload, timeout=10)
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def caller(k: int) -> None:
        call = calls[k % len(calls)]
        while (start := time.perf_counter()) < stop_at:
            await call(payload, timeout=10)
            latencies.append(time.perf_counter() - start)

    started = time.perf_counter()
    await asyncio.gather(*(caller(k) for k in range(concurrency)))
    elapsed = time.perf_counter() - started
    for ch in channels:
        await ch.close()
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1e3,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3,
        "n": len(latencies),
        "channels": len(channels),
    }


def _stream_load(target: str, count: int, batch_size: int) -> dict[str, Any]:
    from rxpolicy.client import PolicyClient

    with PolicyClient(target) as client:
        list(client.evaluate_many([REQUEST] * 200, batch_size=batch_size))  # warm
        started = time.perf_counter()
        cpu = time.process_time()
        results = sum(
            1 for r in client.evaluate_many(([REQUEST] * count), batch_size=batch_size) if r.request_id
        )
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
    return {
        "decisions_per_s": results / elapsed,
        "n": results,
        "batch_size": batch_size,
        "client_cpu_us": cpu / results * 1e6,
    }


def load(args: list[str]) -> None:
    kind, target = args[0], args[1]
    if kind == "unary":
        out = asyncio.run(_unary_load(target, int(args[2]), float(args[3])))
    else:
        out = _stream_load(target, int(args[2]), int(args[3]))
    print(json.dumps(out))


# ------------------------------------------------------------------ the run (parent)

HERE = Path(__file__).resolve()
CLI = ["-c", CLI_CODE]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_serving(target: str, limit: float = 30.0) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + limit
    # Reconnect at once while the port is still closed: gRPC's default first backoff (1 s)
    # would be measured as start-up time.
    fast = [("grpc.initial_reconnect_backoff_ms", 5), ("grpc.min_reconnect_backoff_ms", 5),
            ("grpc.max_reconnect_backoff_ms", 20)]  # fmt: skip
    with grpc.insecure_channel(target, options=fast) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        while time.monotonic() < deadline:
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                    return
            except grpc.RpcError:
                time.sleep(0.005)
    raise RuntimeError(f"{target} did not become SERVING")


class Server:
    def __init__(self, kind: str, tmp: Path) -> None:
        self.port = _free_port()
        self.target = f"127.0.0.1:{self.port}"
        self.name = kind
        if kind.startswith("policy"):
            cmd = [
                sys.executable, *CLI, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--shutdown-delay", "0",
                "--decision-log", str(tmp / f"decisions-{self.name}.jsonl"), "--log-level", "warning",
            ]  # fmt: skip
            # policy+obs: metrics on and the access log to a file; policy: both off.
            observed = ["--metrics-port", str(_free_port()), "--access-log", str(tmp / "access.jsonl")]
            cmd += observed if kind == OBSERVED else ["--access-log", "off"]
        else:
            cmd = [sys.executable, str(HERE), "--serve-echo", str(self.port)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_serving(self.target)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children, from /proc (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _run_load(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(HERE), "--load", *args], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def start_to_serving(rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        port = _free_port()
        cmd = [
            sys.executable, *CLI, "serve", "--host", "127.0.0.1", "--port", str(port),
            "--shutdown-delay", "0", "--decision-log", "off",
        ]  # fmt: skip
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_serving(f"127.0.0.1:{port}")
        times.append(time.perf_counter() - started)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description="gRPC benchmark (not a test)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per unary measurement")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds per configuration")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--observability",
        action="store_true",
        help=f"also measure {OBSERVED}: the policy server with metrics and access log on",
    )
    parser.add_argument("--serve-echo", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--load", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_echo:
        serve_echo(args.serve_echo)
        return
    if args.load:
        load(args.load)
        return

    seconds = args.seconds or (1.0 if args.quick else 3.0)
    rounds = args.rounds or (1 if args.quick else 3)
    stream_n = 5_000 if args.quick else 40_000
    print(f"cores: {os.cpu_count()}, {rounds} rounds x {seconds:.0f} s per unary figure")
    figures: dict[str, Any] = {"unary": {}, "stream": {}, "start_s": {}}

    with tempfile.TemporaryDirectory() as tmp:
        kinds = ("policy", "echo", OBSERVED) if args.observability else ("policy", "echo")
        servers = [Server(k, Path(tmp)) for k in kinds]
        try:
            samples: dict[tuple[str, int], list[dict[str, Any]]] = {}
            for _ in range(rounds):
                for concurrency in (1, 64):
                    for s in servers:  # alternate, so drift in the machine's load hits all alike
                        cpu = _cpu_seconds(s.proc.pid)
                        r = _run_load("unary", s.target, str(concurrency), str(seconds))
                        # Server CPU per call (incl. warm-up calls): its capacity on a core of its own.
                        r["cpu_us"] = (_cpu_seconds(s.proc.pid) - cpu) / (r["n"] + 20 * r["channels"]) * 1e6
                        samples.setdefault((s.name, concurrency), []).append(r)
            for (name, concurrency), rs in samples.items():
                figures["unary"][f"{name}@{concurrency}"] = {
                    k: statistics.median(r[k] for r in rs) for k in ("rps", "p50_ms", "p99_ms", "cpu_us")
                }
                figures["unary"][f"{name}@{concurrency}"]["rps_rounds"] = [r["rps"] for r in rs]
                figures["unary"][f"{name}@{concurrency}"]["cpu_rounds"] = [r["cpu_us"] for r in rs]
            for s in servers:
                if s.name == "policy":
                    for batch in (64, 1):
                        n = stream_n if batch > 1 else stream_n // 8
                        rs = []
                        for _ in range(rounds):
                            cpu = _cpu_seconds(s.proc.pid)
                            r = _run_load("stream", s.target, str(n), str(batch))
                            # Server CPU a decision (warm-up included): its capacity on a core of its own.
                            r["server_cpu_us"] = (_cpu_seconds(s.proc.pid) - cpu) / (r["n"] + 200) * 1e6
                            rs.append(r)
                        figures["stream"][f"{s.name}@batch{batch}"] = {
                            k: statistics.median(r[k] for r in rs)
                            for k in ("decisions_per_s", "server_cpu_us", "client_cpu_us")
                        }
        finally:
            for s in servers:
                s.stop()
    times = start_to_serving(3 if args.quick else 5)
    figures["start_s"]["policy"] = {"median": statistics.median(times), "max": max(times)}

    print("\nunary Evaluate (median of rounds; 'vs echo' is the throughput ratio measured, 'cpu vs echo'")
    print("the ratio of server CPU per call: the throughput ratio if the server had the cores to itself)")
    print(
        f"{'server':<10} {'callers':>7} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'cpu us':>7}"
        f" {'vs echo':>8} {'cpu vs echo':>11}"
    )
    for key, f in figures["unary"].items():
        name, concurrency = key.split("@")
        echo = figures["unary"][f"echo@{concurrency}"]
        ratio = cpu_ratio = ""
        if name != "echo":
            ratio, cpu_ratio = f"{f['rps'] / echo['rps']:.2f}", f"{echo['cpu_us'] / f['cpu_us']:.2f}"
        print(
            f"{name:<10} {concurrency:>7} {f['rps']:>8.0f} {f['p50_ms']:>7.2f} {f['p99_ms']:>7.2f}"
            f" {f['cpu_us']:>7.0f} {ratio:>8} {cpu_ratio:>11}"
        )
    if args.observability:
        print(f"\n{OBSERVED} vs policy (metrics and access log on vs off, median of rounds)")
        for concurrency in (1, 64):
            on, off = figures["unary"][f"{OBSERVED}@{concurrency}"], figures["unary"][f"policy@{concurrency}"]
            # Each round's servers ran back to back: the spread of those paired ratios.
            rps = [a / b for a, b in zip(on["rps_rounds"], off["rps_rounds"], strict=True)]
            cpu = [a / b for a, b in zip(on["cpu_rounds"], off["cpu_rounds"], strict=True)]
            print(
                f"  {concurrency:>2} callers: throughput {on['rps'] / off['rps']:.3f}x "
                f"(rounds {min(rps):.3f}..{max(rps):.3f}), cpu per call "
                f"{on['cpu_us'] / off['cpu_us']:.3f}x (rounds {min(cpu):.3f}..{max(cpu):.3f})"
            )
    print("\nEvaluateStream through PolicyClient.evaluate_many (medians; CPU a decision, each process:")
    print("with a core each, the slower of the two bounds the rate)")
    print(f"  {'':<22} {'decisions/s':>11} {'server us':>9} {'client us':>9}")
    for key, f in figures["stream"].items():
        print(
            f"  {key:<22} {f['decisions_per_s']:>11.0f} {f['server_cpu_us']:>9.1f} {f['client_cpu_us']:>9.1f}"
        )
    print("\nstart to SERVING (rxpolicy serve, packaged policy versions)")
    for key, f in figures["start_s"].items():
        print(f"  {key:<10} median {f['median']:.3f} s, max {f['max']:.3f} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
