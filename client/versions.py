"""Typed results of ListVersions and GetVersion: a version's metadata and its criteria,
read from the wire into frozen values (dates as dates, absent fields as None), so a
caller never handles a protobuf message. Built here and only here, from the messages
of ``rxpolicy.v1``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, Literal, overload

import attrs
from rxpolicy.v1 import policy_service_pb2 as pb
from rxpolicy.v1 import version_pb2

from ._wire import value_python

GroupMode = Literal["all", "any"]


@attrs.frozen
class RevisionLogEntry:
    """The revision-log entry a version comes from."""

    date: dt.date
    text: str
    pt_approval: str | None = None  # the P&T approval month, as the policy writes it


@attrs.frozen
class VersionInfo:
    """One version's metadata, as ListVersions lists it."""

    policy_id: str
    title: str
    version: str  # its semantic version, e.g. "4.5.0"
    effective: dt.date
    recorded: dt.date  # when it became known (see ``as_known_on``)
    revision_log: RevisionLogEntry
    provenance: str  # "seed_text", "reconstructed", "published" or "draft"
    semver_reasoning: str
    assumptions: tuple[str, ...]
    choices: tuple[str, ...]
    unmodelled: tuple[str, ...]
    content_hash: str  # "sha256:<hex>" of the version file
    draft: bool  # not in the lock file
    strengths_mg: tuple[int, ...]  # tablet strengths available under this version
    corrects: str | None = None  # a correction: the content hash of the record it corrects

    @property
    def locked(self) -> bool:
        return not self.draft


@attrs.frozen
class VersionList:
    """ListVersions: the versions that decide today, oldest first, and the digest of the
    policy set the answering server serves (what ``expected_policy_set_digest`` takes).
    Iterates, indexes and counts as its versions."""

    versions: tuple[VersionInfo, ...]
    policy_set_digest: str
    policy_id: str = ""

    def __iter__(self) -> Iterator[VersionInfo]:
        return iter(self.versions)

    def __len__(self) -> int:
        return len(self.versions)

    @overload
    def __getitem__(self, index: int) -> VersionInfo: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[VersionInfo, ...]: ...
    def __getitem__(self, index: int | slice) -> VersionInfo | tuple[VersionInfo, ...]:
        return self.versions[index]


@attrs.frozen
class Criterion:
    """A node of a criteria tree: a leaf compares ``fact`` with ``value`` by ``op``; a
    group combines ``children`` by ``mode`` (Kleene all-of or any-of)."""

    key: str  # stable across versions, e.g. "mm.age"
    cite: str  # as numbered in this version, e.g. "I.A.3"
    text: str
    fact: str | None = None
    op: str | None = None
    value: Any = None
    mode: GroupMode | None = None
    children: tuple[Criterion, ...] = ()
    gloss: str | None = None  # the project's paraphrase, when ``text`` (the policy's words) needs one

    @property
    def is_leaf(self) -> bool:
        return self.mode is None


@attrs.frozen
class ApprovalDuration:
    """How long an approval runs for one value of the keyed-by fact."""

    value: str  # e.g. "medicaid"
    months: int | None  # None for the length of benefit
    length_of_benefit: bool
    at_most_fact: str | None = None  # a fact whose smaller value shortens the approval


@attrs.frozen
class Indication:
    """A section of the policy (e.g. I.A Multiple Myeloma) and its criteria."""

    key: str
    cite: str
    text: str
    request_types: tuple[str, ...]
    applies_to: Criterion
    criteria: Criterion
    duration_keyed_by: str
    durations: tuple[ApprovalDuration, ...]


@attrs.frozen
class ReferralRule:
    key: str
    cite: str
    text: str
    when: Criterion | None  # None: the rule always applies
    refer_to: dict[str, str]  # keyed-by value -> the policy id to refer to
    gloss: str | None = None


@attrs.frozen
class Referral:
    """What to do with a diagnosis this version does not cover: the first rule that applies."""

    key: str
    cite: str
    text: str
    request_types: tuple[str, ...]
    keyed_by: str
    rules: tuple[ReferralRule, ...]


