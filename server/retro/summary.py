"""summary.json: the merged counts of a run, as plain JSON-ready data.

The HTML report is rendered from this summary alone, so the page, the summary and
the result rows cannot disagree. Everything except ``run`` depends only on the
input and the decisions, so two runs over the same claims (in process or through a
server, with any number of workers) give the same summary apart from ``run``.
"""

from __future__ import annotations

import collections
from typing import Any

import semver

from .results import ERROR
from .tally import Tally

DECISIONS = ("approve", "deny", "pend", "refer", ERROR)


def _decision_counts(counter: collections.Counter[str]) -> dict[str, int]:
    return {d: counter.get(d, 0) for d in DECISIONS}


def _version_key(version: str) -> Any:
    try:
        return (0, semver.Version.parse(version))
    except ValueError:
        return (1, version)


def build_summary(
    tally: Tally,
    *,
    rows_in: int,
    rows_out: int,
    blank_lines: int,
    input_path: str,
    input_format: str,
    results_name: str,
    output_format: str,
    compare_to: str | None,
    run: dict[str, Any],
    provenance: dict[str, Any] | None = None,
    duplicates: dict[str, Any] | None = None,
    examples: int = 0,
) -> dict[str, Any]:
    """The summary. ``examples``: how many claims (ids, lines, service dates) it may show
    per list; 0, the default, shows none: the summary then holds counts, versions,
    criteria and error causes only, and can be passed around as an aggregate."""
    per_version: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for (version, decision), count in tally.by_version.items():
        if version:
            per_version[version][decision] += count
    versions = [
        {
            "version": v,
            "effective": tally.effective.get(v),
            "total": sum(per_version[v].values()),
            "decisions": _decision_counts(per_version[v]),
        }
        for v in sorted(per_version, key=_version_key)
    ]
    per_month: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for (month, decision), count in tally.by_month.items():
        per_month[month][decision] += count
    months = [
        {"month": m, "total": sum(per_month[m].values()), "decisions": _decision_counts(per_month[m])}
        for m in sorted(per_month)
    ]
    return {
        "member_data": (
            f"this summary shows up to {examples} example claims per list (--examples {examples}): "
            "claim ids, lines and service dates; treat it as member data"
            if examples
            else "none: counts, versions, criteria and error causes only (no claim ids or values)"
        ),
        "provenance": provenance,
        "input": {"path": input_path, "format": input_format},
        "output": {"results": results_name, "format": output_format},
        "rows": {
            "in": rows_in,
            "out": rows_out,
            "match": rows_in == rows_out == tally.rows,
            "blank_lines_skipped": blank_lines,
        },
        "decisions": _decision_counts(tally.decisions),
        "versions": versions,
        "months": months,
        "undated_rows": tally.undated,
        "approvals": dict(
            sorted(tally.approval.items(), key=lambda kv: (0, int(kv[0])) if kv[0].isdigit() else (1, 0))
        ),
        "referrals": dict(tally.refer_to.most_common()),
        "unmet": _unmet(tally),
        "missing": [{"fact": f, "count": c} for f, c in tally.missing.most_common()],
        "errors": {
            "rows": tally.decisions.get(ERROR, 0),
            "by_field": dict(tally.error_fields.most_common()),
            "descriptions": [
                {"field": f, "description": d, "count": c}
                for (f, d), c in tally.error_descriptions.most_common()
            ],
            "internal": tally.internal,
            "invalid": tally.decisions.get(ERROR, 0) - tally.internal,
            "examples": tally.error_examples[:examples],
        },
        "duplicates": duplicates or {"rows": 0, "claim_ids": 0, "first_lines": []},
        "lines_of_business": _split(tally.by_lob),
        "indications": [
            s | {"text": tally.indication_text.get(s["key"], "")} for s in _split(tally.by_indication, "key")
        ],
        "compare": _compare(tally, compare_to, examples),
        "run": run,
    }


def _unmet(tally: Tally) -> list[dict[str, Any]]:
    """Unmet criteria grouped by stable key (the citation number moves between versions)."""
    counts: collections.Counter[str] = collections.Counter()
    cites: dict[str, set[str]] = collections.defaultdict(set)
    texts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for (key, cite, text), count in tally.unmet.items():
        group = key or text
        counts[group] += count
        if cite:
            cites[group].add(cite)
        texts[group][text] += count
    return [
        {
            "key": group,
            "cites": sorted(cites[group]),
            "text": texts[group].most_common(1)[0][0],
            "count": count,
        }
        for group, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def _split(counter: collections.Counter[tuple[str, str]], name: str = "name") -> list[dict[str, Any]]:
    per: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for (key, decision), count in counter.items():
        per[key][decision] += count
    return [
        {name: k, "total": sum(per[k].values()), "decisions": _decision_counts(per[k])}
        for k in sorted(per, key=lambda k: (-sum(per[k].values()), k))
    ]


def _compare(tally: Tally, compare_to: str | None, examples: int) -> dict[str, Any] | None:
    if compare_to is None:
        return None
    unchanged = tally.rows - sum(tally.changed.values())
    return {
        "to": compare_to,
        "decisions": _decision_counts(tally.compare_decisions),
        "transitions": [
            {"transition": t, "count": c}
            for t, c in sorted(tally.transitions.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "changed": {
            "decision": tally.changed.get("decision", 0),
            "details": tally.changed.get("details", 0),
            "unchanged": unchanged,
        },
        "changed_by_version": [
            {"version": v, "transition": t, "count": c}
            for (v, t), c in sorted(
                tally.transitions_by_version.items(), key=lambda kv: (_version_key(kv[0][0]), -kv[1])
            )
        ],
        "adverse": dict(sorted(tally.adverse.items())),
        "examples": {k: v[:examples] for k, v in tally.examples.items()} if examples else {},
    }
