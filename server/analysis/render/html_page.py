"""A version diff as one self-contained HTML page: no scripts, fonts or links to fetch.

Top: which versions, the semver verdict. Middle: what changed, old and new side by
side. Bottom: each kind of request decided differently, its witness request and the
two decisions side by side.
"""

from __future__ import annotations

from html import escape
from itertools import groupby

from ..diff.model import AREA_TITLES, AREAS, Change, DifferenceKind, SemanticDiff, VersionDiff
from ..diff.wording import (
    decision_lines,
    item_words,
    outcome_short,
    renumbering_words,
    request_yaml,
    value_words,
)

CSS = """
:root { --add: #e6f4ea; --add-edge: #1e8e3e; --del: #fce8e6; --del-edge: #c5221f;
  --chg: #fef7e0; --chg-edge: #b06000; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 0; background: #f6f8fa; }
main { max-width: 1320px; margin: 0 auto; padding: 24px 32px 48px; }
header { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 20px 24px;
  display: flex; gap: 24px; align-items: flex-start; justify-content: space-between; }
h1 { font-size: 22px; margin: 0 0 6px; }
h2 { font-size: 19px; margin: 32px 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 8px; }
h4 { font-size: 14px; margin: 16px 0 6px; color: var(--muted); }
.versions { font-size: 16px; margin: 0; }
.versions b { font-size: 18px; }
.log { color: var(--muted); margin: 8px 0 0; max-width: 900px; }
.verdict { text-align: center; min-width: 190px; border-radius: 8px; padding: 10px 14px;
  border: 2px solid var(--muted); }
.verdict .bump { font-size: 26px; font-weight: 700; letter-spacing: .04em; }
.verdict.major { border-color: var(--del-edge); background: var(--del); }
.verdict.minor { border-color: var(--chg-edge); background: var(--chg); }
.verdict.patch { border-color: var(--add-edge); background: var(--add); }
.verdict .note { font-size: 13px; color: var(--muted); }
.legend { color: var(--muted); font-size: 13px; margin: 10px 0 0; }
.summary { display: flex; flex-wrap: wrap; gap: 8px; margin: 16px 0 0; padding: 0; list-style: none; }
.summary li { background: #fff; border: 1px solid var(--line); border-radius: 14px; padding: 3px 12px;
  font-size: 13px; }
.summary a { color: inherit; text-decoration: none; }
table.sbs { width: 100%; border-collapse: collapse; background: #fff; table-layout: fixed;
  border: 1px solid var(--line); }
table.sbs th, table.sbs td { border-bottom: 1px solid var(--line); padding: 6px 10px; vertical-align: top;
  text-align: left; overflow-wrap: anywhere; }
table.sbs th { background: #eef1f4; font-size: 13px; }
table.sbs col.mark { width: 34px; } table.sbs col.key { width: 24%; } table.sbs col.cite { width: 9%; }
tr.added td.new, tr.added td.mark { background: var(--add); }
tr.removed td.old, tr.removed td.mark { background: var(--del); }
tr.changed td.old { background: var(--del); } tr.changed td.new { background: var(--add); }
tr.changed td.mark { background: var(--chg); }
td.mark { font-weight: 700; text-align: center; }
code, pre { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.rule { display: block; color: var(--muted); font-size: 13px; }
.field { display: block; }
.field b { font-weight: 600; }
.moves { font-size: 13px; color: var(--muted); margin: 6px 0 0; }
.proof { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--add-edge);
  padding: 10px 14px; border-radius: 6px; }
article.kind { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px;
  margin: 14px 0; }
article.kind.lost { border-left: 5px solid var(--del-edge); }
article.kind h3 { margin-top: 0; }
.tag { display: inline-block; font-size: 12px; border-radius: 10px; padding: 1px 8px; margin-left: 6px;
  background: var(--del); color: var(--del-edge); font-weight: 600; vertical-align: middle; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; margin-top: 10px; }
.side { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.side h4 { margin: 0 0 6px; }
.outcome { font-weight: 700; font-size: 15px; }
.outcome.approve { color: #137333; } .outcome.deny { color: #a50e0e; } .outcome.pend { color: #8a5300; }
.outcome.refer { color: #1a4fa0; } .outcome.invalid { color: #5f2a96; }
.side ul { margin: 6px 0 0; padding-left: 18px; font-size: 13px; color: var(--muted); }
pre.request { background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px;
  margin: 8px 0 0; white-space: pre-wrap; }
ul.criteria { margin: 4px 0; padding-left: 18px; }
footer { color: var(--muted); font-size: 13px; margin-top: 28px; }
"""

