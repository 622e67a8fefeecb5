"""Request facts: validation and normalisation against a version's fact specs.

Absent (or null) means unknown: never false, never zero. Everything present must
be valid, or the request is refused with a violation naming the field; a bad value
is never turned into a decision. Error messages describe the problem without
echoing member data beyond the offending term.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import attrs

from .errors import FieldViolation, InvalidRequest
from .language import Measure, find_measure
from .model import FactSpec, PolicyVersion

# Dates outside this window are refused: no policy can be in force there, and date
# arithmetic on the approval's last day must not overflow.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2199, 12, 31)
MAX_TABLETS_PER_DOSE = 100
# ASCII digits only (\d would take any script's); the one date grammar of every request
# field (service_date, as_known_on, in_force_on, a version given by date).
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_AGENTS_PER_LINE = 20

Facts = dict[str, Any]


def parse_date(field: str, raw: Any) -> tuple[dt.date | None, FieldViolation | None]:
    if isinstance(raw, dt.datetime):
        return None, FieldViolation(field, "must be a date (YYYY-MM-DD), not a date and time")
    if isinstance(raw, dt.date):
        value = raw
    elif isinstance(raw, str):
        # date.fromisoformat also takes 20250602 and 2025-W23-1; a request says YYYY-MM-DD
        # (spaces around it tolerated, no other white space).
        text = raw.strip(" ")
        try:
            if not _ISO_DATE.fullmatch(text):
                raise ValueError(text)
            value = dt.date.fromisoformat(text)
        except ValueError:
            return None, FieldViolation(field, "must be a date in the form YYYY-MM-DD")
    else:
        return None, FieldViolation(field, f"must be a date (YYYY-MM-DD), got {_type_name(raw)}")
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        return None, FieldViolation(field, f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
    return value, None


def _type_name(value: Any) -> str:
    """What a value is, in the request's words (never a Python type name: the caller may
    not be writing Python)."""
    return {
        type(None): "null",
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        tuple: "a list",
        dict: "a mapping",
    }.get(type(value), "a value of another kind")


def _unprintable(text: str) -> str | None:
    """Why a term cannot be read as written: a control, format or non-ASCII space
    character anywhere in it. Such a term is refused, not stripped, so what was decided
    is what was sent."""
    if text.isprintable():  # false for Unicode's Other and Separator classes, except " "
        return None
    bad = next(ch for ch in text if not ch.isprintable())
    return (
        f"contains the character U+{ord(bad):04X} (a control or non-ASCII space character); "
        "send the term alone"
    )


def _integer(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    return None


class _Normaliser:
    def __init__(self, version: PolicyVersion) -> None:
        self.version = version
        self.violations: list[FieldViolation] = []

    def bad(self, field: str, description: str) -> None:
        self.violations.append(FieldViolation(field, description))

    def term(self, field: str, raw: Any, spec: FactSpec) -> str | None:
        if not isinstance(raw, str):
            self.bad(field, f"must be one of {', '.join(spec.values)}; got {_type_name(raw)}")
            return None
        if (problem := _unprintable(raw)) is not None:
            self.bad(field, problem)
            return None
        low = raw.strip(" ").lower()
        if low in spec.values:
            return low
        alias = spec.aliases.get(low)
        if alias is not None:
            return alias
        self.bad(field, f"'{clip(raw)}' is not a known term (valid: {', '.join(spec.values)})")
        return None

    def agent(self, field: str, where: str, raw: Any) -> str | None:
        if not isinstance(raw, str):
            self.bad(field, f"{where} must be an agent term, got {_type_name(raw)}")
            return None
        if (problem := _unprintable(raw)) is not None:
            self.bad(field, f"{where} {problem}")
            return None
        term = self.version.agent_index.get(raw.strip(" ").lower())
        if term is None:
            self.bad(field, f"{where}: '{clip(raw)}' is not a known agent term or brand name")
        return term

    def value(self, name: str, spec: FactSpec, raw: Any) -> Any:
        kind = spec.type
        if kind == "date":
            value, problem = parse_date(name, raw)
            if problem:
                self.violations.append(problem)
            return value
        if kind == "enum":
            return self.term(name, raw, spec)
        if kind == "bool":
            if not isinstance(raw, bool):
                self.bad(name, f"must be true or false, got {_type_name(raw)}")
                return None
            return raw
        if kind == "int":
            number = _integer(raw)
            if number is None:
                self.bad(name, f"must be a whole number, got {_type_name(raw)}")
                return None
            if spec.minimum is not None and number < spec.minimum:
                self.bad(name, f"must be at least {spec.minimum}")
                return None
            if spec.maximum is not None and number > spec.maximum:
                self.bad(name, f"must be at most {spec.maximum}")
                return None
            return number
        if kind == "terms":
            return self.terms(name, spec, raw)
        if kind == "lines":
            return self.lines(name, spec, raw)
        if kind == "doses":
            return self.doses(name, spec, raw)
        raise AssertionError(kind)

    def _list(self, name: str, spec: FactSpec, raw: Any) -> bool:
        if not isinstance(raw, (list, tuple)):
            self.bad(name, f"must be a list, got {_type_name(raw)}")
            return False
        if spec.max_items is not None and len(raw) > spec.max_items:
            self.bad(name, f"has {len(raw)} items; at most {spec.max_items} are allowed")
            return False
        return True

    def terms(self, name: str, spec: FactSpec, raw: Any) -> frozenset[str] | None:
        if not self._list(name, spec, raw):
            return None
        terms = []
        for i, item in enumerate(raw):
            if isinstance(item, str) and item.strip(" ").lower() in self.version.self_names:
                continue  # the requested drug itself is never part of its combination
            term = self.agent(name, f"{name}[{i}]", item)
            if term is not None:
                terms.append(term)
        return frozenset(terms)

    def lines(self, name: str, spec: FactSpec, raw: Any) -> tuple[tuple[str, ...], ...] | None:
        if not self._list(name, spec, raw):
            return None
        lines = []
        for i, line in enumerate(raw):
            if not isinstance(line, (list, tuple)):
                self.bad(name, f"{name}[{i}] must be a list of agent terms (one prior line of therapy)")
                continue
            if not line:
                self.bad(name, f"{name}[{i}] is empty: a line of therapy names at least one agent")
                continue
            if len(line) > MAX_AGENTS_PER_LINE:
                self.bad(
                    name, f"{name}[{i}] has {len(line)} agents; at most {MAX_AGENTS_PER_LINE} are allowed"
                )
                continue
            terms = []
            for j, item in enumerate(line):
                if isinstance(item, str) and item.strip(" ").lower() in self.version.self_names:
                    continue
                term = self.agent(name, f"{name}[{i}][{j}]", item)
                if term is not None:
                    terms.append(term)
            lines.append(tuple(terms))
        return tuple(lines)

    def doses(self, name: str, spec: FactSpec, raw: Any) -> tuple[tuple[int, int], ...] | None:
        if not self._list(name, spec, raw):
            return None
        if not raw:
            self.bad(name, "is empty: list one item per dosing day in a week")
            return None
        strengths = self.version.strengths_mg
        doses = []
        ok = True
        for i, item in enumerate(raw):
            where = f"{name}[{i}]"
            if not isinstance(item, Mapping):
                self.bad(name, f"{where} must be a mapping with tablets and strength_mg")
                ok = False
                continue
            unknown = sorted(str(k) for k in item if k not in ("tablets", "strength_mg"))
            if unknown:
                self.bad(name, f"{where} has unknown keys {unknown} (expected tablets, strength_mg)")
                ok = False
                continue
            tablets = _integer(item.get("tablets"))
            strength = _integer(item.get("strength_mg"))
            if tablets is None:
                self.bad(name, f"{where}.tablets must be a whole number")
                ok = False
            elif not 1 <= tablets <= MAX_TABLETS_PER_DOSE:
                self.bad(name, f"{where}.tablets must be between 1 and {MAX_TABLETS_PER_DOSE}")
                ok = False
            if strength is None:
                self.bad(name, f"{where}.strength_mg must be a whole number of mg")
                ok = False
            elif strength not in strengths:
                self.bad(
                    name,
                    f"{where}.strength_mg: {strength} mg tablets are not available under the version "
                    f"in force ({self.version.version}, effective {self.version.effective}); "
                    f"available strengths: {', '.join(f'{s} mg' for s in strengths)}",
                )
                ok = False
            if ok and tablets is not None and strength is not None:
                doses.append((tablets, strength))
        return tuple(doses) if ok else None


MAX_VIOLATIONS = 50


def capped(violations: list[FieldViolation]) -> list[FieldViolation]:
    """At most MAX_VIOLATIONS, then one that says how many more: a request with thousands
    of bad fields gets a readable answer that fits in any error channel."""
    if len(violations) <= MAX_VIOLATIONS:
        return violations
    more = len(violations) - MAX_VIOLATIONS
    return [*violations[:MAX_VIOLATIONS], FieldViolation("request", f"... and {more} more problems")]


def clip(text: str, limit: int = 40) -> str:
    """Caller text in a message: enough to recognise, never a wall of it."""
    return text if len(text) <= limit else text[:limit] + "..."


@attrs.frozen
class DerivedMeasure:
    """One measure some criterion reads: stored under ``path`` ("doses.weekly_mg")."""

    path: str
    fact: str
    measure: Measure
    argument: str


@attrs.frozen
class NormalisationPlan:
    """What validating a request under one version involves beyond the values themselves:
    the required facts, and the derived measures its criteria read (a request pays only
    for what is read). Built once per compiled version."""

    required: tuple[str, ...]
    derived: tuple[DerivedMeasure, ...]

    @classmethod
    def of(cls, version: PolicyVersion, wanted: frozenset[str]) -> NormalisationPlan:
        derived = []
        for path in sorted(wanted):
            name, _, rest = path.partition(".")
            spec = version.facts.get(name)
            measure, argument = find_measure(spec.type, rest) if spec is not None else (None, "")
            if measure is None:
                raise ValueError(f"{path} is not a measure of version {version.version}")
            derived.append(DerivedMeasure(path, name, measure, argument))
        required = tuple(name for name, spec in version.facts.items() if spec.required)
        return cls(required, tuple(derived))


def _collect(
    version: PolicyVersion, raw: Mapping[str, Any], required: tuple[str, ...], given: Mapping[str, Any]
) -> tuple[Facts, list[FieldViolation]]:
    """The valid facts of ``raw`` and a violation for every invalid or missing one. Facts in
    ``given`` were validated already by the caller and are taken as they are."""
    n = _Normaliser(version)
    facts: Facts = {}
    specs = version.facts
    for name, raw_value in raw.items():
        if name in given:
            facts[name] = given[name]
            continue
        spec = specs.get(name)
        if spec is None:
            n.bad(clip(str(name), 64), "is not a fact this policy knows")
            continue
        if raw_value is None:
            continue  # explicit null: unknown
        value = n.value(name, spec, raw_value)
        if value is not None:
            facts[name] = value
    for name in required:
        if name not in given and raw.get(name) is None:
            n.bad(name, "is required")
    return facts, n.violations


def violations(version: PolicyVersion, raw: Mapping[str, Any], *, besides: str) -> list[FieldViolation]:
    """Every problem of ``raw`` under ``version``, the fact ``besides`` not read at all (the
    caller has reported it already)."""
    required = tuple(name for name, spec in version.facts.items() if spec.required and name != besides)
    return _collect(version, {k: v for k, v in raw.items() if k != besides}, required, {})[1]


def normalise(
    version: PolicyVersion,
    raw: Mapping[str, Any],
    plan: NormalisationPlan,
    given: Mapping[str, Any] | None = None,
) -> Facts:
    """Validate ``raw`` against ``version`` and return facts plus the derived measures of
    ``plan``; raise InvalidRequest naming every bad field. ``given``: facts the caller has
    validated already (the service date it chose the version by), not read again."""
    facts, problems = _collect(version, raw, plan.required, given or {})
    if problems:
        raise InvalidRequest(capped(problems))
    agents = version.agents
    for d in plan.derived:
        value = facts.get(d.fact)
        if value is not None:
            facts[d.path] = d.measure.compute(value, d.argument, agents)
    return facts
