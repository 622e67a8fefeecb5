"""report.html: one self-contained page rendered from summary.json alone.

No script, no external stylesheet, font or image: it opens offline, from an e-mail
attachment or an archive, years later. Tables carry their numbers in data-* attributes
so tests can read them back without scraping display text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from .chart import legend, timeline, version_bars
from .summary import DECISIONS

TOP_UNMET = 15
TOP_MISSING = 12
TOP_ERROR_DESCRIPTIONS = 20

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 color:#1d1d1f;margin:0;background:#f6f7f9}
main{max-width:1280px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #d9dce1;
 padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
.meta{color:#555;margin:0 0 16px}.meta code{background:#eceef2;padding:1px 4px;border-radius:3px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{background:#fff;border:1px solid #d9dce1;border-radius:6px;padding:10px 16px;min-width:120px}
.card .n{font-size:22px;font-weight:600}.card .l{color:#555;font-size:12px;text-transform:uppercase;
 letter-spacing:.04em}
.ok{color:#2e7d32;font-weight:600}.bad{color:#c62828;font-weight:600}
table{border-collapse:collapse;background:#fff;border:1px solid #d9dce1;margin:6px 0 12px;
 font-variant-numeric:tabular-nums}
th,td{padding:4px 10px;border-bottom:1px solid #eceef2;text-align:left;vertical-align:top}
th{background:#f0f2f5;font-weight:600}td.num,th.num{text-align:right}
td.text{max-width:720px}.chart{background:#fff;border:1px solid #d9dce1;border-radius:6px;padding:8px}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:#333}
svg .grid{stroke:#e6e8ec}svg .baseline,svg .tick{stroke:#888}
svg .version line{stroke:#444;stroke-dasharray:4 3}svg .version text{font-weight:600;fill:#222}
.legend{margin:6px 0}.key{margin-right:16px;white-space:nowrap}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;
 vertical-align:-1px}
.empty{color:#555;font-style:italic}code{font-size:13px}
"""


def _n(value: int) -> str:
    return f"{value:,}"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _table(
    table_id: str,
    head: Sequence[str],
    rows: Iterable[tuple[Mapping[str, Any], Sequence[tuple[str, str]]]],
    numeric: Sequence[bool],
) -> str:
    """A table; each row is (data-* attributes, [(cell html, class)])."""
    out = [f'<table id="{table_id}"><thead><tr>' if table_id else '<table class="examples"><thead><tr>']
    out += [
        f"<th{' class=num' if num else ''}>{escape(h)}</th>" for h, num in zip(head, numeric, strict=True)
    ]
    out.append("</tr></thead><tbody>")
    for attrs, cells in rows:
        data = "".join(f' data-{k}="{escape(str(v))}"' for k, v in attrs.items())
        out.append(f"<tr{data}>")
        out += [f'<td class="{cls}">{html}</td>' if cls else f"<td>{html}</td>" for html, cls in cells]
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def render_report(summary: Mapping[str, Any]) -> str:
    rows = summary["rows"]
    total = rows["out"]
    decisions = summary["decisions"]
    shown = [d for d in DECISIONS if decisions.get(d)] or list(DECISIONS)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Retro-review report</title>",
        f"<style>{_CSS}</style></head><body><main>",
        "<h1>Retro-review report</h1>",
        _meta(summary),
        _cards(summary),
        "<h2>Decisions</h2>",
        _table(
            "decisions",
            ["decision", "claims", "share"],
            (
                (
                    {"decision": d, "count": decisions.get(d, 0)},
                    [
                        (escape(d), ""),
                        (_n(decisions.get(d, 0)), "num"),
                        (_pct(decisions.get(d, 0), total), "num"),
                    ],
                )
                for d in DECISIONS
            ),
            [False, True, True],
        ),
        "<h2>Decisions by version over time</h2>",
        "<p>Each claim was decided under the policy version in force on its service date. "
        "Bars count claims per service month"
        + (
            f"; {_n(summary['undated_rows'])} claims without a valid service date are not charted."
            if summary["undated_rows"]
            else "."
        )
        + "</p>",
        legend(shown),
        f'<div class="chart">{timeline(summary["months"], summary["versions"], shown)}</div>',
        "<h3>By version</h3>",
        f'<div class="chart">{version_bars(summary["versions"], shown)}</div>',
        _versions_table(summary),
        _unmet_section(summary),
        _missing_section(summary),
        _outcomes_section(summary),
        _errors_section(summary),
        _compare_section(summary),
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _meta(summary: Mapping[str, Any]) -> str:
    run = summary["run"]
    compare = summary.get("compare")
    bits = [
        f"Claims: <code>{escape(summary['input']['path'])}</code> ({escape(summary['input']['format'])})",
        f"results: <code>{escape(summary['output']['results'])}</code>",
        f"decided {escape(str(run.get('mode', '')))}",
    ]
    if compare:
        bits.append(f"compared with version <strong>{escape(compare['to'])}</strong>")
    if run.get("finished"):
        bits.append(f"finished {escape(str(run['finished']))}")
    return f'<p class="meta">{" &middot; ".join(bits)}</p>'


