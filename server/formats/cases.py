"""Case files: requests with the decision a policy must reach (the format of docs/cases.md).

The runner compares expectations with the JSON shape of a decision, so the same
cases run in process or through a server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs
import yaml

from .case_letters import LETTER_KEYS, check_letters, shape_problem
from .yaml_load import load_request_yaml

EXPECT_KEYS = (
    "decision",
    "version_effective",
    "approval_months",
    "approved_through",
    "refer_to",
    "unmet",
    "missing",
    "error",
    *LETTER_KEYS,
)


class CaseFileError(Exception):
    pass


@attrs.frozen
class Case:
    file: str
    name: str
    request: dict[str, Any]
    expect: dict[str, Any]
    note: str | None = None

    @property
    def id(self) -> str:
        return f"{Path(self.file).name}::{self.name}"


@attrs.frozen
class CaseResult:
    case: Case
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


def iter_case_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.yaml") if p.is_file())
        elif path.exists():
            yield path
        else:
            raise CaseFileError(f"{path}: no such file or directory")


def load_cases(path: Path) -> list[Case]:
    try:
        doc = load_request_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CaseFileError(f"{path}: not valid YAML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseFileError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
        raise CaseFileError(f"{path}: expected a mapping with a 'cases' list")
    cases = []
    seen: set[str] = set()
    for i, raw in enumerate(doc["cases"]):
        where = f"{path}: cases[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise CaseFileError(f"{where}: each case needs a name")
        if raw["name"] in seen:
            raise CaseFileError(f"{where}: name {raw['name']!r} is used twice")
        seen.add(raw["name"])
        if not isinstance(raw.get("request"), dict):
            raise CaseFileError(f"{where} ({raw['name']}): 'request' must be a mapping")
        expect = raw.get("expect")
        if not isinstance(expect, dict) or not ("decision" in expect or "error" in expect):
            raise CaseFileError(f"{where} ({raw['name']}): 'expect' needs a decision or an error")
        unknown = sorted(set(expect) - set(EXPECT_KEYS))
        if unknown:
            raise CaseFileError(f"{where} ({raw['name']}): unknown expect keys {unknown}")
        for key in LETTER_KEYS:
            problem = shape_problem(key, expect[key]) if key in expect else None
            if problem:
                raise CaseFileError(f"{where} ({raw['name']}): {problem}")
        cases.append(Case(str(path), raw["name"], raw["request"], expect, raw.get("note")))
    return cases


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def field_matches(expected: str, field: str) -> bool:
    return field == expected or field.startswith((expected + ".", expected + "["))


def check(case: Case, result: dict[str, Any]) -> CaseResult:
    """Compare one result (decision_json or error_json shape) with the case's expectations."""
    exp = case.expect
    problems: list[str] = []
    if "error" in result:
        fields = result["error"]["fields"]
        if "error" not in exp:
            detail = "; ".join(f"{v['field']}: {v['description']}" for v in result["error"]["violations"])
            problems.append(f"expected decision {exp.get('decision')}, got an error ({detail})")
        elif not any(field_matches(str(exp["error"]), f) for f in fields):
            problems.append(f"expected an error naming {exp['error']}, got errors naming {fields}")
        return CaseResult(case, tuple(problems))
    if "error" in exp:
        problems.append(f"expected an error naming {exp['error']}, got decision {result['decision']}")
        return CaseResult(case, tuple(problems))
    for key in ("decision", "version_effective", "approval_months", "approved_through", "refer_to"):
        if key in exp and _text(exp[key]) != _text(result.get(key)):
            problems.append(f"{key}: expected {_text(exp[key])}, got {_text(result.get(key))}")
    got_unmet = {u["cite"] for u in result.get("unmet", ())}
    for cite in exp.get("unmet", ()):
        if cite not in got_unmet:
            problems.append(f"unmet: expected {cite} listed, got {sorted(got_unmet)}")
    got_missing = set(result.get("missing", ()))
    for fact in exp.get("missing", ()):
        if fact not in got_missing:
            problems.append(f"missing: expected {fact} listed, got {sorted(got_missing)}")
    problems.extend(check_letters(exp, result))
    return CaseResult(case, tuple(problems))
