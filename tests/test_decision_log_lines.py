"""Decision-log lines rendered by the writer thread are exactly the JSON of their record:
the fast rendering of a decision writes what json.dumps of its dict would, byte for byte."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from rxpolicy.server.api.logs import DecisionLog, DecisionRecord
from rxpolicy.server.engine.decision import Citation, Decision, Unmet, VersionRef

# Any text, quotes, backslashes and control characters included (no lone surrogates:
# text from the wire is valid UTF-8).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
CITATION = st.builds(Citation, key=TEXT, cite=TEXT, text=TEXT)


@st.composite
def decisions(draw: st.DrawFn) -> Decision:
    ref = VersionRef(
        draw(TEXT), draw(TEXT), dt.date(2025, 1, 1), draw(TEXT), draft=draw(st.booleans()), recorded=None
    )
    return Decision(
        outcome=draw(st.sampled_from(["approve", "deny", "pend", "refer"])),
        version=ref,
        indication=draw(st.none() | CITATION),
        unmet=tuple(Unmet(c) for c in draw(st.lists(CITATION, max_size=3))),
        referral=tuple(draw(st.lists(CITATION, max_size=2))),
        refer_to=draw(st.none() | TEXT),
    )


@settings(max_examples=300, deadline=None)
@given(decisions(), TEXT, TEXT)
def test_a_decision_line_is_the_json_of_its_record(decision: Decision, request_id: str, time: str) -> None:
    record = DecisionRecord(time, request_id, decision)
    assert record.json_line() == json.dumps(record.as_dict(), ensure_ascii=False)
    # It reads as that mapping too (what the metrics and other readers of records see).
    assert dict(record) == record.as_dict() and list(record) == list(record.as_dict())
    assert record.get("error") is None and ("draft" in record) == decision.version.draft


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_records_are_written_as_their_json_and_undelivered_ones_say_so(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    ref = VersionRef("P.1", "1.0.0", dt.date(2025, 1, 1), "sha256:ab", draft=True)
    decided = DecisionLog.decision_record("r-1", Decision(outcome="approve", version=ref))
    refused = DecisionLog.error_record("r-2", "INVALID_ARGUMENT", ["member_age"])
    log = DecisionLog.open(str(path))
    log.write([decided, refused])
    log.write([decided, refused], delivered=False)
    assert log.close(timeout=10) == 0
    first, second, third, fourth = _lines(path)
    assert first == decided.as_dict() and first["draft"] is True and "delivered" not in first
    assert second == refused
    assert third == {**decided.as_dict(), "delivered": False}
    assert fourth == {**refused, "delivered": False}
    assert "delivered" not in refused  # the caller's record is not changed
    assert os.stat(path).st_mode & 0o777 == 0o600
