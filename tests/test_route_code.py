"""The decision procedure compiled per route (server/engine/route_code.py): every route is
compiled, the source it writes is its own (no text of a policy in it, registered so that
tracebacks show it), and a referral's trace ends where the procedure stops reading rules.
That the compiled routes decide as the z3 encoding of the same procedure does is shown by
the encoding tests (test_diff_encoding.py) on random requests."""

from __future__ import annotations

import io
import linecache
import re
import tokenize

from conftest import REPO
from rxpolicy.server.engine.errors import InvalidRequest
from rxpolicy.server.engine.evaluate import CompiledVersion, trace
from rxpolicy.server.engine.store import VersionStore
from rxpolicy.server.formats.cases import Case, iter_case_files, load_cases

# Every name the compiled source may hold: its numbered locals and bound values, its
# parameters, the outcome builder's methods, and Python's own words.
_OWN = re.compile(r"[ev]\d+")
_WORDS = {
    "def", "decide", "facts", "with_trace", "explain", "outcome", "return", "if", "else", "is", "not",
    "and", "or", "in", "True", "False", "None", "len", "approve", "deny", "pend",
    "pend_selection", "refer", "refer_pend", "refer_none", "uncovered",
}  # fmt: skip


def own_cases() -> list[Case]:
    return [c for f in iter_case_files([REPO / "tests" / "cases"]) for c in load_cases(f)]


def _sources(compiled: CompiledVersion) -> dict[str, str]:
    prefix = f"<rxpolicy route {compiled.version.version} "
    return {
        name: "".join(entry[2]) for name, entry in list(linecache.cache.items()) if name.startswith(prefix)
    }


def test_every_route_is_compiled_and_its_source_is_the_modules_own(store: VersionStore) -> None:
    for version in store.versions():
        compiled = store.compiled(version)
        sources = _sources(compiled)
        request_types = {rt for ind in version.indications for rt in ind.request_types}
        assert {name.rsplit(" ", 1)[1].rstrip(">") for name in sources} >= request_types, version.version
        for name, source in sources.items():
            for token in tokenize.generate_tokens(io.StringIO(source).readline):
                assert token.type != tokenize.STRING, (name, token.string)
                if token.type == tokenize.NAME:
                    assert token.string in _WORDS or _OWN.fullmatch(token.string), (name, token.string)


def test_a_referral_trace_shows_the_rules_up_to_the_first_that_surely_applies(store: VersionStore) -> None:
    # Every rule is read; the trace ends at the first rule that surely applies, as the
    # procedure reads the rules (no later rule can apply).
    checked = 0
    for case in own_cases():
        try:
            decision = store.decide(case.request, with_trace=True)
        except InvalidRequest:
            continue
        version = store.resolve(decision.version.version)
        referral = next(
            (r for r in version.referrals if decision.indication and r.key == decision.indication.key), None
        )
        if referral is None or decision.trace is None:
            continue
        facts = store.compiled(version).normalise(case.request)
        expected = []
        for rule in referral.rules:
            if rule.when is None:
                break
            expected.append(rule.when.key)
            if trace(rule.when, facts).result is True:
                break
        assert [node.key for node in decision.trace] == expected, case.name
        checked += 1
    assert checked >= 5  # the project's cases reach the referrals
