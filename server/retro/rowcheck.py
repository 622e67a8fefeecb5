"""What a parsed row may hold before it is decided, and the words for what it may not.

A JSON line can hold things no claim holds and that would break a later step for its
whole chunk: a lone surrogate escape (``"\\ud800"``, valid JSON, but not text that can
be written as UTF-8 or sent in a protobuf string), or nesting far deeper than any
request. They are found here, cheaply (a text scan first, the walk only for the rare
line that needs it), and become that row's error naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..engine.errors import FieldViolation

# The deepest a request legitimately goes is a list of lists inside the nested
# {"request": {...}} form; anything much deeper is not a claim.
MAX_DEPTH = 16
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTAINERS = re.compile(r"[\[{]")


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def value_problems(text: str, obj: Mapping[str, Any]) -> list[FieldViolation]:
    """Lone surrogates and excessive nesting in a parsed JSON row (``text``: its line)."""
    surrogates = "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None
    deep = len(_CONTAINERS.findall(text)) > MAX_DEPTH
    if not surrogates and not deep:
        return []
    problems: list[FieldViolation] = []
    _walk(obj, "", 1, problems)
    return problems


def _walk(value: Any, path: str, depth: int, problems: list[FieldViolation]) -> None:
    field = path or "row"
    if depth > MAX_DEPTH:
        problems.append(FieldViolation(field, f"is nested more than {MAX_DEPTH} levels deep"))
        return
    if isinstance(value, str):
        if _SURROGATE.search(value):
            problems.append(
                FieldViolation(field, "holds a lone surrogate escape (\\ud800-\\udfff), not text")
            )
        return
    items: Any
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        if isinstance(key, str) and _SURROGATE.search(key):
            problems.append(
                FieldViolation(field, "holds a key with a lone surrogate escape (\\ud800-\\udfff)")
            )
            continue
        _walk(item, _path(path, key), depth + 1, problems)


def has_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def csv_error_text(exc: Exception) -> str:
    """Python's csv messages in plain words (the module's own can mention "universal-newline
    mode", which means nothing to the person holding the file)."""
    message = str(exc)
    if "new-line character" in message:
        return (
            "holds a carriage return (CR) outside quotes; the file may use CR-only line "
            "endings, which are not read: save it with LF or CRLF line endings"
        )
    if "field larger than field limit" in message:
        return "has a cell longer than 131,072 characters"
    return f"is not valid CSV ({message})"
