"""Renumber a draft's citations after a section or a criterion was inserted or removed.

Sections are lettered in file order within their part (indications, then the referral
sections: "other diagnoses" stays last): I.A, I.B, I.C... A section's numbered criteria
(the children of its root) are numbered 1, 2, 3 in order. Every cite below them keeps
its own deeper numbering and has its prefix moved with its parent.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any


def _rename(cite: str, old: str, new: str) -> str:
    if cite == old:
        return new
    if cite.startswith(old + "."):
        return new + cite[len(old) :]
    return cite


def _rewrite(node: Any, old: str, new: str) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("cite"), str):
            node["cite"] = _rename(node["cite"], old, new)
        for value in node.values():
            _rewrite(value, old, new)
    elif isinstance(node, list):
        for item in node:
            _rewrite(item, old, new)


def renumber(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Renumber ``doc`` (a version file's YAML document) in place; return (old, new) cites."""
    moves: list[tuple[str, str]] = []
    sections = [*doc["indications"], *doc["referrals"]]
    letters: dict[str, int] = {}
    for section in sections:
        part = section["cite"].split(".")[0]
        index = letters.get(part, 0)
        letters[part] = index + 1
        new = f"{part}.{string.ascii_uppercase[index]}"
        old = section["cite"]
        if old != new:
            # Through a placeholder first, so renaming I.C to I.D never catches the new I.C.
            _rewrite(section, old, f"~{new}")
            moves.append((old, new))
    for section in sections:
        _unmark(section)
    for section in doc["indications"]:
        head = section["cite"]
        for number, child in enumerate(section.get("all", ()), start=1):
            old, new = child["cite"], f"{head}.{number}"
            parts = old.split(".")
            depth = len(head.split(".")) + 1
            old_head = ".".join(parts[:depth])
            if len(parts) >= depth and old_head != new:
                _rewrite(child, old_head, f"~{new}")
                moves.append((old_head, new))
        for child in section.get("all", ()):
            _unmark(child)
        applies = section.get("applies_to")
        if isinstance(applies, dict):
            _unmark(applies)
    return moves


def _unmark(node: Any) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("cite"), str) and node["cite"].startswith("~"):
            node["cite"] = node["cite"][1:]
        for value in node.values():
            _unmark(value)
    elif isinstance(node, list):
        for item in node:
            _unmark(item)
