"""summary.json and report.html name only fields the policy knows, and stay bounded."""

from __future__ import annotations

import collections
import csv
import json
from pathlib import Path
from typing import Any

from rxpolicy.server.cli import main
from rxpolicy.server.retro.tally import MAX_ERROR_FIELDS, OTHER_FIELDS, UNKNOWN_FIELD, Tally

BASE = {"service_date": "2021-03-01", "line_of_business": "medicaid", "request_type": "initial"}


def test_unknown_json_keys_are_not_named_in_summary_or_report(tmp_path: Path) -> None:
    claims = tmp_path / "c.jsonl"
    lines = [
        # Keys a member file could carry: names, notes, anything. Each is its own field.
        json.dumps({"claim_id": f"U{i}", **BASE, f"member_name_Jane_Doe_{i}": "x"})
        for i in range(MAX_ERROR_FIELDS + 30)
    ]
    lines.append(json.dumps({"claim_id": "BOTH", **BASE, "diagnosis": "myeloma", "ssn_123": 1, "dob": 2}))
    lines.append(json.dumps({"claim_id": "AGE", **BASE, "member_age": "sixty"}))
    claims.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["retro", "--no-progress", str(claims), "--out", str(out), "--workers", "1"]) == 0

    # The per-row results keep the engine's words: it is the user's own data.
    with (out / "results.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["error_fields"] == "member_name_Jane_Doe_0"
    both = next(r for r in rows if r["claim_id"] == "BOTH")
    assert set(both["error_fields"].split(";")) == {"diagnosis", "ssn_123", "dob"}

    summary_text = (out / "summary.json").read_text(encoding="utf-8")
    report = (out / "report.html").read_text(encoding="utf-8")
    for text in (summary_text, report):
        assert "Jane_Doe" not in text and "ssn_123" not in text and "dob" not in text
    summary = json.loads(summary_text)
    errors = summary["errors"]
    # Consistent with the rows: every row naming an unknown key counts once, however many.
    assert errors["by_field"] == {UNKNOWN_FIELD: MAX_ERROR_FIELDS + 31, "diagnosis": 1, "member_age": 1}
    assert errors["rows"] == len(rows) == summary["rows"]["out"]
    fields = {d["field"] for d in errors["descriptions"]}
    assert fields == {UNKNOWN_FIELD, "diagnosis", "member_age"}
    assert all(v["field"] in fields for e in errors["examples"] for v in e["violations"])


def test_compare_examples_name_only_known_fields(tmp_path: Path) -> None:
    claims = tmp_path / "c.jsonl"
    claims.write_text(json.dumps({"claim_id": "K", **BASE, "secret_key_xyz": 1}) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    args = ["retro", "--no-progress", str(claims), "--out", str(out), "--workers", "1"]
    assert main([*args, "--compare-to", "latest"]) == 0
    assert "secret_key_xyz" not in (out / "summary.json").read_text(encoding="utf-8")
    assert "secret_key_xyz" not in (out / "report.html").read_text(encoding="utf-8")


def test_distinct_error_fields_are_capped() -> None:
    total = Tally()
    expected: collections.Counter[str] = collections.Counter()
    for i in range(MAX_ERROR_FIELDS + 50):
        chunk = Tally()
        chunk.error_fields[f"fact_{i}"] += 2
        expected[f"fact_{i}"] += 2
        total.merge(chunk)
    assert len(total.error_fields) == MAX_ERROR_FIELDS + 1
    assert total.error_fields[OTHER_FIELDS] == 50 * 2
    assert sum(total.error_fields.values()) == sum(expected.values())
    kept: dict[str, Any] = {k: v for k, v in total.error_fields.items() if k != OTHER_FIELDS}
    assert kept == {f"fact_{i}": 2 for i in range(MAX_ERROR_FIELDS)}
