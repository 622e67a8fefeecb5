"""Result rows: one per claim, built only from typed results.

Both ways of deciding (in process, or through a server) give the same typed results
(``rxpolicy.decisions``); every output row and every count in the summary is made from
those here, which is what makes the two paths' output identical.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs
from rxpolicy.decisions import ErrorResult, FieldViolation, Result, approval_months

OutputFormat = Literal["csv", "jsonl"]
ERROR = "error"

BASE_COLUMNS = (
    "line",
    "claim_id",
    "service_date",
    "version",
    "version_effective",
    "decision",
    "approval_months",
    "approved_through",
    "refer_to",
    "unmet",
    "missing",
    "error_fields",
    "errors",
)
OUTCOME_COLUMNS = BASE_COLUMNS[3:]
COMPARE_COLUMNS = (
    *(f"compare_{c}" for c in OUTCOME_COLUMNS),
    "transition",
    "changed",
)

Row = dict[str, Any]


def outcome(result: Result) -> Row:
    """The per-claim fields of one result (decision or error), JSON-ready."""
    if isinstance(result, ErrorResult):
        return {
            "version": None,
            "version_effective": None,
            "decision": ERROR,
            "approval_months": None,
            "approved_through": None,
            "refer_to": None,
            "unmet": [],
            "missing": [],
            "error": {
                "fields": list(dict.fromkeys(result.fields)),
                "violations": [{"field": v.field, "description": v.description} for v in result.violations],
            },
        }
    through = result.approval.approved_through if result.approval else None
    return {
        "version": result.version.version,
        "version_effective": result.version.effective.isoformat(),
        "decision": result.outcome,
        "approval_months": approval_months(result.approval),
        "approved_through": through.isoformat() if through else None,
        "refer_to": result.refer_to,
        "unmet": list(result.unmet_cites),
        "missing": list(result.missing),
        "error": None,
    }


def field_order(facts: Iterable[str]) -> dict[str, int]:
    """Rank of each field for listing violations: the row itself, the claim id, then the
    facts in the policy's order."""
    return {"row": -2, "claim_id": -1} | {name: i for i, name in enumerate(facts)}


def sort_violations(result: Result, order: Mapping[str, int]) -> Result:
    """Violations in a fixed order, not in the order the request's keys happened to arrive:
    a CSV header, a JSON line and a proto message order their facts differently, and the
    same claim must read the same whichever way it was decided. Stable, so the items of
    one list field keep the engine's order."""
    if not isinstance(result, ErrorResult) or len(result.violations) < 2:
        return result
    last = len(order)

    def rank(v: FieldViolation) -> tuple[int, str]:
        base = v.field.split("[", 1)[0].split(".", 1)[0]
        return order.get(base, last), base

    return attrs.evolve(result, violations=tuple(sorted(result.violations, key=rank)))


def change(before: Row, after: Row) -> tuple[str, str]:
    """(transition "deny -> approve", what changed: "decision", "details" or "")."""
    transition = f"{before['decision']} -> {after['decision']}"
    if before["decision"] != after["decision"]:
        return transition, "decision"
    fields = ("approval_months", "approved_through", "refer_to", "unmet", "missing", "error")
    if any(before[f] != after[f] for f in fields):
        return transition, "details"
    return transition, ""


def make_row(line: int, claim_id: str, service_date: str, result: Result, compare: Result | None) -> Row:
    row: Row = {"line": line, "claim_id": claim_id, "service_date": service_date}
    row.update(outcome(result))
    if compare is not None:
        other = outcome(compare)
        row["compare"] = other
        row["transition"], row["changed"] = change(row, other)
    return row


def _joined(items: Iterable[str]) -> str:
    return ";".join(items)


def _errors_text(error: Mapping[str, Any] | None) -> tuple[str, str]:
    if not error:
        return "", ""
    return (
        _joined(error["fields"]),
        " | ".join(f"{v['field']}: {v['description']}" for v in error["violations"]),
    )


def _cells(o: Row) -> list[Any]:
    fields, errors = _errors_text(o["error"])
    return [
        o["version"] or "",
        o["version_effective"] or "",
        o["decision"],
        "" if o["approval_months"] is None else o["approval_months"],
        o["approved_through"] or "",
        o["refer_to"] or "",
        _joined(o["unmet"]),
        _joined(o["missing"]),
        fields,
        errors,
    ]


def csv_header(compare: bool) -> list[str]:
    return [*BASE_COLUMNS, *(COMPARE_COLUMNS if compare else ())]


def format_rows(rows: Sequence[Row], fmt: OutputFormat, compare: bool) -> bytes:
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for r in rows:
        cells = [r["line"], r["claim_id"], r["service_date"], *_cells(r)]
        if compare:
            cells += [*_cells(r["compare"]), r["transition"], r["changed"]]
        writer.writerow(cells)
    return buf.getvalue().encode()


def header_bytes(fmt: OutputFormat, compare: bool) -> bytes:
    if fmt == "jsonl":
        return b""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(csv_header(compare))
    return buf.getvalue().encode()


def count_rows(path: Path, fmt: OutputFormat) -> int:
    """Result rows in a results file as written, read back from the disk (the header of a
    CSV is not a row): the end-of-run check counts what is there, not what was meant."""
    if fmt == "jsonl":
        # One JSON document per line; JSON escapes every line break inside a string.
        count = 0
        with path.open("rb") as f:
            while block := f.read(1 << 20):
                count += block.count(b"\n")
        return count
    # The CSV written here quotes every cell holding a quote or a line break and doubles
    # the quotes inside, so a record ends at a line break after an even number of quotes.
    records = 0
    open_quote = False
    with path.open("rb") as f:
        for line in f:
            open_quote ^= line.count(b'"') % 2 == 1
            if not open_quote and line.endswith(b"\n"):
                records += 1
    return max(0, records - 1)
