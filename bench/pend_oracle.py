"""Minimal pends against the z3 oracle, on demand (not a test; the test suite runs 2,000).

    python bench/pend_oracle.py [--count 20000] [--seed 431]

Decides seeded random partial requests under every version and checks each decision with
the z3 encoding (server/analysis/semantic/pend_oracle.py): a decision that is not pend is
the outcome of every completion of the unknown facts; a pend has two completions with
different outcomes, and each fact it lists has two completions that differ only in that
fact and have different outcomes. Prints counts of agreements and disagreements by
decision, and the first disagreements; exit 1 when there is any.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from rxpolicy.server.analysis.semantic.pend_oracle import PendOracle, random_requests
from rxpolicy.server.engine.store import VersionStore


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=431)
    args = parser.parse_args()
    store = VersionStore.load()
    oracles = {v.version: PendOracle(store.compiled(v)) for v in store.versions()}
    compiled = [o.compiled for o in oracles.values()]
    agree: Counter[str] = Counter()
    disagree: Counter[str] = Counter()
    facts_checked = 0
    shown = 0
    start = time.perf_counter()
    for version, request in random_requests(compiled, seed=args.seed, count=args.count):
        verdict = oracles[version.version.version].check(request)
        facts_checked += verdict.checked_facts
        outcome = verdict.decision.outcome
        if verdict.problems:
            disagree[outcome] += 1
            if shown < 10:
                shown += 1
                print(f"disagree ({version.version.version}): {'; '.join(verdict.problems)}", file=sys.stderr)
        else:
            agree[outcome] += 1
    seconds = time.perf_counter() - start
    print(f"requests: {args.count} (seed {args.seed}) in {seconds:.0f} s; facts checked: {facts_checked}")
    for outcome in ("approve", "deny", "pend", "refer"):
        print(f"{outcome:8}: {agree[outcome]:6} agree, {disagree[outcome]:4} disagree")
    print(f"total   : {sum(agree.values()):6} agree, {sum(disagree.values()):4} disagree")
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