def _cards(summary: Mapping[str, Any]) -> str:
    rows = summary["rows"]
    check = (
        '<span class="ok">rows in = rows out</span>'
        if rows["match"]
        else '<span class="bad">ROW COUNT MISMATCH</span>'
    )
    cards = [
        ("rows-in", _n(rows["in"]), "claims in"),
        ("rows-out", _n(rows["out"]), "result rows"),
        ("errors", _n(summary["errors"]["rows"]), "error rows"),
        ("versions", _n(len(summary["versions"])), "versions used"),
    ]
    html = "".join(
        f'<div class="card" id="card-{cid}"><div class="n">{n}</div>'
        f'<div class="l">{escape(label)}</div></div>'
        for cid, n, label in cards
    )
    blank = rows.get("blank_lines_skipped", 0)
    note = f" ({_n(blank)} blank lines skipped)" if blank else ""
    return (
        f'<div class="cards" id="rows" data-rows-in="{rows["in"]}" data-rows-out="{rows["out"]}">{html}</div>'
        + (f"<p>{check}{note}</p>")
    )


def _versions_table(summary: Mapping[str, Any]) -> str:
    # Error rows were decided under no version; they are counted in the Errors section.
    decided = [d for d in DECISIONS if d != "error"]
    rows = []
    for v in summary["versions"]:
        cells = [(escape(v["version"]), ""), (escape(v.get("effective") or ""), "")]
        cells += [(_n(v["decisions"].get(d, 0)), "num") for d in decided]
        cells.append((_n(v["total"]), "num"))
        attrs = {"version": v["version"], "total": v["total"]} | {
            d: v["decisions"].get(d, 0) for d in decided
        }
        rows.append((attrs, cells))
    errors = summary["errors"]["rows"]
    note = f"<p>{_n(errors)} error rows were decided under no version (see Errors).</p>" if errors else ""
    return (
        _table(
            "by-version",
            ["version", "in force from", *decided, "total"],
            rows,
            [False, False, *(True for _ in decided), True],
        )
        + note
    )


def _unmet_section(summary: Mapping[str, Any]) -> str:
    unmet = summary["unmet"]
    if not unmet:
        return "<h2>Most frequent unmet criteria</h2><p class='empty'>No claim was denied.</p>"
    denied = summary["decisions"].get("deny", 0)
    rows = [
        (
            {"key": u["key"], "count": u["count"]},
            [
                (escape(", ".join(u["cites"]) or "-"), ""),
                (escape(u["text"]), "text"),
                (f"<code>{escape(u['key'])}</code>", ""),
                (_n(u["count"]), "num"),
                (_pct(u["count"], denied), "num"),
            ],
        )
        for u in unmet[:TOP_UNMET]
    ]
    return (
        "<h2>Most frequent unmet criteria</h2>"
        f"<p>Across {_n(denied)} denials (a denial may list several criteria). Citations are numbered as "
        "in each version; the key is stable across versions.</p>"
        + _table(
            "unmet",
            ["citation", "criterion", "key", "denials", "of denials"],
            rows,
            [False, False, False, True, True],
        )
    )


def _missing_section(summary: Mapping[str, Any]) -> str:
    missing = summary["missing"]
    if not missing:
        return ""
    pended = summary["decisions"].get("pend", 0)
    rows = [
        (
            {"fact": m["fact"], "count": m["count"]},
            [
                (f"<code>{escape(m['fact'])}</code>", ""),
                (_n(m["count"]), "num"),
                (_pct(m["count"], pended), "num"),
            ],
        )
        for m in missing[:TOP_MISSING]
    ]
    return "<h2>Most frequent missing facts</h2>" + _table(
        "missing", ["fact", "pended claims", "of pended"], rows, [False, True, True]
    )


def _outcomes_section(summary: Mapping[str, Any]) -> str:
    parts = []
    if summary["approvals"]:
        rows = [
            ({"months": k, "count": c}, [(escape(k.replace("_", " ")), ""), (_n(c), "num")])
            for k, c in summary["approvals"].items()
        ]
        parts.append(
            "<h3>Approval durations (months)</h3>"
            + _table("approvals", ["months", "approvals"], rows, [False, True])
        )
    if summary["referrals"]:
        rows = [
            ({"policy": k, "count": c}, [(escape(k), ""), (_n(c), "num")])
            for k, c in summary["referrals"].items()
        ]
        parts.append("<h3>Referrals</h3>" + _table("referrals", ["refer to", "claims"], rows, [False, True]))
    return "<h2>Approvals and referrals</h2>" + "".join(parts) if parts else ""


