"""The request space of two policy versions as z3 variables: the symbolic request.

Every fact of either version becomes a small group of variables with its own
"present" flag, because absent (unknown) is a state of its own under Kleene
evaluation, never false and never zero. List-valued facts are not abstracted into
independent measures, which would invent impossible requests: doses are up to N
(tablets, strength) slots and prior therapies are a line count plus the set of
agents that appear, so weekly mg, weekly tablets, doses per week and the largest
dose stay as correlated as they are in a real request, and a strength is only ever
one the versions list.

Raw spellings (terms and aliases) are grouped by what each version makes of them;
one spelling per group is enough, and a spelling that one version rejects and the
other accepts is kept, so validity differences are part of the space.

A model is turned back into a request in the case-file shape (``realise``); any
request can be pinned back onto the variables (``pin``), which is how the tests
check the encoding against the real evaluator.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import z3  # type: ignore[import-untyped]

from ...engine.facts import MAX_AGENTS_PER_LINE, MAX_TABLETS_PER_DOSE
from ...engine.language import MEASURES, Measure, find_measure
from ...engine.loading import SERVICE_DATE
from ...engine.model import FactSpec, Leaf, PolicyVersion
from .forms import EncodingError, Operand, dose_measure_form, line_measure_form, operator_form

# What a version makes of the drug's own name in a list: it is dropped (facts.py).
SELF = "<self>"
# facts.py refuses a prior line with more agents than this.
Versions = tuple[PolicyVersion, PolicyVersion]
Norms = tuple[str | None, str | None]  # per side (0 = from, 1 = to): a term, SELF, or None (invalid)


class OutsideSpace(EncodingError):
    """A request value both versions refuse: it has no point in the space (``pin`` only)."""


@attrs.frozen
class Spelling:
    """One raw spelling standing for every spelling that both versions read the same way."""

    raw: str
    norms: Norms


def _enum_norm(spec: FactSpec | None, raw: str) -> str | None:
    # Mirrors facts._enum_reader.
    if spec is None:
        return None
    low = raw.strip().lower()
    if low in spec.values:
        return low
    return spec.aliases.get(low)


def _agent_norm(version: PolicyVersion, raw: str) -> str | None:
    # Mirrors facts._agent_lookup (terms and lines): the drug itself first, then the vocabulary.
    low = raw.strip().lower()
    if low in version.self_names:
        return SELF
    return version.agent_index.get(low)


def _group(raws: Iterable[str], norm: Any, canonical: set[str]) -> tuple[Spelling, ...]:
    """One spelling per distinct (from, to) reading; canonical terms preferred for readability."""
    best: dict[Norms, str] = {}
    for raw in sorted(set(raws), key=lambda r: (r not in canonical, len(r), r)):
        norms: Norms = (norm(0, raw), norm(1, raw))
        if norms != (None, None):
            best.setdefault(norms, raw)
    return tuple(Spelling(raw, norms) for norms, raw in best.items())


def _sum(terms: Sequence[Any]) -> Any:
    return z3.Sum(list(terms)) if terms else z3.IntVal(0)


def _or(terms: Sequence[Any]) -> Any:
    return z3.Or(list(terms)) if terms else z3.BoolVal(False)


def _and(terms: Sequence[Any]) -> Any:
    return z3.And(list(terms)) if terms else z3.BoolVal(True)


def _count(terms: Sequence[Any]) -> Any:
    return _sum([z3.If(t, 1, 0) for t in terms])


class _Operand:
    """A leaf's operand (forms.Operand): subclasses say how it equals a criterion value."""

    what = "value"

    def is_one_of(self, values: Iterable[Any]) -> Any:
        raise NotImplementedError

    def is_none_of(self, values: Iterable[Any]) -> Any:
        return z3.Not(self.is_one_of(values))

    def number(self) -> Any:
        raise EncodingError(f"a {self.what} is compared as a number")


