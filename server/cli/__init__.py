"""The ``rxpolicy`` command.

Each subcommand lives in its own module exposing ``register(subparsers)``; the
module sets ``func`` on its parser. Adding a command is one line in COMMANDS.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import TYPE_CHECKING, Any

COMMANDS = (
    "evaluate",
    "test",
    "versions",
    "init",
    "new_version",
    "lint",
    "publish",
    "renumber",
    "facts",
    "diff",
    "retro",
    "serve",
)


if TYPE_CHECKING:  # generic only in the type stubs
    _SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    _SubParsers = argparse._SubParsersAction


class _Commands(_SubParsers):
    """Every subcommand shows its defaults in --help, and is described even where its module
    gave only a one-line help (the help then serves as the description)."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        if "description" not in kwargs and kwargs.get("help"):
            kwargs["description"] = kwargs["help"][:1].upper() + kwargs["help"][1:] + "."
        parser: argparse.ArgumentParser = super().add_parser(name, **kwargs)
        return parser


def _version() -> str:
    try:
        return metadata.version("rxpolicy")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rxpolicy",
        description="Clinical pharmacy prior-authorization policy as versioned data.",
    )
    parser.add_argument("--version", action="version", version=f"rxpolicy {_version()}")
    parser.register("action", "parsers", _Commands)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        # A file or directory the command was pointed at: say which, never a traceback.
        where = f": {exc.filename}" if exc.filename else ""
        print(f"rxpolicy: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
