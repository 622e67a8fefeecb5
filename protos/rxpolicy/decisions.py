"""The decision vocabulary every part of rxpolicy shares, and its one JSON shape.

The engine returns these types, the API edge turns them into protos and back, the
client hands them to its callers and retro-review counts them; JSON is made only here
(``to_dict`` the mapping, ``to_json`` its text), at the edges (the CLI, case files, result
rows, the client's callers).

Pure Python (attrs frozen classes; no grpc, no protobuf), so the engine core imports it
too. It sits beside ``rxpolicy.v1`` in the contract package because the client, which
never imports the server, needs it as much as the engine does. attrs rather than frozen
dataclasses: the engine builds these on its hot path (a traced decision makes about 25),
and attrs' frozen classes are built measurably faster.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any, ClassVar, Literal

import attrs

Outcome = Literal["approve", "deny", "pend", "refer"]
OUTCOMES: tuple[Outcome, ...] = ("approve", "deny", "pend", "refer")

# Status code names of error results (the gRPC names, without importing grpc).
INVALID_ARGUMENT = "INVALID_ARGUMENT"
NOT_FOUND = "NOT_FOUND"
INTERNAL = "INTERNAL"


@attrs.frozen
class VersionRef:
    """Which version decided: enough for an auditor to fetch the exact bytes.

    New fields (a correction's recorded date and the record it corrects) go after
    ``draft``, with defaults, so existing callers keep constructing it positionally."""

    policy_id: str
    version: str
    effective: dt.date
    content_hash: str
    draft: bool = False  # not in the lock file: never decides in a service without --allow-drafts
    recorded: dt.date | None = None  # when the deciding record became known
    corrects: str | None = None  # a correction: the content hash of the record it corrects


@attrs.frozen
class Citation:
    """A criterion of the policy, in its own words."""

    key: str
    cite: str
    text: str


@attrs.frozen
class Unmet:
    """A numbered criterion that is definitely not met, and the leaf criteria why."""

    criterion: Citation
    because: tuple[Citation, ...] = ()


@attrs.frozen
class Approval:
    """``months`` is None exactly when the approval runs for the length of benefit."""

    months: int | None
    length_of_benefit: bool
    approved_through: dt.date | None


@attrs.frozen
class TraceNode:
    key: str
    cite: str
    text: str
    result: bool | None  # Kleene: True met, False not met, None unknown
    fact: str | None = None
    observed: Any = None  # the fact value the leaf read (only ever returned to the caller)
    children: tuple[TraceNode, ...] = ()


@attrs.frozen
class FieldViolation:
    """One problem with one field of a request (the shape of google.rpc.BadRequest).
    ``field`` is the fact or request field, as the engine names it; ``path`` is where in
    a gRPC request it was (rxpolicy.paths: ``facts.doses[0].tablets``), empty in process."""

    field: str
    description: str
    path: str = ""


@attrs.frozen
class Decision:
    """A decision. ``request_id`` is the id of the request it answers, where there is one
    (the engine itself decides facts, not requests, and leaves it empty)."""

    outcome: Outcome
    version: VersionRef
    indication: Citation | None = None  # the section decided under, e.g. I.A
    unmet: tuple[Unmet, ...] = ()
    missing: tuple[str, ...] = ()
    approval: Approval | None = None
    refer_to: str | None = None
    referral: tuple[Citation, ...] = ()  # the referral rule(s) that apply
    notes: tuple[str, ...] = ()
    trace: tuple[TraceNode, ...] | None = None
    request_id: str = ""

    ok: ClassVar[bool] = True

    @property
    def unmet_cites(self) -> tuple[str, ...]:
        return tuple(u.criterion.cite for u in self.unmet)

    def to_dict(self) -> dict[str, Any]:
        return decision_json(self)

    def to_json(self) -> str:
        """The text ``rxpolicy evaluate`` prints for this decision (without its newline)."""
        return json_text(decision_json(self))


@attrs.frozen
class ErrorResult:
    """A request that got no decision: invalid input, an unknown policy or version, or
    an internal failure. ``code`` is the status code's name (``INVALID_ARGUMENT``)."""

    request_id: str
    code: str
    message: str
    violations: tuple[FieldViolation, ...] = ()
    # The server's stable google.rpc.ErrorInfo reason (INVALID_FACT, UNKNOWN_VERSION, ...);
    # empty in process.
    reason: str = ""

    ok: ClassVar[bool] = False

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(v.field for v in self.violations)

    def to_dict(self) -> dict[str, Any]:
        return error_json(self.code, self.violations)

    def to_json(self) -> str:
        """The text ``rxpolicy evaluate`` prints for this error (without its newline)."""
        return json_text(self.to_dict())

    @classmethod
    def invalid(cls, violations: Iterable[FieldViolation], request_id: str = "") -> ErrorResult:
        found = tuple(violations)
        message = "invalid request: " + "; ".join(f"{v.field}: {v.description}" for v in found)
        return cls(request_id, INVALID_ARGUMENT, message, found)

    @classmethod
    def internal(cls, exc: BaseException, field: str = "row", request_id: str = "") -> ErrorResult:
        """An unexpected failure. Only the exception's type is kept: its message could
        quote member facts."""
        description = f"internal error ({type(exc).__name__})"
        return cls(request_id, INTERNAL, description, (FieldViolation(field, description),))

    def with_violations_first(self, problems: Iterable[FieldViolation]) -> ErrorResult:
        """This error with ``problems`` before its own violations, as INVALID_ARGUMENT:
        found earlier (say, while reading a row), they are named in the same result."""
        return ErrorResult.invalid((*problems, *self.violations), self.request_id)


Result = Decision | ErrorResult


# ------------------------------------------------------------------ JSON: the one place

_TRACE_RESULTS = {True: "met", False: "not_met", None: "unknown"}


def citation_json(c: Citation) -> dict[str, str]:
    return {"cite": c.cite, "key": c.key, "text": c.text}


def trace_json(node: TraceNode) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": node.key,
        "cite": node.cite,
        "text": node.text,
        "result": _TRACE_RESULTS[node.result],
    }
    if node.fact is not None:
        out["fact"] = node.fact
        out["observed"] = node.observed
    if node.children:
        out["children"] = [trace_json(c) for c in node.children]
    return out