class _Value(_Operand):
    """A leaf's operand that is a single z3 term (a number or a yes/no)."""

    def __init__(self, term: Any, constant: Callable[[Any], Any], what: str) -> None:
        self.term = term
        self.constant = constant
        self.what = what

    def is_one_of(self, values: Iterable[Any]) -> Any:
        hits = [self.term == self.constant(v) for v in values]
        return hits[0] if len(hits) == 1 else _or(hits)

    def is_none_of(self, values: Iterable[Any]) -> Any:
        misses = [self.term != self.constant(v) for v in values]
        return misses[0] if len(misses) == 1 else _and(misses)

    def number(self) -> Any:
        if self.what != "number":
            raise EncodingError(f"a {self.what} is compared as a number")
        return self.term


class _Members(_Operand):
    """A leaf's operand that is a set of agents: equal to one of the criterion's sets."""

    what = "list of agents"

    def __init__(self, equals: Callable[[Any], Any]) -> None:
        self.equals = equals

    def is_one_of(self, values: Iterable[Any]) -> Any:
        return _or([self.equals(v) for v in values])


def _number(term: Any) -> Operand:
    return _Value(term, z3.IntVal, "number")


class SymFact:
    """One fact of the request space. Subclasses add the value variables."""

    def __init__(self, name: str, specs: tuple[FactSpec | None, FactSpec | None]) -> None:
        self.name = name
        self.specs = specs
        self.present = z3.Bool(f"{name}?")

    def domain(self) -> list[Any]:
        """Constraints every request satisfies, valid or not under either version."""
        return []

    def valid(self, side: int) -> Any:
        spec = self.specs[side]
        if spec is None:
            return z3.Not(self.present)
        value_ok = z3.Implies(self.present, self.value_valid(side, spec))
        return z3.And(self.present, value_ok) if spec.required else value_ok

    def value_valid(self, side: int, spec: FactSpec) -> Any:
        return z3.BoolVal(True)

    def operand(self, side: int, leaf: Leaf) -> Operand:
        """What ``leaf`` compares (the fact or a measure of it), for a present value."""
        raise EncodingError(f"a criterion cannot read the {self.name} fact ({leaf.key})")

    def complexity(self) -> Any:
        """How busy a present value is (list items); a witness keeps this small."""
        return z3.IntVal(0)

    def realise(self, model: Any) -> Any:
        raise NotImplementedError

    def pin(self, raw: Any) -> Any:
        """The constraint that fixes these variables to the request value ``raw``."""
        raise NotImplementedError

    def _pin_present(self, raw: Any, value: Any) -> Any:
        return z3.Not(self.present) if raw is None else z3.And(self.present, value)


def _measure(leaf: Leaf, fact_type: str) -> tuple[Measure, str]:
    measure, argument = find_measure(fact_type, leaf.fact.split(".", 1)[1] if "." in leaf.fact else "")
    if measure is None:
        raise EncodingError(f"unknown measure {leaf.fact} ({leaf.key})")
    return measure, argument


class _Terms(_Operand):
    """An enum fact as a leaf's operand: which spelling was sent, read by one version."""

    what = "term"

    def __init__(self, fact: EnumFact, side: int) -> None:
        self.fact = fact
        self.side = side

    def is_one_of(self, values: Iterable[Any]) -> Any:
        return self.fact.member(self.side, values)


