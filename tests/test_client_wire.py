"""How the client puts a request's facts on the wire: each in ``Facts.values``, its kind
read from the value's shape (never from its name); what fits no kind in ``other_facts``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from google.protobuf import json_format
from rxpolicy.client._wire import evaluate_request
from rxpolicy.limits import INT64_MAX


def _values(facts: dict[Any, Any]) -> dict[str, Any]:
    return json_format.MessageToDict(evaluate_request(facts).facts, preserving_proto_field_name=True)


@pytest.mark.parametrize(
    ("value", "typed"),
    [
        ("relapsed", {"text": "relapsed"}),
        (dt.date(2025, 6, 2), {"text": "2025-06-02"}),
        (67, {"integer": "67"}),
        (INT64_MAX, {"integer": str(INT64_MAX)}),
        (True, {"boolean": True}),
        (False, {"boolean": False}),
        (["bortezomib", "dexamethasone"], {"agents": {"agents": ["bortezomib", "dexamethasone"]}}),
        (("a",), {"agents": {"agents": ["a"]}}),
        ([], {"agents": {}}),
        ([["a", "b"], []], {"therapy_lines": {"lines": [{"agents": ["a", "b"]}, {}]}}),
        (
            [{"tablets": 5, "strength_mg": 20}, {"tablets": 2.0}, {}],
            # int64 fields are strings in protobuf JSON (MessageToDict), as "integer" is above.
            {"doses": {"days": [{"tablets": "5", "strength_mg": "20"}, {"tablets": "2"}, {}]}},
        ),
    ],
)
def test_a_value_travels_as_the_kind_its_shape_says(value: Any, typed: dict[str, Any]) -> None:
    assert _values({"any_name": value}) == {"values": {"any_name": typed}}


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        2.0,
        INT64_MAX + 1,
        {"k": 1},
        ["a", 1],
        [{"tablets": 2.5}],
        [{"x": 1}],
        [{"tablets": INT64_MAX + 1}],
    ],
)
def test_a_value_of_no_kind_goes_in_other_facts(value: Any) -> None:
    out = _values({"odd": value, "fine": "text"})
    assert set(out["other_facts"]) == {"odd"}
    assert out["values"] == {"fine": {"text": "text"}}


def test_an_empty_list_is_present_and_none_is_absent() -> None:
    facts = evaluate_request({"combination": [], "product": None}).facts
    assert set(facts.values) == {"combination"}
    assert facts.values["combination"].HasField("agents")


def test_keys_that_are_one_name_keep_the_last_value_whole() -> None:
    facts = evaluate_request({1: ["a", "b"], "1": ["c"]}).facts
    assert list(facts.values["1"].agents.agents) == ["c"]


def test_a_request_with_no_facts_still_carries_the_facts_field() -> None:
    assert evaluate_request({}).HasField("facts")


def test_text_utf8_cannot_carry_is_sent_escaped() -> None:
    facts = evaluate_request({"diagnosis": "bad\udc80", "combination": ["x\udc81"]}).facts
    assert facts.values["diagnosis"].text == "bad\\udc80"
    assert list(facts.values["combination"].agents.agents) == ["x\\udc81"]
