"""Every decision of a set of requests as JSON lines, to compare two trees byte for byte.

    python bench/decisions_dump.py CLAIMS.jsonl [--cases DIR ...] > out.jsonl

Run it under two trees (say, main's virtualenv and a branch's) on the same inputs and
``cmp`` the outputs: a speed-up must not change a single decision. Each case request and
each readable claim (``rxpolicy retro-generate -o claims.jsonl``) is decided in process, without
and with the trace; an invalid request is written as its violations.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from rxpolicy.decisions import decision_json
from rxpolicy.server.engine.errors import InvalidRequest, NotFound
from rxpolicy.server.engine.store import VersionStore
from rxpolicy.server.formats.cases import iter_case_files, load_cases

HERE = Path(__file__).resolve().parent
DEFAULT_CASES = [HERE.parent.parent / "shared" / "cases", HERE.parent / "tests" / "cases"]


def _requests(claims: Path | None, cases: list[Path]) -> Iterator[tuple[str, Any]]:
    for case_file in iter_case_files([p for p in cases if p.exists()]):
        for case in load_cases(case_file):
            yield f"case {case_file.name} {case.name}", case.request
    if claims is not None:
        with claims.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue  # the generator writes some unreadable rows on purpose
                if isinstance(obj, dict):
                    obj.pop("claim_id", None)
                    yield f"line {number}", obj


def _result(store: VersionStore, request: Mapping[str, Any], with_trace: bool) -> dict[str, Any]:
    try:
        return decision_json(store.decide(request, with_trace=with_trace))
    except InvalidRequest as exc:
        return {"invalid": [[v.field, v.description] for v in exc.violations]}
    except NotFound as exc:
        return {"not_found": str(exc)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("claims", type=Path, nargs="?")
    parser.add_argument("--cases", type=Path, nargs="*", default=DEFAULT_CASES)
    args = parser.parse_args()
    store = VersionStore.load()
    out = sys.stdout
    for name, request in _requests(args.claims, args.cases):
        for with_trace in (False, True):
            record = {"id": name, "trace": with_trace, "result": _result(store, request, with_trace)}
            out.write(json.dumps(record, sort_keys=True, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