class EnumFact(SymFact):
    def __init__(self, name: str, specs: tuple[FactSpec | None, FactSpec | None]) -> None:
        super().__init__(name, specs)
        raws: list[str] = []
        canonical: set[str] = set()
        for spec in specs:
            if spec is not None:
                raws += [*spec.values, *spec.aliases]
                canonical |= set(spec.values)
        self.atoms = _group(raws, lambda side, raw: _enum_norm(specs[side], raw), canonical)
        self.choice = z3.Int(name)

    def domain(self) -> list[Any]:
        return [self.choice >= 0, self.choice < max(len(self.atoms), 1)]

    def member(self, side: int, terms: Iterable[str]) -> Any:
        wanted = set(terms)
        return _or([self.choice == i for i, a in enumerate(self.atoms) if a.norms[side] in wanted])

    def cases(self, side: int) -> list[tuple[Any, str]]:
        """(condition, term) for every spelling the version accepts."""
        return [(self.choice == i, n) for i, a in enumerate(self.atoms) if (n := a.norms[side]) is not None]

    def value_valid(self, side: int, spec: FactSpec) -> Any:
        return _or([self.choice == i for i, a in enumerate(self.atoms) if a.norms[side] is not None])

    def operand(self, side: int, leaf: Leaf) -> Operand:
        return _Terms(self, side)

    def realise(self, model: Any) -> Any:
        return self.atoms[model.eval(self.choice, model_completion=True).as_long()].raw

    def pin(self, raw: Any) -> Any:
        if raw is None:
            return z3.Not(self.present)
        norms = (_enum_norm(self.specs[0], raw), _enum_norm(self.specs[1], raw))
        for i, atom in enumerate(self.atoms):
            if atom.norms == norms:
                return z3.And(self.present, self.choice == i)
        raise OutsideSpace(f"{self.name}: {raw!r} is invalid under both versions")


class BoolFact(SymFact):
    def __init__(self, name: str, specs: tuple[FactSpec | None, FactSpec | None]) -> None:
        super().__init__(name, specs)
        self.value = z3.Bool(name)

    def operand(self, side: int, leaf: Leaf) -> Operand:
        return _Value(self.value, z3.BoolVal, "yes/no fact")

    def realise(self, model: Any) -> Any:
        return z3.is_true(model.eval(self.value, model_completion=True))

    def pin(self, raw: Any) -> Any:
        return self._pin_present(raw, self.value == z3.BoolVal(bool(raw)))


class IntFact(SymFact):
    def __init__(self, name: str, specs: tuple[FactSpec | None, FactSpec | None]) -> None:
        super().__init__(name, specs)
        self.value = z3.Int(name)

    def domain(self) -> list[Any]:
        # Values no version accepts are invalid under both, so the hull of the ranges is enough.
        present = [s for s in self.specs if s is not None]
        lows = [s.minimum for s in present]
        highs = [s.maximum for s in present]
        out = []
        if lows and None not in lows:
            out.append(self.value >= min(x for x in lows if x is not None))
        if highs and None not in highs:
            out.append(self.value <= max(x for x in highs if x is not None))
        return out

    def value_valid(self, side: int, spec: FactSpec) -> Any:
        out = []
        if spec.minimum is not None:
            out.append(self.value >= spec.minimum)
        if spec.maximum is not None:
            out.append(self.value <= spec.maximum)
        return _and(out)

    def operand(self, side: int, leaf: Leaf) -> Operand:
        return _number(self.value)

    def realise(self, model: Any) -> Any:
        return model.eval(self.value, model_completion=True).as_long()

    def pin(self, raw: Any) -> Any:
        if raw is not None:
            solver = z3.Solver()
            solver.add(*self.domain(), self.value == raw)
            if solver.check() != z3.sat:
                raise OutsideSpace(f"{self.name}: {raw!r} is outside every version's range")
        return self._pin_present(raw, self.value == (raw if raw is not None else 0))


class DateFact(SymFact):
    """Criteria never read dates; only whether one is given (and service_date always is)."""

    def domain(self) -> list[Any]:
        return [self.present] if self.name == SERVICE_DATE else []

    def realise(self, model: Any) -> Any:
        return None  # the caller fills in the date (each side's effective date)

    def pin(self, raw: Any) -> Any:
        return self.present if raw is not None else z3.Not(self.present)