def approval_months(approval: Approval | None) -> int | str | None:
    """The JSON value of an approval's duration: months, ``length_of_benefit`` or None."""
    if approval is None:
        return None
    return "length_of_benefit" if approval.length_of_benefit else approval.months


def _correction_json(ref: VersionRef) -> dict[str, Any]:
    """Only a decision under a correction names it, so every other decision's JSON is as before."""
    if ref.corrects is None:
        return {}
    return {"recorded": ref.recorded.isoformat() if ref.recorded else None, "corrects": ref.corrects}


def decision_json(decision: Decision) -> dict[str, Any]:
    approval = decision.approval
    ref = decision.version
    out: dict[str, Any] = {
        "decision": decision.outcome,
        "policy_id": ref.policy_id,
        "version": ref.version,
        "version_effective": ref.effective.isoformat(),
        "content_hash": ref.content_hash,
        **({"draft": True} if ref.draft else {}),
        **_correction_json(ref),
        "indication": citation_json(decision.indication) if decision.indication else None,
        "approval_months": approval_months(approval),
        "approved_through": (
            approval.approved_through.isoformat() if approval and approval.approved_through else None
        ),
        "refer_to": decision.refer_to,
        "referral": [citation_json(c) for c in decision.referral],
        "unmet": [
            citation_json(u.criterion) | {"because": [citation_json(b) for b in u.because]}
            for u in decision.unmet
        ],
        "missing": list(decision.missing),
    }
    if decision.notes:
        out["notes"] = list(decision.notes)
    if decision.trace is not None:
        out["trace"] = [trace_json(t) for t in decision.trace]
    return out


def error_json(code: str, violations: Iterable[FieldViolation]) -> dict[str, Any]:
    found = tuple(violations)
    return {
        "error": {
            "code": code,
            "fields": list(dict.fromkeys(v.field for v in found)),
            "violations": [{"field": v.field, "description": v.description} for v in found],
        }
    }


def result_json(result: Result) -> dict[str, Any]:
    return result.to_dict()


def json_text(value: Any) -> str:
    """rxpolicy's JSON text, written once: the CLI prints it and the client's ``to_json()``
    returns it, so the two are byte for byte the same. Not ASCII-escaped (policy text is
    Unicode); a value JSON has no type for (a date) as its text."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