def _errors_section(summary: Mapping[str, Any]) -> str:
    errors = summary["errors"]
    head = "<h2>Errors</h2>"
    if not errors["rows"]:
        return head + "<p class='empty'>Every row was decided: no invalid claims.</p>"
    by_field = _table(
        "error-fields",
        ["field", "rows"],
        (
            ({"field": f, "count": c}, [(f"<code>{escape(f)}</code>", ""), (_n(c), "num")])
            for f, c in errors["by_field"].items()
        ),
        [False, True],
    )
    descriptions = _table(
        "error-descriptions",
        ["field", "problem", "times"],
        (
            (
                {"field": d["field"], "count": d["count"]},
                [
                    (f"<code>{escape(d['field'])}</code>", ""),
                    (escape(d["description"]), "text"),
                    (_n(d["count"]), "num"),
                ],
            )
            for d in errors["descriptions"][:TOP_ERROR_DESCRIPTIONS]
        ),
        [False, False, True],
    )
    examples = _table(
        "error-examples",
        ["line", "claim", "problems"],
        (
            (
                {"line": e["line"]},
                [
                    (str(e["line"]), "num"),
                    (escape(e["claim_id"]) or "<em>none</em>", ""),
                    (
                        "<br>".join(
                            f"<code>{escape(v['field'])}</code> {escape(v['description'])}"
                            for v in e["violations"]
                        ),
                        "text",
                    ),
                ],
            )
            for e in errors["examples"]
        ),
        [True, False, False],
    )
    return (
        head
        + f"<p>{_n(errors['rows'])} rows could not be decided; each is an error row in the results naming "
        "the field. A row may name several fields.</p>"
        + "<h3>By field</h3>"
        + by_field
        + "<h3>Most frequent problems</h3>"
        + descriptions
        + f"<h3>First {len(errors['examples'])} error rows</h3>"
        + examples
    )


def _brief(o: Mapping[str, Any]) -> str:
    bits = [f"<strong>{escape(str(o['decision']))}</strong>"]
    if o.get("version"):
        bits.append(f"v{escape(o['version'])}")
    months = o.get("approval_months")
    if months == "length_of_benefit":
        bits.append("length of benefit")
    elif months is not None:
        bits.append(f"{escape(str(months))} months")
    if o.get("refer_to"):
        bits.append(f"to {escape(o['refer_to'])}")
    if o.get("unmet"):
        bits.append("unmet " + escape(", ".join(o["unmet"])))
    if o.get("missing"):
        bits.append("missing " + escape(", ".join(o["missing"])))
    if o.get("error_fields"):
        bits.append("error in " + escape(", ".join(o["error_fields"])))
    return " ".join(bits)


def _compare_section(summary: Mapping[str, Any]) -> str:
    compare = summary.get("compare")
    if not compare:
        return ""
    changed = compare["changed"]
    total = summary["rows"]["out"]
    transitions = _table(
        "transitions",
        ["transition", "claims", "share"],
        (
            (
                {"transition": t["transition"], "count": t["count"]},
                [(escape(t["transition"]), ""), (_n(t["count"]), "num"), (_pct(t["count"], total), "num")],
            )
            for t in compare["transitions"]
        ),
        [False, True, True],
    )
    examples = []
    # Most frequent changes first, decision changes before detail changes.
    counts = {t["transition"]: t["count"] for t in compare["transitions"]}

    def weight(key: str) -> tuple[bool, int, str]:
        transition, _, kind = key.partition(" (")
        return (kind != "decision)", -counts.get(transition, 0), key)

    for key in sorted(compare["examples"], key=weight):
        found = compare["examples"][key]
        rows = (
            (
                {"line": e["line"]},
                [
                    (str(e["line"]), "num"),
                    (escape(e["claim_id"]), ""),
                    (escape(e["service_date"]), ""),
                    (_brief(e["before"]), ""),
                    (_brief(e["after"]), ""),
                ],
            )
            for e in found
        )
        examples.append(
            f"<h3>{escape(key)}</h3>"
            + _table(
                "",
                ["line", "claim", "service date", "in force then", f"under {compare['to']}"],
                rows,
                [True, False, False, False, False],
            )
        )
    return (
        f"<h2>What version {escape(compare['to'])} would have decided</h2>"
        f'<p id="compare-changed" data-decision="{changed["decision"]}" data-details="{changed["details"]}" '
        f'data-unchanged="{changed["unchanged"]}">'
        f"{_n(changed['decision'])} claims change decision, {_n(changed['details'])} keep the decision "
        "with different details (duration, referral target, criteria), "
        f"{_n(changed['unchanged'])} are unchanged.</p>"
        + transitions
        + ("<h2>Examples of changes</h2>" + "".join(examples) if examples else "")
    )
