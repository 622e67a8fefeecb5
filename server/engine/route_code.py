"""The decision procedure compiled, per request type, into one plain Python function.

procedure.py runs once per path through its branches (``procedure.every_path``) over
Python source: a truth value is a local variable holding a Kleene value (True / False /
None), a condition is a Python expression over them, and an outcome is a ``return`` of the
decision the version's outcome builder makes. The joined paths are the body of one
function per route, for instance:

    def decide(facts, with_trace, explain):
        v0 = e0(facts)
        if (v0 is True):
            v1 = (e1(facts), e2(facts), e3(facts))
            if (False in v1):
                return outcome(facts, with_trace, explain).deny(e4, v1)
            ...

so a request is decided with one call per truth value it reads (the compiled criteria) and
none per step of the procedure. Why source and not closures: a closure per step costs a
Python call per step, which was most of what deciding a request cost beyond its criteria.

What this module writes is its own: local names it numbers, Python's comparisons of
Kleene values, and the names of the values it binds in the function's namespace (every
evaluator, handle and builder). No text of a policy enters the source. It is the engine's
only statement of what the procedure's conditions mean on Kleene values.
"""

from __future__ import annotations

import linecache
from collections.abc import Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

import attrs

from . import procedure
from .decision import Decision
from .facts import Facts
from .language import Kleene

Ind = TypeVar("Ind")
Ref = TypeVar("Ref")
Ind_in = TypeVar("Ind_in", contravariant=True)
Ref_in = TypeVar("Ref_in", contravariant=True)
Evaluator = Callable[[Facts], Kleene]
Block = list[str]  # lines of source, unindented
RouteDecider = Callable[[Facts, bool, bool], Decision]  # (facts, with_trace, explain)


class Outcomes(Protocol[Ind_in, Ref_in]):
    """What the compiled route calls to build a decision: made per decision by the outcome
    factory from (facts, with_trace, explain), one method per outcome of the procedure."""

    def approve(self, indication: Ind_in) -> Decision: ...

    def deny(self, indication: Ind_in, criteria: Sequence[Kleene]) -> Decision: ...

    def pend(self, indication: Ind_in, criteria: Sequence[Kleene]) -> Decision: ...

    def pend_selection(self, candidates: Sequence[Ind_in], selectors: Sequence[Kleene]) -> Decision: ...

    def refer(
        self, referral: Ref_in, conditions: Sequence[Kleene], possible: Sequence[bool], targets: set[str]
    ) -> Decision: ...

    def refer_pend(
        self, referral: Ref_in, conditions: Sequence[Kleene], possible: Sequence[bool]
    ) -> Decision: ...

    def refer_none(self, referral: Ref_in, conditions: Sequence[Kleene]) -> Decision: ...

    def uncovered(self) -> Decision: ...


@attrs.frozen
class Reads(Generic[Ind, Ref]):
    """How the route's handles are read: an indication's selector and numbered criteria, a
    referral's rule conditions (None: the rule always applies) and the policies the rules
    that may apply name."""

    selector: Callable[[Ind], Evaluator]
    criteria: Callable[[Ind], Sequence[Evaluator]]
    rules: Callable[[Ref], Sequence[Evaluator | None]]
    targets: Callable[[Ref], Callable[[Facts, Sequence[bool]], set[str]]]


class _Tuple(list[str]):
    """Truth values held in one local tuple: the items are their expressions, ``name`` the
    tuple's, so a test of all of them reads the tuple as it is."""

    def __init__(self, name: str, items: Sequence[str]) -> None:
        super().__init__(items)
        self.name = name


