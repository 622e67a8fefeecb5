"""Kleene three-valued all-of / any-of, on the compiled path and the trace path alike."""

from __future__ import annotations

import itertools

import pytest
from rxpolicy.server.engine.evaluate import _compile, trace
from rxpolicy.server.engine.model import Group, Leaf

T, F, U = True, False, None


def _leaf(i: int) -> Leaf:
    return Leaf(f"k.{i}", f"I.{i}", f"fact {i} is true", f"f{i}", "eq", True)


def _facts(values: tuple[bool | None, ...]) -> dict[str, bool]:
    return {f"f{i}": v for i, v in enumerate(values) if v is not None}


ALL_TABLE = {
    (T, T): T,
    (T, F): F,
    (T, U): U,
    (F, T): F,
    (F, F): F,
    (F, U): F,
    (U, T): U,
    (U, F): F,
    (U, U): U,
}
ANY_TABLE = {
    (T, T): T,
    (T, F): T,
    (T, U): T,
    (F, T): T,
    (F, F): F,
    (F, U): U,
    (U, T): T,
    (U, F): U,
    (U, U): U,
}


@pytest.mark.parametrize(("mode", "table"), [("all", ALL_TABLE), ("any", ANY_TABLE)])
@pytest.mark.parametrize("pair", list(itertools.product((T, F, U), repeat=2)))
def test_two_valued_tables(mode: str, table: dict, pair: tuple) -> None:
    node = Group("g", "I", "group", mode, (_leaf(0), _leaf(1)))  # type: ignore[arg-type]
    facts = _facts(pair)
    assert _compile(node)(facts) is table[pair]
    assert trace(node, facts).result is table[pair]


@pytest.mark.parametrize("values", list(itertools.product((T, F, U), repeat=3)))
def test_three_children_match_the_definition(values: tuple) -> None:
    leaves = tuple(_leaf(i) for i in range(3))
    facts = _facts(values)
    all_expected = F if F in values else (U if U in values else T)
    any_expected = T if T in values else (U if U in values else F)
    assert _compile(Group("a", "I", "all", "all", leaves))(facts) is all_expected
    assert _compile(Group("b", "I", "any", "any", leaves))(facts) is any_expected


def test_unknown_leaf_is_unknown_not_false() -> None:
    assert _compile(_leaf(0))({}) is None
    assert trace(_leaf(0), {}).result is None
