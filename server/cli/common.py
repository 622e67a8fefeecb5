"""What several subcommands share: loading the store, reading request files, printing."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from rxpolicy.decisions import json_text

from ..engine.errors import NotFound, PolicyLoadError
from ..engine.store import VersionStore
from ..formats.yaml_load import load_request_yaml


def add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policies",
        type=Path,
        metavar="DIR",
        help="directory of policy version directories (default: the packaged versions)",
    )
    parser.add_argument("--policy", metavar="ID", help="policy id (default: the default policy)")
    add_default_policy(parser)


def add_default_policy(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--default-policy",
        metavar="ID",
        help="the policy of a request that names none (default: the only one loaded)",
    )


def add_as_known_on(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as-known-on",
        type=dt.date.fromisoformat,
        metavar="DATE",
        help="decide with the records known on DATE: versions recorded after it are ignored and "
        "corrections recorded after it do not apply (default: today, every version)",
    )


def load_store(args: argparse.Namespace) -> VersionStore | None:
    try:
        # getattr: a command may offer --policies without --default-policy.
        return VersionStore.load(args.policies, default_policy=getattr(args, "default_policy", None))
    except PolicyLoadError as exc:
        fail("cannot load policy versions:\n" + "\n".join(f"  {e}" for e in exc.errors))
    except NotFound as exc:
        fail(str(exc))
    return None


def fail(message: str) -> None:
    print(f"rxpolicy: {message}", file=sys.stderr)


def read_structured(path: str) -> Any:
    """A YAML or JSON document from a file, or from standard input for '-'."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    if path.endswith(".json"):
        return json.loads(text)
    return load_request_yaml(text)


def to_json(value: Any) -> str:
    return json_text(value)


def counted(count: int, noun: str) -> str:
    """``count`` and ``noun``, plural unless there is exactly one ("1 problem", "2 problems")."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
