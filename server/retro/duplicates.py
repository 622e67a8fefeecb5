"""Claim ids seen more than once, found across the whole file at bounded cost.

Each worker hashes the claim ids of its chunk (8 bytes each); the parent keeps one
set of hashes for the run and notes the line of every row whose id was seen before.
Only counts and line numbers leave this module: never an id. Two different ids that
share a 64-bit hash (about one chance in 10^7 in a file of 10 million claims) would be
reported as one duplicate.
"""

from __future__ import annotations

import array
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

FIRST_LINES = 20


@attrs.frozen
class ClaimIdHashes:
    """The rows of one chunk that have a claim id: their hashes and lines, in order."""

    hashes: bytes = b""  # array('Q')
    lines: bytes = b""  # array('Q')


def _hash(claim_id: str) -> int:
    digest = hashlib.blake2b(claim_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def claim_id_hashes(rows: Iterable[Mapping[str, Any]]) -> ClaimIdHashes:
    hashes, lines = array.array("Q"), array.array("Q")
    for row in rows:
        claim_id = row["claim_id"]
        if claim_id:
            hashes.append(_hash(str(claim_id)))
            lines.append(int(row["line"]))
    return ClaimIdHashes(hashes.tobytes(), lines.tobytes())


class Duplicates:
    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.repeated: set[int] = set()
        self.rows = 0  # rows whose claim id appeared on an earlier row
        self.first_lines: list[int] = []

    def add(self, chunk: ClaimIdHashes) -> None:
        hashes, lines = array.array("Q"), array.array("Q")
        hashes.frombytes(chunk.hashes)
        lines.frombytes(chunk.lines)
        new = set(hashes)
        if len(new) == len(hashes) and self.seen.isdisjoint(new):
            self.seen |= new  # the common case: every id in the chunk is new
            return
        for h, line in zip(hashes, lines, strict=True):
            if h in self.seen:
                self.rows += 1
                self.repeated.add(h)
                if len(self.first_lines) < FIRST_LINES:
                    self.first_lines.append(line)
            else:
                self.seen.add(h)

    def to_bytes(self) -> bytes:
        """The hashes seen, for a run to be resumed (``restore``)."""
        return array.array("Q", sorted(self.seen)).tobytes()

    def restore(self, seen: bytes, state: Mapping[str, Any]) -> None:
        hashes = array.array("Q")
        hashes.frombytes(seen)
        self.seen = set(hashes)
        self.rows = int(state["rows"])
        self.first_lines = [int(n) for n in state["first_lines"]]
        repeated = array.array("Q")
        repeated.frombytes(bytes.fromhex(state["repeated"]))
        self.repeated = set(repeated)

    def state(self) -> dict[str, Any]:
        return self.summary() | {"repeated": array.array("Q", sorted(self.repeated)).tobytes().hex()}

    def summary(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "claim_ids": len(self.repeated),
            "first_lines": self.first_lines,
        }
