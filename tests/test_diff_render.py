"""The four renderings of a diff, through diff_document (the CLI's and the RPC's entry point)."""

from __future__ import annotations

import json
import threading
from html.parser import HTMLParser
from typing import Any

import pytest
import yaml
from rxpolicy.server.analysis.diff.document import FORMATS, DiffDocument, diff_document, diff_versions
from rxpolicy.server.analysis.render.markdown import render_markdown
from rxpolicy.server.analysis.render.text import render_text
from rxpolicy.server.engine.errors import InvalidRequest, NotFound
from rxpolicy.server.engine.store import VersionStore

VOID = {"meta", "col", "br", "hr", "img", "input", "link", "wbr", "area", "base", "source"}


class _Page(HTMLParser):
    """Collects the structure of a page: well-formedness, sections, tables, witnesses."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.ids: set[str] = set()
        self.pre: list[str] = []
        self._in_pre = False
        self.kind_headings: list[str] = []
        self._in_kind_h3 = False
        self.header_cells: list[list[str]] = []
        self._in_th = False
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if "id" in a:
            if a["id"] in self.ids:
                self.problems.append(f"duplicate id {a['id']}")
            self.ids.add(a["id"])
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "pre" and "request" in a.get("class", ""):
            self._in_pre = True
            self.pre.append("")
        if tag == "h3" and self.stack[-2:-1] == ["article"]:
            self._in_kind_h3 = True
            self.kind_headings.append("")
        if tag == "thead":
            self.header_cells.append([])
        if tag == "th":
            self._in_th = True

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        if tag == "pre":
            self._in_pre = False
        if tag == "h3":
            self._in_kind_h3 = False
        if tag == "th":
            self._in_th = False

    def handle_data(self, data: str) -> None:
        if self._in_pre:
            self.pre[-1] += data
        if self._in_kind_h3:
            self.kind_headings[-1] += data
        if self._in_th and self.header_cells:
            self.header_cells[-1].append(data)


@pytest.fixture(scope="module")
def html_doc(store: VersionStore) -> DiffDocument:
    return diff_document(store, "4.4.0", "2025-03-25", semantic=True, fmt="html")


def test_html_page_is_self_contained_and_well_formed(html_doc: DiffDocument) -> None:
    page = _Page()
    page.feed(html_doc.content)
    page.close()
    assert page.doctype.lower() == "doctype html"
    assert page.problems == [] and page.stack == []
    names = [t for t, _ in page.tags]
    assert names.count("html") == 1 and names.count("style") == 1 and names.count("title") == 1
    # Nothing to fetch: no scripts, no stylesheets, no images, no links off the page.
    assert not {"script", "link", "img", "iframe"} & set(names)
    for _, attrs in page.tags:
        assert "src" not in attrs
        assert attrs.get("href", "#").startswith("#")
    assert {"changes", "witnesses", "area-criteria", "area-product", "area-doses"} <= page.ids


def test_html_shows_old_and_new_side_by_side(html_doc: DiffDocument) -> None:
    page = _Page()
    page.feed(html_doc.content)
    assert page.header_cells, "no side-by-side tables"
    for cells in page.header_cells:
        assert cells[-2:] == ["4.4.0", "4.5.1"]  # 4.5.0 as corrected
    rows = [a.get("class") for t, a in page.tags if t == "tr" and a.get("class")]
    assert {"added", "removed", "changed"} <= set(rows)


def test_html_witnesses_are_real_requests(store: VersionStore, html_doc: DiffDocument) -> None:
    page = _Page()
    page.feed(html_doc.content)
    kinds = [a for t, a in page.tags if t == "article" and "kind" in a.get("class", "")]
    assert len(kinds) == len(page.pre) == len(page.kind_headings) == 10
    new = store.resolve("2025-03-25")
    for heading, text in zip(page.kind_headings, page.pre, strict=True):
        request = yaml.safe_load(text)
        expected = heading.split(". ", 1)[1].split(" → ")[1].split()[0]
        try:
            outcome = store.decide(request, version=new).outcome
        except InvalidRequest:
            outcome = "invalid"
        assert outcome == expected, heading


def test_document_fields(store: VersionStore, html_doc: DiffDocument) -> None:
    assert html_doc.media_type == "text/html; charset=utf-8"
    assert (html_doc.from_version, html_doc.to_version) == ("4.4.0", "4.5.1")
    assert html_doc.equivalent is False and html_doc.required_bump == "minor"
    plain = diff_document(store, "4.4.0", "latest", semantic=False, fmt="text")
    assert plain.equivalent is None and plain.required_bump is None
    assert plain.media_type.startswith("text/plain")
    # the date names 2.1.2, the latest correction of 2.1.0 in force today
    same = diff_document(store, "2.1.2", "2021-06-01", semantic=True, fmt="json")
    assert (same.from_version, same.to_version, same.equivalent, same.required_bump) == (
        "2.1.2",
        "2.1.2",
        True,
        "patch",
    )
    data = json.loads(same.content)
    assert data["structural"] == {"empty": True, "changes": []}
    assert data["semantic"]["equivalent"] is True and data["semantic"]["kinds"] == []


def test_json_carries_every_kind_with_both_decisions(store: VersionStore) -> None:
    doc = diff_document(store, "2021-05-11", "2021-11-24", semantic=True, fmt="json")
    assert doc.media_type == "application/json"
    data: dict[str, Any] = json.loads(doc.content)
    assert data["declared_bump"] == "major" and data["semantic"]["required_bump"] == "major"
    assert data["semantic"]["declared_bump_agrees"] is True
    for kind in data["semantic"]["kinds"]:
        w = kind["witness"]
        assert w["request"]["service_date"] == "2021-11-24" and w["old_service_date"] == "2021-05-11"
        assert w["old_decision"]["decision"] == kind["old_outcome"]
        assert w["new_decision"]["decision"] == kind["new_outcome"]
        assert kind["title"].startswith(f"{kind['old_outcome']} -> {kind['new_outcome']}")
    keys = {c["key"] for c in data["structural"]["changes"]}
    assert {"mm.generic", "bcell.generic", "cont.generic"} <= keys


def test_text_and_markdown(store: VersionStore) -> None:
    diff = diff_versions(store, store.resolve("4.1.0"), store.resolve("4.2.0"), semantic=True)
    text = render_text(diff)
    assert "SEMANTIC DIFF" in text and "required bump: MINOR" in text
    assert "refer -> refer (CP.PMN.53 -> CP.PMN.16)" in text
    content = render_markdown(diff)
    assert content.startswith("# CP.PHAR.431 Selinexor (Xpovio): 4.1.0 → 4.2.0")
    assert "| + | `other.label_change.formulary` | I.C.1.a |" in content
    kinds = [line for line in content.splitlines() if line.startswith("### ") and line[4].isdigit()]
    assert len(kinds) == content.count("```yaml") == 20
    plain = diff_document(store, "2022-04-28", "2022-09-23", semantic=False, fmt="markdown")
    assert (
        plain.media_type.startswith("text/markdown") and "Requests decided differently" not in plain.content
    )


def test_every_format_and_bad_references(store: VersionStore) -> None:
    for fmt in FORMATS:
        assert diff_document(store, "1.0.0", "1.1.0", semantic=False, fmt=fmt).content
    with pytest.raises(ValueError, match="format"):
        diff_document(store, "1.0.0", "1.1.0", semantic=False, fmt="pdf")
    with pytest.raises(NotFound):
        diff_document(store, "9.9.9", "1.1.0", semantic=False, fmt="text")
    with pytest.raises(NotFound):
        diff_document(store, "1.0.0", "1.1.0", policy_id="NO.SUCH", semantic=False, fmt="text")


def test_semantic_diffs_from_several_threads(store: VersionStore) -> None:
    """The gRPC service runs diffs in worker threads; z3's shared context must not be raced."""
    results: dict[str, str | None] = {}

    def run(a: str, b: str) -> None:
        results[a] = diff_document(store, a, b, semantic=True, fmt="json").required_bump

    threads = [
        threading.Thread(target=run, args=pair)
        for pair in (("3.0.0", "4.0.0"), ("2.0.0", "2.1.0"), ("4.3.0", "4.3.0"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {"3.0.0": "major", "2.0.0": "minor", "4.3.0": "patch"}
