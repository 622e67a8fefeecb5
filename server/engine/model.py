"""The policy-version model: what a loaded, validated version file holds.

Everything here is immutable (attrs frozen, slotted). The loader builds these from
YAML; the evaluator, the diff and the gRPC edge only read them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

import attrs

Mode = Literal["all", "any"]
FactType = Literal["date", "enum", "int", "bool", "terms", "lines", "doses"]


@attrs.frozen
class Leaf:
    """A criterion that compares one fact (or a derived measure of it) with a value."""

    key: str
    cite: str
    text: str
    fact: str  # a fact name, or "fact.measure" / "fact.measure.argument" for derived values
    op: str  # an operator of language.OPERATORS
    value: Any  # int | bool | str | tuple[str, ...] | tuple[frozenset[str], ...]
    gloss: str | None = None  # the project's paraphrase, where ``text`` quotes the policy

    @property
    def base_fact(self) -> str:
        return self.fact.split(".", 1)[0]


@attrs.frozen
class Group:
    """An all-of or any-of over child criteria (Kleene three-valued)."""

    key: str
    cite: str
    text: str
    mode: Mode
    children: tuple[Node, ...]
    gloss: str | None = None  # the project's paraphrase, where ``text`` quotes the policy


Node = Leaf | Group


@attrs.frozen
class Duration:
    """Approval duration for one line of business.

    ``months`` None with ``length_of_benefit`` True means the approval runs for the
    member's length of benefit (no month count). ``at_most_fact`` names a fact whose
    value, when known and smaller, shortens the approval ("or duration of request,
    whichever is less").
    """

    months: int | None
    length_of_benefit: bool = False
    at_most_fact: str | None = None


@attrs.frozen
class Indication:
    """One section of the policy (e.g. I.A Multiple Myeloma) and its criteria."""

    key: str
    cite: str
    title: str
    request_types: tuple[str, ...]
    applies_to: Node  # selects the indication (typically the diagnosis criterion)
    criteria: Group
    durations: Mapping[str, Duration]  # keyed by the value of the keyed-by fact
    durations_keyed_by: str


@attrs.frozen
class ReferralRule:
    key: str
    cite: str
    text: str
    when: Node | None  # None: always applies
    refer_to: Mapping[str, str]  # keyed-by value -> policy id
    gloss: str | None = None


@attrs.frozen
class Referral:
    """What to do with a diagnosis this version does not cover: first matching rule."""

    key: str
    cite: str
    text: str
    request_types: tuple[str, ...]
    keyed_by: str
    rules: tuple[ReferralRule, ...]


@attrs.frozen
class Agent:
    term: str
    aliases: tuple[str, ...]
    molecule: str
    classes: tuple[str, ...]


@attrs.frozen
class FactSpec:
    """A fact a request may carry: its type and what values are valid."""

    name: str
    type: FactType
    text: str
    required: bool = False
    values: tuple[str, ...] = ()  # enum terms
    aliases: Mapping[str, str] = attrs.field(factory=dict)  # lower-case alias -> term
    minimum: int | None = None
    maximum: int | None = None
    vocabulary: str | None = None  # for terms/lines: which vocabulary their items come from
    max_items: int | None = None


@attrs.frozen
class FactSource:
    """Who can supply a fact (``request``, ``plan``, ``claims``, ``prescriber``) and the
    plain-language question that asks for it (engine/fact_sources.py)."""

    source: str
    question: str


@attrs.frozen
class ChangeNote:
    """One line of a version's change list: which criterion, what happened to it, why."""

    key: str
    change: str  # added | removed | reworded | renumbered | changed
    text: str


@attrs.frozen
class Metadata:
    policy_id: str
    title: str
    version: str  # semver
    effective: dt.date
    recorded: dt.date
    revision_log_date: dt.date
    revision_log_text: str
    pt_approval: str | None
    provenance: str  # "seed_text" | "reconstructed" | "published" | "draft"
    semver_reasoning: str
    assumptions: tuple[str, ...]
    unmodelled: tuple[str, ...]
    choices: tuple[str, ...]
    corrects: str | None = None  # as written: the corrected record's file name or content hash
    changes: tuple[ChangeNote, ...] = ()


@attrs.frozen
class PolicyVersion:
    meta: Metadata
    facts: Mapping[str, FactSpec]
    agents: Mapping[str, Agent]
    strengths_mg: tuple[int, ...]
    dose_fact: str | None
    self_names: frozenset[str]  # lower-case names of the requested drug itself
    agent_index: Mapping[str, str]  # lower-case term or alias -> agent term
    indications: tuple[Indication, ...]
    referrals: tuple[Referral, ...]
    source_path: str
    content_hash: str  # "sha256:<hex>"
    locked: bool
    corrects: str | None = None  # a correction: the content hash of the record it corrects
    # Policy-level, from the directory's template (engine/fact_sources.py), not the file:
    # fact name -> who can supply it and the question that asks for it.
    fact_sources: Mapping[str, FactSource] = attrs.field(factory=dict)

    @property
    def is_draft(self) -> bool:
        return self.meta.provenance == "draft"

    @property
    def file_name(self) -> str:
        return self.source_path.replace("\\", "/").rsplit("/", 1)[-1]

    @property
    def policy_id(self) -> str:
        return self.meta.policy_id

    @property
    def version(self) -> str:
        return self.meta.version

    @property
    def effective(self) -> dt.date:
        return self.meta.effective

    def nodes(self) -> dict[str, Node]:
        """Every criterion node by key, across indications and referral rules."""
        found: dict[str, Node] = {}

        def walk(node: Node) -> None:
            found[node.key] = node
            if isinstance(node, Group):
                for child in node.children:
                    walk(child)

        for indication in self.indications:
            walk(indication.criteria)
            walk(indication.applies_to)
        for referral in self.referrals:
            for rule in referral.rules:
                if rule.when is not None:
                    walk(rule.when)
        return found