class _AgentAtoms:
    """Agent spellings of both versions, shared by every list fact over the vocabulary."""

    def __init__(self, versions: Versions) -> None:
        raws: list[str] = []
        canonical: set[str] = set()
        for v in versions:
            raws += [*v.agent_index, *v.self_names]
            canonical |= set(v.agents)
        grouped = _group(raws, lambda side, raw: _agent_norm(versions[side], raw), canonical)
        self.atoms = tuple(s for s in grouped if s.norms != (SELF, SELF))
        self.versions = versions
        # A spare prior line needs some agent that changes no measure a criterion reads: an
        # agent valid in both versions in no class any criterion counts or, failing that, the
        # drug itself (dropped by both versions, yet the line still counts).
        counted = {
            node.fact.rsplit(".", 1)[1]
            for v in versions
            for node in v.nodes().values()
            if isinstance(node, Leaf) and ".molecules_in_class." in node.fact
        }
        neutral = (
            s.raw
            for s in self.atoms
            if None not in s.norms
            and SELF not in s.norms
            and not any(
                set(v.agents[n].classes) & counted for v, n in zip(versions, s.norms, strict=True) if n
            )
        )
        # The drug's own name: dropped from every list by both versions, yet it is an item.
        self.itself = next((s.raw for s in grouped if s.norms == (SELF, SELF)), None)
        self.filler: str | None = next(neutral, None) or self.itself

    def norms(self, raw: str) -> Norms:
        return (_agent_norm(self.versions[0], raw), _agent_norm(self.versions[1], raw))

    def index(self, raw: str) -> int | None:
        norms = self.norms(raw)
        if norms == (SELF, SELF):
            return None
        for i, atom in enumerate(self.atoms):
            if atom.norms == norms:
                return i
        raise OutsideSpace(f"agent {raw!r} is invalid under both versions")


class TermsFact(SymFact):
    def __init__(
        self, name: str, specs: tuple[FactSpec | None, FactSpec | None], agents: _AgentAtoms
    ) -> None:
        super().__init__(name, specs)
        self.agents = agents
        self.has = [z3.Bool(f"{name}[{a.raw}]") for a in agents.atoms]
        # max_items limits the list as sent, repeats and the drug's own name included,
        # so the length is a variable of its own, at least the number of distinct agents.
        self.length = z3.Int(f"{name}#")

    def domain(self) -> list[Any]:
        distinct = _count(self.has)
        padding = [distinct >= 1] if self.agents.itself is None else []
        return [
            *(z3.Implies(z3.Not(self.present), z3.Not(h)) for h in self.has),
            z3.Implies(z3.Not(self.present), self.length == 0),
            self.length >= distinct,
            z3.Implies(self.length > distinct, _or(padding)) if padding else z3.BoolVal(True),
        ]

    def value_valid(self, side: int, spec: FactSpec) -> Any:
        out = [z3.Not(h) for h, a in zip(self.has, self.agents.atoms, strict=True) if a.norms[side] is None]
        if spec.max_items is not None:
            out.append(self.length <= spec.max_items)
        return _and(out)

    def _term_present(self, side: int, term: str) -> Any:
        return _or([h for h, a in zip(self.has, self.agents.atoms, strict=True) if a.norms[side] == term])

    def equals(self, side: int, terms: frozenset[str]) -> Any:
        known = {n for a in self.agents.atoms if (n := a.norms[side]) is not None and n != SELF}
        return _and([self._term_present(side, t) == z3.BoolVal(t in terms) for t in sorted(known | terms)])

    def operand(self, side: int, leaf: Leaf) -> Operand:
        return _Members(lambda group: self.equals(side, group))

    def complexity(self) -> Any:
        return self.length

    def realise(self, model: Any) -> Any:
        items = [
            a.raw
            for h, a in zip(self.has, self.agents.atoms, strict=True)
            if z3.is_true(model.eval(h, model_completion=True))
        ]
        length = model.eval(self.length, model_completion=True).as_long()
        pad = items[0] if items else self.agents.itself  # a repeat changes no set
        return items + [pad] * (length - len(items))

    def pin(self, raw: Any) -> Any:
        if raw is None:
            return z3.Not(self.present)
        used = {i for i in (self.agents.index(r) for r in raw) if i is not None}
        return z3.And(
            self.present, self.length == len(raw), *[h == (i in used) for i, h in enumerate(self.has)]
        )


