"""How far an interrupted run got, saved beside its partial results for --resume.

``resume.json`` holds the options that shape a row, the place in the claim file where
the rows written so far end (offset, lines, blank lines, and the sha256 of the bytes
before it, so a changed file is refused), the size of the partial results at that
place, and the counts so far; ``resume.ids`` holds the claim id hashes seen, for the
duplicate check. A resumed run truncates the partial results to that size, reads
on from that place, and ends with the same bytes an uninterrupted run writes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, BinaryIO

import attrs

from . import outputs
from .duplicates import Duplicates
from .records import Position
from .tally import Tally, tally_from_state, tally_state

STATE_VERSION = 1


class ResumeError(Exception):
    """No usable resume state in the output directory."""


@attrs.frozen
class ResumeState:
    fingerprint: dict[str, Any]
    position: Position
    results_bytes: int
    records: int
    next_chunk: int
    started: str
    tally: Tally
    duplicates: Duplicates

    def position_in(self, stream: BinaryIO) -> Position | None:
        """Read ``stream`` from its start to the saved place; the place, or None when the
        bytes before it are not the ones the interrupted run read."""
        digest = hashlib.sha256()
        left = self.position.offset
        while left:
            block = stream.read(min(left, 1 << 20))
            if not block:
                return None
            digest.update(block)
            left -= len(block)
        if digest.hexdigest() != self.position.digest:
            return None
        return Position(self.position.offset, self.position.line_no, self.position.blank_lines, digest)


def save_state(out_dir: Path, state: ResumeState) -> None:
    position = state.position
    data = {
        "state_version": STATE_VERSION,
        "fingerprint": state.fingerprint,
        "position": {
            "offset": position.offset,
            "line_no": position.line_no,
            "blank_lines": position.blank_lines,
            "sha256": position.digest.hexdigest(),
        },
        "results_bytes": state.results_bytes,
        "records": state.records,
        "next_chunk": state.next_chunk,
        "started": state.started,
        "tally": tally_state(state.tally),
        "duplicates": state.duplicates.state(),
    }
    outputs.write_atomic(out_dir / outputs.SEEN_IDS, state.duplicates.to_bytes())
    outputs.write_atomic(out_dir / outputs.STATE, json.dumps(data, ensure_ascii=False).encode("utf-8"))


def load_state(out_dir: Path) -> ResumeState:
    path = out_dir / outputs.STATE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        seen = (out_dir / outputs.SEEN_IDS).read_bytes()
    except FileNotFoundError as exc:
        raise ResumeError(
            f"{Path(exc.filename).name} is not in {out_dir} (the run was not stopped by this tool, "
            "or had written nothing yet); start again with --overwrite"
        ) from None
    except (OSError, ValueError) as exc:
        raise ResumeError(f"{path} cannot be read ({exc})") from None
    try:
        if data["state_version"] != STATE_VERSION:
            raise ResumeError(f"{path} was written by another version of this tool")
        p = data["position"]
        duplicates = Duplicates()
        duplicates.restore(seen, data["duplicates"])
        return ResumeState(
            fingerprint=data["fingerprint"],
            position=Position(int(p["offset"]), int(p["line_no"]), int(p["blank_lines"]), p["sha256"]),
            results_bytes=int(data["results_bytes"]),
            records=int(data["records"]),
            next_chunk=int(data["next_chunk"]),
            started=str(data["started"]),
            tally=tally_from_state(data["tally"]),
            duplicates=duplicates,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ResumeError(f"{path} is not a resume state this tool wrote ({type(exc).__name__})") from None
