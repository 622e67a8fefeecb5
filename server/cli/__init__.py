"""The ``rxpolicy`` command.

Each subcommand lives in its own module exposing ``register(subparsers)``; the
module sets ``func`` on its parser. Adding a command is one line in COMMANDS.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
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


class _DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Appends an option's default to its help, unless the help already says it in words
    (argparse only looks for the "%(default)s" placeholder, so a help that says
    "(default: stdout)" would otherwise say it twice)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.help is not None and "(default:" in action.help:
            return action.help
        return super()._get_help_string(action)


class _Commands(_SubParsers):
    """Every subcommand shows its defaults in --help, and is described even where its module
    gave only a one-line help (the help then serves as the description)."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.setdefault("formatter_class", _DefaultsHelp)
        if "description" not in kwargs and kwargs.get("help"):
            kwargs["description"] = kwargs["help"][:1].upper() + kwargs["help"][1:] + "."
        parser: argparse.ArgumentParser = super().add_parser(name, **kwargs)
        return parser


class _ShowVersion(argparse.Action):
    """argparse's "version" action, with the version looked up only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        kwargs.setdefault("help", "show program's version number and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        print(f"rxpolicy {_version()}")
        parser.exit()


def _version() -> str:
    from importlib import metadata  # only for --version: it costs every start 10 ms

    try:
        return metadata.version("rxpolicy")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


# Commands whose start-up time matters (a server starting, a replica replacing another):
# their parser is built alone, without importing every other command's module.
_ALONE = {"serve": "serve"}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or with ``only`` (a module of COMMANDS) just that one's."""
    parser = argparse.ArgumentParser(
        prog="rxpolicy",
        description="Clinical pharmacy prior-authorization policy as versioned data.",
    )
    parser.add_argument("--version", action=_ShowVersion)
    parser.register("action", "parsers", _Commands)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS if only is None else (only,):
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_ALONE.get(words[0]) if words else None)
    args = parser.parse_args(words)
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
