"""Request facts: validation and normalisation against a version's fact specs.

Absent (or null) means unknown: never false, never zero. Everything present must
be valid, or the request is refused with a violation naming the field; a bad value
is never turned into a decision. Error messages describe the problem without
echoing member data beyond the offending term.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .errors import FieldViolation, InvalidRequest
from .language import Measure, find_measure
from .model import FactSpec, FactType, PolicyVersion

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
    if type(raw) is str:
        return _parse_date_text(field, raw)
    if isinstance(raw, dt.datetime):
        return None, FieldViolation(field, "must be a date (YYYY-MM-DD), not a date and time")
    if isinstance(raw, dt.date):
        return _in_range(field, raw)
    if isinstance(raw, str):
        return _parse_date_text(field, raw)
    return None, FieldViolation(field, f"must be a date (YYYY-MM-DD), got {_type_name(raw)}")


# Claims repeat their service dates (a few thousand days cover years of claims): the
# answer for a text is computed once. Both parts of it are immutable.
@functools.lru_cache(maxsize=8192)
def _parse_date_text(field: str, raw: str) -> tuple[dt.date | None, FieldViolation | None]:
    # date.fromisoformat also takes 20250602 and 2025-W23-1; a request says YYYY-MM-DD
    # (spaces around it tolerated, no other white space).
    text = raw.strip(" ")
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        value = dt.date.fromisoformat(text)
    except ValueError:
        return None, FieldViolation(field, "must be a date in the form YYYY-MM-DD")
    return _in_range(field, value)


def _in_range(field: str, value: dt.date) -> tuple[dt.date | None, FieldViolation | None]:
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


Problems = list[FieldViolation]
# Reads one present (non-null) value of one fact: the normalised value, or None after
# appending to the problems what is wrong with it.
Reader = Callable[[Any, Problems], Any]
_SELF = object()  # in an agent lookup: the requested drug itself


def compile_reader(version: PolicyVersion, spec: FactSpec) -> Reader:
    """The reader of one fact under one version, built once: the type is chosen here, not
    per request, and every term list and limit it checks against is bound in."""
    return _READER_BUILDERS[spec.type](version, spec)


def _date_reader(_version: PolicyVersion, spec: FactSpec) -> Reader:
    name = spec.name

    def read(raw: Any, problems: Problems) -> Any:
        value, problem = parse_date(name, raw)
        if problem:
            problems.append(problem)
        return value

    return read


def _exact(lookup: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of a lookup by lower-case, stripped name that a text spelled exactly so
    finds as it is: the common case skips strip() and lower(), with the same answer."""
    return {key: value for key, value in lookup.items() if key == key.strip(" ").lower()}


def _enum_reader(_version: PolicyVersion, spec: FactSpec) -> Reader:
    name, values = spec.name, spec.values
    terms = ", ".join(values)
    # One lookup for a term and its aliases; a term wins over an alias of the same spelling.
    lookup = {**spec.aliases, **{value: value for value in values}}
    exact = _exact(lookup)

    def read(raw: Any, problems: Problems) -> Any:
        if not isinstance(raw, str):
            problems.append(FieldViolation(name, f"must be one of {terms}; got {_type_name(raw)}"))
            return None
        term = exact.get(raw) if type(raw) is str else None
        if term is None:
            # Not spelled exactly as a term: refused if it holds a character that is not
            # plainly printable, else looked up without its spaces and case.
            if (problem := _unprintable(raw)) is not None:
                problems.append(FieldViolation(name, problem))
                return None
            term = lookup.get(raw.strip(" ").lower())
        if term is None:
            problems.append(FieldViolation(name, f"'{clip(raw)}' is not a known term (valid: {terms})"))
        return term

    return read


def _bool_reader(_version: PolicyVersion, spec: FactSpec) -> Reader:
    name = spec.name

    def read(raw: Any, problems: Problems) -> Any:
        if not isinstance(raw, bool):
            problems.append(FieldViolation(name, f"must be true or false, got {_type_name(raw)}"))
            return None
        return raw

    return read


def _int_reader(_version: PolicyVersion, spec: FactSpec) -> Reader:
    name, minimum, maximum = spec.name, spec.minimum, spec.maximum

    def read(raw: Any, problems: Problems) -> Any:
        number = raw if type(raw) is int else _integer(raw)
        if number is None:
            problems.append(FieldViolation(name, f"must be a whole number, got {_type_name(raw)}"))
            return None
        if minimum is not None and number < minimum:
            problems.append(FieldViolation(name, f"must be at least {minimum}"))
            return None
        if maximum is not None and number > maximum:
            problems.append(FieldViolation(name, f"must be at most {maximum}"))
            return None
        return number

    return read


def _list_check(spec: FactSpec) -> Callable[[Any, Problems], bool]:
    name, max_items = spec.name, spec.max_items

    def is_list(raw: Any, problems: Problems) -> bool:
        if not isinstance(raw, (list, tuple)):
            problems.append(FieldViolation(name, f"must be a list, got {_type_name(raw)}"))
            return False
        if max_items is not None and len(raw) > max_items:
            problems.append(FieldViolation(name, f"has {len(raw)} items; at most {max_items} are allowed"))
            return False
        return True

    return is_list


