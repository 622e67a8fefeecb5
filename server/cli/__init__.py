"""The ``rxpolicy`` command.

Each subcommand lives in its own module exposing ``register(subparsers)``; the
module sets ``func`` on its parser. Adding a command is one line in COMMANDS.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rxpolicy",
        description="Clinical pharmacy prior-authorization policy as versioned data.",
    )
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