class _Source(procedure.OnePath[str, str, Block, Ind, Ref]):
    """The procedure along one path, as source: statements gathered since the path's last
    branch (``at_fork``), a ``return`` at its outcome."""

    __slots__ = ("held", "lines", "names", "namespace", "reads", "serial", "targets")
    true = "True"

    def __init__(
        self, reads: Reads[Ind, Ref], outcome: Callable[[Facts, bool, bool], Outcomes[Ind, Ref]]
    ) -> None:
        super().__init__()
        self.reads = reads
        self.namespace: dict[str, Any] = {"outcome": outcome}
        self.names: dict[int, str] = {}
        self.lines: list[tuple[int, str]] = []  # (branches answered when written, statement)
        self.serial = 0
        self.targets = ""  # the local holding the policies one_target found
        self.held: dict[int, str] = {}  # a sequence of values the path has put in a local

    def follow(self, path: list[bool]) -> None:
        super().follow(path)
        self.lines, self.serial, self.held = [], 0, {}  # numbered alike up to the path's fork

    def at_fork(self) -> Block:
        return self._since_branch()

    def _since_branch(self) -> Block:
        return [line for asked, line in self.lines if asked == self.asked]

    def _bound(self, value: object) -> str:
        """The namespace name of a value the source uses (the same value, the same name)."""
        name = self.names.get(id(value))
        if name is None:
            name = self.names[id(value)] = f"e{len(self.names)}"
            self.namespace[name] = value
        return name

    def _local(self, expression: str) -> str:
        name = f"v{self.serial}"
        self.serial += 1
        self.lines.append((self.asked, f"{name} = {expression}"))
        return name

    def _seq(self, values: Sequence[str]) -> str:
        """A sequence of values as one expression: the local that holds it, or a tuple."""
        if isinstance(values, _Tuple):
            return values.name
        held = self.held.get(id(values))
        if held is not None:
            return held
        return f"({', '.join(values)},)" if values else "()"

    def _values(self, evaluators: Sequence[Evaluator]) -> _Tuple:
        calls = [f"{self._bound(e)}(facts)" for e in evaluators]
        name = self._local(f"({', '.join(calls)},)" if calls else "()")
        return _Tuple(name, [f"{name}[{i}]" for i in range(len(calls))])

    def _return(self, method: str, *args: str) -> Block:
        return [
            *self._since_branch(),
            f"return outcome(facts, with_trace, explain).{method}({', '.join(args)})",
        ]

    # ---- truth values
    def selector(self, indication: Ind) -> str:
        return self._local(f"{self._bound(self.reads.selector(indication))}(facts)")

    def criteria(self, indication: Ind) -> Sequence[str]:
        return self._values(self.reads.criteria(indication))

    def conditions(self, referral: Ref) -> Sequence[str]:
        # The rules are read up to the first that surely applies; True stands for each rule
        # after it, which cannot apply whatever it holds (it comes after one that does), so
        # the procedure may read the rules as all there are, and the trace ends at the
        # first True.
        read: list[str] = []
        for when in self.reads.rules(referral):
            call = "True" if when is None else f"{self._bound(when)}(facts)"
            read.append(self._local(f"True if {read[-1]} is True else {call}" if read else call))
        return _Tuple(self._local(f"({', '.join(read)},)" if read else "()"), read)

    # ---- conditions, as Python expressions over Kleene values
    def surely(self, value: str) -> str:
        return f"({value} is True)"

    def surely_not(self, value: str) -> str:
        return f"({value} is False)"

    def maybe(self, value: str) -> str:
        return f"({value} is not False)"

    def some_false(self, values: Sequence[str]) -> str:
        return f"(False in {self._seq(values)})"

    def some_unknown(self, values: Sequence[str]) -> str:
        return f"(None in {self._seq(values)})"

    def both(self, a: str, b: str) -> str:
        if a == self.true:
            return b
        return a if b == self.true else f"({a} and {b})"

    def negation(self, a: str) -> str:
        return f"(not {a})"

    def some(self, conds: Sequence[str]) -> str:
        if not conds:
            return "False"
        # Held in a local: the outcomes after this branch read the same conditions.
        held = self.held[id(conds)] = self._local(self._seq(conds))
        return f"(True in {held})"

    def one_target(self, referral: Ref, possible: Sequence[str]) -> str:
        found = self._bound(self.reads.targets(referral))
        self.targets = self._local(f"{found}(facts, {self._seq(possible)})")
        return f"(len({self.targets}) == 1)"

    # ---- outcomes
    def approve(self, indication: Ind) -> Block:
        return self._return("approve", self._bound(indication))

    def deny(self, indication: Ind, criteria: Sequence[str]) -> Block:
        return self._return("deny", self._bound(indication), self._seq(criteria))

    def pend(self, indication: Ind, criteria: Sequence[str]) -> Block:
        return self._return("pend", self._bound(indication), self._seq(criteria))

    def pend_selection(self, candidates: Sequence[Ind], selectors: Sequence[str]) -> Block:
        handles = self._seq([self._bound(c) for c in candidates])
        return self._return("pend_selection", handles, self._seq(selectors))

    def refer(self, referral: Ref, conditions: Sequence[str], possible: Sequence[str]) -> Block:
        return self._return(
            "refer", self._bound(referral), self._seq(conditions), self._seq(possible), self.targets
        )

    def refer_pend(self, referral: Ref, conditions: Sequence[str], possible: Sequence[str]) -> Block:
        return self._return("refer_pend", self._bound(referral), self._seq(conditions), self._seq(possible))

    def refer_none(self, referral: Ref, conditions: Sequence[str]) -> Block:
        return self._return("refer_none", self._bound(referral), self._seq(conditions))

    def uncovered(self) -> Block:
        return self._return("uncovered")


def _join(fork: procedure.Fork, then: Block, otherwise: Block) -> Block:
    # Each side ends in a return: the false side follows the if.
    before: Block = fork.before
    return [*before, f"if {fork.cond}:", *(f"    {line}" for line in then), *otherwise]


def compile_route(
    route: procedure.Route[Ind, Ref],
    reads: Reads[Ind, Ref],
    outcome: Callable[[Facts, bool, bool], Outcomes[Ind, Ref]],
    label: str,
) -> RouteDecider:
    """The route's decision function. ``label`` names it in tracebacks (its source is
    registered with linecache, as attrs does for the methods it writes)."""
    source_of = _Source(reads, outcome)
    body = procedure.every_path(source_of, route, _join)
    source = "def decide(facts, with_trace, explain):\n" + "".join(f"    {line}\n" for line in body)
    filename = f"<rxpolicy route {label}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), source_of.namespace)
    decide: RouteDecider = source_of.namespace["decide"]
    return decide
