"""Load and validate policy-version files.

A file is checked in two passes: its shape against the JSON Schema (what an
editor also uses for completion), then its meaning (facts a criterion reads
exist, operators fit the fact's type, values are valid terms, keys are unique,
tables cover every line of business). Every problem is reported with the file,
the path inside it and the reason; loading stops only after collecting them all.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .errors import PolicyFileError, PolicyLoadError
from .language import KIND_WORDS, OPERATORS, ValueKind, measure_kind, operators_for
from .model import (
    Agent,
    ChangeNote,
    Duration,
    FactSpec,
    Group,
    Indication,
    Leaf,
    Metadata,
    Node,
    PolicyVersion,
    Referral,
    ReferralRule,
)
from .validation_cache import ValidationCache

if TYPE_CHECKING:
    import jsonschema

SCHEMA_FILE = "policy-version.schema.json"

# libyaml's parser is several times faster than PyYAML's pure-Python one, and parsing
# dominates server start-up; both are safe loaders and give the same documents.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Facts every prior-authorization request has; the engine reads them by name.
SERVICE_DATE = "service_date"
REQUEST_TYPE = "request_type"


@functools.cache
def schema_text() -> bytes:
    return resources.files(__package__).joinpath(SCHEMA_FILE).read_bytes()


@functools.cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_text())
    return loaded


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    # Imported here: a start whose files all passed before (validation_cache) never needs it.
    import jsonschema

    cls = jsonschema.validators.validator_for(schema())
    validator: jsonschema.protocols.Validator = cls(schema())
    return validator


def sha256_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _jsonable(value: Any) -> Any:
    """YAML gives dates as date objects; the schema speaks JSON."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


# A criterion node is a oneOf (leaf | all | any); the key it carries says which one
# the author meant, so its errors are the ones worth reporting.
_NODE_BRANCH = {"fact": 0, "all": 1, "any": 2}


