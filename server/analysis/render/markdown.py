"""A version diff as Markdown, for a review (tables side by side, witnesses as YAML)."""

from __future__ import annotations

from itertools import groupby

from ..diff.model import AREA_TITLES, AREAS, Change, SemanticDiff, VersionDiff
from ..diff.wording import (
    MARK,
    decision_lines,
    item_words,
    kind_heading,
    outcome_words,
    renumbering_words,
    request_yaml,
    value_words,
)


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip() or " "


def _sides(c: Change) -> tuple[str, str]:
    """What the row shows in the old and the new column."""
    if c.change == "added":
        return "", item_words(c.new)
    if c.change == "removed":
        return item_words(c.old), ""
    olds, news = [], []
    for f in c.fields:
        if f.added or f.removed:
            olds += [f"- {r}" for r in f.removed] or [value_words(f.old)]
            news += [f"+ {a}" for a in f.added]
        elif f.field == c.key:  # a single-valued item: its key already names it
            olds.append(value_words(f.old))
            news.append(value_words(f.new))
        else:
            olds.append(f"{f.field}: {value_words(f.old)}")
            news.append(f"{f.field}: {value_words(f.new)}")
    return "<br>".join(_cell(x) for x in olds), "<br>".join(_cell(x) for x in news)


def _table(changes: list[Change], old: str, new: str) -> list[str]:
    lines = [f"| | key | cite | {old} | {new} |", "|---|---|---|---|---|"]
    for c in changes:
        if c.renumbered_only:
            continue
        before, after = _sides(c)
        lines.append(f"| {MARK[c.change]} | `{c.key}` | {_cell(c.cite)} | {_cell(before)} | {_cell(after)} |")
    moves = renumbering_words(changes)
    if len(lines) == 2:
        lines = []
    if moves:
        lines += ["", moves[0].upper() + moves[1:].replace(" -> ", " → ")]
    return lines


def _area(changes: list[Change], old: str, new: str) -> list[str]:
    lines: list[str] = []
    for section, items in groupby(changes, key=lambda c: c.section):
        if section:
            lines += ["", f"#### {section}"]
        lines += ["", *_table(list(items), old, new)]
    return lines


def _semantic(diff: VersionDiff, sem: SemanticDiff) -> list[str]:
    old, new = diff.structural.old, diff.structural.new
    lines = ["", "## Requests decided differently", ""]
    bump = f"**Required bump: {sem.required_bump.upper()}**"
    if diff.declared_bump is not None:
        ok = "agrees" if diff.declared_bump == sem.required_bump else "**disagrees**"
        bump += f" — declared {old.version} → {new.version} is {diff.declared_bump.upper()} ({ok})"
    lines += [bump, "", f"{sem.proof} _Method: {sem.method}; {sem.queries} queries, {sem.seconds:.2f} s._"]
    for i, kind in enumerate(sem.kinds, 1):
        w = kind.witness
        flag = " — approval lost or shortened" if kind.less_favourable else ""
        lines += ["", f"### {i}. {kind_heading(kind)}{flag}", ""]
        for c in kind.criteria:
            lines.append(f"- {c.cite} {c.text} (`{c.key}`): {c.old} → {c.new}")
        lines += [
            "",
            f"Witness ({w.known_facts} facts besides the service date):",
            "",
            "```yaml",
            request_yaml(w.request).rstrip(),
            "```",
            "",
            f"| | {old.version} (service date {w.old_service_date}) | "
            f"{new.version} (service date {w.request['service_date']}) |",
            "|---|---|---|",
            f"| decision | {_cell(outcome_words(w.old_decision))} | {_cell(outcome_words(w.new_decision))} |",
            f"| because | {'<br>'.join(_cell(x) for x in decision_lines(w.old_decision)) or ' '} | "
            f"{'<br>'.join(_cell(x) for x in decision_lines(w.new_decision)) or ' '} |",
        ]
    return lines


def render_markdown(diff: VersionDiff) -> str:
    s = diff.structural
    old, new = s.old.version, s.new.version
    lines = [
        f"# {s.new.policy_id} {s.new.title}: {old} → {new}",
        "",
        f"| | {old} | {new} |",
        "|---|---|---|",
        f"| in force from | {s.old.effective} | {s.new.effective} |",
        f"| revision log | {_cell(s.old.revision_log)} | {_cell(s.new.revision_log)} |",
        f"| content | `{s.old.content_hash[:19]}…` | `{s.new.content_hash[:19]}…` |",
        "",
        "## What changed",
    ]
    if s.empty:
        lines += ["", "Nothing: the two versions hold the same data."]
    for area in AREAS:
        changes = s.in_area(area)
        if changes:
            lines += ["", f"### {AREA_TITLES[area]}", *_area(changes, old, new)]
        if area == "criteria" and s.dose_limits:
            lines += ["", "### Dose limits", "", "The criteria above that read the dose.", ""]
            lines += _table(s.dose_limits, old, new)
    if diff.semantic is not None:
        lines += _semantic(diff, diff.semantic)
    return "\n".join(lines) + "\n"
