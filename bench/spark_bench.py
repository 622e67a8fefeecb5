"""Retro-review on Spark against in process (run on demand, not a test).

    python bench/spark_bench.py [--count 1000000] [--seed 1] [--master 'local[2]'] [--workers 2]

Generates COUNT synthetic claims as Parquet (seeded; not timed), then reviews them with
`rxpolicy retro` as a user would, each as a subprocess, side by side in one run:
- in process on --workers cores (default 2), Parquet results;
- on Spark (--engine spark --spark-master MASTER, default local[2]), Parquet results.
For each: wall time, claims per second and peak memory (the peak of the summed RSS of
the whole process tree, sampled from /proc every 50 ms: for Spark the driver's JVM and
Python, and every Python worker). Spark's own start-up (the session: JVM, context) is
taken from the run's summary.json and reported apart, with the wall time without it.
It checks that both runs wrote the same rows (every column, in order) and the same
summary apart from `run`, and ends with the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The process-tree memory sampler of the in-process benchmark (same folder).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _shared import CLI, generate_claims
from retro_bench import PeakSampler


def run_retro(args: list[str]) -> dict[str, Any]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "retro", "--no-progress", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    sampler = PeakSampler(proc.pid)
    _out, err = proc.communicate()
    wall = time.perf_counter() - started
    peak = sampler.stop()
    text = err.decode(errors="replace")
    if proc.returncode != 0:
        sys.exit(f"retro failed ({proc.returncode}):\n{text[-4000:]}")
    line = next((x for x in text.splitlines() if x.startswith("rxpolicy retro:")), "")
    return {"wall_s": wall, "peak_tree_mb": peak / 1e6, "stderr": line}


def summary_of(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return data


def same_rows(a: Path, b: Path) -> bool:
    """The two results, row by row and column by column (Arrow tables, not Python rows)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    left = pq.read_table(a)
    right = pa.concat_tables(pq.read_table(p) for p in sorted(b.glob("*.parquet")))
    # Spark names a list's item "element" where pyarrow says "item": the same type.
    return bool(left.equals(right.cast(left.schema)))


def report(label: str, count: int, r: dict[str, Any], startup: float | None = None) -> None:
    line = (
        f"{label:<26} {r['wall_s']:8.1f} s  {count / r['wall_s']:>9,.0f} claims/s  "
        f"peak RSS (tree) {r['peak_tree_mb']:6.0f} MB"
    )
    if startup is not None:
        rest = r["wall_s"] - startup
        line += f"  Spark start-up {startup:.1f} s, the rest {rest:.1f} s ({count / rest:,.0f} claims/s)"
    print(line)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--master", default="local[2]", help="Spark master (default: local[2])")
    parser.add_argument("--workers", type=int, default=2, help="in-process --workers (default: 2)")
    parser.add_argument(
        "--spark-conf", action="append", default=[], metavar="KEY=VALUE", help="passed to the Spark run"
    )
    parser.add_argument("--dir", type=Path, help="work directory (default: a temporary one, removed)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="spark-bench-") as tmp:
        work = args.dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        claims = work / "claims.parquet"
        started = time.perf_counter()
        generate_claims(claims, args.count, args.seed)
        print(
            f"{args.count:,} synthetic claims (Parquet, {claims.stat().st_size / 1e6:.0f} MB, "
            f"seed {args.seed}) generated in {time.perf_counter() - started:.1f} s (not timed); "
            f"{os.cpu_count()} cores"
        )
        local = run_retro(
            [str(claims), "--out", str(work / "local"), "--format", "parquet", "--workers", str(args.workers)]
        )
        conf = [x for item in args.spark_conf for x in ("--spark-conf", item)]
        conf += ["--spark-conf", f"spark.local.dir={work / 'spark-local'}"]
        spark = run_retro(
            [
                str(claims),
                "--out",
                str(work / "spark"),
                "--engine",
                "spark",
                "--spark-master",
                args.master,
                *conf,
            ]
        )
        startup = float(summary_of(work / "spark")["run"]["spark_startup_seconds"])
        report(f"in process (--workers {args.workers})", args.count, local)
        print(f"  {local['stderr']}")
        report(f"Spark {args.master}", args.count, spark, startup)
        print(f"  {spark['stderr']}")
        a, b = summary_of(work / "local"), summary_of(work / "spark")
        a.pop("run")
        b.pop("run")
        # Provenance names how each run was made (engine, options, times, re-run command), so
        # it differs by design; what was decided, under what and from what input must not.
        decided = ("rxpolicy", "policy_id", "policy_set_digest", "versions")
        pa, pb = a.pop("provenance"), b.pop("provenance")
        same_basis = all(pa.get(k) == pb.get(k) for k in decided) and all(
            pa["input"].get(k) == pb["input"].get(k) for k in ("name", "sha256", "rows", "format")
        )
        rows = same_rows(work / "local" / "results.parquet", work / "spark" / "results.parquet")
        print(
            f"results identical (every column of every row): {rows}; summaries identical: {a == b}; "
            f"provenance names the same versions and input: {same_basis}"
        )
        print(
            f"ratio Spark / in process wall time: {spark['wall_s'] / local['wall_s']:.2f} "
            f"({(spark['wall_s'] - startup) / local['wall_s']:.2f} without Spark's start-up); "
            f"peak memory {spark['peak_tree_mb'] / local['peak_tree_mb']:.2f}"
        )
        return 0 if rows and a == b and same_basis else 1


if __name__ == "__main__":
    sys.exit(main())
