"""A version diff as plain text for a terminal."""

from __future__ import annotations

import textwrap
from itertools import groupby

from ..diff.model import AREA_TITLES, AREAS, Change, SemanticDiff, VersionDiff
from ..diff.wording import (
    MARK,
    change_heading,
    criteria_words,
    field_words,
    item_words,
    kind_heading,
    outcome_words,
    renumbering_words,
    request_json,
    value_words,
)

WIDTH = 110


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent + "    ") or [indent]


def _change(c: Change, indent: str) -> list[str]:
    if c.change == "changed" and len(c.fields) == 1 and c.fields[0].field == c.key:
        words = f"{MARK[c.change]} {field_words(c.fields[0])}"
        if len(words) <= WIDTH - len(indent) or c.fields[0].added or c.fields[0].removed:
            return _wrap(words, indent)
    lines = [f"{indent}{change_heading(c)}"]
    if c.change != "changed":
        lines += _wrap(item_words(c.new or c.old), indent + "    ")
        return lines
    for f in c.fields:
        words = field_words(f)
        if len(words) <= WIDTH - len(indent) - 4 or f.added or f.removed:
            lines += _wrap(words, indent + "    ")
        else:
            lines += _wrap(f"{f.field} was: {value_words(f.old)}", indent + "    ")
            lines += _wrap(f"{f.field} now: {value_words(f.new)}", indent + "    ")
    return lines


def _changes(changes: list[Change], indent: str) -> list[str]:
    lines: list[str] = []
    for section, items in groupby(changes, key=lambda c: c.section):
        group = list(items)
        inner = indent
        if section:
            lines.append(f"{indent}{section}")
            inner = indent + "  "
        for c in group:
            if not c.renumbered_only:
                lines += _change(c, inner)
        moves = renumbering_words(group)
        if moves:
            lines += _wrap(moves, inner)
    return lines


def _semantic(diff: VersionDiff, sem: SemanticDiff) -> list[str]:
    old, new = diff.structural.old, diff.structural.new
    lines = ["", f"SEMANTIC DIFF ({sem.method})"]
    bump = f"required bump: {sem.required_bump.upper()}"
    if diff.declared_bump is not None:
        verdict = "agrees" if diff.declared_bump == sem.required_bump else "DISAGREES"
        bump += f"; declared {old.version} -> {new.version}: {diff.declared_bump.upper()} ({verdict})"
    lines.append(bump)
    lines += _wrap(sem.proof, "")
    lines.append(f"({sem.queries} solver queries, {sem.seconds:.2f} s)")
    if sem.kinds:
        lines.append("")
        lines.append(f"{len(sem.kinds)} kinds of request are decided differently:")
    for i, kind in enumerate(sem.kinds, 1):
        w = kind.witness
        lines.append("")
        flag = "  [approval lost or shortened]" if kind.less_favourable else ""
        lines += _wrap(f"{i}. {kind_heading(kind)}{flag}", "")
        for words in criteria_words(kind):
            lines += _wrap(f"criterion {words}", "   ")
        lines.append(f"   witness ({w.known_facts} facts besides the service date):")
        lines += _wrap(request_json(w.request), "     ")
        lines.append(f"   {old.version} (service_date {w.old_service_date}): {outcome_words(w.old_decision)}")
        lines.append(
            f"   {new.version} (service_date {w.request['service_date']}): {outcome_words(w.new_decision)}"
        )
    return lines


def render_text(diff: VersionDiff) -> str:
    s = diff.structural
    lines = [
        f"{s.new.policy_id} {s.new.title}",
        f"from {s.old.version} (in force {s.old.effective})  to {s.new.version} (in force {s.new.effective})",
    ]
    lines += _wrap(f"revision log of {s.new.version}: {s.new.revision_log}", "")
    lines.append("")
    if s.empty:
        lines.append("STRUCTURAL CHANGES: none (the two versions hold the same data)")
    else:
        lines.append(f"STRUCTURAL CHANGES ({len(s.changes)})")
    for area in AREAS:
        changes = s.in_area(area)
        if changes:
            lines += ["", AREA_TITLES[area]]
            lines += _changes(changes, "  ")
        if area == "criteria" and s.dose_limits:
            lines += ["", "Dose limits (the criteria above that read the dose)"]
            lines += _changes(s.dose_limits, "  ")
    if diff.semantic is not None:
        lines += _semantic(diff, diff.semantic)
    return "\n".join(lines) + "\n"
