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
    """A criterion of the policy: ``text`` in the policy's own words (a typo of the source
    kept and marked ``[sic]``); ``gloss``, where there is one, the project's paraphrase
    of what this criterion tests, never to be shown as the policy's words."""

    key: str
    cite: str
    text: str
    gloss: str | None = None


@attrs.frozen
class SubmittedValue:
    """A value the request submitted that failed a leaf criterion. It is member data:
    returned to the caller only, never logged or written to a decision log."""

    criterion: Citation  # the leaf criterion it failed
    fact: str  # the fact or derived measure read, e.g. ``member_age`` or ``doses.weekly_mg``
    value: Any


@attrs.frozen
class Unmet:
    """A numbered criterion that is definitely not met, the leaf criteria why, and the
    submitted values that failed them (``values``: response only)."""

    criterion: Citation
    because: tuple[Citation, ...] = ()
    values: tuple[SubmittedValue, ...] = ()


@attrs.frozen
class DoseLimit:
    """A dose ceiling an approval was granted under: ``measure`` at most ``at_most``."""

    criterion: Citation
    measure: str  # a derived dose measure, e.g. ``doses.weekly_mg``
    at_most: int


@attrs.frozen
class Approval:
    """``months`` is None exactly when the approval runs for the length of benefit.
    ``approved_from`` is the first day (the service date); ``dose_limits`` the ceilings
    of the dose criterion that was met (none when the dose was approved on evidence or
    the criterion did not apply)."""

    months: int | None
    length_of_benefit: bool
    approved_through: dt.date | None
    approved_from: dt.date | None = None
    dose_limits: tuple[DoseLimit, ...] = ()


@attrs.frozen
class Alternative:
    """One way an unknown criterion can still be met: a criterion and the facts it needs."""

    criterion: Citation
    facts: tuple[str, ...]


@attrs.frozen
class InformationRequest:
    """An unknown numbered criterion and what would settle it: any one of ``one_of``."""

    criterion: Citation
    one_of: tuple[Alternative, ...]


@attrs.frozen
class Question:
    """A fact to ask for, who can supply it (``request``, ``plan``, ``claims`` or
    ``prescriber``) and the plain-language question."""

    fact: str
    source: str
    question: str


SOURCES: tuple[str, ...] = ("plan", "claims", "request", "prescriber")  # the order they are asked in


@attrs.frozen
class VersionNotes:
    """What a decision relied on, from the version that made it: its title, P&T approval
    month, the notes on what it says but the engine does not model, and its assumptions.
    The same object for every decision of a version (built once)."""

    title: str
    pt_approval: str | None = None
    notes: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()


@attrs.frozen
class TraceNode:
    key: str
    cite: str
    text: str
    result: bool | None  # Kleene: True met, False not met, None unknown
    fact: str | None = None
    observed: Any = None  # the fact value the leaf read (only ever returned to the caller)
    children: tuple[TraceNode, ...] = ()
    gloss: str | None = None


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
    # Requests for information (pend; on a deny, the criteria still unknown): per unknown
    # criterion its alternatives, and per fact the question and who can answer it.
    unknown: tuple[InformationRequest, ...] = ()
    questions: tuple[Question, ...] = ()
    about: VersionNotes | None = None  # the deciding version's title, P&T month, notes, assumptions

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
    out = {"cite": c.cite, "key": c.key, "text": c.text}
    if c.gloss is not None:
        out["gloss"] = c.gloss
    return out


def submitted_json(v: SubmittedValue) -> dict[str, Any]:
    return {"cite": v.criterion.cite, "key": v.criterion.key, "fact": v.fact, "value": v.value}


def unmet_json(u: Unmet) -> dict[str, Any]:
    out = citation_json(u.criterion) | {"because": [citation_json(b) for b in u.because]}
    if u.values:
        out["values"] = [submitted_json(v) for v in u.values]
    return out


def information_json(r: InformationRequest) -> dict[str, Any]:
    return citation_json(r.criterion) | {
        "one_of": [citation_json(a.criterion) | {"facts": list(a.facts)} for a in r.one_of]
    }


def questions_json(questions: Iterable[Question]) -> dict[str, list[dict[str, str]]]:
    """Questions grouped by source, plan and claims first: a plan system answers those
    from its own data before anything is asked of the prescriber."""
    out: dict[str, list[dict[str, str]]] = {}
    for q in questions:
        out.setdefault(q.source, []).append({"fact": q.fact, "question": q.question})
    return {source: out[source] for source in (*SOURCES, *sorted(set(out) - set(SOURCES))) if source in out}


def dose_limit_json(limit: DoseLimit) -> dict[str, Any]:
    return citation_json(limit.criterion) | {"measure": limit.measure, "at_most": limit.at_most}


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
    if node.gloss is not None:
        out["gloss"] = node.gloss
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
        "unmet": [unmet_json(u) for u in decision.unmet],
        "missing": list(decision.missing),
    }
    # The fields below appear only where they say something, so a consumer of the
    # earlier shape sees its keys unchanged.
    if decision.unknown:
        out["unknown"] = [information_json(r) for r in decision.unknown]
    if decision.questions:
        out["questions"] = questions_json(decision.questions)
    if approval is not None and approval.approved_from is not None:
        out["approved_from"] = approval.approved_from.isoformat()
    if approval is not None and approval.dose_limits:
        out["dose_limits"] = [dose_limit_json(limit) for limit in approval.dose_limits]
    about = decision.about
    if about is not None:
        out["policy_title"] = about.title
        out["pt_approval"] = about.pt_approval
    if decision.notes:
        out["notes"] = list(decision.notes)
    if about is not None and about.assumptions:
        out["assumptions"] = list(about.assumptions)
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
