"""The language registry is the one definition: the schema, the renderers and the z3 forms
follow it, and the evaluator and the solver's encoding agree on every entry.

Each operator (for every value kind it applies to) and each derived measure is put on a
real version's fact: a request is normalised and tested by the evaluator's leaf test, and
the same request is pinned onto the request space and tested by the z3 form.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import z3  # type: ignore[import-untyped]
from rxpolicy.server.analysis.diff.wording import rule_words
from rxpolicy.server.analysis.semantic.forms import (
    CONNECTIVE_FORMS,
    FALSE,
    TRUE,
    Kleene,
    dose_measure_form,
    line_measure_form,
    operator_form,
)
from rxpolicy.server.analysis.semantic.space import RequestSpace
from rxpolicy.server.engine.evaluate import leaf_test
from rxpolicy.server.engine.facts import NormalisationPlan, normalise
from rxpolicy.server.engine.language import (
    CONNECTIVES,
    MEASURES,
    OPERATORS,
    Connective,
    Measure,
    ValueKind,
    combine,
    combine_known,
)
from rxpolicy.server.engine.loading import schema
from rxpolicy.server.engine.model import Leaf, PolicyVersion
from rxpolicy.server.engine.store import VersionStore

BASE = {"line_of_business": "medicaid", "request_type": "initial"}


def test_schema_lists_exactly_the_registry_operators() -> None:
    enum = schema()["$defs"]["leaf"]["properties"]["op"]["enum"]
    assert enum == list(OPERATORS)


@pytest.mark.parametrize("name", list(OPERATORS))
def test_renderers_use_the_registry_words(name: str) -> None:
    assert OPERATORS[name].words
    assert rule_words("member_age", name, 18) == f"member_age {OPERATORS[name].words} 18"


@pytest.mark.parametrize("name", list(OPERATORS))
def test_every_operator_has_a_z3_form(name: str) -> None:
    assert callable(operator_form(name))


@pytest.mark.parametrize("measure", list(MEASURES.values()), ids=lambda m: f"{m.of}.{m.name}")
def test_every_measure_has_a_z3_form(measure: Measure) -> None:
    form = dose_measure_form(measure) if measure.of == "doses" else line_measure_form(measure)
    assert callable(form)


def test_every_connective_has_a_z3_form() -> None:
    assert set(CONNECTIVE_FORMS) == set(CONNECTIVES)


def _z3_kleene(value: bool | None) -> Kleene:
    return (
        TRUE if value is True else FALSE if value is False else Kleene(z3.BoolVal(False), z3.BoolVal(False))
    )


def _concrete(k: Kleene) -> bool | None:
    t, f = (z3.is_true(z3.simplify(x)) for x in (k.t, k.f))
    assert not (t and f)
    return True if t else False if f else None


@pytest.mark.parametrize("connective", list(CONNECTIVES.values()), ids=lambda c: c.mode)
@pytest.mark.parametrize("size", [0, 1, 2, 3])
def test_combinator_and_its_z3_form_agree(connective: Connective, size: int) -> None:
    for values in itertools.product((True, False, None), repeat=size):
        concrete = combine_known(connective.settles, values)
        # The same values as leaves read in place: a fact per child, absent when unknown.
        facts = {f"x{i}": v for i, v in enumerate(values) if v is not None}
        leaves = [(f"x{i}", bool) for i in range(size)]
        assert combine(connective.settles, leaves, facts) == concrete, (connective.mode, values)
        symbolic = CONNECTIVE_FORMS[connective.mode]([_z3_kleene(v) for v in values])
        assert _concrete(symbolic) == concrete, (connective.mode, values)


# ------------------------------------------------------------------ evaluator vs encoder


@pytest.fixture(scope="module")
def latest(store: VersionStore) -> PolicyVersion:
    return store.versions()[-1]


@pytest.fixture(scope="module")
def space(latest: PolicyVersion) -> RequestSpace:
    return RequestSpace((latest, latest))


def _fact_of(version: PolicyVersion, fact_type: str) -> str:
    return next(name for name, spec in version.facts.items() if spec.type == fact_type and not spec.required)


def _agent_groups(version: PolicyVersion) -> list[list[str]]:
    terms = sorted(version.agents)
    return [terms[:2], terms[1:3], terms[:1]]


def _samples(version: PolicyVersion, kind: ValueKind) -> tuple[str, list[Any], list[Any]]:
    """(fact, raw request values, criterion values as the loader normalises them)."""
    if kind == "int":
        return _fact_of(version, "int"), [0, 17, 18, 19, 60], [18, 0]
    if kind == "bool":
        return _fact_of(version, "bool"), [True, False], [True, False]
    if kind == "enum":
        fact = next(n for n, s in version.facts.items() if s.type == "enum" and len(s.values) >= 3)
        values = list(version.facts[fact].values)
        return fact, values[:3], [values[0], values[1]]
    fact = _fact_of(version, "terms")
    groups = _agent_groups(version)
    return fact, groups, [frozenset(g) for g in groups[:2]]


def _agree(space: RequestSpace, fact: str, op: str, criterion: Any, raw: Any) -> None:
    version = space.versions[0]
    leaf = Leaf("t", "T", "test", fact, op, criterion)
    base = fact.split(".", 1)[0]
    request = {**BASE, "service_date": version.effective.isoformat(), base: raw}
    measures = frozenset({fact}) if "." in fact else frozenset()
    facts = normalise(version, request, NormalisationPlan.of(version, measures))
    expected = leaf_test(leaf)(facts[fact])
    known, test = space.leaf(0, leaf)
    solver = z3.Solver()
    solver.add(*space.constraints, space.pin(request))
    assert solver.check() == z3.sat
    model = solver.model()
    assert z3.is_true(model.eval(known, model_completion=True))
    got = z3.is_true(model.eval(test, model_completion=True))
    assert got == expected, (fact, op, criterion, raw, facts[fact])


OPERATOR_KINDS = [(name, kind) for name, op in OPERATORS.items() for kind in op.kinds]


@pytest.mark.parametrize(("op", "kind"), OPERATOR_KINDS, ids=[f"{o}-{k}" for o, k in OPERATOR_KINDS])
def test_every_operator_decides_alike_in_evaluator_and_encoder(
    latest: PolicyVersion, space: RequestSpace, op: str, kind: ValueKind
) -> None:
    fact, raws, values = _samples(latest, kind)
    operator = OPERATORS[op]
    criteria = [tuple(values)] if operator.takes_list else values
    outcomes = set()
    for criterion, raw in itertools.product(criteria, raws):
        _agree(space, fact, op, criterion, raw)
        outcomes.add(operator.holds(_normalised(latest, fact, raw), criterion))
    assert outcomes == {True, False}, "the samples must make the operator both true and false"


def _normalised(version: PolicyVersion, fact: str, raw: Any) -> Any:
    request = {**BASE, "service_date": version.effective.isoformat(), fact: raw}
    return normalise(version, request, NormalisationPlan.of(version, frozenset()))[fact]


def _measure_samples(version: PolicyVersion, measure: Measure) -> tuple[str, list[Any]]:
    """(the measure's path on a fact of the version, raw values of that fact)."""
    fact = _fact_of(version, measure.of)
    if measure.of == "doses":
        low, high = version.strengths_mg[0], version.strengths_mg[-1]
        raws: list[Any] = [
            [{"tablets": 1, "strength_mg": low}],
            [{"tablets": 2, "strength_mg": high}, {"tablets": 1, "strength_mg": low}],
            [
                {"tablets": 3, "strength_mg": low},
                {"tablets": 1, "strength_mg": high},
                {"tablets": 2, "strength_mg": low},
            ],
        ]
        return f"{fact}.{measure.name}", raws
    groups = _agent_groups(version)
    raws = [[], [groups[0]], [groups[0], groups[1]], [groups[2], groups[2], groups[1]]]
    if measure.argument is None:
        return f"{fact}.{measure.name}", raws
    cls = version.agents[sorted(version.agents)[0]].classes[0]
    in_class = [t for t, a in version.agents.items() if cls in a.classes]
    raws += [[in_class[:1]], [in_class, in_class[:1]]]
    return f"{fact}.{measure.name}.{cls}", raws


@pytest.mark.parametrize("measure", list(MEASURES.values()), ids=lambda m: f"{m.of}.{m.name}")
def test_every_measure_decides_alike_in_evaluator_and_encoder(
    latest: PolicyVersion, space: RequestSpace, measure: Measure
) -> None:
    path, raws = _measure_samples(latest, measure)
    seen = set()
    for raw in raws:
        request = {**BASE, "service_date": latest.effective.isoformat(), path.split(".")[0]: raw}
        value = normalise(latest, request, NormalisationPlan.of(latest, frozenset({path})))[path]
        seen.add(value)
        for op, threshold in itertools.product(("eq", "lt", "ge"), (value - 1, value, value + 1)):
            _agree(space, path, op, threshold, raw)
    assert len(seen) > 1, "the samples must give the measure different values"
