"""Typed results of the policy service, each with ``to_json()`` in the shape the engine's
renderer uses (so case files check the same way in process and through a server)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import grpc

Outcome = Literal["approve", "deny", "pend", "refer"]


@dataclass(frozen=True, slots=True)
class Citation:
    key: str
    cite: str
    text: str

    def to_json(self) -> dict[str, str]:
        return {"cite": self.cite, "key": self.key, "text": self.text}


@dataclass(frozen=True, slots=True)
class Unmet:
    criterion: Citation
    because: tuple[Citation, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return self.criterion.to_json() | {"because": [b.to_json() for b in self.because]}


@dataclass(frozen=True, slots=True)
class VersionRef:
    policy_id: str
    version: str
    effective: dt.date
    content_hash: str
    draft: bool = False
    recorded: dt.date | None = None
    corrects: str | None = None  # a correction record: the content hash of the record it corrects


@dataclass(frozen=True, slots=True)
class Approval:
    """``months`` is None exactly when the approval runs for the length of benefit."""

    months: int | None
    length_of_benefit: bool
    approved_through: dt.date | None


@dataclass(frozen=True, slots=True)
class TraceNode:
    key: str
    cite: str
    text: str
    result: bool | None  # Kleene: True met, False not met, None unknown
    fact: str | None = None
    observed: Any = None
    children: tuple[TraceNode, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key,
            "cite": self.cite,
            "text": self.text,
            "result": {True: "met", False: "not_met", None: "unknown"}[self.result],
        }
        if self.fact is not None:
            out["fact"] = self.fact
            out["observed"] = self.observed
        if self.children:
            out["children"] = [c.to_json() for c in self.children]
        return out


@dataclass(frozen=True, slots=True)
class FieldViolation:
    field: str
    description: str


@dataclass(frozen=True, slots=True)
class Decision:
    """A decision, with the id of the request it answers."""

    request_id: str
    outcome: Outcome
    version: VersionRef
    indication: Citation | None = None
    unmet: tuple[Unmet, ...] = ()
    missing: tuple[str, ...] = ()
    approval: Approval | None = None
    refer_to: str | None = None
    referral: tuple[Citation, ...] = ()
    notes: tuple[str, ...] = ()
    trace: tuple[TraceNode, ...] | None = None

    ok = True

    @property
    def unmet_cites(self) -> tuple[str, ...]:
        return tuple(u.criterion.cite for u in self.unmet)

    def to_json(self) -> dict[str, Any]:
        a = self.approval
        months: int | str | None = None
        if a is not None:
            months = "length_of_benefit" if a.length_of_benefit else a.months
        out: dict[str, Any] = {
            "decision": self.outcome,
            "policy_id": self.version.policy_id,
            "version": self.version.version,
            "version_effective": self.version.effective.isoformat(),
            "content_hash": self.version.content_hash,
            **({"draft": True} if self.version.draft else {}),
            **(
                {"recorded": self.version.recorded.isoformat() if self.version.recorded else None}
                | {"corrects": self.version.corrects}
                if self.version.corrects
                else {}
            ),
            "indication": self.indication.to_json() if self.indication else None,
            "approval_months": months,
            "approved_through": a.approved_through.isoformat() if a and a.approved_through else None,
            "refer_to": self.refer_to,
            "referral": [c.to_json() for c in self.referral],
            "unmet": [u.to_json() for u in self.unmet],
            "missing": list(self.missing),
        }
        if self.notes:
            out["notes"] = list(self.notes)
        if self.trace is not None:
            out["trace"] = [t.to_json() for t in self.trace]
        return out


def error_json(code: grpc.StatusCode, violations: tuple[FieldViolation, ...]) -> dict[str, Any]:
    return {
        "error": {
            "code": code.name,
            "fields": list(dict.fromkeys(v.field for v in violations)),
            "violations": [{"field": v.field, "description": v.description} for v in violations],
        }
    }


@dataclass(frozen=True, slots=True)
class ErrorResult:
    """One request of ``evaluate_many`` that got no decision (the stream went on)."""

    request_id: str
    code: grpc.StatusCode
    message: str
    violations: tuple[FieldViolation, ...] = ()

    ok = False

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(v.field for v in self.violations)

    def to_json(self) -> dict[str, Any]:
        return error_json(self.code, self.violations)


Result = Decision | ErrorResult


@dataclass(frozen=True, slots=True)
class VersionDiff:
    """DiffVersions: the rendered diff and, for a semantic diff, its verdict."""

    content: str
    media_type: str
    from_version: str
    to_version: str
    equivalent: bool | None = None
    required_bump: str | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """One item for ``evaluate_many`` when it needs more than its facts."""

    facts: Any  # a mapping in the case-file shape: fact name -> value
    request_id: str = ""
    policy_id: str | None = None
    as_known_on: dt.date | str | None = None
    include_trace: bool | None = None
    version: str | None = None  # decide under this version (semver, date or "latest")
