"""A decider that fails on one request fails that row only, counted as an internal error.

The deciders here are the real engine; the one wrapper raises for a single claim, the
way a bug in deciding one request would, so the chunk's other rows must still decide.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rxpolicy.server.retro.deciders import Decider, Request
from rxpolicy.server.retro.records import Chunk
from rxpolicy.server.retro.worker import WorkerConfig, build_processor

GOOD = {
    "service_date": "2021-03-01",
    "line_of_business": "medicaid",
    "request_type": "initial",
    "member_age": 64,
    "diagnosis": "multiple_myeloma",
    "prescriber_specialty": "oncology",
    "disease_status": "relapsed",
    "combination": ["bortezomib", "dexamethasone"],
    "prior_therapies": [["lenalidomide", "dexamethasone"]],
    "doses": [{"tablets": 5, "strength_mg": 20}],
}


class FailsOnOneClaim:
    """The engine's decider, except that a batch holding ``claim_id`` raises, as a whole
    stream or batch call does when one of its requests breaks it."""

    def __init__(self, inner: Decider, claim_id: str) -> None:
        self.inner = inner
        self.claim_id = claim_id
        self.calls = 0

    def decide_many(self, requests: Sequence[Request], *, compare: bool) -> list[dict[str, Any]]:
        self.calls += 1
        if any(claim_id == self.claim_id for claim_id, _ in requests):
            raise RecursionError("deep inside the decider")
        return self.inner.decide_many(requests, compare=compare)

    def close(self) -> None:
        self.inner.close()


def test_one_failing_request_is_one_internal_error_row() -> None:
    processor = build_processor(WorkerConfig(input_format="jsonl", output_format="jsonl"))
    failing = FailsOnOneClaim(processor.decider, "BOOM")
    processor.decider = failing
    ids = [f"OK{i}" for i in range(7)]
    ids.insert(5, "BOOM")
    records = tuple(json.dumps({"claim_id": i, **GOOD}).encode() + b"\n" for i in ids)
    lines = tuple(range(10, 10 + len(ids)))
    result = processor.process(Chunk(0, records, lines, sum(map(len, records))))
    rows = [json.loads(line) for line in result.data.decode().splitlines()]
    assert [r["claim_id"] for r in rows] == ids
    assert [r["line"] for r in rows] == list(lines)
    by_id = {r["claim_id"]: r for r in rows}
    assert all(by_id[i]["decision"] == "approve" for i in ids if i != "BOOM")
    boom = by_id["BOOM"]
    assert boom["decision"] == "error" and boom["error"]["fields"] == ["row"]
    assert "internal error (RecursionError)" in boom["error"]["violations"][0]["description"]
    assert result.tally.internal == 1 and result.tally.rows == len(ids)
    assert failing.calls <= 2 * len(ids).bit_length() + 2  # halves, not one call per row
