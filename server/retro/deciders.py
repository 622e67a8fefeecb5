"""Who decides a chunk of requests: the engine in this process, or a server's stream.

Both return typed results (``rxpolicy.decisions``: a Decision or an ErrorResult), one
per request, in order; everything downstream is shared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from rxpolicy.decisions import ErrorResult, Result

from ..engine.errors import InvalidRequest
from ..engine.model import PolicyVersion
from ..engine.store import VersionStore

Request = tuple[str, Mapping[str, Any]]  # (claim id, request mapping)


class FatalDeciderError(Exception):
    """The decider itself is gone (a server unreachable): stop the run, not the row."""


class Decider(Protocol):
    def decide_many(self, requests: Sequence[Request], *, compare: bool) -> list[Result]:
        """One result per request, in order; ``compare`` decides under the compare-to version."""
        ...

    def close(self) -> None: ...


def internal_error(exc: BaseException) -> ErrorResult:
    """A row the engine failed on unexpectedly: an error row, never a stopped run
    (only the exception's type is kept: its message could quote member facts)."""
    return ErrorResult.internal(exc, field="row")


class LocalDecider:
    def __init__(
        self,
        store: VersionStore,
        *,
        policy_id: str | None,
        as_known_on: dt.date | None,
        compare_to: PolicyVersion | None,
    ) -> None:
        self._store = store
        self._policy_id = policy_id
        self._as_known_on = as_known_on
        self._compare_to = compare_to

    def decide_many(self, requests: Sequence[Request], *, compare: bool) -> list[Result]:
        version = self._compare_to if compare else None
        decide = self._store.decide
        policy_id, known = self._policy_id, self._as_known_on
        out: list[Result] = []
        append = out.append
        for _claim_id, request in requests:
            try:
                append(decide(request, policy_id=policy_id, as_known_on=known, version=version))
            except InvalidRequest as exc:
                append(ErrorResult.invalid(exc.violations))
            except Exception as exc:
                append(internal_error(exc))
        return out

    def close(self) -> None:
        pass
