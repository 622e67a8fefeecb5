"""The synthetic claim generator, and the CSV cell encoding it shares with the reader."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rxpolicy.server.cli import main
from rxpolicy.server.engine.store import VersionStore
from rxpolicy.server.retro.columns import CellError, decode_row, encode_cell, fact_types, layout
from rxpolicy.server.retro.synth import COLUMNS, write_claims


def generated(count: int, seed: int, fmt: str = "csv") -> str:
    buf = io.StringIO()
    write_claims(buf, count, seed, fmt, 0.05)  # type: ignore[arg-type]
    return buf.getvalue()


def test_same_seed_same_claims_other_seed_other_claims() -> None:
    assert generated(300, 4) == generated(300, 4)
    assert generated(300, 4) != generated(300, 5)
    assert generated(300, 4, "jsonl") == generated(300, 4, "jsonl")


def test_cli_writes_the_requested_count(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    assert (
        main(["retro-generate", "--count", "250", "--seed", "9", "--invalid-rate", "0.05", "-o", str(out)])
        == 0
    )
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 250 and lines[0].startswith("{")
    assert out.read_text(encoding="utf-8") == generated(250, 9, "jsonl")


def test_generated_columns_are_the_policy_facts(store: VersionStore) -> None:
    types = fact_types(store.versions())
    assert {name: kind for name, kind in COLUMNS} == types


def test_every_diagnosis_term_appears(store: VersionStore) -> None:
    text = generated(3000, 1)
    diagnoses = store.versions()[-1].facts["diagnosis"].values
    assert all(f",{d}," in text for d in diagnoses)
    years = {line.split(",")[1][:4] for line in text.splitlines()[1:] if line.count(",") > 5}
    assert {str(y) for y in range(2019, 2027)} <= years


@pytest.mark.parametrize(
    ("kind", "cell", "value"),
    [
        ("terms", "bortezomib;dexamethasone", ["bortezomib", "dexamethasone"]),
        ("terms", "Darzalex Faspro + dexamethasone", ["Darzalex Faspro", "dexamethasone"]),
        ("terms", "none", []),
        ("lines", "bortezomib+lenalidomide|carfilzomib", [["bortezomib", "lenalidomide"], ["carfilzomib"]]),
        ("lines", "NONE", []),
        ("doses", "4x20;4x20", [{"tablets": 4, "strength_mg": 20}] * 2),
        ("doses", "1 X 60mg", [{"tablets": 1, "strength_mg": 60}]),
        ("bool", "Yes", True),
        ("bool", "0", False),
        ("int", " 64 ", 64),
    ],
)
def test_cells_decode(store: VersionStore, kind: str, cell: str, value: object) -> None:
    name = next(n for n, k in COLUMNS if k == kind)
    lay = layout(["claim_id", name], fact_types(store.versions()), ignore_unknown=False)
    claim_id, _date, request, problems = decode_row(["C1", cell], lay)
    assert (claim_id, request, problems) == ("C1", {name: value}, [])


@pytest.mark.parametrize(
    ("kind", "cell"), [("int", "sixty"), ("int", "6.5"), ("bool", "maybe"), ("doses", "4 of 20")]
)
def test_bad_cells_name_the_column(store: VersionStore, kind: str, cell: str) -> None:
    name = next(n for n, k in COLUMNS if k == kind)
    lay = layout(["claim_id", name], fact_types(store.versions()), ignore_unknown=False)
    _id, _date, request, problems = decode_row(["C1", cell], lay)
    assert request == {} and [p.field for p in problems] == [name]
    assert cell not in problems[0].description  # a cell is member data: never echoed


def test_empty_cells_are_unknown_and_encoding_round_trips(store: VersionStore) -> None:
    types = fact_types(store.versions())
    lay = layout(["claim_id", *types], types, ignore_unknown=False)
    value = {
        "service_date": "2022-05-01",
        "member_age": 70,
        "combination": ["bortezomib", "dexamethasone"],
        "prior_therapies": [["lenalidomide", "dexamethasone"], ["daratumumab"]],
        "doses": [{"tablets": 5, "strength_mg": 20}],
        "dose_increase": False,
    }
    cells = ["C9", *(encode_cell(types[n], value.get(n)) for n in types)]
    claim_id, date, request, problems = decode_row(cells, lay)
    assert (claim_id, date, request, problems) == ("C9", "2022-05-01", value, [])
    with pytest.raises(CellError):
        lay.columns[3].decode("not a number")  # member_age
