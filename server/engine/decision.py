"""What the engine returns: a Decision and its explanation trace, in the vocabulary the
whole project shares (``rxpolicy.decisions``, in the contract package: the client and
retro-review use the same types)."""

from __future__ import annotations

from rxpolicy.decisions import (
    OUTCOMES,
    Approval,
    Citation,
    Decision,
    Outcome,
    TraceNode,
    Unmet,
    VersionRef,
)

__all__ = ["OUTCOMES", "Approval", "Citation", "Decision", "Outcome", "TraceNode", "Unmet", "VersionRef"]
