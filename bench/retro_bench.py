"""Retro-review benchmark (run on demand, not a test).

    python bench/retro_bench.py [--count 1000000] [--seed 1] [--format csv] [--no-server]

Generates COUNT synthetic claims (seeded; not timed), then runs `rxpolicy retro` on
them as a user would, as a subprocess:
- in process, on every core (the default --workers);
- through a local `rxpolicy serve` on an ephemeral port (`--server`).
For each it reports wall time, claims per second, microseconds per claim, the CPU time
of all its processes (user + system; on a shared machine a steadier figure), and peak
memory: the peak of the sum of the RSS of the whole process tree (sampled from
/proc every 50 ms) and the largest single process's max RSS (getrusage). For the server
run the server's own memory is reported separately. It checks that both runs wrote the
same rows and ends with the ratio of the two wall times.

The floor, measured in the same run: reading the claim file with Python's csv module and
writing every row back out with it, in one process (the least any CSV-in, CSV-out review
costs here). Each run's wall time is also given as a multiple of that floor.

Goals (issue 5): 1,000,000 claims in process under 60 s and 500 MB on 2 cores; through
a local server under 3 minutes.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from _shared import CLI, generate_claims

PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(root: int) -> int:
    """Bytes resident in ``root`` and all its descendants, now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            with open(f"/proc/{pid}/statm", encoding="ascii") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


class PeakSampler:
    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self._stop.wait(self.interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def run_retro(args: list[str]) -> dict[str, Any]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "retro", "--no-progress", *args], stderr=subprocess.PIPE
    )
    sampler = PeakSampler(proc.pid)
    _out, err = proc.communicate()
    wall = time.perf_counter() - started
    peak_tree = sampler.stop()
    if proc.returncode != 0:
        sys.exit(f"retro failed ({proc.returncode}):\n{err.decode(errors='replace')}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    largest = usage.ru_maxrss * 1024
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime - cpu_before,
        "peak_tree_mb": peak_tree / 1e6,
        "largest_process_mb": largest / 1e6 if largest > before * 1024 else None,
        "stderr": err.decode(errors="replace").strip().splitlines()[0],
    }


def drain(stream: IO[str]) -> None:
    for _line in stream:  # read and dropped until the server exits
        pass


def start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "serve", "--host", "127.0.0.1", "--port", "0", "--decision-log", "off"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("message") == "serving":
            # Keep reading its logs to the end, so a chatty server never blocks on a full pipe.
            threading.Thread(target=drain, args=(proc.stderr,), name="server-stderr", daemon=True).start()
            return proc, f"127.0.0.1:{event['port']}"
    sys.exit("rxpolicy serve did not start")


def csv_floor(claims: Path, out: Path) -> tuple[float, float]:
    """Seconds (wall, CPU) to read ``claims`` with csv.reader and write every row with
    csv.writer."""
    started, cpu = time.perf_counter(), time.process_time()
    with (
        claims.open(encoding="utf-8", newline="") as src,
        out.open("w", encoding="utf-8", newline="") as dst,
    ):
        writer = csv.writer(dst, lineterminator="\n")
        for row in csv.reader(src):
            writer.writerow(row)
    return time.perf_counter() - started, time.process_time() - cpu


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def report(label: str, count: int, r: dict[str, Any]) -> None:
    largest = f"{r['largest_process_mb']:.0f} MB" if r["largest_process_mb"] else "n/a"
    print(
        f"{label:<22} {r['wall_s']:8.1f} s  {count / r['wall_s']:>9,.0f} claims/s  "
        f"{r['wall_s'] / count * 1e6:6.1f} us/claim  CPU {r['cpu_s']:.1f} s (all processes)  "
        f"peak RSS (tree) {r['peak_tree_mb']:6.0f} MB  "
        f"largest process {largest}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--format", choices=("csv", "jsonl"), default="csv", help="claim file format")
    parser.add_argument("--workers", type=int, help="retro --workers (default: every core)")
    parser.add_argument("--no-server", action="store_true", help="skip the run through a server")
    parser.add_argument("--dir", type=Path, help="work directory (default: a temporary one, removed)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="retro-bench-") as tmp:
        work = args.dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        claims = work / f"claims.{args.format}"
        started = time.perf_counter()
        generate_claims(claims, args.count, args.seed)
        size = claims.stat().st_size
        print(
            f"{args.count:,} synthetic claims ({args.format}, {size / 1e6:.0f} MB, seed {args.seed}) "
            f"generated in {time.perf_counter() - started:.1f} s (not timed below); {os.cpu_count()} cores"
        )
        extra = ["--workers", str(args.workers)] if args.workers else []
        floor, floor_cpu = csv_floor(claims, work / "floor.csv") if args.format == "csv" else (None, 0.0)
        if floor is not None:
            rate = args.count / floor
            print(
                f"{'csv read+write floor':<22} {floor:8.1f} s  {rate:>9,.0f} claims/s  "
                f"CPU {floor_cpu:.1f} s (one process)"
            )
        extra.append("--overwrite")  # a reused --dir holds the previous run's outputs
        local = run_retro([str(claims), "--out", str(work / "local"), *extra])
        report("in process", args.count, local)
        print(f"  {local['stderr']}")
        if floor is not None:
            cpu_ratio = local["cpu_s"] / floor_cpu
            print(f"  {local['wall_s'] / floor:.2f} x the csv floor ({cpu_ratio:.2f} x in CPU)")
        if args.no_server:
            return 0
        server, target = start_server()
        try:
            server_peak = PeakSampler(server.pid)
            remote = run_retro([str(claims), "--out", str(work / "server"), "--server", target, *extra])
            server_mb = server_peak.stop() / 1e6
        finally:
            server.terminate()
            server.wait(timeout=30)
        report("through a local server", args.count, remote)
        if floor is not None:
            print(f"  {remote['wall_s'] / floor:.2f} x the csv floor")
        print(f"  {remote['stderr']}\n  server process peak RSS {server_mb:.0f} MB")
        same = digest(work / "local" / "results.csv") == digest(work / "server" / "results.csv")
        print(f"results identical: {same}")
        print(f"ratio server / in process wall time: {remote['wall_s'] / local['wall_s']:.2f}")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
