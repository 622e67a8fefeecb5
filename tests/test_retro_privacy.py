"""No member data in the aggregates: summary.json and report.html hold counts, versions,
criteria and error causes, never a claim id or a cell value, unless --examples N, and
then they say so at the top. Provenance in every aggregate."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from rxpolicy.server.cli import main
from rxpolicy.server.retro.synth import write_claims

GOT = re.compile(r"\(got '(.*)'\)$")


def run(tmp: Path, *extra: str) -> tuple[list[dict[str, Any]], str, str]:
    claims = tmp / "claims.jsonl"
    if not claims.exists():
        with claims.open("w", encoding="utf-8") as f:
            write_claims(f, 1500, seed=12, fmt="jsonl", invalid_rate=0.15)
        # A member's name and birth date typed into a diagnosis, and a service date.
        with claims.open("a", encoding="utf-8") as f:
            f.write(
                json.dumps(
                    {
                        "claim_id": "CLM-LEAK-1",
                        "service_date": "2021-03-01",
                        "line_of_business": "Jane Roe",
                        "request_type": "initial",
                        "diagnosis": "Jane Roe 1961-02-03",
                    }
                )
                + "\n"
            )
    out = tmp / ("out" + "-".join(extra))
    args = ["retro", str(claims), "--out", str(out), "--format", "jsonl", "--compare-to", "2.0.0"]
    assert main([*args, "--workers", "1", "--no-progress", *extra]) == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    return rows, (out / "summary.json").read_text(encoding="utf-8"), (out / "report.html").read_text("utf-8")


@pytest.fixture(scope="module")
def counts_only(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], str, str]:
    return run(tmp_path_factory.mktemp("privacy"))


def test_no_claim_id_or_value_in_aggregates(counts_only: tuple[list[dict[str, Any]], str, str]) -> None:
    rows, summary, report = counts_only
    ids = {r["claim_id"] for r in rows if r["claim_id"]}
    assert len(ids) > 1400
    for text in (summary, report):
        assert not [i for i in ids if i in text]
        assert "CLM-" not in text
        assert "Jane" not in text and "1961-02-03" not in text
    values = set()
    for r in rows:
        for v in (r["error"] or {}).get("violations", ()):
            found = GOT.search(v["description"])
            if found and len(found.group(1)) >= 6 and re.search("[A-Za-z]", found.group(1)):
                values.add(found.group(1))
    assert values  # the results do say which value was wrong
    for text in (summary, report):
        assert not [v for v in values if v in text]
    data = json.loads(summary)
    assert data["member_data"].startswith("none")
    assert "Counts only" in report[: report.index("</h1>") + 300]


def test_examples_are_shown_only_when_asked_and_say_so(tmp_path: Path) -> None:
    _rows, summary, report = run(tmp_path, "--examples", "3")
    data = json.loads(summary)
    assert "--examples 3" in data["member_data"]
    assert next(iter(data)) == "member_data"  # at the top
    assert 0 < len(data["errors"]["examples"]) <= 3
    assert all(len(v) <= 3 for v in data["compare"]["examples"].values())
    head = report[: report.index("</h1>") + 400]
    assert "member data" in head and "--examples 3" in head
    assert data["errors"]["examples"][0]["claim_id"] in report


def test_provenance_in_every_aggregate(counts_only: tuple[list[dict[str, Any]], str, str]) -> None:
    rows, summary, report = counts_only
    p = json.loads(summary)["provenance"]
    assert p["rxpolicy"] and p["policy_set_digest"].startswith("sha256:")
    assert p["input"]["rows"] == len(rows) and p["input"]["sha256"].startswith("sha256:")
    assert p["started"] <= p["finished"]
    # 2.0.0 decides 2021 claims, through its latest correction 2.0.2 as known today
    assert {v["version"] for v in p["versions"] if v["used"]} & {"2.0.0", "2.0.2"}
    assert all(v["content_hash"].startswith("sha256:") for v in p["versions"])
    assert p["rerun"].startswith("rxpolicy retro ") and "--compare-to 2.0.0" in p["rerun"]
    assert p["options"]["compare_to"] == "2.0.0" and "token" not in json.dumps(p)
    for value in (p["policy_set_digest"], p["input"]["sha256"], p["versions"][0]["content_hash"]):
        assert value in report