class LinesFact(SymFact):
    """Prior lines: how many, and which agents appear in any of them.

    Class counts count distinct molecules across all lines and the count is the
    number of lines, so which line an agent sits in never matters; any number of
    lines is realisable as long as the agents fit (a line holds at most 20).
    """

    def __init__(
        self, name: str, specs: tuple[FactSpec | None, FactSpec | None], agents: _AgentAtoms
    ) -> None:
        super().__init__(name, specs)
        self.agents = agents
        self.lines = z3.Int(f"{name}#")
        self.used = [z3.Bool(f"{name}[{a.raw}]") for a in agents.atoms]

    def domain(self) -> list[Any]:
        n_used = _count(self.used)
        out = [
            self.lines >= 0,
            z3.Implies(z3.Not(self.present), self.lines == 0),
            z3.Implies(self.lines == 0, n_used == 0),
            n_used <= MAX_AGENTS_PER_LINE * self.lines,
        ]
        if self.agents.filler is None:
            out.append(z3.Implies(self.lines >= 1, n_used >= 1))  # a line names at least one agent
        limits = [s.max_items for s in self.specs if s is not None]
        if limits and None not in limits:
            out.append(self.lines <= max(x for x in limits if x is not None))
        return out

    def value_valid(self, side: int, spec: FactSpec) -> Any:
        out = [z3.Not(u) for u, a in zip(self.used, self.agents.atoms, strict=True) if a.norms[side] is None]
        if spec.max_items is not None:
            out.append(self.lines <= spec.max_items)
        return _and(out)

    def operand(self, side: int, leaf: Leaf) -> Operand:
        measure, argument = _measure(leaf, "lines")
        return _number(line_measure_form(measure)(self, side, argument))

    def molecules_in_class(self, side: int, cls: str) -> Any:
        version = self.agents.versions[side]
        by_molecule: dict[str, list[Any]] = {}
        for used, atom in zip(self.used, self.agents.atoms, strict=True):
            agent = version.agents.get(atom.norms[side] or "")
            if agent is not None and cls in agent.classes:
                by_molecule.setdefault(agent.molecule, []).append(used)
        return _count([_or(flags) for flags in by_molecule.values()])

    def complexity(self) -> Any:
        return _count(self.used) + self.lines

    def realise(self, model: Any) -> Any:
        n = model.eval(self.lines, model_completion=True).as_long()
        agents = [
            a.raw
            for u, a in zip(self.used, self.agents.atoms, strict=True)
            if z3.is_true(model.eval(u, model_completion=True))
        ]
        # Round robin keeps lines short; a spare line names the neutral filler or, with none,
        # repeats an agent already named (its molecule is counted once).
        lines: list[list[str]] = [agents[i::n] for i in range(n)] if n else []
        filler = self.agents.filler or (agents[0] if agents else None)
        return [line or [filler] for line in lines]

    def pin(self, raw: Any) -> Any:
        if raw is None:
            return z3.Not(self.present)
        used = {i for line in raw for i in (self.agents.index(r) for r in line) if i is not None}
        return z3.And(
            self.present, self.lines == len(raw), *[u == (i in used) for i, u in enumerate(self.used)]
        )


