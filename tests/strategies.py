"""Hypothesis strategies for requests, built from the versions' own fact specs.

Nothing here names a term, an agent or a strength: enum values and aliases, agents and
their brand names, the regimens the criteria name, tablet strengths and the integer
thresholds the criteria compare with all come from the loaded versions, so the
strategies follow the policy files and work for any policy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from hypothesis import strategies as st
from rxpolicy.server.engine.facts import MAX_TABLETS_PER_DOSE
from rxpolicy.server.engine.loading import SERVICE_DATE
from rxpolicy.server.engine.model import FactSpec, Leaf, PolicyVersion
from rxpolicy.server.engine.store import VersionStore

Strategy = st.SearchStrategy[Any]


def _leaves(versions: Iterable[PolicyVersion]) -> list[Leaf]:
    return [n for v in versions for n in v.nodes().values() if isinstance(n, Leaf)]


def thresholds(versions: Sequence[PolicyVersion], path: str) -> list[int]:
    """Every integer a criterion compares ``path`` with, and its neighbours; for a fact
    that shortens an approval, the approval's months and their neighbours too."""
    found = {leaf.value for leaf in _leaves(versions) if leaf.fact == path and isinstance(leaf.value, int)}
    found |= {
        d.months
        for v in versions
        for ind in v.indications
        for d in ind.durations.values()
        if d.at_most_fact == path and d.months is not None
    }
    return sorted({n + delta for n in found for delta in (-1, 0, 1)})


def agent_names(versions: Sequence[PolicyVersion]) -> list[str]:
    """Every agent term and brand name, and the requested drug's own names."""
    names = {a for v in versions for term, agent in v.agents.items() for a in (term, *agent.aliases)}
    names |= {n for v in versions for n in v.self_names}
    return sorted(names)


def regimens(versions: Sequence[PolicyVersion]) -> list[list[str]]:
    """The combinations the criteria name, as terms and spelled with brand names."""
    groups = {
        tuple(sorted(group))
        for leaf in _leaves(versions)
        if leaf.op in ("set_equals_any", "set_not_equals_any")
        for group in leaf.value
    }
    brand = {term: agent.aliases[0] for v in versions for term, agent in v.agents.items() if agent.aliases}
    out = [list(g) for g in sorted(groups)]
    out += [[brand.get(t, t) for t in g] for g in sorted(groups) if any(t in brand for t in g)]
    return [*out, []]


def enum_spellings(versions: Sequence[PolicyVersion], fact: str) -> list[str]:
    """Every value and alias of an enum fact, and one value in capitals."""
    specs = [v.facts[fact] for v in versions if fact in v.facts]
    values = sorted({x for s in specs for x in (*s.values, *s.aliases)})
    return [*values, specs[-1].values[0].capitalize()]


def _ints(versions: Sequence[PolicyVersion], name: str, spec: FactSpec, *, valid: bool) -> Strategy:
    low = spec.minimum if spec.minimum is not None else 0
    high = spec.maximum if spec.maximum is not None else max([low + 400, *thresholds(versions, name)])
    samples = [n for n in (*thresholds(versions, name), low, high) if not valid or low <= n <= high]
    if not valid:
        samples += [low - 1, high + 1]
    return st.one_of(st.sampled_from(sorted(set(samples))), st.integers(low, high))


def _doses(
    versions: Sequence[PolicyVersion], name: str, strengths: Sequence[int], max_items: int
) -> Strategy:
    tablets = {1, 2, 3, 4, MAX_TABLETS_PER_DOSE}
    for path in {leaf.fact for leaf in _leaves(versions) if leaf.fact.startswith(f"{name}.")}:
        if path.endswith("tablets"):
            tablets |= {n for n in thresholds(versions, path) if 1 <= n <= MAX_TABLETS_PER_DOSE}
    dose = st.fixed_dictionaries(
        {"tablets": st.sampled_from(sorted(tablets)), "strength_mg": st.sampled_from(sorted(strengths))}
    )
    return st.lists(dose, min_size=1, max_size=max_items)


def fact_strategy(versions: Sequence[PolicyVersion], name: str, *, valid: bool = True) -> Strategy:
    """Values of one fact: valid under every version in ``versions`` when ``valid``, else
    also values some version refuses (out of range, strengths only one version lists)."""
    spec = next(v.facts[name] for v in reversed(versions) if name in v.facts)
    agents = agent_names(versions)
    if spec.type == "enum":
        return st.sampled_from(enum_spellings(versions, name))
    if spec.type == "bool":
        return st.booleans()
    if spec.type == "int":
        return _ints(versions, name, spec, valid=valid)
    if spec.type == "terms":
        return st.one_of(st.sampled_from(regimens(versions)), st.lists(st.sampled_from(agents), max_size=4))
    if spec.type == "lines":
        return st.lists(st.lists(st.sampled_from(agents), min_size=1, max_size=3), max_size=6)
    if spec.type == "doses":
        strengths = {mg for v in versions for mg in v.strengths_mg}
        return _doses(versions, name, sorted(strengths), spec.max_items or 7)
    raise AssertionError(f"no strategy for a {spec.type} fact ({name})")


def any_requests(versions: Sequence[PolicyVersion]) -> Strategy:
    """Requests over every fact of the versions (no service date), each optional fact
    absent, null or drawn; valid under one version, the other, both or neither."""
    names = list(dict.fromkeys(n for v in versions for n in v.facts if n != SERVICE_DATE))
    required = {n for v in versions for n, s in v.facts.items() if s.required}
    return st.fixed_dictionaries(
        {n: fact_strategy(versions, n, valid=False) for n in names if n in required},
        optional={
            n: st.one_of(st.none(), fact_strategy(versions, n, valid=False))
            for n in names
            if n not in required
        },
    )


_BY_VERSION: dict[str, dict[str, Strategy]] = {}


def _valid_facts(version: PolicyVersion) -> dict[str, Strategy]:
    if version.content_hash not in _BY_VERSION:
        _BY_VERSION[version.content_hash] = {
            name: fact_strategy([version], name) for name in version.facts if name != SERVICE_DATE
        }
    return _BY_VERSION[version.content_hash]


@st.composite
def valid_requests(draw: st.DrawFn, store: VersionStore) -> dict[str, Any]:
    """A valid request under the version in force on a service date from the first
    version's effective date to two years after the latest's."""
    versions = store.versions()
    last = dt.date(versions[-1].effective.year + 2, 12, 31)
    day = draw(st.dates(min_value=versions[0].effective, max_value=last))
    compiled = store.in_force(day)
    assert compiled is not None
    version = compiled.version
    request: dict[str, Any] = {SERVICE_DATE: day.isoformat()}
    for name, strategy in _valid_facts(version).items():
        if version.facts[name].required or draw(st.booleans()):
            request[name] = draw(strategy)
    return request
