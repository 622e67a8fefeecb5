"""What a diff of two policy versions holds: plain data that every renderer reads.

Kept free of z3 and of rendering, so the renderers, the CLI and the gRPC edge can
use the results without knowing how they were found. Values inside are JSON-ready
(str, int, bool, None, lists, dicts) so the JSON renderer is a plain dump.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

Area = Literal["metadata", "product", "vocabulary", "facts", "criteria", "durations", "referrals"]
# Display order: what decides requests first, bookkeeping last.
AREAS: tuple[Area, ...] = ("criteria", "product", "durations", "referrals", "vocabulary", "facts", "metadata")
AREA_TITLES: dict[str, str] = {
    "metadata": "Metadata",
    "product": "Product and strengths",
    "vocabulary": "Vocabulary",
    "facts": "Request facts",
    "criteria": "Criteria",
    "durations": "Approval durations",
    "referrals": "Referral tables",
}
ChangeKind = Literal["added", "removed", "changed"]
Bump = Literal["major", "minor", "patch"]


@attrs.frozen
class FieldChange:
    """One field of an item that differs; collections also say what was added and removed."""

    field: str
    old: Any
    new: Any
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@attrs.frozen
class Change:
    """One item (a criterion, a strength, a fact, a rule...) added, removed or changed."""

    area: Area
    section: str  # e.g. "I.B B-Cell Lymphoma"; "" where an area has no sections
    key: str  # the stable key the versions were matched on
    change: ChangeKind
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None
    fields: tuple[FieldChange, ...] = ()
    dose_limit: bool = False  # a criterion over the dose (shown again under "dose limits")

    @property
    def renumbered_only(self) -> bool:
        """Only the citation moved (criteria renumbered around an inserted one)."""
        return self.change == "changed" and [f.field for f in self.fields] == ["cite"]

    @property
    def cite(self) -> str:
        new, old = self.new or {}, self.old or {}
        return str(new.get("cite") or old.get("cite") or "")


@attrs.frozen
class VersionSummary:
    policy_id: str
    title: str
    version: str
    effective: str
    content_hash: str
    revision_log: str


@attrs.frozen
class StructuralDiff:
    old: VersionSummary
    new: VersionSummary
    changes: tuple[Change, ...]

    @property
    def empty(self) -> bool:
        return not self.changes

    def in_area(self, area: str) -> list[Change]:
        return [c for c in self.changes if c.area == area]

    @property
    def dose_limits(self) -> list[Change]:
        """Criteria over the dose that changed in substance (renumbering alone is left out)."""
        return [c for c in self.changes if c.dose_limit and not c.renumbered_only]


@attrs.frozen
class CriterionChange:
    """A numbered criterion (or referral rule) whose result differs for the witness."""

    key: str
    cite: str
    text: str
    old: str  # "met" | "not met" | "unknown" | "not in this version"
    new: str


@attrs.frozen
class Witness:
    """A request, in the case-file shape, decided differently by the two versions.

    ``request`` carries the newer side's service date (paste it into ``rxpolicy
    evaluate`` for the new decision); with ``old_service_date`` instead it gets the
    old decision. Both decisions were made by the real evaluator.
    """

    request: Mapping[str, Any]
    old_service_date: str
    old_decision: Mapping[str, Any]  # decision JSON, or an error JSON for invalid input
    new_decision: Mapping[str, Any]
    known_facts: int  # facts stated besides the service date; minimal for its kind
    # A term the old version's vocabulary lacks, decided there as that vocabulary's
    # catch-all (e.g. {"diagnosis": "other"}): what old_decision was decided with.
    old_decided_as: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class DifferenceKind:
    """Every request with the same outcome transition, sections and changed criteria."""

    old_outcome: str  # approve | deny | pend | refer | invalid
    new_outcome: str
    detail: str  # e.g. "shorter approval", "CP.CPA.09 -> CP.CPA.190"
    old_section: str  # "I.A Multiple Myeloma ..." or "" (none)
    new_section: str
    criteria: tuple[CriterionChange, ...]
    less_favourable: bool  # an approval lost or shortened: forces MAJOR
    witness: Witness

    @property
    def title(self) -> str:
        decided_as = ", ".join(f"as {term}" for term in self.witness.old_decided_as.values())
        old = f"{self.old_outcome} ({decided_as})" if decided_as else self.old_outcome
        head = f"{old} -> {self.new_outcome}"
        return f"{head} ({self.detail})" if self.detail else head


@attrs.frozen
class SemanticDiff:
    method: str
    kinds: tuple[DifferenceKind, ...]
    complete: bool  # proved: every request decided differently belongs to a listed kind
    required_bump: Bump
    proof: str  # what was proved, in words
    seconds: float
    queries: int

    @property
    def equivalent(self) -> bool:
        return not self.kinds


@attrs.frozen
class SemverVerdict:
    """A version's declared bump against the one the semantic diff requires."""

    old_version: str
    new_version: str
    new_file: str
    declared: Bump
    required: Bump
    witness: DifferenceKind | None  # the change that decides the required bump

    @property
    def ok(self) -> bool:
        return self.declared == self.required


@attrs.frozen
class VersionDiff:
    structural: StructuralDiff
    semantic: SemanticDiff | None
    declared_bump: Bump | None  # what the semvers say (None unless the new one is greater)