class DosesFact(SymFact):
    """Up to N dosing days, each (tablets, strength); unused slots are fixed to cut symmetry."""

    def __init__(self, name: str, specs: tuple[FactSpec | None, FactSpec | None], versions: Versions) -> None:
        super().__init__(name, specs)
        self.strengths = sorted({s for v in versions for s in v.strengths_mg})
        if not self.strengths:
            raise EncodingError(f"{name}: no version lists a strength")
        self.slots = _slot_count(name, specs, versions, self.strengths)
        self.used = [z3.Bool(f"{name}[{i}]") for i in range(self.slots)]
        self.tablets = [z3.Int(f"{name}[{i}].tablets") for i in range(self.slots)]
        self.strength = [z3.Int(f"{name}[{i}].strength") for i in range(self.slots)]
        self.versions = versions

    def domain(self) -> list[Any]:
        out = [self.present == self.used[0]]  # an empty list is invalid input under every version
        for i in range(self.slots):
            if i:
                out.append(z3.Implies(self.used[i], self.used[i - 1]))
            out += [
                self.tablets[i] >= 1,
                self.tablets[i] <= MAX_TABLETS_PER_DOSE,
                self.strength[i] >= 0,
                self.strength[i] < len(self.strengths),
                z3.Implies(z3.Not(self.used[i]), z3.And(self.tablets[i] == 1, self.strength[i] == 0)),
            ]
        return out

    def value_valid(self, side: int, spec: FactSpec) -> Any:
        allowed = set(self.versions[side].strengths_mg)
        out = [
            z3.Implies(used, _or([s == j for j, mg in enumerate(self.strengths) if mg in allowed]))
            for used, s in zip(self.used, self.strength, strict=True)
        ]
        if spec.max_items is not None:
            out.append(_count(self.used) <= spec.max_items)
        return _and(out)

    def mg(self, i: int) -> Any:
        expr = self.tablets[i] * self.strengths[-1]
        for j in range(len(self.strengths) - 2, -1, -1):
            expr = z3.If(self.strength[i] == j, self.tablets[i] * self.strengths[j], expr)
        return expr

    def operand(self, side: int, leaf: Leaf) -> Operand:
        measure, _ = _measure(leaf, "doses")
        return _number(dose_measure_form(measure)(self))

    def complexity(self) -> Any:
        return _count(self.used)

    def magnitude(self) -> Any:
        return _sum([z3.If(u, t, 0) for u, t in zip(self.used, self.tablets, strict=True)])

    def realise(self, model: Any) -> Any:
        out = []
        for i in range(self.slots):
            if z3.is_true(model.eval(self.used[i], model_completion=True)):
                tablets = model.eval(self.tablets[i], model_completion=True).as_long()
                strength = self.strengths[model.eval(self.strength[i], model_completion=True).as_long()]
                out.append({"tablets": tablets, "strength_mg": strength})
        return out

    def pin(self, raw: Any) -> Any:
        if raw is None:
            return z3.Not(self.present)
        if not raw or len(raw) > self.slots:
            raise OutsideSpace(f"{self.name}: {len(raw)} items, the space has 1 to {self.slots}")
        for item in raw:
            if item["strength_mg"] not in self.strengths or not 1 <= item["tablets"] <= MAX_TABLETS_PER_DOSE:
                raise OutsideSpace(f"{self.name}: {item} is invalid under both versions")
        out = [self.present]
        for i in range(self.slots):
            if i < len(raw):
                item = raw[i]
                out += [
                    self.used[i],
                    self.tablets[i] == item["tablets"],
                    self.strength[i] == self.strengths.index(item["strength_mg"]),
                ]
            else:
                out.append(z3.Not(self.used[i]))
        return z3.And(out)


def _slot_count(
    name: str, specs: tuple[FactSpec | None, FactSpec | None], versions: Versions, strengths: list[int]
) -> int:
    """Enough dosing days to reach every threshold a criterion compares with.

    With a max_items in every version that is the bound itself (7 for a week). Without
    one, a list could be longer than any threshold needs, and longer lists only push the
    measures further past thresholds that shorter ones already cross, so the slots needed
    to cross the largest threshold of each measure are enough.
    """
    limits = [s.max_items for s in specs if s is not None]
    if limits and None not in limits:
        return max(x for x in limits if x is not None)
    need = 7
    for v in versions:
        for node in v.nodes().values():
            if isinstance(node, Leaf) and node.fact.startswith(f"{name}.") and isinstance(node.value, int):
                measure = MEASURES[("doses", node.fact.split(".", 1)[1])]
                per_slot = {"days": 1, "tablets": MAX_TABLETS_PER_DOSE}.get(
                    measure.quantity or "", MAX_TABLETS_PER_DOSE * min(strengths)
                )
                need = max(need, math.ceil((node.value + 1) / per_slot) + 1)
    return need


