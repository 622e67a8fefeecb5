"""Benchmark (not a test): the semantic diff of every pair of neighbouring versions.

Goal: under 10 s a pair on the project's 2-core machine. Prints, for each pair, the
wall time of the full listing (kinds, minimal witnesses, each re-decided by the
engine), the number of kinds and solver queries, the time of the lint fast path
(required bump only), and how the slowest pair compares with the goal.

    python bench/diff_bench.py [--policies DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from pathlib import Path

from rxpolicy.server.analysis.semantic.diff import required_bump, semantic_diff
from rxpolicy.server.engine.store import VersionStore

GOAL_SECONDS = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=Path, help="default: the packaged versions")
    parser.add_argument("--repeat", type=int, default=3, help="runs per pair; the median is reported")
    args = parser.parse_args()
    store = VersionStore.load(args.policies)
    print(f"{'pair':<17} {'kinds':>5} {'queries':>7} {'full s':>7} {'lint s':>7}  bump")
    worst = 0.0
    total = 0.0
    for policy in store.policy_ids:
        for old, new in itertools.pairwise(store.versions(policy)):
            full, fast = [], []
            for _ in range(args.repeat):
                started = time.perf_counter()
                diff = semantic_diff(store, old, new)
                full.append(time.perf_counter() - started)
                started = time.perf_counter()
                required_bump(store, old, new)
                fast.append(time.perf_counter() - started)
            median = statistics.median(full)
            worst = max(worst, median)
            total += median
            print(
                f"{old.version + ' -> ' + new.version:<17} {len(diff.kinds):>5} {diff.queries:>7} "
                f"{median:>7.2f} {statistics.median(fast):>7.2f}  {diff.required_bump.upper()}"
            )
    share = worst / GOAL_SECONDS
    print(
        f"slowest pair {worst:.2f} s = {share:.0%} of the {GOAL_SECONDS:.0f} s goal; all pairs {total:.2f} s"
    )
    return 0 if worst < GOAL_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
