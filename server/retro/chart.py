"""Inline SVG charts for the report: no script, no fonts or files fetched.

Every mark carries its numbers as data-* attributes and a <title> tooltip, so the
picture can be checked by a parser as well as looked at.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

COLORS: Mapping[str, str] = {
    "approve": "#2e7d32",
    "deny": "#c62828",
    "pend": "#f2a900",
    "refer": "#1565c0",
    "error": "#8a8a8a",
}


def _month_index(month: str) -> int:
    year, mon = month.split("-")
    return int(year) * 12 + int(mon) - 1


def _month_name(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _nice_max(value: int) -> tuple[int, int]:
    """(axis maximum, tick step) with round steps."""
    if value <= 0:
        return 1, 1
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    step_int = max(1, int(step))
    return step_int * math.ceil(value / step_int), step_int


def _fmt(n: int) -> str:
    return f"{n:,}"


def timeline(
    months: Sequence[Mapping[str, Any]], versions: Sequence[Mapping[str, Any]], decisions: Sequence[str]
) -> str:
    """Stacked bars of decisions per service month, version changes marked."""
    if not months:
        return '<p class="empty">No dated claims to chart.</p>'
    width, height = 1240, 400
    left, right, top, bottom = 64, 16, 56, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    first, last = _month_index(months[0]["month"]), _month_index(months[-1]["month"])
    span = last - first + 1
    bar_w = plot_w / span
    by_month = {_month_index(m["month"]): m for m in months}
    y_max, step = _nice_max(max(m["total"] for m in months))

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / y_max

    out = [
        f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="timeline-title">',
        '<title id="timeline-title">Decisions by service month, with the policy version in force</title>',
    ]
    for tick in range(0, y_max + 1, step):
        ty = y(tick)
        out.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}"/>'
            f'<text class="axis" x="{left - 8}" y="{ty + 4:.1f}" text-anchor="end">{_fmt(tick)}</text>'
        )
    for i in range(span):
        month = by_month.get(first + i)
        if month is None:
            continue
        x = left + i * bar_w
        base = 0
        for d in decisions:
            count = month["decisions"].get(d, 0)
            if not count:
                continue
            y0, y1 = y(base + count), y(base)
            out.append(
                f'<rect data-month="{month["month"]}" data-decision="{d}" data-count="{count}" '
                f'x="{x + 0.5:.2f}" y="{y0:.2f}" width="{max(bar_w - 1, 0.5):.2f}" height="{y1 - y0:.2f}" '
                f'fill="{COLORS.get(d, "#444")}"><title>{month["month"]}: {d} {_fmt(count)}</title></rect>'
            )
            base += count
    for i in range(span):
        index = first + i
        # Januaries, and the first month when the first January is too far in to label it.
        if index % 12 == 0 or (i == 0 and 12 - index % 12 >= 4):
            x = left + i * bar_w
            out.append(
                f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 6}"/>'
                f'<text class="axis" x="{x + 2:.1f}" y="{top + plot_h + 20}">{_month_name(index)[:4]}</text>'
            )
    out.append(
        f'<line class="baseline" x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}"/>'
    )
    out.extend(_version_marks(versions, first, span, left, bar_w, top, plot_h))
    out.append(
        f'<text class="axis" x="{left + plot_w / 2:.0f}" y="{height - 12}" text-anchor="middle">'
        "service month (dashed lines: a new policy version takes effect)</text>"
    )
    out.append("</svg>")
    return "".join(out)


def _version_marks(
    versions: Sequence[Mapping[str, Any]],
    first: int,
    span: int,
    left: int,
    bar_w: float,
    top: int,
    plot_h: int,
) -> list[str]:
    out = []
    placed = 0
    for v in versions:
        if not v.get("effective"):
            continue
        day = dt.date.fromisoformat(v["effective"])
        index = day.year * 12 + day.month - 1
        if not first <= index < first + span:
            continue
        days_in_month = (
            (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        ).day
        x = left + (index - first + (day.day - 1) / days_in_month) * bar_w
        label_y = top - 30 if placed % 2 == 0 else top - 14  # staggered: versions can be weeks apart
        placed += 1
        version = escape(str(v["version"]))
        out.append(
            f'<g class="version" data-version="{version}" data-effective="{v["effective"]}">'
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{label_y + 4}" y2="{top + plot_h}"/>'
            f'<text x="{x + 3:.1f}" y="{label_y}">{version}</text>'
            f"<title>version {version}, effective {v['effective']}</title></g>"
        )
    return out


def version_bars(versions: Sequence[Mapping[str, Any]], decisions: Sequence[str]) -> str:
    """One stacked bar per version: how its claims were decided."""
    if not versions:
        return ""
    width, row_h, left, right = 1240, 26, 200, 90
    height = row_h * len(versions) + 8
    scale = (width - left - right) / max(1, max(v["total"] for v in versions))
    out = [
        f'<svg id="version-bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="Decisions by policy version">'
    ]
    for i, v in enumerate(versions):
        y = 4 + i * row_h
        version = escape(str(v["version"]))
        out.append(
            f'<text class="axis" x="{left - 8}" y="{y + 16}" text-anchor="end">'
            f"{version} (from {v.get('effective') or '?'})</text>"
        )
        x = float(left)
        for d in decisions:
            count = v["decisions"].get(d, 0)
            if not count:
                continue
            w = count * scale
            out.append(
                f'<rect data-version="{version}" data-decision="{d}" data-count="{count}" x="{x:.2f}" '
                f'y="{y}" width="{max(w, 0.5):.2f}" height="{row_h - 6}" fill="{COLORS.get(d, "#444")}">'
                f"<title>{version}: {d} {_fmt(count)}</title></rect>"
            )
            x += w
        out.append(f'<text class="axis" x="{x + 6:.1f}" y="{y + 16}">{_fmt(v["total"])}</text>')
    out.append("</svg>")
    return "".join(out)


def legend(decisions: Sequence[str]) -> str:
    items = "".join(
        f'<span class="key"><span class="swatch" style="background:{COLORS.get(d, "#444")}"></span>{d}</span>'
        for d in decisions
    )
    return f'<div class="legend">{items}</div>'