def _make(
    name: str, specs: tuple[FactSpec | None, FactSpec | None], versions: Versions, agents: _AgentAtoms
) -> SymFact:
    types = {s.type for s in specs if s is not None}
    if len(types) != 1:
        raise EncodingError(f"fact {name} changes type between the versions ({sorted(types)})")
    kind = types.pop()
    if kind == "enum":
        return EnumFact(name, specs)
    if kind == "bool":
        return BoolFact(name, specs)
    if kind == "int":
        return IntFact(name, specs)
    if kind == "date":
        return DateFact(name, specs)
    if kind == "terms":
        return TermsFact(name, specs, agents)
    if kind == "lines":
        return LinesFact(name, specs, agents)
    if kind == "doses":
        return DosesFact(name, specs, versions)
    raise EncodingError(f"fact {name} has type {kind}, which the semantic diff does not know")


class RequestSpace:
    """Every request either version could be asked to decide."""

    def __init__(self, versions: Versions) -> None:
        self.versions = versions
        a, b = versions
        names = [*b.facts, *(n for n in a.facts if n not in b.facts)]
        agents = _AgentAtoms(versions)
        self.facts: dict[str, SymFact] = {
            n: _make(n, (a.facts.get(n), b.facts.get(n)), versions, agents) for n in names
        }
        self.constraints = [c for f in self.facts.values() for c in f.domain()]

    def enum(self, name: str) -> EnumFact:
        fact = self.facts[name]
        if not isinstance(fact, EnumFact):
            raise EncodingError(f"{name} is not an enum fact")
        return fact

    def int_fact(self, name: str) -> IntFact:
        fact = self.facts[name]
        if not isinstance(fact, IntFact):
            raise EncodingError(f"{name} is not an int fact")
        return fact

    def valid(self, side: int) -> Any:
        return z3.And([f.valid(side) for f in self.facts.values()])

    def leaf(self, side: int, leaf: Leaf) -> tuple[Any, Any]:
        """(known, test) for a leaf under one version: the operator's z3 form on its operand."""
        fact = self.facts[leaf.base_fact]
        if "." in leaf.fact and not isinstance(fact, (LinesFact, DosesFact)):
            raise EncodingError(f"{leaf.fact}: measures of a {type(fact).__name__} ({leaf.key})")
        return fact.present, operator_form(leaf.op)(fact.operand(side, leaf), leaf.value)

    def known_count(self) -> Any:
        """Facts a request states, besides the service date every request has."""
        return _count([f.present for n, f in self.facts.items() if n != SERVICE_DATE])

    def complexity(self) -> Any:
        return _sum([f.complexity() for f in self.facts.values()])

    def magnitude(self) -> Any:
        """Tablets in the doses: a witness with small doses reads like a real request."""
        return _sum([f.magnitude() for f in self.facts.values() if isinstance(f, DosesFact)])

    def realise(self, model: Any, service_date: dt.date) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, fact in self.facts.items():
            if name == SERVICE_DATE:
                out[name] = service_date.isoformat()
            elif z3.is_true(model.eval(fact.present, model_completion=True)):
                value = fact.realise(model)
                out[name] = service_date.isoformat() if value is None else value
        return out

    def pin(self, request: Mapping[str, Any]) -> Any:
        unknown = set(request) - set(self.facts)
        if unknown:
            raise EncodingError(f"facts {sorted(unknown)} are known to neither version")
        return z3.And([f.pin(request.get(n)) for n, f in self.facts.items()])
