"""Completions of a symbolic request, for minimal pends (docs/decisions.md, "What a pend lists").

The engine pends only when two completions of the request (every unknown fact filled in
with a valid value, the stated ones kept) have different outcomes. The encoding
(encode.py) mirrors the three-valued evaluation, which pends wherever a criterion is
unknown; ``real_pend`` is the condition that makes such a pend the engine's: two copies of
the request space, both completions of the request, whose outcomes differ. The semantic
diff requires it of every side that pends, so each kind it reports has witnesses the engine
decides as the solver does; the pend oracle (pend_oracle.py) uses the same copies.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
import z3  # type: ignore[import-untyped]

from ...engine.loading import SERVICE_DATE
from ...engine.model import PolicyVersion
from .encode import PEND, Outcome, PairEncoding, differs


def constants(terms: Iterable[Any]) -> dict[str, Any]:
    """Every uninterpreted constant in ``terms``, by name."""
    out: dict[str, Any] = {}
    seen: set[int] = set()
    stack = list(terms)
    while stack:
        term = stack.pop()
        ident = term.get_id()
        if ident in seen:
            continue
        seen.add(ident)
        if z3.is_const(term) and term.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            out[term.decl().name()] = term
        stack.extend(term.children())
    return out


def owned_by(var_name: str, fact: str) -> bool:
    """Whether a variable of the request space (space.py names them) belongs to ``fact``."""
    return var_name == fact or var_name.startswith((f"{fact}?", f"{fact}[", f"{fact}#"))


def caps(version: PolicyVersion) -> set[str]:
    """Facts that only shorten an approval: a completion leaves them as the request states them."""
    return {
        d.at_most_fact
        for ind in version.indications
        for d in ind.durations.values()
        if d.at_most_fact is not None
    }


class Completions:
    """Copies of a PairEncoding's request space that complete its request, per side."""

    def __init__(self, pair: PairEncoding) -> None:
        self.pair = pair
        space = pair.space
        terms = [*space.constraints, space.valid(0), space.valid(1)]
        for side in pair.sides:
            terms += attrs.astuple(side.outcome)
        self.variables = constants(terms)
        self.by_fact = {
            name: [var for var_name, var in self.variables.items() if owned_by(var_name, name)]
            for name in space.facts
        }

    def copy(self, side: int, tag: str) -> tuple[Outcome, list[Any]]:
        """A completion of the request under ``side``: its outcome, and its constraints."""
        space = self.pair.space
        version = self.pair.space.versions[side]
        pairs = [(var, z3.Const(f"{name}{tag}", var.sort())) for name, var in self.variables.items()]
        fresh = dict(pairs)
        out = [z3.substitute(c, *pairs) for c in (*space.constraints, space.valid(side))]
        keep = caps(version) | {SERVICE_DATE}
        for name, fact in space.facts.items():
            same = z3.And([fresh[v] == v for v in self.by_fact[name]] or [True])
            if name in keep or name not in version.facts:
                out.append(same)
            else:
                out += [z3.Implies(fact.present, same), fresh[fact.present]]
        outcome = Outcome(*(z3.substitute(t, *pairs) for t in attrs.astuple(self.pair.sides[side].outcome)))
        return outcome, out

    def real_pend(self, side: int) -> Any:
        """The side pends and two completions of the request have different outcomes."""
        first, first_constraints = self.copy(side, f"'{side}a")
        second, second_constraints = self.copy(side, f"'{side}b")
        return z3.Implies(
            self.pair.sides[side].outcome.code == PEND,
            z3.And(*first_constraints, *second_constraints, differs(first, second)),
        )