def _most_specific(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """A oneOf failure says only "not valid under any"; report the intended branch's reason."""
    while error.context:
        candidates = list(error.context)
        instance = error.instance
        if isinstance(instance, dict):
            branch = next((i for k, i in _NODE_BRANCH.items() if k in instance), None)
            chosen = [e for e in candidates if e.relative_schema_path and e.relative_schema_path[0] == branch]
            candidates = chosen or candidates
        error = max(candidates, key=lambda e: (len(e.absolute_path), e.validator != "additionalProperties"))
    return error


def _schema_errors(file: str, doc: Any) -> list[PolicyFileError]:
    errors = []
    for error in sorted(_validator().iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        best = _most_specific(error)
        errors.append(PolicyFileError(file, _path(best.absolute_path), best.message))
    return errors


def parse_yaml(file: str, data: bytes) -> tuple[Any, list[PolicyFileError]]:
    try:
        return yaml.load(data, Loader=_SAFE_LOADER), []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [PolicyFileError(file, where, f"not valid YAML: {problem}")]


class _Builder:
    """Turns a schema-valid document into the model, checking what a schema cannot."""

    def __init__(self, file: str, doc: Mapping[str, Any]) -> None:
        self.file = file
        self.doc = doc
        self.errors: list[PolicyFileError] = []
        self.keys: dict[str, str] = {}

    def error(self, path: str, reason: str) -> None:
        self.errors.append(PolicyFileError(self.file, path, reason))

    def claim_key(self, key: str, path: str) -> None:
        """Keys are what the diff matches criteria by: each names one node in the file."""
        if key in self.keys:
            self.error(f"{path}.key", f"key '{key}' is used twice (also at {self.keys[key]})")
        else:
            self.keys[key] = path

    # ---------------------------------------------------------------- facts

    def facts(self) -> dict[str, FactSpec]:
        specs: dict[str, FactSpec] = {}
        for name, raw in self.doc["facts"].items():
            path = f"facts.{name}"
            kind = raw["type"]
            values = tuple(raw.get("values", {}))
            aliases = {str(a).lower(): t for a, t in raw.get("aliases", {}).items()}
            if kind == "enum" and not values:
                self.error(path, "an enum fact needs 'values'")
            for alias, term in aliases.items():
                if term not in values:
                    self.error(f"{path}.aliases.{alias}", f"alias points at '{term}', not one of its values")
            if kind in ("terms", "lines") and "vocabulary" not in raw:
                self.error(path, f"a {kind} fact needs 'vocabulary'")
            minimum, maximum = raw.get("minimum"), raw.get("maximum")
            if minimum is not None and maximum is not None and minimum > maximum:
                self.error(path, "minimum is greater than maximum")
            specs[name] = FactSpec(
                name=name,
                type=kind,
                text=raw["text"],
                required=bool(raw.get("required", False)),
                values=values,
                aliases=aliases,
                minimum=minimum,
                maximum=maximum,
                vocabulary=raw.get("vocabulary"),
                max_items=raw.get("max_items"),
            )
        for core, kind in ((SERVICE_DATE, "date"), (REQUEST_TYPE, "enum")):
            spec = specs.get(core)
            if spec is None or spec.type != kind or not spec.required:
                self.error(f"facts.{core}", f"every policy needs a required {kind} fact '{core}'")
        return specs

    def agents(self) -> dict[str, Agent]:
        raw = self.doc.get("vocabulary", {}).get("agents", {})
        agents = {
            term: Agent(term, tuple(v.get("aliases", ())), v["molecule"], tuple(v["classes"]))
            for term, v in raw.items()
        }
        seen: dict[str, str] = {}
        for term, agent in agents.items():
            for name in (term, *agent.aliases):
                low = name.lower()
                if low in seen and seen[low] != term:
                    self.error(f"vocabulary.agents.{term}", f"'{name}' also names '{seen[low]}'")
                seen[low] = term
        return agents

    # ---------------------------------------------------------------- criteria

    def node(
        self, raw: Mapping[str, Any], path: str, specs: Mapping[str, FactSpec], agents: Mapping[str, Agent]
    ) -> Node:
        key = raw["key"]
        self.claim_key(key, path)
        for mode in ("all", "any"):
            if mode in raw:
                children = tuple(
                    self.node(child, f"{path}.{mode}[{i}]", specs, agents)
                    for i, child in enumerate(raw[mode])
                )
                return Group(key, raw["cite"], raw["text"], mode, children, raw.get("gloss"))
        return self.leaf(raw, path, specs, agents)

    def leaf(
        self, raw: Mapping[str, Any], path: str, specs: Mapping[str, FactSpec], agents: Mapping[str, Agent]
    ) -> Leaf:
        fact, op, value = raw["fact"], raw["op"], raw["value"]
        base, _, measure = fact.partition(".")
        spec = specs.get(base)
        leaf = Leaf(raw["key"], raw["cite"], raw["text"], fact, op, value, raw.get("gloss"))
        if spec is None:
            self.error(f"{path}.fact", f"no fact named '{base}' is declared under 'facts'")
            return leaf
        kind, why = measure_kind(spec, measure, agents)
        if kind is None:
            self.error(f"{path}.fact", why)
            return leaf
        field, problem, normalised = _check_value(kind, spec, op, value, agents)
        if problem:
            self.error(f"{path}.{field}", problem)
            return leaf
        return Leaf(raw["key"], raw["cite"], raw["text"], fact, op, normalised, raw.get("gloss"))

    def durations(
        self, raw: Mapping[str, Any], path: str, specs: Mapping[str, FactSpec]
    ) -> tuple[str, dict[str, Duration]]:
        keyed_by = raw["keyed_by"]
        table: dict[str, Duration] = {}
        self._check_keyed(keyed_by, [k for k in raw if k != "keyed_by"], f"{path}", specs)
        for value, d in raw.items():
            if value == "keyed_by":
                continue
            at_most = d.get("at_most_fact")
            if at_most is not None and (at_most not in specs or specs[at_most].type != "int"):
                self.error(f"{path}.{value}.at_most_fact", f"'{at_most}' is not an int fact")
            table[value] = Duration(d.get("months"), bool(d.get("length_of_benefit", False)), at_most)
        return keyed_by, table

    def _check_keyed(
        self, keyed_by: str, present: list[str], path: str, specs: Mapping[str, FactSpec]
    ) -> None:
        spec = specs.get(keyed_by)
        if spec is None or spec.type != "enum" or not spec.required:
            self.error(f"{path}.keyed_by", f"'{keyed_by}' must be a required enum fact")
            return
        missing = [v for v in spec.values if v not in present]
        extra = [v for v in present if v not in spec.values]
        if missing:
            self.error(path, f"no entry for {', '.join(missing)} (every value of {keyed_by} needs one)")
        if extra:
            self.error(path, f"{', '.join(extra)} is not a value of {keyed_by}")

    def request_types(self, raw: list[str], path: str, specs: Mapping[str, FactSpec]) -> tuple[str, ...]:
        valid = specs[REQUEST_TYPE].values if REQUEST_TYPE in specs else ()
        for value in raw:
            if value not in valid:
                self.error(path, f"'{value}' is not a value of {REQUEST_TYPE}")
        return tuple(raw)

    def indications(
        self, specs: Mapping[str, FactSpec], agents: Mapping[str, Agent]
    ) -> tuple[Indication, ...]:
        out = []
        for i, raw in enumerate(self.doc["indications"]):
            path = f"indications[{i}]"
            root = self.node({k: raw[k] for k in ("key", "cite", "text", "all")}, path, specs, agents)
            assert isinstance(root, Group)
            selector_raw = raw["applies_to"]
            selector: Node
            if isinstance(selector_raw, str):
                found = _find(root, selector_raw)
                if found is None:
                    self.error(f"{path}.applies_to", f"no criterion '{selector_raw}' in this indication")
                    selector = root
                else:
                    selector = found
            else:
                selector = self.node(selector_raw, f"{path}.applies_to", specs, agents)
            keyed_by, table = self.durations(raw["approval_duration"], f"{path}.approval_duration", specs)
            out.append(
                Indication(
                    key=raw["key"],
                    cite=raw["cite"],
                    title=raw["text"],
                    request_types=self.request_types(raw["request_types"], f"{path}.request_types", specs),
                    applies_to=selector,
                    criteria=root,
                    durations=table,
                    durations_keyed_by=keyed_by,
                )
            )
        return tuple(out)

    def referrals(self, specs: Mapping[str, FactSpec], agents: Mapping[str, Agent]) -> tuple[Referral, ...]:
        out = []
        for i, raw in enumerate(self.doc["referrals"]):
            path = f"referrals[{i}]"
            self.claim_key(raw["key"], path)
            rules = []
            for j, rule in enumerate(raw["rules"]):
                rpath = f"{path}.rules[{j}]"
                self.claim_key(rule["key"], rpath)
                when = rule.get("when")
                node = self.node(when, f"{rpath}.when", specs, agents) if when is not None else None
                self._check_keyed(raw["keyed_by"], list(rule["refer_to"]), f"{rpath}.refer_to", specs)
                rules.append(
                    ReferralRule(
                        rule["key"],
                        rule["cite"],
                        rule["text"],
                        node,
                        dict(rule["refer_to"]),
                        rule.get("gloss"),
                    )
                )
            out.append(
                Referral(
                    key=raw["key"],
                    cite=raw["cite"],
                    text=raw["text"],
                    request_types=self.request_types(raw["request_types"], f"{path}.request_types", specs),
                    keyed_by=raw["keyed_by"],
                    rules=tuple(rules),
                )
            )
        return tuple(out)

    def build(self, source_path: str, content_hash: str, locked: bool) -> PolicyVersion | None:
        doc = self.doc
        specs = self.facts()
        agents = self.agents()
        product = doc.get("product")
        dose_fact = product["dose_fact"] if product else None
        if dose_fact is not None and (dose_fact not in specs or specs[dose_fact].type != "doses"):
            self.error("product.dose_fact", f"'{dose_fact}' is not a doses fact")
        if product is None and any(s.type == "doses" for s in specs.values()):
            self.error("product", "a policy with a doses fact must list product.strengths_mg")
        indications = self.indications(specs, agents)
        referrals = self.referrals(specs, agents)
        if REQUEST_TYPE in specs:
            referred = {rt for r in referrals for rt in r.request_types}
            for rt in specs[REQUEST_TYPE].values:
                if rt not in referred:
                    self.error(
                        "referrals",
                        f"no referral covers request type '{rt}': a diagnosis no "
                        "indication covers would have no decision",
                    )
        effective = dt.date.fromisoformat(doc["effective"])
        recorded = dt.date.fromisoformat(doc.get("recorded", doc["effective"]))
        log = doc["revision_log"]
        meta = Metadata(
            policy_id=doc["policy"]["id"],
            title=doc["policy"]["title"],
            version=doc["version"],
            effective=effective,
            recorded=recorded,
            revision_log_date=dt.date.fromisoformat(log["date"]),
            revision_log_text=log["text"],
            pt_approval=log.get("pt_approval"),
            provenance=doc["provenance"],
            semver_reasoning=doc["semver_reasoning"],
            assumptions=tuple(doc.get("assumptions", ())),
            unmodelled=tuple(doc.get("unmodelled", ())),
            choices=tuple(doc.get("choices", ())),
            corrects=doc.get("corrects"),
            changes=tuple(ChangeNote(c["key"], c["change"], c["text"]) for c in doc.get("changes", ())),
        )
        if self.errors:
            return None
        return PolicyVersion(
            meta=meta,
            facts=specs,
            agents=agents,
            strengths_mg=tuple(sorted(product["strengths_mg"])) if product else (),
            dose_fact=dose_fact,
            self_names=frozenset(n.lower() for n in (product or {}).get("self_names", ())),
            agent_index={
                name.lower(): term for term, agent in agents.items() for name in (term, *agent.aliases)
            },
            indications=indications,
            referrals=referrals,
            source_path=source_path,
            content_hash=content_hash,
            locked=locked,
        )


def _find(node: Node, key: str) -> Node | None:
    if node.key == key:
        return node
    if isinstance(node, Group):
        for child in node.children:
            found = _find(child, key)
            if found is not None:
                return found
    return None


def _check_value(
    kind: ValueKind, spec: FactSpec, op_name: str, value: Any, agents: Mapping[str, Agent]
) -> tuple[str, str | None, Any]:
    """Is ``op value`` meaningful for a value of this kind? Returns (the field a problem is
    in, "op" or "value"; the problem or None; the normalised value)."""
    op = OPERATORS[op_name]  # the schema admits only the registry's operators
    if kind not in op.kinds:
        use = ", ".join(operators_for(kind))
        return "op", f"op '{op_name}' does not apply to {KIND_WORDS[kind]} (use {use})", value
    if op.takes_list:
        if not isinstance(value, list) or (kind == "set" and not all(isinstance(v, list) for v in value)):
            shape = "a list of lists of agents" if kind == "set" else "a list"
            return "value", f"op '{op_name}' needs {shape} value", value
        items = value
    else:
        items = [value]
    problem = _check_items(kind, spec, op_name, items, agents, listed=op.takes_list)
    if problem:
        return "value", problem, value
    if kind == "set":
        return "value", None, tuple(frozenset(group) for group in items)
    return "value", None, tuple(items) if op.takes_list else value


def _check_items(
    kind: ValueKind,
    spec: FactSpec,
    op_name: str,
    items: list[Any],
    agents: Mapping[str, Agent],
    *,
    listed: bool,
) -> str | None:
    if kind == "int":
        bad = [v for v in items if isinstance(v, bool) or not isinstance(v, int)]
        if bad:
            return f"op '{op_name}' on a number needs an integer value, got {bad[0]!r}"
    elif kind == "bool":
        bad = [v for v in items if not isinstance(v, bool)]
        if bad:
            return f"a yes/no fact compares with true or false, got value {bad[0]!r}"
    elif kind == "enum":
        bad = [v for v in items if v not in spec.values]
        if bad and listed:
            return f"value {bad} is not among {spec.name}'s values"
        if bad:
            return f"value '{bad[0]}' is not one of {spec.name}'s values"
    else:
        unknown = sorted({t for group in items for t in group if t not in agents})
        if unknown:
            return f"value names unknown agents {unknown}"
    return None


# A policy directory's lint template (server/analysis/template.py): not a version file.
TEMPLATE_NAME = "template.yaml"


def iter_version_files(directory: Path) -> Iterator[Path]:
    yield from sorted(p for p in directory.glob("*.yaml") if p.is_file() and p.name != TEMPLATE_NAME)


def load_version_file(
    path: Path,
    *,
    locked_hash: str | None,
    display: str | None = None,
    validated: ValidationCache | None = None,
) -> PolicyVersion:
    """Load one file; raise PolicyLoadError listing every problem in it. With ``validated``,
    a locked file that already passed the schema is not checked against it again, and one
    that passes now is recorded there."""
    file = display or str(path)
    data = path.read_bytes()
    content_hash = sha256_of(data)
    if locked_hash is not None and locked_hash != content_hash:
        raise PolicyLoadError(
            [
                PolicyFileError(
                    file,
                    "",
                    "content differs from its locked hash in versions.lock "
                    f"(locked {locked_hash}, found {content_hash}); published policy versions are "
                    "immutable: restore the file and put the change in a new version "
                    "(rxpolicy new-version)",
                )
            ]
        )
    if locked_hash is None or validated is None:
        return parse_version(file, data, content_hash=content_hash, locked=locked_hash is not None)
    known = validated.passed(content_hash)
    version = parse_version(file, data, content_hash=content_hash, locked=True, schema_passed=known)
    if not known:
        validated.add(content_hash)  # reached only when the schema found nothing
    return version


def parse_version(
    file: str, data: bytes, *, content_hash: str, locked: bool, schema_passed: bool = False
) -> PolicyVersion:
    """``schema_passed``: these bytes are known to pass the schema, so it is not run."""
    doc, errors = parse_yaml(file, data)
    if errors:
        raise PolicyLoadError(errors)
    if not isinstance(doc, dict):
        raise PolicyLoadError([PolicyFileError(file, "(top level)", "a policy version is a mapping")])
    doc = _jsonable(doc)
    errors = [] if schema_passed else _schema_errors(file, doc)
    if errors:
        raise PolicyLoadError(errors)
    builder = _Builder(file, doc)
    version = builder.build(file, content_hash, locked)
    if version is None:
        raise PolicyLoadError(builder.errors)
    return version
