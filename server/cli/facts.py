"""rxpolicy facts [VERSION|DATE]: the facts a version reads, with type, vocabulary, question, source."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..analysis.template import Template, generic_template, load_template
from ..engine.errors import NotFound, PolicyLoadError
from ..engine.model import FactSpec, Leaf, PolicyVersion
from .common import add_store_options, fail, load_store, to_json


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "facts",
        help="list the facts a version reads: type, vocabulary, question and source",
        description="The facts of the version named by semver, by the date it is in force, or "
        "'latest' (the default). Source says who can supply a fact: request (the calling system), "
        "plan (eligibility, formulary, generic availability, label changes), claims (the plan's "
        "claims history) or prescriber (documentation from the prescriber).",
    )
    parser.add_argument("ref", nargs="?", default="latest", metavar="VERSION|DATE")
    add_store_options(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object per fact, in a list")
    parser.set_defaults(func=run_facts)


def fact_rows(version: PolicyVersion, template: Template) -> list[dict[str, Any]]:
    read = {n.base_fact for n in version.nodes().values() if isinstance(n, Leaf)}
    rows = []
    for spec in version.facts.values():
        source = template.facts.get(spec.name)
        rows.append(
            {
                "fact": spec.name,
                "type": spec.type,
                "required": spec.required,
                "vocabulary": _vocabulary(spec),
                "question": source.question if source else spec.text,
                "source": source.source if source else "unknown",
                "read_by_criteria": spec.name in read,
            }
        )
    return rows


def _vocabulary(spec: FactSpec) -> str:
    if spec.values:
        return ", ".join(spec.values)
    if spec.vocabulary:
        return f"terms of vocabulary '{spec.vocabulary}'"
    if spec.minimum is not None or spec.maximum is not None:
        low = "" if spec.minimum is None else spec.minimum
        high = "" if spec.maximum is None else spec.maximum
        return f"{low}..{high}"
    return ""


def run_facts(args: argparse.Namespace) -> int:
    store = load_store(args)
    if store is None:
        return 1
    try:
        version = store.resolve(args.ref, args.policy)
        template = load_template(Path(version.source_path).parent, version.policy_id)
    except NotFound as exc:
        fail(str(exc))
        return 1
    except PolicyLoadError as exc:
        print("\n".join(f"warning: {e}" for e in exc.errors))
        template = generic_template(version.policy_id)
    rows = fact_rows(version, template)
    if args.json:
        print(to_json(rows))
        return 0
    print(f"{version.policy_id} {version.version} (in force from {version.effective}): {len(rows)} facts")
    for row in rows:
        required = ", required" if row["required"] else ""
        unread = "" if row["read_by_criteria"] else "; no criterion of this version reads it"
        print(f"{row['fact']}  [{row['type']}{required}; source: {row['source']}{unread}]")
        print(f"    question: {row['question']}")
        if row["vocabulary"]:
            print(f"    values: {row['vocabulary']}")
    return 0
