"""A policy's template: what lint requires of every version of it, as data.

``template.yaml`` beside a policy's version files declares, for that policy only: the
criteria every section must have (by the facts they read, from the version that
introduced them), the fact that chooses a section, which request type must cover what
another covers, the citation numbering scheme, the scaffold's placeholder phrases, and
for each fact its source and the question that asks for it (``rxpolicy facts``).

The template is not a version file and not locked: it decides nothing. Changing it
changes only what lint demands, and it is reviewed like code. A policy without one is
linted with the generic checks only (citations, placeholders, removed criteria).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import yaml

from ..engine.errors import PolicyFileError, PolicyLoadError
from ..engine.fact_sources import SOURCES
from ..engine.loading import TEMPLATE_NAME
from ..engine.model import FactSource

SCHEMA_ID = "rxpolicy/policy-template/1"
LEVEL_KINDS = ("upper_roman", "upper_letter", "number", "lower_letter", "lower_roman")
DEFAULT_LEVELS = ("upper_roman", "upper_letter", "number", "lower_letter", "lower_roman", "number")
DEFAULT_PLACEHOLDERS = ("Replace this", "TODO", "TBD", "FIXME")

_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["schema", "policy"],
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "policy": {"type": "string", "minLength": 1},
        "selector_fact": {"type": "string", "minLength": 1},
        "coverage": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["request_type", "covers"],
                "properties": {
                    "request_type": {"type": "string"},
                    "covers": {"type": "string"},
                    "text": {"type": "string"},
                },
            },
        },
        "citation_levels": {"type": "array", "items": {"enum": list(LEVEL_KINDS)}, "minItems": 1},
        "placeholders": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "required_criteria": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "request_types"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "request_types": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "reads_all": {"type": "array", "items": {"type": "string"}},
                    "reads_any": {"type": "array", "items": {"type": "string"}},
                    "per_selector_value": {"type": "boolean"},
                    "since": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$"},
                    "text": {"type": "string"},
                },
            },
        },
        "facts": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["source", "question"],
                "properties": {
                    "source": {"enum": list(SOURCES)},
                    "question": {"type": "string", "minLength": 1},
                },
            },
        },
    },
}


@attrs.frozen
class RequiredCriterion:
    name: str
    request_types: tuple[str, ...]
    reads_all: frozenset[str]
    reads_any: frozenset[str]
    per_selector_value: bool
    since: dt.date | None
    text: str


@attrs.frozen
class Coverage:
    request_type: str  # sections of this request type, together,
    covers: str  # must cover exactly the selector values that sections of this one cover


@attrs.frozen
class Template:
    policy_id: str
    path: str
    selector_fact: str | None = None
    coverage: tuple[Coverage, ...] = ()
    citation_levels: tuple[str, ...] = DEFAULT_LEVELS
    placeholders: tuple[str, ...] = DEFAULT_PLACEHOLDERS
    required: tuple[RequiredCriterion, ...] = ()
    facts: dict[str, FactSource] = attrs.field(factory=dict)


def _dates_as_text(value: Any) -> Any:
    """YAML reads 2021-11-24 as a date; the schema (and the model) take the ISO text."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(v) for v in value]
    return value


def generic_template(policy_id: str) -> Template:
    return Template(policy_id=policy_id, path="")


def load_template(directory: Path, policy_id: str) -> Template:
    """The directory's template.yaml, or the generic template when it has none."""
    path = directory / TEMPLATE_NAME
    if not path.exists():
        return generic_template(policy_id)
    file = str(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyLoadError([PolicyFileError(file, "", f"not valid YAML: {exc}")]) from exc
    doc = _dates_as_text(doc)
    errors = [
        PolicyFileError(file, ".".join(map(str, e.absolute_path)) or "(top level)", e.message)
        for e in jsonschema.Draft202012Validator(_SCHEMA).iter_errors(doc)
    ]
    if errors:
        raise PolicyLoadError(errors)
    if doc["policy"] != policy_id:
        raise PolicyLoadError(
            [PolicyFileError(file, "policy", f"names {doc['policy']}, but this directory holds {policy_id}")]
        )
    return Template(
        policy_id=policy_id,
        path=file,
        selector_fact=doc.get("selector_fact"),
        coverage=tuple(Coverage(c["request_type"], c["covers"]) for c in doc.get("coverage", ())),
        citation_levels=tuple(doc.get("citation_levels", DEFAULT_LEVELS)),
        placeholders=tuple(doc.get("placeholders", DEFAULT_PLACEHOLDERS)),
        required=tuple(
            RequiredCriterion(
                name=r["name"],
                request_types=tuple(r["request_types"]),
                reads_all=frozenset(r.get("reads_all", ())),
                reads_any=frozenset(r.get("reads_any", ())),
                per_selector_value=bool(r.get("per_selector_value", False)),
                since=dt.date.fromisoformat(r["since"]) if "since" in r else None,
                text=r.get("text", ""),
            )
            for r in doc.get("required_criteria", ())
        ),
        facts={name: FactSource(f["source"], f["question"]) for name, f in doc.get("facts", {}).items()},
    )
