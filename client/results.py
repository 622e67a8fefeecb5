"""Typed results of the policy service: the decision vocabulary the engine uses too
(``rxpolicy.decisions``: each result has ``to_dict()``, the engine's own JSON shape, so
case files check the same way in process and through a server, and ``to_json()``, the
text ``rxpolicy evaluate`` prints), and the two types only the client has."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
from rxpolicy.decisions import (
    Alternative,
    Approval,
    Citation,
    Decision,
    DoseLimit,
    ErrorResult,
    FieldViolation,
    InformationRequest,
    Outcome,
    Question,
    Result,
    SubmittedValue,
    TraceNode,
    Unmet,
    VersionNotes,
    VersionRef,
    error_json,
    json_text,
)

__all__ = [
    "Alternative",
    "Approval",
    "Citation",
    "Decision",
    "DoseLimit",
    "ErrorResult",
    "FieldViolation",
    "InformationRequest",
    "Outcome",
    "Question",
    "Request",
    "Result",
    "SubmittedValue",
    "TraceNode",
    "Unmet",
    "VersionDiff",
    "VersionNotes",
    "VersionRef",
    "error_json",
    "json_text",
]


@attrs.frozen
class VersionDiff:
    """DiffVersions: the rendered diff and, for a semantic diff, its verdict."""

    content: str
    media_type: str
    from_version: str
    to_version: str
    equivalent: bool | None = None
    required_bump: str | None = None


@attrs.frozen
class Request:
    """One item for ``evaluate_many`` when it needs more than its facts."""

    facts: Any  # a mapping in the case-file shape: fact name -> value
    request_id: str = ""
    policy_id: str | None = None
    as_known_on: dt.date | str | None = None
    include_trace: bool | None = None
    version: str | None = None  # decide under this version (semver, date or "latest")
