"""A version diff as JSON, for machines: every field of the diff model, plus verdicts."""

from __future__ import annotations

import json
from typing import Any

import attrs

from ..diff.model import DifferenceKind, VersionDiff


def _kind(kind: DifferenceKind) -> dict[str, Any]:
    out = attrs.asdict(kind, recurse=True)
    out["title"] = kind.title
    return out


def diff_json(diff: VersionDiff) -> dict[str, Any]:
    s = diff.structural
    sem = diff.semantic
    out: dict[str, Any] = {
        "policy_id": s.new.policy_id,
        "from": attrs.asdict(s.old),
        "to": attrs.asdict(s.new),
        "declared_bump": diff.declared_bump,
        "structural": {
            "empty": s.empty,
            "changes": [
                attrs.asdict(c, recurse=True) | {"renumbered_only": c.renumbered_only} for c in s.changes
            ],
        },
        "semantic": None,
    }
    if sem is not None:
        out["semantic"] = {
            "method": sem.method,
            "equivalent": sem.equivalent,
            "complete": sem.complete,
            "required_bump": sem.required_bump,
            "declared_bump_agrees": diff.declared_bump == sem.required_bump if diff.declared_bump else None,
            "proof": sem.proof,
            "queries": sem.queries,
            "seconds": sem.seconds,
            "kinds": [_kind(k) for k in sem.kinds],
        }
    return out


def render_json(diff: VersionDiff) -> str:
    return json.dumps(diff_json(diff), indent=2, ensure_ascii=False, default=str) + "\n"
