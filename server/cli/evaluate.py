"""rxpolicy evaluate: decide one request file."""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from ..engine.errors import InvalidRequest, NotFound
from ..formats.decisions import decision_json, error_json, explain
from .common import add_as_known_on, add_store_options, fail, load_store, read_structured, to_json


def register(sub: Any) -> None:
    p = sub.add_parser(
        "evaluate",
        help="decide a request under the version in force on its service date",
        description="Decide REQUEST (YAML or JSON: fact name -> value, or a case with "
        "'request:'); prints the decision as JSON, or an explanation with --explain.",
    )
    p.add_argument("request", metavar="REQUEST", help="request file (.yaml, .yml, .json) or - for stdin")
    p.add_argument("--explain", action="store_true", help="print a readable explanation with the trace")
    p.add_argument("--trace", action="store_true", help="include the full evaluation trace in the JSON")
    p.add_argument("--server", metavar="HOST:PORT", help="ask a running rxpolicy server instead")
    p.add_argument("--token", help="bearer token for --server")
    add_store_options(p)
    add_as_known_on(p)
    p.set_defaults(func=run)


def request_of(doc: Any) -> Any:
    if isinstance(doc, dict) and isinstance(doc.get("request"), dict):
        return doc["request"]
    return doc


def run(args: argparse.Namespace) -> int:
    try:
        doc = read_structured(args.request)
    except (OSError, ValueError, yaml.YAMLError) as exc:  # ValueError: bad JSON, not UTF-8
        fail(f"cannot read {args.request}: {exc}")
        return 1
    request = request_of(doc)
    with_trace = args.trace or args.explain
    if args.server:
        from .remote import remote_decide

        result = remote_decide(args, request, with_trace)
    else:
        store = load_store(args)
        if store is None:
            return 1
        try:
            result = decision_json(
                store.decide(
                    request, policy_id=args.policy, as_known_on=args.as_known_on, with_trace=with_trace
                )
            )
        except InvalidRequest as exc:
            result = error_json(exc)
        except NotFound as exc:
            fail(str(exc))
            return 1
    print(explain(result) if args.explain else to_json(result))
    return 2 if "error" in result else 0
