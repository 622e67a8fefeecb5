"""summary.json and report.html agree with the result rows; the page is self-contained."""

from __future__ import annotations

import collections
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from rxpolicy.server.cli import main
from rxpolicy.server.retro.synth import write_claims
from rxpolicy.server.retro.tally import month_of


class Page(HTMLParser):
    """The parts of report.html the tests read: tables by id, SVG marks, and anything
    that would fetch from outside."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[dict[str, str]]] = collections.defaultdict(list)
        self.rects: dict[str, list[dict[str, str]]] = collections.defaultdict(list)
        self.versions: list[str] = []
        self.external: list[str] = []
        self.tags: collections.Counter[str] = collections.Counter()
        self.ids: dict[str, dict[str, str]] = {}
        self._table: str | None = None
        self._svg: str | None = None
        self.open_tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags[tag] += 1
        if tag not in ("br", "meta", "line", "rect", "img", "link"):
            self.open_tags.append(tag)
        if "id" in a:
            self.ids[a["id"]] = a
        if tag == "table":
            self._table = a.get("id")
        elif tag == "tr" and self._table and any(k.startswith("data-") for k in a):
            self.tables[self._table].append({k[5:]: v for k, v in a.items() if k.startswith("data-")})
        elif tag == "svg":
            self._svg = a.get("id")
        elif tag == "rect" and self._svg:
            self.rects[self._svg].append({k[5:]: v for k, v in a.items() if k.startswith("data-")})
        elif tag == "g" and "data-version" in a:
            self.versions.append(a["data-version"])
        if tag in ("script", "link", "iframe", "object", "embed") or any(
            k in ("src", "href") and v.startswith(("http:", "https:", "//")) for k, v in a.items()
        ):
            self.external.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if self.open_tags and self.open_tags[-1] == tag:
            self.open_tags.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in ("br", "meta", "line", "rect", "img", "link"):
            return
        assert self.open_tags and self.open_tags[-1] == tag, f"</{tag}> closes <{self.open_tags[-1:]}>"
        self.open_tags.pop()
        if tag == "table":
            self._table = None
        elif tag == "svg":
            self._svg = None


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], dict[str, Any], Page]:
    tmp = tmp_path_factory.mktemp("report")
    claims = tmp / "claims.jsonl"
    with claims.open("w", encoding="utf-8") as f:
        write_claims(f, 1500, seed=3, fmt="jsonl", invalid_rate=0.06)
    out = tmp / "out"
    code = main(
        [
            "retro",
            str(claims),
            "--out",
            str(out),
            "--format",
            "jsonl",
            "--compare-to",
            "2.0.0",
            "--workers",
            "1",
            "--no-progress",
            "--examples",
            "20",
        ]
    )
    assert code == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    page = Page()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    page.close()
    return rows, summary, page


def test_summary_counts_agree_with_rows(run: tuple[list[dict[str, Any]], dict[str, Any], Page]) -> None:
    rows, summary, _page = run
    assert summary["rows"]["in"] == summary["rows"]["out"] == len(rows) == 1500
    decisions = collections.Counter(r["decision"] for r in rows)
    assert summary["decisions"] == {
        d: decisions.get(d, 0) for d in ("approve", "deny", "pend", "refer", "error")
    }
    by_version = collections.Counter((r["version"], r["decision"]) for r in rows if r["version"])
    for v in summary["versions"]:
        for d, n in v["decisions"].items():
            assert by_version.get((v["version"], d), 0) == n
        assert v["effective"] == next(r["version_effective"] for r in rows if r["version"] == v["version"])
    assert sum(v["total"] for v in summary["versions"]) == len(rows) - decisions["error"]
    months = collections.Counter((month_of(r["service_date"]), r["decision"]) for r in rows)
    for m in summary["months"]:
        for d, n in m["decisions"].items():
            assert months.get((m["month"], d), 0) == n
    assert summary["undated_rows"] == sum(n for (m, _d), n in months.items() if m is None)
    missing = collections.Counter(f for r in rows for f in r["missing"])
    assert {m["fact"]: m["count"] for m in summary["missing"]} == dict(missing)
    assert sum(u["count"] for u in summary["unmet"]) == sum(len(r["unmet"]) for r in rows)
    cites = collections.Counter(c for r in rows for c in r["unmet"])
    for u in summary["unmet"]:
        assert all(c in cites for c in u["cites"])
    errors = [r for r in rows if r["error"]]
    fields = collections.Counter(f for r in errors for f in r["error"]["fields"])
    assert summary["errors"]["rows"] == len(errors)
    assert summary["errors"]["by_field"] == dict(fields)
    assert [e["line"] for e in summary["errors"]["examples"]] == [r["line"] for r in errors[:20]]
    approvals = collections.Counter(str(r["approval_months"]) for r in rows if r["decision"] == "approve")
    assert summary["approvals"] == dict(approvals)
    assert summary["referrals"] == dict(collections.Counter(r["refer_to"] for r in rows if r["refer_to"]))


def test_every_version_decision_and_error_kind_is_exercised(
    run: tuple[list[dict[str, Any]], dict[str, Any], Page],
) -> None:
    _rows, summary, _page = run
    assert len(summary["versions"]) == 11
    assert all(n > 0 for n in summary["decisions"].values())
    assert {"row", "member_age", "service_date", "diagnosis", "doses", "claim_id"} <= set(
        summary["errors"]["by_field"]
    )


def test_report_is_self_contained_and_well_formed(
    run: tuple[list[dict[str, Any]], dict[str, Any], Page],
) -> None:
    _rows, _summary, page = run
    assert page.external == []  # no script, stylesheet link or remote image
    assert page.tags["svg"] == 2 and page.tags["style"] == 1
    assert page.tags["h1"] == 1 and page.tags["title"] >= 1
    assert page.open_tags == []  # every element closed, in order


def test_report_numbers_agree_with_rows(run: tuple[list[dict[str, Any]], dict[str, Any], Page]) -> None:
    rows, summary, page = run
    decisions = collections.Counter(r["decision"] for r in rows)
    assert {t["decision"]: int(t["count"]) for t in page.tables["decisions"]} == {
        d: decisions.get(d, 0) for d in ("approve", "deny", "pend", "refer", "error")
    }
    cards = page.ids["rows"]
    assert int(cards["data-rows-in"]) == int(cards["data-rows-out"]) == len(rows)
    # The timeline: one mark per (month, decision), summing to every dated row.
    marks = {(r["month"], r["decision"]): int(r["count"]) for r in page.rects["timeline"]}
    dated = collections.Counter((month_of(r["service_date"]), r["decision"]) for r in rows)
    assert marks == {k: n for k, n in dated.items() if k[0] is not None}
    assert page.versions == [v["version"] for v in summary["versions"]]
    by_version = collections.Counter((r["version"], r["decision"]) for r in rows if r["version"])
    bars = {(r["version"], r["decision"]): int(r["count"]) for r in page.rects["version-bars"]}
    assert bars == dict(by_version)
    for tr in page.tables["by-version"]:
        assert int(tr["total"]) == sum(n for (v, _d), n in by_version.items() if v == tr["version"])
    unmet = page.tables["unmet"]
    assert [(u["key"], int(u["count"])) for u in unmet] == [
        (u["key"], u["count"]) for u in summary["unmet"][:15]
    ]
    fields = collections.Counter(f for r in rows if r["error"] for f in r["error"]["fields"])
    assert {t["field"]: int(t["count"]) for t in page.tables["error-fields"]} == dict(fields)
    transitions = collections.Counter(r["transition"] for r in rows)
    assert {t["transition"]: int(t["count"]) for t in page.tables["transitions"]} == dict(transitions)
    changed = page.ids["compare-changed"]
    assert int(changed["data-decision"]) == sum(r["changed"] == "decision" for r in rows)
    assert int(changed["data-unchanged"]) == sum(r["changed"] == "" for r in rows)


def test_matrix_near_the_top_with_adverse_changes_highlighted(
    run: tuple[list[dict[str, Any]], dict[str, Any], Page],
) -> None:
    rows, summary, _page = run
    html = _html(summary)
    assert html.index('id="matrix"') < html.index('id="decisions"')  # near the top
    counted = collections.Counter((r["decision"], r["compare"]["decision"]) for r in rows)
    cells = re.findall(r'<td class="([^"]*)" data-from="(\w+)" data-to="(\w+)" data-count="(\d+)"', html)
    assert len(cells) == 25
    for cls, before, after, n in cells:
        assert counted.get((before, after), 0) == int(n)
        adverse = before == "approve" and after in ("deny", "pend") and int(n) > 0
        assert ("adverse" in cls.split()) == adverse
    lost = sum(n for (b, a), n in counted.items() if b == "approve" and a in ("deny", "pend"))
    assert sum(c for k, c in summary["compare"]["adverse"].items() if k != "shorter approval") == lost


def test_splits_by_line_of_business_and_indication(
    run: tuple[list[dict[str, Any]], dict[str, Any], Page],
) -> None:
    rows, summary, page = run
    lobs = summary["lines_of_business"]
    assert sum(item["total"] for item in lobs) == len(rows)
    assert {"commercial", "medicaid", "marketplace"} <= {item["name"] for item in lobs}
    decided = sum(1 for r in rows if r["decision"] != "error")
    assert sum(item["total"] for item in summary["indications"]) == decided
    assert {t["name"] for t in page.tables["by-lob"]} == {item["name"] for item in lobs}
    assert page.tables["by-indication"]


def test_report_links_to_its_files_and_shows_provenance(
    run: tuple[list[dict[str, Any]], dict[str, Any], Page],
) -> None:
    _rows, summary, _page = run
    html = _html(summary)
    assert 'href="results.jsonl"' in html and 'href="summary.json"' in html
    assert 'id="provenance"' in html and summary["provenance"]["rerun"].split()[0] in html


def _html(summary: dict[str, Any]) -> str:
    from rxpolicy.server.retro.report import render_report

    return render_report(summary)