_MARKS = {"added": "+", "removed": "&minus;", "changed": "~"}


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _item(item: object) -> str:
    if not isinstance(item, dict) or not item:
        return ""
    parts = []
    if item.get("text"):
        parts.append(_e(item["text"]))
    if item.get("rule"):
        parts.append(f'<code class="rule">{_e(item["rule"])}</code>')
    elif "value" in item:
        parts.append(f'<span class="field">{_e(value_words(item["value"]))}</span>')
    return "".join(parts) or _e(item_words(item))


def _sides(c: Change) -> tuple[str, str]:
    if c.change == "added":
        return "", _item(c.new)
    if c.change == "removed":
        return _item(c.old), ""
    olds, news = [], []
    for f in c.fields:
        if f.added or f.removed:
            olds += [f'<span class="field"><b>{_e(f.field)}</b> &minus; {_e(r)}</span>' for r in f.removed]
            if not f.removed:  # nothing taken away: show what there was
                olds.append(f'<span class="field">{_e(value_words(f.old))}</span>')
            news += [f'<span class="field"><b>{_e(f.field)}</b> + {_e(a)}</span>' for a in f.added]
        elif f.field == c.key:  # a single-valued item: its key already names it
            olds.append(f'<span class="field">{_e(value_words(f.old))}</span>')
            news.append(f'<span class="field">{_e(value_words(f.new))}</span>')
        else:
            olds.append(f'<span class="field"><b>{_e(f.field)}</b>: {_e(value_words(f.old))}</span>')
            news.append(f'<span class="field"><b>{_e(f.field)}</b>: {_e(value_words(f.new))}</span>')
    return "".join(olds), "".join(news)


def _table(changes: list[Change], old: str, new: str) -> list[str]:
    rows = [c for c in changes if not c.renumbered_only]
    out = []
    if rows:
        out += [
            '<table class="sbs"><colgroup><col class="mark"><col class="key"><col class="cite">'
            "<col><col></colgroup>",
            f"<thead><tr><th></th><th>key</th><th>cite</th><th>{_e(old)}</th><th>{_e(new)}</th></tr></thead>",
            "<tbody>",
        ]
        for c in rows:
            before, after = _sides(c)
            out.append(
                f'<tr class="{c.change}"><td class="mark" title="{c.change}">{_MARKS[c.change]}</td>'
                f"<td><code>{_e(c.key)}</code></td><td>{_e(c.cite)}</td>"
                f'<td class="old">{before}</td><td class="new">{after}</td></tr>'
            )
        out.append("</tbody></table>")
    moves = renumbering_words(changes)
    if moves:
        out.append(f'<p class="moves">{_e(moves[0].upper() + moves[1:].replace(" -> ", " → "))}</p>')
    return out


def _area(area: str, changes: list[Change], old: str, new: str) -> list[str]:
    out = [f'<section class="area" id="area-{area}"><h3>{_e(AREA_TITLES[area])}</h3>']
    for section, items in groupby(changes, key=lambda c: c.section):
        if section:
            out.append(f"<h4>{_e(section)}</h4>")
        out += _table(list(items), old, new)
    out.append("</section>")
    return out


def _decision(version: str, date: str, decision: dict[str, object] | object) -> str:
    assert isinstance(decision, dict)
    outcome = "invalid" if "error" in decision else str(decision["decision"])
    reasons = "".join(f"<li>{_e(x)}</li>" for x in decision_lines(decision))
    return (
        f'<div class="side"><h4>{_e(version)} <small>(service date {_e(date)})</small></h4>'
        f'<div class="outcome {outcome}">{_e(outcome_short(decision))}</div>'
        + (f"<ul>{reasons}</ul>" if reasons else "")
        + "</div>"
    )


