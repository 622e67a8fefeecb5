"""rxpolicy versions / rxpolicy show: what versions exist and what one says."""

from __future__ import annotations

import argparse
from typing import Any

from ..engine.errors import NotFound
from ..engine.model import Group, Leaf, Node, PolicyVersion
from ..formats.versions import version_json
from .common import add_store_options, fail, load_store, to_json


def register(sub: Any) -> None:
    p = sub.add_parser("versions", help="list the versions of a policy (as they decide today)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--all", action="store_true", help="every record: corrected versions beside their corrections"
    )
    add_store_options(p)
    p.set_defaults(func=run_versions)

    s = sub.add_parser(
        "show",
        help="show one version: metadata, assumptions and the criteria",
        description="Show the version with semver REF, or the version in force on date REF, or 'latest'.",
    )
    s.add_argument("ref", metavar="VERSION-OR-DATE")
    s.add_argument("--json", action="store_true", help="print the full version as JSON")
    add_store_options(s)
    s.set_defaults(func=run_show)


def run_versions(args: argparse.Namespace) -> int:
    store = load_store(args)
    if store is None:
        return 1
    try:
        versions = store.records(args.policy) if args.all else store.versions(args.policy)
    except NotFound as exc:
        fail(str(exc))
        return 1
    if args.json:
        print(to_json([version_json(v, criteria=False) for v in versions]))
        return 0
    print(f"{versions[0].policy_id}  {versions[0].meta.title}")
    print(
        f"{'version':<9} {'effective':<11} {'recorded':<11} {'provenance':<14} {'lock':<7} "
        f"{'hash':<19} revision log"
    )
    for v in versions:
        log = v.meta.revision_log_text
        log = log if len(log) <= 60 else log[:57] + "..."
        print(
            f"{v.version:<9} {v.effective!s:<11} {v.meta.recorded!s:<11} {v.meta.provenance:<14} "
            f"{'locked' if v.locked else 'DRAFT':<7} {v.content_hash[:19]:<19} {log}"
        )
    return 0


def _words(node: Node) -> str:
    """The policy's words, and the project's gloss marked as such."""
    return f"{node.text}   [gloss: {node.gloss}]" if node.gloss else node.text


def _tree(node: Node, depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    if isinstance(node, Leaf):
        value = node.value
        if isinstance(value, tuple):
            value = [sorted(v) if isinstance(v, frozenset) else v for v in value]
        lines.append(f"{pad}{node.cite:<12} {_words(node)}")
        lines.append(f"{pad}{'':<12}   [{node.key}: {node.fact} {node.op} {value}]")
        return
    assert isinstance(node, Group)
    lines.append(f"{pad}{node.cite:<12} {_words(node)}   [{node.key}: {node.mode} of]")
    for child in node.children:
        _tree(child, depth + 1, lines)


def describe(v: PolicyVersion) -> str:
    m = v.meta
    lines = [
        f"{m.policy_id} {m.title}",
        f"version {m.version}, in force from {m.effective} (recorded {m.recorded}), {m.provenance}",
        f"content {v.content_hash}{'' if v.locked else '  (DRAFT: not locked)'}",
        f"revision log {m.revision_log_date}"
        + (f" (P&T {m.pt_approval})" if m.pt_approval else "")
        + f": {m.revision_log_text}",
        f"semver: {m.semver_reasoning}",
    ]
    if v.corrects is not None:
        lines.insert(3, f"corrects {v.corrects}")
        lines += [f"  corrected {c.key} ({c.change}): {c.text}" for c in m.changes]
    for title, items in (
        ("assumptions", m.assumptions),
        ("choices", m.choices),
        ("not modelled", m.unmodelled),
    ):
        if items:
            lines.append(f"{title}:")
            lines += [f"  - {a}" for a in items]
    if v.strengths_mg:
        lines.append("strengths: " + ", ".join(f"{s} mg" for s in v.strengths_mg))
    for ind in v.indications:
        lines.append("")
        lines.append(f"{ind.cite} {ind.title}  (request types: {', '.join(ind.request_types)})")
        _tree(ind.criteria, 1, lines)
        durations = ", ".join(
            f"{k}: {'length of benefit' if d.length_of_benefit else f'{d.months} months'}"
            + (f" or {d.at_most_fact} if fewer" if d.at_most_fact else "")
            for k, d in ind.durations.items()
        )
        lines.append(f"  approval duration ({ind.durations_keyed_by}) {durations}")
    for ref in v.referrals:
        lines.append("")
        lines.append(f"{ref.cite} {ref.text}  (request types: {', '.join(ref.request_types)})")
        for rule in ref.rules:
            targets = ", ".join(f"{k}: {t}" for k, t in rule.refer_to.items())
            lines.append(f"  {rule.cite:<10} -> {targets}")
            if rule.when is not None:
                _tree(rule.when, 2, lines)
    return "\n".join(lines)


def run_show(args: argparse.Namespace) -> int:
    store = load_store(args)
    if store is None:
        return 1
    try:
        version = store.resolve(args.ref, args.policy)
    except NotFound as exc:
        fail(str(exc))
        return 1
    print(to_json(version_json(version, criteria=True)) if args.json else describe(version))
    return 0
