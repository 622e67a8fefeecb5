"""What the engine returns: a Decision, and its explanation trace."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import attrs

Outcome = Literal["approve", "deny", "pend", "refer"]
OUTCOMES: tuple[Outcome, ...] = ("approve", "deny", "pend", "refer")


@attrs.frozen
class VersionRef:
    """Which version decided: enough for an auditor to fetch the exact bytes."""

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
class Decision:
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

    @property
    def unmet_cites(self) -> tuple[str, ...]:
        return tuple(u.criterion.cite for u in self.unmet)
