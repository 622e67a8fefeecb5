"""Errors the engine raises. None of them carries a request's fact values."""

from __future__ import annotations

import attrs
from rxpolicy.decisions import FieldViolation as FieldViolation  # one vocabulary: shared with the client


class RxPolicyError(Exception):
    """Base class of every error the engine raises on purpose."""


class InvalidRequest(RxPolicyError):
    """The request is not valid input; never turned into a decision."""

    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = tuple(violations)
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(v.field for v in self.violations)


class NotFound(RxPolicyError):
    """An unknown policy or version was asked for."""


class UnknownPolicy(NotFound):
    """No such policy is loaded (or several are and the call named none)."""


class UnknownVersion(NotFound):
    """No such version of the policy, or none in force on the date asked for."""


@attrs.frozen
class PolicyFileError:
    """One problem in a policy-version file: which file, where in it, and why."""

    file: str
    path: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.reason}"


class PolicyLoadError(RxPolicyError):
    """A policy directory could not be loaded; lists every problem found."""

    def __init__(self, errors: list[PolicyFileError]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(str(e) for e in errors))