@attrs.frozen
class FactSpec:
    """A fact a request may carry under this version."""

    name: str
    type: str  # date, enum, int, bool, terms, lines or doses
    text: str
    required: bool
    values: tuple[str, ...] = ()  # the valid terms of an enum fact


@attrs.frozen
class PolicyVersion:
    """GetVersion: one version in full."""

    info: VersionInfo
    indications: tuple[Indication, ...]
    referrals: tuple[Referral, ...]
    facts: tuple[FactSpec, ...]


# ------------------------------------------------------------------ from the wire

_MODES: dict[int, GroupMode] = {version_pb2.GROUP_MODE_ALL: "all", version_pb2.GROUP_MODE_ANY: "any"}


def version_info(m: version_pb2.VersionInfo) -> VersionInfo:
    log = m.revision_log
    return VersionInfo(
        policy_id=m.policy_id,
        title=m.title,
        version=m.version,
        effective=dt.date.fromisoformat(m.effective),
        recorded=dt.date.fromisoformat(m.recorded),
        revision_log=RevisionLogEntry(
            date=dt.date.fromisoformat(log.date),
            text=log.text,
            pt_approval=log.pt_approval if log.HasField("pt_approval") else None,
        ),
        provenance=m.provenance,
        semver_reasoning=m.semver_reasoning,
        assumptions=tuple(m.assumptions),
        choices=tuple(m.choices),
        unmodelled=tuple(m.unmodelled),
        content_hash=m.content_hash,
        draft=m.draft,
        strengths_mg=tuple(m.strengths_mg),
        corrects=m.corrects or None,
    )


def version_list(r: pb.ListVersionsResponse) -> VersionList:
    return VersionList(
        versions=tuple(version_info(v) for v in r.versions),
        policy_set_digest=r.policy_set_digest,
        policy_id=r.policy_id,
    )


def criterion(m: version_pb2.Criterion) -> Criterion:
    gloss = m.gloss if m.HasField("gloss") else None
    if m.WhichOneof("node") == "leaf":
        leaf = m.leaf
        value = value_python(leaf.value) if leaf.HasField("value") else None
        return Criterion(m.key, m.cite, m.text, fact=leaf.fact, op=leaf.op, value=value, gloss=gloss)
    group = m.group
    return Criterion(
        m.key,
        m.cite,
        m.text,
        mode=_MODES[group.mode],
        children=tuple(criterion(c) for c in group.children),
        gloss=gloss,
    )


def _indication(m: version_pb2.Indication) -> Indication:
    return Indication(
        key=m.key,
        cite=m.cite,
        text=m.text,
        request_types=tuple(m.request_types),
        applies_to=criterion(m.applies_to),
        criteria=criterion(m.criteria),
        duration_keyed_by=m.duration_keyed_by,
        durations=tuple(
            ApprovalDuration(
                value=d.value,
                months=d.months if d.HasField("months") else None,
                length_of_benefit=d.length_of_benefit,
                at_most_fact=d.at_most_fact if d.HasField("at_most_fact") else None,
            )
            for d in m.durations
        ),
    )


def _referral(m: version_pb2.Referral) -> Referral:
    return Referral(
        key=m.key,
        cite=m.cite,
        text=m.text,
        request_types=tuple(m.request_types),
        keyed_by=m.keyed_by,
        rules=tuple(
            ReferralRule(
                key=r.key,
                cite=r.cite,
                text=r.text,
                when=criterion(r.when) if r.HasField("when") else None,
                refer_to=dict(sorted(r.refer_to.items())),
                gloss=r.gloss if r.HasField("gloss") else None,
            )
            for r in m.rules
        ),
    )


def policy_version(m: version_pb2.PolicyVersion) -> PolicyVersion:
    return PolicyVersion(
        info=version_info(m.info),
        indications=tuple(_indication(i) for i in m.indications),
        referrals=tuple(_referral(r) for r in m.referrals),
        facts=tuple(
            FactSpec(name=f.name, type=f.type, text=f.text, required=f.required, values=tuple(f.values))
            for f in m.facts
        ),
    )