def _agent_lookup(version: PolicyVersion) -> dict[str, Any]:
    """Lower-case name -> agent term, or _SELF for the requested drug itself (which is
    never part of its own combination or of a prior line): one lookup per item."""
    return {**version.agent_index, **dict.fromkeys(version.self_names, _SELF)}


def _agent_problem(where: str, raw: Any) -> str:
    if not isinstance(raw, str):
        return f"{where} must be an agent term, got {_type_name(raw)}"
    return f"{where}: '{clip(raw)}' is not a known agent term or brand name"


def _agents_of(
    name: str, where: str, items: Any, lookup: Mapping[str, Any], exact: Mapping[str, Any], problems: Problems
) -> list[str]:
    """The agent terms of a list of names, the requested drug left out; a problem for
    every item that is not one, located as ``where[i]``."""
    terms = []
    for i, item in enumerate(items):
        term = exact.get(item) if type(item) is str else None
        if term is None and isinstance(item, str):
            if (problem := _unprintable(item)) is not None:
                problems.append(FieldViolation(name, f"{where}[{i}] {problem}"))
                continue
            term = lookup.get(item.strip(" ").lower())
        if term is _SELF:
            continue
        if term is None:
            problems.append(FieldViolation(name, _agent_problem(f"{where}[{i}]", item)))
            continue
        terms.append(term)
    return terms


def _terms_reader(version: PolicyVersion, spec: FactSpec) -> Reader:
    name, is_list, lookup = spec.name, _list_check(spec), _agent_lookup(version)
    exact = _exact(lookup)

    def read(raw: Any, problems: Problems) -> Any:
        if not is_list(raw, problems):
            return None
        return frozenset(_agents_of(name, name, raw, lookup, exact, problems))

    return read


def _lines_reader(version: PolicyVersion, spec: FactSpec) -> Reader:
    name, is_list, lookup = spec.name, _list_check(spec), _agent_lookup(version)
    exact = _exact(lookup)

    def read(raw: Any, problems: Problems) -> Any:
        if not is_list(raw, problems):
            return None
        lines = []
        for i, line in enumerate(raw):
            if not isinstance(line, (list, tuple)):
                what = "must be a list of agent terms (one prior line of therapy)"
                problems.append(FieldViolation(name, f"{name}[{i}] {what}"))
                continue
            if not line:
                problems.append(
                    FieldViolation(name, f"{name}[{i}] is empty: a line of therapy names at least one agent")
                )
                continue
            if len(line) > MAX_AGENTS_PER_LINE:
                problems.append(
                    FieldViolation(
                        name, f"{name}[{i}] has {len(line)} agents; at most {MAX_AGENTS_PER_LINE} are allowed"
                    )
                )
                continue
            lines.append(tuple(_agents_of(name, f"{name}[{i}]", line, lookup, exact, problems)))
        return tuple(lines)

    return read


_DOSE_KEYS = frozenset({"tablets", "strength_mg"})


def _doses_reader(version: PolicyVersion, spec: FactSpec) -> Reader:
    name, is_list = spec.name, _list_check(spec)
    strengths = version.strengths_mg
    available = frozenset(strengths)
    unavailable = (
        f"mg tablets are not available under the version in force ({version.version}, effective "
        f"{version.effective}); available strengths: {', '.join(f'{s} mg' for s in strengths)}"
    )

    def read(raw: Any, problems: Problems) -> Any:
        if not is_list(raw, problems):
            return None
        if not raw:
            problems.append(FieldViolation(name, "is empty: list one item per dosing day in a week"))
            return None
        doses = []
        ok = True
        for i, item in enumerate(raw):
            if type(item) is dict and item.keys() == _DOSE_KEYS:
                # The common case, checked in a few operations: two whole numbers in range.
                tablets, strength = item["tablets"], item["strength_mg"]
                if (
                    type(tablets) is int
                    and type(strength) is int
                    and 1 <= tablets <= MAX_TABLETS_PER_DOSE
                    and strength in available
                ):
                    if ok:
                        doses.append((tablets, strength))
                    continue
            dose = _read_dose(name, f"{name}[{i}]", item, available, unavailable, problems)
            if dose is None:
                ok = False
            elif ok:
                doses.append(dose)
        return tuple(doses) if ok else None

    return read


