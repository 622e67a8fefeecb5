"""The field-path grammar of BadRequest violations (rxpolicy.paths): the server writes a
path for every fact, the client reads the same fact back, whatever text the name is."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rxpolicy.paths import OTHER_FACTS, VALUES, fact_path, field_of, item_of

containers = st.sampled_from([VALUES, OTHER_FACTS])
items = st.sampled_from(["", "[0]", "[3][12]", "[0].tablets", "[7].strength_mg"])


@given(name=st.text(), container=containers, item=items)
def test_a_keyed_fact_reads_back_whatever_its_name(name: str, container: str, item: str) -> None:
    assert field_of(fact_path(container, name, item)) == name


@given(name=st.from_regex(r"[a-z][a-z0-9_]{0,30}", fullmatch=True), item=items)
def test_a_typed_field_reads_back(name: str, item: str) -> None:
    path = fact_path(None, name, item)
    assert path == f"facts.{name}{item}" and field_of(path) == name


@pytest.mark.parametrize(
    ("name", "description", "item"),
    [
        ("doses", "doses[0].tablets must be between 1 and 100", "[0].tablets"),
        ("combination", "combination[1]: 'x' is not a known agent term or brand name", "[1]"),
        ("prior_therapies", "prior_therapies[2][0] contains the character U+0009", "[2][0]"),
        ("doses", "is empty: list one item per dosing day in a week", ""),
        ("dose", "doses[0] must be a mapping", ""),  # another fact's position is not this one's
    ],
)
def test_the_position_comes_from_the_engine_description(name: str, description: str, item: str) -> None:
    assert item_of(name, description) == item


@pytest.mark.parametrize("field", ["as_known_on", "version", "request_id", "request", "requests"])
def test_request_fields_are_their_own_path(field: str) -> None:
    assert field_of(field) == field
