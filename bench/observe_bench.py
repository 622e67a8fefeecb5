"""What metrics and the access log add to each call, in server CPU microseconds, measured
in one process so that the machine's other load hits both sides alike.

    python bench/observe_bench.py            # about a minute
    python bench/observe_bench.py --quick

One grpc.aio server on loopback answers a trivial unary method behind the server's own
admission interceptor, with the observing interceptor in front of it (server/api/observe.py:
metrics and an access log written to a file) or without; a client in the same event loop
makes the calls, 16 at a time. The process's CPU time per call is measured for each in
alternating rounds; the difference is what observing costs a call (the client's share is
the same on both sides). Divided by the policy server's CPU per call ('cpu us' of
bench/grpc_bench.py), it is the share of unary throughput observing costs;
`bench/grpc_bench.py --observability` measures that ratio directly, but on a busy
machine its spread is wider than the effect.

Not a test: it asserts nothing, it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
from rxpolicy.server.api.access_log import AccessLog
from rxpolicy.server.api.admission import Admission, Limits
from rxpolicy.server.api.gate import Gate
from rxpolicy.server.api.logs import DecisionLog
from rxpolicy.server.api.metrics import ServerMetrics
from rxpolicy.server.api.observe import CallObserver
from rxpolicy.v1 import policy_service_pb2 as pb

SERVICE = "rxpolicy.v1.PolicyService"
METHOD = f"/{SERVICE}/Evaluate"


async def _evaluate(request: Any, context: Any) -> Any:
    return pb.EvaluateResponse(request_id=request.request_id)


async def _cpu_per_call(observed: bool, calls: int, tmp: Path) -> float:
    metrics = ServerMetrics() if observed else None
    access = AccessLog.open(str(tmp / "access.jsonl")) if observed else None
    admission = Admission(SERVICE, Limits(1000, 10.0, 60.0), None, DecisionLog(None))
    observer = CallObserver(metrics, access) if observed else None
    server = grpc.aio.server()
    handler = grpc.unary_unary_rpc_method_handler(
        _evaluate, pb.EvaluateRequest.FromString, pb.EvaluateResponse.SerializeToString
    )
    server.add_generic_rpc_handlers((Gate({METHOD: handler}, admission, observer),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    payload = pb.EvaluateRequest(request_id="bench").SerializeToString()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(METHOD)
        for _ in range(200):
            await call(payload)

        async def caller(n: int) -> None:
            for _ in range(n):
                await call(payload)

        started = time.process_time()
        await asyncio.gather(*(caller(calls // 16) for _ in range(16)))
        cpu = time.process_time() - started
    await server.stop(0)
    if access is not None:
        access.close()  # its thread's CPU for these lines is in the figure above
    return cpu / (calls // 16 * 16) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description="cost of metrics and access log per call (not a test)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--rounds", type=int, help="alternating rounds (more narrow the spread of the median)"
    )
    args = parser.parse_args()
    rounds, calls = (3, 2_000) if args.quick else (9, 5_000)
    rounds = args.rounds or rounds
    samples: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            for observed in (False, True):  # alternate: drift in the machine's load hits both
                samples[observed].append(asyncio.run(_cpu_per_call(observed, calls, Path(tmp))))
    off, on = statistics.median(samples[False]), statistics.median(samples[True])
    added = [b - a for a, b in zip(samples[False], samples[True], strict=True)]
    print(f"{rounds} rounds x {calls} calls, 16 at a time; process CPU per call (server and client)")
    print(f"  off      median {off:7.1f} us  (rounds {min(samples[False]):.1f}..{max(samples[False]):.1f})")
    print(f"  observed median {on:7.1f} us  (rounds {min(samples[True]):.1f}..{max(samples[True]):.1f})")
    spread = f"paired rounds {min(added):.1f}..{max(added):.1f}"
    print(f"  added    median {statistics.median(added):7.1f} us per call ({spread})")


if __name__ == "__main__":
    main()
