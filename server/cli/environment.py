"""Every option of a subcommand from an environment variable: ``--max-message-bytes`` is
``RXPOLICY_SERVE_MAX_MESSAGE_BYTES`` for ``rxpolicy serve`` (the subcommand in the name, so
a server's ``--tls-cert`` never takes the client's ``RXPOLICY_TLS_CERT``).

A flag on the command line wins over its variable; a variable wins over the default. A
variable is parsed and checked as its flag would be, and a bad value is an error naming
the variable. The names come from the options themselves, so a new option has its
variable without anyone writing it down.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

PREFIX = "RXPOLICY_"
TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})
MAX_QUOTED = 80


class EnvironmentValueError(Exception):
    """A variable's value its option would refuse; the message names the variable."""


class _Unset:
    """An option's default, marked as not given on the command line. Prints as the value,
    so ``--help`` shows the default as before."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return repr(self.value)


def variable(command: str, flag: str) -> str:
    """The variable of ``flag`` (``--port``) of ``command`` (``serve``)."""
    return PREFIX + f"{command}_{flag.lstrip('-')}".upper().replace("-", "_")


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The parser's options that take a variable: every one with a long flag, but --help."""
    return [
        a for a in parser._actions if a.dest != "help" and any(s.startswith("--") for s in a.option_strings)
    ]


def long_flag(action: argparse.Action) -> str:
    return next(s for s in action.option_strings if s.startswith("--"))


def mark_defaults(command: str, parser: argparse.ArgumentParser) -> None:
    """Mark each option's default, so ``apply`` can tell a flag given from one left out, and
    name its variable in ``--help``."""
    for action in options(parser):
        action.default = _Unset(action.default)
        action.help = f"{action.help or ''} [{variable(command, long_flag(action))}]".lstrip()


def apply(
    command: str, args: argparse.Namespace, actions: Sequence[argparse.Action], environ: Mapping[str, str]
) -> None:
    """Fill each option left off the command line from its variable, else its default.
    Raises EnvironmentValueError for a variable its option would refuse."""
    for action in actions:
        given = getattr(args, action.dest)
        if not isinstance(given, _Unset):
            continue
        name = variable(command, long_flag(action))
        text = environ.get(name, "")
        # Empty is unset, as an orchestrator's blank entry usually means.
        setattr(args, action.dest, _parse(name, action, text) if text else given.value)


def _parse(name: str, action: argparse.Action, text: str) -> Any:
    quoted = repr(text if len(text) <= MAX_QUOTED else text[:MAX_QUOTED] + "...")
    if action.nargs == 0:  # a switch (store_true / store_false)
        word = text.strip().lower()
        if word not in TRUE | FALSE:
            raise EnvironmentValueError(f"{name}={quoted}: expected 1, true, yes or on (0, false, no or off)")
        on = word in TRUE
        return action.const if on else not action.const
    value: Any = text
    if action.type is not None:
        convert: Any = action.type
        try:
            value = convert(text)
        except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
            raise EnvironmentValueError(f"{name}={quoted}: {exc}") from None
    if action.choices is not None and value not in action.choices:
        choices = ", ".join(str(c) for c in action.choices)
        raise EnvironmentValueError(f"{name}={quoted}: choose one of {choices}")
    return value