def _read_dose(
    name: str, where: str, item: Any, available: frozenset[int], unavailable: str, problems: Problems
) -> tuple[int, int] | None:
    """One dosing day as (tablets, strength_mg), or None and a problem for each thing
    wrong with it."""
    if not isinstance(item, Mapping):
        problems.append(FieldViolation(name, f"{where} must be a mapping with tablets and strength_mg"))
        return None
    unknown = sorted(str(k) for k in item if k not in _DOSE_KEYS)
    if unknown:
        expected = "(expected tablets, strength_mg)"
        problems.append(FieldViolation(name, f"{where} has unknown keys {unknown} {expected}"))
        return None
    tablets = _integer(item.get("tablets"))
    strength = _integer(item.get("strength_mg"))
    ok = True
    if tablets is None:
        problems.append(FieldViolation(name, f"{where}.tablets must be a whole number"))
        ok = False
    elif not 1 <= tablets <= MAX_TABLETS_PER_DOSE:
        problems.append(FieldViolation(name, f"{where}.tablets must be between 1 and {MAX_TABLETS_PER_DOSE}"))
        ok = False
    if strength is None:
        problems.append(FieldViolation(name, f"{where}.strength_mg must be a whole number of mg"))
        ok = False
    elif strength not in available:
        problems.append(FieldViolation(name, f"{where}.strength_mg: {strength} {unavailable}"))
        ok = False
    return (tablets, strength) if ok and tablets is not None and strength is not None else None


_READER_BUILDERS: Mapping[FactType, Callable[[PolicyVersion, FactSpec], Reader]] = {
    "date": _date_reader,
    "enum": _enum_reader,
    "bool": _bool_reader,
    "int": _int_reader,
    "terms": _terms_reader,
    "lines": _lines_reader,
    "doses": _doses_reader,
}


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
    """One measure some criterion reads: stored under ``path`` ("doses.weekly_mg");
    ``compute`` is the measure bound to its argument and the version's agents."""

    path: str
    fact: str
    measure: Measure
    argument: str
    compute: Callable[[Any], int]


def readers_of(version: PolicyVersion) -> dict[str, Reader]:
    """Every fact's reader under ``version``, by fact name."""
    return {name: compile_reader(version, spec) for name, spec in version.facts.items()}


@attrs.frozen
class NormalisationPlan:
    """What validating a request under one version involves: a reader per fact, the
    required facts, and the derived measures its criteria read (a request pays only for
    what is read). Built once per compiled version."""

    required: tuple[str, ...]
    derived: tuple[DerivedMeasure, ...]
    readers: Mapping[str, Reader]
    # (fact, path, compute) of each derived measure: what normalising a request runs.
    computes: tuple[tuple[str, str, Callable[[Any], int]], ...] = attrs.field()

    @computes.default
    def _computes(self) -> tuple[tuple[str, str, Callable[[Any], int]], ...]:
        return tuple((d.fact, d.path, d.compute) for d in self.derived)

    @classmethod
    def of(cls, version: PolicyVersion, wanted: frozenset[str]) -> NormalisationPlan:
        derived = []
        for path in sorted(wanted):
            name, _, rest = path.partition(".")
            spec = version.facts.get(name)
            measure, argument = find_measure(spec.type, rest) if spec is not None else (None, "")
            if measure is None:
                raise ValueError(f"{path} is not a measure of version {version.version}")
            derived.append(
                DerivedMeasure(path, name, measure, argument, measure.bind(argument, version.agents))
            )
        required = tuple(name for name, spec in version.facts.items() if spec.required)
        return cls(required, tuple(derived), readers_of(version))


_NOTHING: Mapping[str, Any] = {}


def _collect(
    readers: Mapping[str, Reader], raw: Mapping[str, Any], required: tuple[str, ...], given: Mapping[str, Any]
) -> tuple[Facts, list[FieldViolation]]:
    """The valid facts of ``raw`` and a violation for every invalid or missing one. Facts in
    ``given`` were validated already by the caller and are taken as they are."""
    problems: list[FieldViolation] = []
    facts: Facts = {}
    for name, raw_value in raw.items():
        if name in given:
            facts[name] = given[name]
            continue
        read = readers.get(name)
        if read is None:
            problems.append(FieldViolation(clip(str(name), 64), "is not a fact this policy knows"))
            continue
        if raw_value is None:
            continue  # explicit null: unknown
        value = read(raw_value, problems)
        if value is not None:
            facts[name] = value
    for name in required:
        if name not in given and raw.get(name) is None:
            problems.append(FieldViolation(name, "is required"))
    return facts, problems


def violations(version: PolicyVersion, raw: Mapping[str, Any], *, besides: str) -> list[FieldViolation]:
    """Every problem of ``raw`` under ``version``, the fact ``besides`` not read at all (the
    caller has reported it already)."""
    required = tuple(name for name, spec in version.facts.items() if spec.required and name != besides)
    rest = {k: v for k, v in raw.items() if k != besides}
    return _collect(readers_of(version), rest, required, {})[1]


def normalise(
    version: PolicyVersion,
    raw: Mapping[str, Any],
    plan: NormalisationPlan,
    given: Mapping[str, Any] | None = None,
) -> Facts:
    """Validate ``raw`` against ``version`` and return facts plus the derived measures of
    ``plan``; raise InvalidRequest naming every bad field. ``given``: facts the caller has
    validated already (the service date it chose the version by), not read again."""
    facts, problems = _collect(plan.readers, raw, plan.required, _NOTHING if given is None else given)
    if problems:
        raise InvalidRequest(capped(problems))
    for fact, path, compute in plan.computes:
        value = facts.get(fact)
        if value is not None:
            facts[path] = compute(value)
    return facts