def _kind(i: int, kind: DifferenceKind, old: str, new: str) -> list[str]:
    w = kind.witness
    tag = '<span class="tag">approval lost or shortened</span>' if kind.less_favourable else ""
    where = ""
    if kind.old_section or kind.new_section:
        if kind.old_section == kind.new_section:
            where = f"<p>Under {_e(kind.new_section)}</p>"
        else:
            where = (
                f"<p>Under {_e(kind.old_section or 'no section')} → "
                f"{_e(kind.new_section or 'no section')}</p>"
            )
    criteria = "".join(
        f"<li>{_e(c.cite)} {_e(c.text)} <code>{_e(c.key)}</code>: {_e(c.old)} → <b>{_e(c.new)}</b></li>"
        for c in kind.criteria
    )
    return [
        f'<article class="kind{" lost" if kind.less_favourable else ""}" id="kind-{i}">',
        f"<h3>{i}. {_e(kind.title.replace(' -> ', ' → '))}{tag}</h3>",
        where,
        f'<ul class="criteria">{criteria}</ul>' if criteria else "",
        f"<div>Witness request ({w.known_facts} facts besides the service date):</div>",
        f'<pre class="request">{_e(request_yaml(w.request))}</pre>',
        '<div class="pair">',
        _decision(old, w.old_service_date, dict(w.old_decision)),
        _decision(new, str(w.request["service_date"]), dict(w.new_decision)),
        "</div>",
        "</article>",
    ]


def _semantic(diff: VersionDiff, sem: SemanticDiff) -> list[str]:
    old, new = diff.structural.old.version, diff.structural.new.version
    out = [
        '<section id="witnesses"><h2>Requests decided differently</h2>',
        f'<p class="proof">{_e(sem.proof)}</p>',
    ]
    if not sem.kinds:
        out.append("<p>No request is decided differently.</p>")
    for i, kind in enumerate(sem.kinds, 1):
        out += _kind(i, kind, old, new)
    out.append("</section>")
    return out


def _verdict(diff: VersionDiff) -> str:
    sem = diff.semantic
    if sem is None:
        return '<div class="verdict"><div class="note">structural diff only<br>(no --semantic)</div></div>'
    note = "proved equivalent" if sem.equivalent else f"{len(sem.kinds)} kinds of request change"
    declared = ""
    if diff.declared_bump is not None:
        agrees = "agrees" if diff.declared_bump == sem.required_bump else "DISAGREES"
        declared = f'<div class="note">declared {diff.declared_bump.upper()}: {agrees}</div>'
    return (
        f'<div class="verdict {sem.required_bump}"><div class="note">required bump</div>'
        f'<div class="bump">{sem.required_bump.upper()}</div>{declared}'
        f'<div class="note">{_e(note)}</div></div>'
    )


def render_html(diff: VersionDiff) -> str:
    s = diff.structural
    old, new = s.old.version, s.new.version
    title = f"{s.new.policy_id} {s.new.title}: {old} → {new}"
    chips = [
        f'<li><a href="#area-{a}">{_e(AREA_TITLES[a])}: {len(s.in_area(a))}</a></li>'
        for a in AREAS
        if s.in_area(a)
    ]
    if diff.semantic is not None:
        kinds = len(diff.semantic.kinds)
        chips.append(f'<li><a href="#witnesses">kinds of request decided differently: {kinds}</a></li>')
    body = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{CSS}</style></head>",
        "<body><main>",
        "<header><div>",
        f"<h1>{_e(s.new.policy_id)} {_e(s.new.title)}</h1>",
        f'<p class="versions"><b>{_e(old)}</b> (in force {_e(s.old.effective)}) → '
        f"<b>{_e(new)}</b> (in force {_e(s.new.effective)})</p>",
        f'<p class="log">Revision log of {_e(new)}: {_e(s.new.revision_log)}</p>',
        '<p class="legend">+ added (green, right) · &minus; removed (red, left) · '
        "~ changed (old left, new right)</p>",
        "</div>",
        _verdict(diff),
        "</header>",
        f'<ul class="summary">{"".join(chips)}</ul>' if chips else "",
        '<section id="changes"><h2>What changed</h2>',
    ]
    if s.empty:
        body.append("<p>Nothing: the two versions hold the same data.</p>")
    for area in AREAS:
        changes = s.in_area(area)
        if changes:
            body += _area(area, changes, old, new)
        if area == "criteria" and s.dose_limits:
            body += [
                '<section class="area" id="area-doses"><h3>Dose limits</h3>',
                '<p class="moves">The criteria above that read the dose, side by side.</p>',
                *_table(s.dose_limits, old, new),
                "</section>",
            ]
    body.append("</section>")
    if diff.semantic is not None:
        body += _semantic(diff, diff.semantic)
        body.append(
            f"<footer>Method: {_e(diff.semantic.method)}; {diff.semantic.queries} solver queries, "
            f"{diff.semantic.seconds:.2f} s. Every witness was decided again by the policy engine.</footer>"
        )
    body += ["</main></body></html>"]
    return "\n".join(x for x in body if x) + "\n"
