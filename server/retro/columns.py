"""CSV claim columns: how a flat cell encodes a fact, both ways.

Column types come from the policy's own fact specs (the engine knows nothing
Xpovio-specific, and neither does this module). Cells only change shape here:
"4x20;4x20" becomes a list of dose mappings, "true" becomes True. Whether a value is
valid (a known term, an available strength, a date in range) is the engine's call,
so a claim decided from CSV and the same claim from JSON lines get the same answer.

An empty cell is an unknown fact, never false or zero; the word ``none`` spells an
empty list (a known "no prior therapies", selinexor without a partner drug).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from ..engine.errors import FieldViolation
from ..engine.model import FactType, PolicyVersion

CLAIM_ID = "claim_id"
NONE_WORD = "none"

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})

# Agents in a list: ";" (as in the engine's YAML lists) or "+" (regimen notation,
# "bortezomib+lenalidomide"). Agent names and brand names contain neither.
_LINE_SPLIT = "|"
_DOSE_SPLIT = ";"
_DOSE = re.compile(r"^\s*(\d+)\s*[xX*\u00d7]\s*(\d+)\s*(?:mg)?\s*$")
_INT = re.compile(r"^\s*[+-]?\d+\s*$")


class CellError(Exception):
    """A cell that cannot be read as its column's type; the text never echoes the cell."""


Decoder = Callable[[str], Any]


def _text(cell: str) -> str:
    return cell


def _int(cell: str) -> int:
    if cell.isdecimal():  # the common case; the cell is stripped, and int() reads what \d matches
        return int(cell)
    if not _INT.match(cell):
        raise CellError("must be a whole number (the CSV cell is not an integer)")
    return int(cell)


def _bool(cell: str) -> bool:
    low = cell.lower()
    if low in TRUE_WORDS:
        return True
    if low in FALSE_WORDS:
        return False
    raise CellError("must be true or false (CSV: true/false, yes/no, y/n, 1/0)")


def _names(text: str) -> list[str]:
    """The agent names of one list, empty names dropped."""
    return [a for a in map(str.strip, text.replace(";", "+").split("+")) if a]


def _agents(cell: str) -> list[str]:
    if cell.lower() == NONE_WORD:
        return []
    return _names(cell)


def _lines(cell: str) -> list[list[str]]:
    if cell.lower() == NONE_WORD:
        return []
    # An empty line ("a||b") stays an empty list so the engine names it precisely.
    return [_names(line) for line in cell.split(_LINE_SPLIT)]


def _doses(cell: str) -> list[dict[str, int]]:
    doses = []
    for i, item in enumerate(cell.split(_DOSE_SPLIT)):
        m = _DOSE.match(item)
        if m is None:
            raise CellError(
                f"doses[{i}] must be TABLETSxSTRENGTH_MG, e.g. 4x20; dosing days are separated by ';'"
            )
        tablets, strength = m.groups()
        doses.append({"tablets": int(tablets), "strength_mg": int(strength)})
    return doses


DECODERS: Mapping[FactType, Decoder] = {
    "date": _text,
    "enum": _text,
    "int": _int,
    "bool": _bool,
    "terms": _agents,
    "lines": _lines,
    "doses": _doses,
}


def fact_types(versions: Iterable[PolicyVersion]) -> dict[str, FactType]:
    """Every fact any version knows, with its type (a later version's spec wins)."""
    types: dict[str, FactType] = {}
    for version in versions:
        types.update({name: spec.type for name, spec in version.facts.items()})
    return types


@attrs.frozen
class Column:
    index: int
    name: str
    decode: Decoder


@attrs.frozen
class CsvLayout:
    """The header of one claim file, resolved to decoders once (not per row): ``plan`` is
    what decoding a row does, (cell index, fact name, decoder or None for a cell taken as
    text) per fact column."""

    header: tuple[str, ...]
    claim_id_index: int
    service_date_index: int | None
    columns: tuple[Column, ...]  # the fact columns; ignored columns are left out
    plan: tuple[tuple[int, str, Decoder | None], ...] = attrs.field()

    @plan.default
    def _plan(self) -> tuple[tuple[int, str, Decoder | None], ...]:
        return tuple((c.index, c.name, None if c.decode is _text else c.decode) for c in self.columns)


class HeaderError(Exception):
    """The file's header cannot be used: a file-level problem, reported before any row."""


def layout(header: Sequence[str], types: Mapping[str, FactType], *, ignore_unknown: bool) -> CsvLayout:
    names = [h.strip() for h in header]
    if names and names[0].startswith("\ufeff"):
        names[0] = names[0][1:]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise HeaderError(f"the header repeats column(s) {', '.join(dupes)}")
    if CLAIM_ID not in names:
        raise HeaderError(f"the header has no {CLAIM_ID} column")
    unknown = [n for n in names if n != CLAIM_ID and n not in types]
    if unknown and not ignore_unknown:
        raise HeaderError(
            f"unknown column(s) {', '.join(unknown)}; known facts: {', '.join(types)} "
            "(or pass --ignore-unknown-columns)"
        )
    columns = tuple(
        Column(i, n, DECODERS[types[n]]) for i, n in enumerate(names) if n != CLAIM_ID and n in types
    )
    service = "service_date"
    return CsvLayout(
        tuple(names),
        names.index(CLAIM_ID),
        names.index(service) if service in names else None,
        columns,
    )


def decode_row(cells: Sequence[str], lay: CsvLayout) -> tuple[str, str, dict[str, Any], list[FieldViolation]]:
    """(claim id, raw service date, request mapping, cell violations) of one CSV record."""
    if len(cells) != len(lay.header):
        claim = cells[lay.claim_id_index].strip() if lay.claim_id_index < len(cells) else ""
        return (
            claim,
            "",
            {},
            [FieldViolation("row", f"has {len(cells)} cells; the header has {len(lay.header)} columns")],
        )
    request: dict[str, Any] = {}
    problems: list[FieldViolation] = []
    for index, name, decode in lay.plan:
        cell = cells[index].strip()
        if not cell:
            continue  # an empty cell is an unknown fact
        if decode is None:
            request[name] = cell
            continue
        try:
            request[name] = decode(cell)
        except CellError as exc:
            problems.append(FieldViolation(name, str(exc)))
    service = cells[lay.service_date_index].strip() if lay.service_date_index is not None else ""
    return cells[lay.claim_id_index].strip(), service, request, problems


# ------------------------------------------------------------------ encoding (generator)


def encode_cell(kind: FactType, value: Any) -> str:
    """The CSV cell for a fact value: the inverse of the decoders above."""
    if value is None:
        return ""
    if kind == "bool":
        return "true" if value else "false"
    if kind == "terms":
        return ";".join(value) if value else NONE_WORD
    if kind == "lines":
        return "|".join("+".join(line) for line in value) if value else NONE_WORD
    if kind == "doses":
        return ";".join(f"{d['tablets']}x{d['strength_mg']}" for d in value)
    return str(value)
