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
from .tally import ADVERSE_DECISIONS

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
.banner{padding:8px 12px;border-radius:6px;margin:8px 0 12px;border:1px solid #d9dce1;background:#fff}
.banner.member{background:#fff4e5;border-color:#f2a900;font-weight:600}
.banner.alert{background:#fdecea;border-color:#c62828}
table.matrix td.num{min-width:64px}td.adverse{background:#fdecea;color:#b71c1c;font-weight:700}
td.same{color:#777}td.zero{color:#bbb}
.split{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.prov td{font-size:13px}.prov code{word-break:break-all}
.files a{margin-right:16px}
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
        _member_banner(summary),
        _meta(summary),
        _files(summary),
        _cards(summary),
        _alerts(summary),
        _matrix_section(summary),
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
        _splits_section(summary),
        _unmet_section(summary),
        _missing_section(summary),
        _outcomes_section(summary),
        _errors_section(summary),
        _compare_section(summary),
        _duplicates_section(summary),
        _provenance_section(summary),
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
    internal = errors.get("internal", 0)
    invalid = errors.get("invalid", errors["rows"])
    return (
        head + f'<p id="error-split" data-invalid="{invalid}" data-internal="{internal}">'
        f"{_n(errors['rows'])} rows could not be decided: {_n(invalid)} "
        f"invalid input, {_n(internal)} internal errors (a bug, not the data). Each is an error row in "
        "the results naming the field and the value that was wrong. A row may name several fields.</p>"
        + "<h3>By cause</h3><p>Values are left out here; the results file shows each.</p>"
        + descriptions
        + "<h3>By field</h3>"
        + by_field
        + (f"<h3>First {len(errors['examples'])} error rows</h3>" + examples if errors["examples"] else "")
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


def _member_banner(summary: Mapping[str, Any]) -> str:
    examples = (summary.get("provenance") or {}).get("options", {}).get("examples", 0)
    if examples:
        return (
            '<p class="banner member" id="member-data">This report shows up to '
            f"{_n(examples)} example claims per list (<code>--examples {examples}</code>): claim ids, "
            "lines and service dates. It holds member data: keep it as you keep the claims.</p>"
        )
    return (
        '<p class="banner" id="member-data">Counts only: no claim id or cell value is in this report '
        "or in summary.json (the per-claim rows are in the results file).</p>"
    )


def _files(summary: Mapping[str, Any]) -> str:
    names = [summary["output"]["results"], "summary.json"]
    links = "".join(f'<a href="{escape(n)}">{escape(n)}</a>' for n in names)
    return f'<p class="files" id="files">Files beside this report: {links}</p>'


def _alerts(summary: Mapping[str, Any]) -> str:
    errors = summary["errors"]
    parts = []
    if errors.get("internal"):
        parts.append(
            f'<p class="banner alert" id="internal-errors"><strong>{_n(errors["internal"])} rows met an '
            "internal error</strong> (a bug in the tool, not invalid input); they are error rows saying "
            "so, and the run exited with status 4.</p>"
        )
    duplicates = summary.get("duplicates") or {}
    if duplicates.get("rows"):
        parts.append(
            f'<p class="banner alert" id="duplicate-alert">{_n(duplicates["rows"])} rows repeat a claim id '
            f"seen on an earlier row ({_n(duplicates['claim_ids'])} ids; see Duplicate claim ids).</p>"
        )
    return "".join(parts)


def _matrix_section(summary: Mapping[str, Any]) -> str:
    compare = summary.get("compare")
    if not compare:
        return ""
    counts: dict[tuple[str, str], int] = {}
    for t in compare["transitions"]:
        before, _, after = t["transition"].partition(" -> ")
        counts[(before, after)] = t["count"]
    head = "".join(f'<th class="num">{escape(d)}</th>' for d in DECISIONS)
    body = []
    for before in DECISIONS:
        cells = []
        for after in DECISIONS:
            n = counts.get((before, after), 0)
            cls = "num"
            if before == after:
                cls += " same"
            elif n and before == "approve" and after in ADVERSE_DECISIONS:
                cls += " adverse"
            if not n:
                cls += " zero"
            cells.append(
                f'<td class="{cls}" data-from="{escape(before)}" data-to="{escape(after)}" data-count="{n}">'
                f"{_n(n)}</td>"
            )
        total = sum(counts.get((before, a), 0) for a in DECISIONS)
        body.append(f"<tr><th>{escape(before)}</th>{''.join(cells)}<td class=num>{_n(total)}</td></tr>")
    adverse = compare.get("adverse", {})
    lost = sum(c for k, c in adverse.items() if k != "shorter approval")
    shorter = adverse.get("shorter approval", 0)
    return (
        f"<h2>In force then &times; under {escape(compare['to'])}</h2>"
        f"<p>Rows: the decision under the version in force on the service date; columns: under "
        f"{escape(compare['to'])}. <span class=bad>Adverse changes</span> (highlighted): "
        f'<strong id="adverse" data-lost="{lost}" data-shorter="{shorter}">{_n(lost)}</strong> approvals '
        f"would become a denial or a pend, and <strong>{_n(shorter)}</strong> approvals would be "
        "shorter.</p>"
        f'<table id="matrix" class="matrix"><thead><tr><th>from \\ to</th>{head}<th class="num">total</th>'
        f"</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _split_table(table_id: str, label: str, items: Sequence[Mapping[str, Any]], key: str) -> str:
    rows = []
    for item in items:
        name = str(item[key])
        cells = [(f"<code>{escape(name)}</code>", "")]
        if item.get("text"):
            cells = [(f"<code>{escape(name)}</code><br>{escape(item['text'])}", "text")]
        cells += [(_n(item["decisions"].get(d, 0)), "num") for d in DECISIONS]
        cells.append((_n(item["total"]), "num"))
        rows.append(({"name": name, "total": item["total"]}, cells))
    return _table(table_id, [label, *DECISIONS, "total"], rows, [False, *(True for _ in DECISIONS), True])


def _splits_section(summary: Mapping[str, Any]) -> str:
    lobs = summary.get("lines_of_business") or []
    indications = summary.get("indications") or []
    if not lobs and not indications:
        return ""
    return (
        "<h2>By line of business and by indication</h2>"
        "<p>Lines of business as the policy names them (a value the policy does not know is counted as "
        "such, never shown). Indications are the policy's own, as the deciding version matched them; "
        "error rows have none.</p>"
        '<div class="split">'
        + (f"<div><h3>Line of business</h3>{_split_table('by-lob', 'line of business', lobs, 'name')}</div>")
        + (f"<div><h3>Indication</h3>{_split_table('by-indication', 'indication', indications, 'key')}</div>")
        + "</div>"
    )


def _duplicates_section(summary: Mapping[str, Any]) -> str:
    d = summary.get("duplicates") or {}
    if not d.get("rows"):
        return "<h2>Duplicate claim ids</h2><p class='empty' id='duplicates'>No claim id appears twice.</p>"
    lines = ", ".join(str(n) for n in d["first_lines"])
    return (
        "<h2>Duplicate claim ids</h2>"
        f'<p id="duplicates" data-rows="{d["rows"]}" data-ids="{d["claim_ids"]}">{_n(d["rows"])} rows repeat '
        f"a claim id seen on an earlier row ({_n(d['claim_ids'])} distinct ids). Each was still decided. "
        f"The first repeats are at lines {escape(lines)} of the claim file.</p>"
    )


def _served(served: Mapping[str, Any]) -> list[tuple[str, str]]:
    target = f"<code>{escape(served['target'])}</code>"
    if served.get("versions") is None:
        return [
            ("decided by server", f"{target} (its versions could not be listed: {escape(served['error'])})")
        ]
    differ = served.get("differ_from_local") or []
    note = (
        "its versions' hashes are the local ones below"
        if not differ
        else "<strong>its version(s) " + escape(", ".join(differ)) + " differ from the local ones</strong>"
    )
    hashes = "<br>".join(
        f"{escape(v['version'])}: <code>{escape(v['content_hash'])}</code>" for v in served["versions"]
    )
    return [("decided by server", f"{target}; {note}"), ("server's versions", hashes)]


def _provenance_section(summary: Mapping[str, Any]) -> str:
    p = summary.get("provenance")
    if not p:
        return ""
    i = p["input"]
    facts = [
        ("rxpolicy", escape(p["rxpolicy"])),
        ("policy", escape(str(p["policy_id"]))),
        ("policy-set digest", f"<code>{escape(p['policy_set_digest'])}</code>"),
        ("claim file", f"<code>{escape(i['name'])}</code> ({escape(i['format'])})"),
        ("claim file sha256", f"<code>{escape(i['sha256'])}</code>" if i.get("sha256") else "not computed"),
        (
            "claim file size",
            (f"{_n(i['bytes'])} bytes, " if i.get("bytes") is not None else "") + f"{_n(i['rows'])} claims",
        ),
        *(
            [
                (
                    "results sha256",
                    f"<code>{escape(p['results']['name'])}</code> {escape(p['results']['sha256'])}",
                )
            ]
            if p.get("results")
            else []
        ),
        *(_served(p["server"]) if p.get("server") else []),
        ("started", escape(p["started"])),
        ("finished", escape(p["finished"])),
        (
            "options",
            "<br>".join(f"{escape(k)}: <code>{escape(str(v))}</code>" for k, v in p["options"].items()),
        ),
        ("to re-run", f"<code>{escape(p['rerun'])}</code>"),
    ]
    head = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
    versions = "".join(
        f"<tr><td>{escape(v['version'])}</td><td>{escape(v['effective'])}</td><td>{escape(v['recorded'])}</td>"
        f"<td>{'yes' if v.get('used') else ''}</td><td>{escape(str(v.get('corrects') or ''))}</td>"
        f"<td><code>{escape(v['content_hash'])}</code></td></tr>"
        for v in p["versions"]
    )
    return (
        '<h2 id="provenance">Provenance</h2>'
        f'<table class="prov"><tbody>{head}</tbody></table>'
        "<h3>Versions</h3>"
        '<table class="prov" id="prov-versions"><thead><tr><th>version</th><th>in force from</th>'
        "<th>recorded</th><th>used</th><th>corrects</th><th>content hash</th></tr></thead>"
        f"<tbody>{versions}</tbody></table>"
    )
