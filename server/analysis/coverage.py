"""Criteria coverage of a case run: which criteria of each version the cases saw met, not
met and unknown, and which no case reached.

Coverage is read from decision traces (the JSON shape, so a run through a server counts
the same as one in process). The criteria counted are each indication's criteria tree and
each referral rule's condition; the selectors (``applies_to``) choose an indication
rather than decide one, so they are reported as decisions per indication instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from ..engine.model import Group, Node, PolicyVersion

RESULTS = ("met", "not_met", "unknown")


@attrs.frozen
class CriterionCoverage:
    key: str
    cite: str
    text: str
    seen: frozenset[str]  # a subset of RESULTS

    @property
    def reached(self) -> bool:
        return bool(self.seen)

    @property
    def complete(self) -> bool:
        return self.seen == frozenset(RESULTS)


@attrs.frozen
class VersionCoverage:
    policy_id: str
    version: str
    content_hash: str
    decisions: int
    by_section: tuple[tuple[str, int], ...]  # (section cite or "(none)", decisions under it)
    criteria: tuple[CriterionCoverage, ...]

    @property
    def never_reached(self) -> tuple[CriterionCoverage, ...]:
        return tuple(c for c in self.criteria if not c.reached)

    @property
    def complete(self) -> int:
        return sum(c.complete for c in self.criteria)

    def to_json(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy_id,
            "version": self.version,
            "content_hash": self.content_hash,
            "decisions": self.decisions,
            "by_section": dict(self.by_section),
            "criteria": len(self.criteria),
            "complete": self.complete,
            "never_reached": [{"key": c.key, "cite": c.cite} for c in self.never_reached],
            "partly": [
                {"key": c.key, "cite": c.cite, "seen": sorted(c.seen)}
                for c in self.criteria
                if c.reached and not c.complete
            ],
        }


def counted_nodes(version: PolicyVersion) -> Iterator[Node]:
    """The criteria a case run should exercise, in policy order."""

    def walk(node: Node) -> Iterator[Node]:
        yield node
        if isinstance(node, Group):
            for child in node.children:
                yield from walk(child)

    for indication in version.indications:
        yield from walk(indication.criteria)
    for referral in version.referrals:
        for rule in referral.rules:
            if rule.when is not None:
                yield from walk(rule.when)


def _trace_results(nodes: Iterable[Mapping[str, Any]]) -> Iterator[tuple[str, str]]:
    for node in nodes:
        yield node["key"], node["result"]
        yield from _trace_results(node.get("children", ()))


class CoverageCollector:
    """Fed every traced decision of a run; reports coverage per version it saw."""

    def __init__(self) -> None:
        self._seen: dict[str, dict[str, set[str]]] = {}  # content hash -> key -> results
        self._sections: dict[str, Counter[str]] = {}

    def add(self, decision: Mapping[str, Any]) -> None:
        if "error" in decision or "trace" not in decision:
            return
        content_hash = decision["content_hash"]
        seen = self._seen.setdefault(content_hash, {})
        for key, result in _trace_results(decision["trace"]):
            seen.setdefault(key, set()).add(result)
        section = decision.get("indication") or {}
        self._sections.setdefault(content_hash, Counter())[section.get("cite") or "(none)"] += 1

    def report(self, versions: Iterable[PolicyVersion]) -> list[VersionCoverage]:
        """Coverage of each of ``versions`` that at least one decision was made under."""
        out = []
        for version in versions:
            seen = self._seen.get(version.content_hash)
            if seen is None:
                continue
            criteria = tuple(
                CriterionCoverage(n.key, n.cite, n.text, frozenset(seen.get(n.key, ())))
                for n in counted_nodes(version)
            )
            sections = self._sections[version.content_hash]
            out.append(
                VersionCoverage(
                    version.policy_id,
                    version.version,
                    version.content_hash,
                    sum(sections.values()),
                    tuple(sorted(sections.items())),
                    criteria,
                )
            )
        return out

    def unknown_hashes(self, versions: Iterable[PolicyVersion]) -> list[str]:
        """Versions decisions named that ``versions`` does not hold (e.g. a server's own set)."""
        known = {v.content_hash for v in versions}
        return sorted(h for h in self._seen if h not in known)


def render_text(report: list[VersionCoverage]) -> str:
    lines = []
    for cov in report:
        lines.append(
            f"coverage {cov.policy_id} {cov.version}: {cov.decisions} decisions; "
            f"{cov.complete} of {len(cov.criteria)} criteria seen met, not met and unknown; "
            f"{len(cov.never_reached)} never reached"
        )
        for c in cov.never_reached:
            lines.append(f"  never reached: {c.cite or '-'} {c.key}")
    return "\n".join(lines) + ("\n" if lines else "")
