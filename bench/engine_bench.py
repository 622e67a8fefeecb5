"""Engine benchmark (run on demand, not a test).

    python bench/engine_bench.py [--cases ../shared/cases] [--rounds 200]

Reports, measured in one run over the same requests:
- median microseconds per decision, full path (raw request -> validated facts ->
  version by date -> decision), without and with the trace;
- median microseconds of the evaluator alone (normalised facts -> decision) under the
  2025 version, and of a plain hand-written if/else of the 2025 criteria on the same
  facts, and their ratio.
The hand-written function is checked to agree with the engine on every request first,
so the comparison is between two implementations of the same policy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
from rxpolicy.server.engine.dates import approved_through
from rxpolicy.server.engine.errors import InvalidRequest
from rxpolicy.server.engine.model import Leaf, PolicyVersion
from rxpolicy.server.engine.store import VersionStore
from rxpolicy.server.formats.cases import iter_case_files, load_cases

HERE = Path(__file__).resolve().parent
DEFAULT_CASES = HERE.parent.parent / "shared" / "cases"
OWN_CASES = HERE.parent / "tests" / "cases"

Result = tuple[str, tuple[str, ...], tuple[str, ...], int | None]

# ----------------------------------------------------------------------------------------
# The 2025 criteria of CP.PHAR.431 written by hand, three-valued (None = unknown), over the
# same normalised facts the engine evaluates. This is the baseline an engineer would write
# without a policy engine; its term lists (the B-cell diagnoses, the regimens) are read
# from the 2025 version's criteria rather than copied.


@attrs.frozen
class Terms:
    b_cell: frozenset[str]
    bvd: frozenset[str]
    dara: frozenset[frozenset[str]]
    kd: frozenset[str]
    pd: frozenset[str]
    dex: frozenset[str]

    @classmethod
    def of(cls, version: PolicyVersion) -> Terms:
        nodes = version.nodes()

        def value(key: str) -> Any:
            node = nodes[key]
            assert isinstance(node, Leaf), key
            return node.value

        return cls(
            b_cell=frozenset(value("cont.dose.bcell.diagnosis")),
            bvd=value("mm.regimen.bvd")[0],
            dara=frozenset(value("mm.regimen.dara_dex")),
            kd=value("mm.regimen.kd")[0],
            pd=value("mm.regimen.pd.combination")[0],
            dex=value("mm.regimen.penta.combination")[0],
        )


def _and(*values: bool | None) -> bool | None:
    if False in values:
        return False
    return None if None in values else True


def _or(*values: bool | None) -> bool | None:
    if True in values:
        return True
    return None if None in values else False


def _cmp(value: Any, test: Callable[[Any], bool]) -> bool | None:
    return None if value is None else test(value)


def handwritten_2025(terms: Terms) -> Callable[[dict[str, Any]], Result]:
    """The hand-written decision function, over the term lists of the 2025 version."""
    B_CELL, BVD, DARA, KD, PD, DEX = terms.b_cell, terms.bvd, terms.dara, terms.kd, terms.pd, terms.dex

    def decide(f: dict[str, Any]) -> Result:
        get = f.get
        dx, lob, rt = get("diagnosis"), f["line_of_business"], f["request_type"]
        generic = _or(
            _cmp(get("product"), lambda v: v == "selinexor"),
            _cmp(get("generic_available"), lambda v: v is False),
            _cmp(get("generic_contraindicated"), lambda v: v is True),
        )
        combo = get("combination")
        weekly_mg, weekly_tab = get("doses.weekly_mg"), get("doses.weekly_tablets")
        evidence = _cmp(get("dose_evidence_submitted"), lambda v: v is True)
        # Within 100 mg / 5 tablets is within the limit whatever the regimen (the BVd limit
        # is the smaller one): written so, as a hand-written reading would, it decides where
        # the regimen is unknown, as the engine's minimal pends do.
        mm_limit = _or(
            _and(
                _cmp(weekly_mg, lambda v: v <= 100),
                _cmp(weekly_tab, lambda v: v <= 5),
            ),
            _and(
                _cmp(combo, lambda c: c != BVD),
                _cmp(weekly_mg, lambda v: v <= 160),
                _cmp(weekly_tab, lambda v: v <= 8),
            ),
        )
        bcell_limit = _and(_cmp(weekly_mg, lambda v: v <= 120), _cmp(weekly_tab, lambda v: v <= 6))
        if dx is None:
            return ("pend", (), ("diagnosis",), None)
        if rt == "initial" and (dx == "multiple_myeloma" or dx in B_CELL):
            prescriber = _or(
                _cmp(get("prescriber_specialty"), lambda v: v in ("oncology", "hematology")),
                _cmp(get("specialist_consulted"), lambda v: v is True),
            )
            age = _cmp(get("member_age"), lambda v: v >= 18)
            if dx == "multiple_myeloma":
                status = _cmp(get("disease_status"), lambda v: v in ("relapsed", "refractory", "progressive"))
                count = get("prior_therapies.count")
                pi = get("prior_therapies.molecules_in_class.proteasome_inhibitor")
                imid = get("prior_therapies.molecules_in_class.immunomodulatory_agent")
                cd38 = get("prior_therapies.molecules_in_class.anti_cd38_antibody")
                regimen = _or(
                    _cmp(combo, lambda c: c == BVD),
                    _cmp(combo, lambda c: c in DARA),
                    _cmp(combo, lambda c: c == KD),
                    _and(
                        _cmp(combo, lambda c: c == PD),
                        _cmp(count, lambda v: v >= 2),
                        _cmp(imid, lambda v: v >= 1),
                        _cmp(pi, lambda v: v >= 1),
                    ),
                    _and(
                        _cmp(combo, lambda c: c == DEX),
                        _cmp(count, lambda v: v >= 4),
                        _cmp(pi, lambda v: v >= 2),
                        _cmp(imid, lambda v: v >= 2),
                        _cmp(cd38, lambda v: v >= 1),
                    ),
                )
                criteria = [
                    ("I.A.2", prescriber),
                    ("I.A.3", age),
                    ("I.A.4", generic),
                    ("I.A.5", status),
                    ("I.A.6", regimen),
                    ("I.A.7", _or(mm_limit, evidence)),
                ]
                reads = {
                    "I.A.2": ("prescriber_specialty", "specialist_consulted"),
                    "I.A.3": ("member_age",),
                    "I.A.4": ("product", "generic_available", "generic_contraindicated"),
                    "I.A.5": ("disease_status",),
                    "I.A.6": ("combination", "prior_therapies"),
                    "I.A.7": ("combination", "doses", "dose_evidence_submitted"),
                }
            else:
                status = _cmp(get("disease_status"), lambda v: v in ("relapsed", "refractory", "progressive"))
                prior = _cmp(get("prior_therapies.count"), lambda v: v >= 2)
                criteria = [
                    ("I.B.2", prescriber),
                    ("I.B.3", age),
                    ("I.B.4", generic),
                    ("I.B.5", status),
                    ("I.B.6", prior),
                    ("I.B.7", _or(bcell_limit, evidence)),
                ]
                reads = {
                    "I.B.2": ("prescriber_specialty", "specialist_consulted"),
                    "I.B.3": ("member_age",),
                    "I.B.4": ("product", "generic_available", "generic_contraindicated"),
                    "I.B.5": ("disease_status",),
                    "I.B.6": ("prior_therapies",),
                    "I.B.7": ("doses", "dose_evidence_submitted"),
                }
            months = 6
        elif rt == "continuation" and (dx == "multiple_myeloma" or dx in B_CELL):
            receiving = _or(
                _cmp(get("receiving_via_plan_benefit"), lambda v: v is True),
                _cmp(get("days_on_therapy"), lambda v: v >= 30),
            )
            response = _cmp(get("positive_response"), lambda v: v is True)
            dose = _or(
                _cmp(get("dose_increase"), lambda v: v is False),
                _and(dx == "multiple_myeloma", mm_limit),
                _and(dx in B_CELL, bcell_limit),
                evidence,
            )
            criteria = [("II.A.1", receiving), ("II.A.2", response), ("II.A.3", generic), ("II.A.4", dose)]
            reads = {
                "II.A.1": ("receiving_via_plan_benefit", "days_on_therapy"),
                "II.A.2": ("positive_response",),
                "II.A.3": ("product", "generic_available", "generic_contraindicated"),
                "II.A.4": ("dose_increase", "combination", "doses", "dose_evidence_submitted"),
            }
            months = 12
        else:
            label, formulary = get("label_change_within_6_months"), get("on_formulary")
            if label is None:
                return ("pend", (), ("label_change_within_6_months",), None)
            if label and formulary is None and lob != "commercial":
                return ("pend", (), ("on_formulary",), None)
            return ("refer", (), (), None)
        unmet = tuple(cite for cite, value in criteria if value is False)
        if unmet:
            return ("deny", unmet, (), None)
        unknown = [cite for cite, value in criteria if value is None]
        if unknown:
            missing = tuple(dict.fromkeys(fact for cite in unknown for fact in reads[cite] if fact not in f))
            return ("pend", (), missing, None)
        if lob == "commercial":
            asked = get("requested_months")
            months = min(12, asked) if asked else 12
        approved_through(f["service_date"], months)
        return ("approve", (), (), months)

    return decide


# ----------------------------------------------------------------------------------------


def _median_us(fn: Callable[[], Any], items: int, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) / items * 1e6)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, nargs="*", default=[DEFAULT_CASES, OWN_CASES])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    paths = [p for p in args.cases if p.exists()]
    store = VersionStore.load()
    requests = []
    for case in (c for f in iter_case_files(paths) for c in load_cases(f)):
        try:
            store.decide(case.request)
        except InvalidRequest:
            continue
        requests.append(case.request)
    if not requests:
        print("no valid requests found", file=sys.stderr)
        return 1

    def full(with_trace: bool) -> Callable[[], None]:
        def run() -> None:
            for r in requests:
                store.decide(r, with_trace=with_trace)

        return run

    # Evaluator alone: every request's facts, normalised under the 2025 version.
    v2025 = store.compiled(store.resolve("4.5.0"))
    handwritten = handwritten_2025(Terms.of(v2025.version))
    facts_list = []
    for r in requests:
        moved = dict(r, service_date=dt.date(2025, 6, 2).isoformat())
        try:
            facts_list.append(v2025.normalise(moved))
        except InvalidRequest:
            continue
    disagreements = 0
    for facts in facts_list:
        engine = v2025.decide(facts)
        mine = handwritten(facts)
        months = engine.approval.months if engine.approval else None
        # Outcome, unmet citations and duration must agree; the hand-written missing-fact
        # lists are coarser (per numbered criterion), so they are not compared.
        if (engine.outcome, engine.unmet_cites, months) != (mine[0], mine[1], mine[3]):
            disagreements += 1
            print(
                f"disagree: engine {engine.outcome} {engine.unmet_cites} {engine.missing} hand {mine}",
                file=sys.stderr,
            )

    def evaluator() -> None:
        for facts in facts_list:
            v2025.decide(facts)

    def hand() -> None:
        for facts in facts_list:
            handwritten(facts)

    for fn in (full(False), evaluator, hand):  # warm up
        fn()
    no_trace = _median_us(full(False), len(requests), args.rounds)
    with_trace = _median_us(full(True), len(requests), args.rounds)
    engine_us = _median_us(evaluator, len(facts_list), args.rounds)
    hand_us = _median_us(hand, len(facts_list), args.rounds)
    print(
        f"requests: {len(requests)} valid case requests; {len(facts_list)} under the 2025 version; "
        f"hand-written disagreements: {disagreements}"
    )
    print(f"full path (validate + pick version + decide), no trace : {no_trace:8.2f} us/decision (median)")
    print(f"full path, with trace                                  : {with_trace:8.2f} us/decision (median)")
    print(f"evaluator alone (facts -> decision), 2025 version      : {engine_us:8.2f} us/decision")
    print(f"hand-written if/else of the 2025 criteria, same facts  : {hand_us:8.2f} us/decision")
    print(f"ratio evaluator / hand-written                         : {engine_us / hand_us:8.2f}x")
    print(f"ratio full path / hand-written                         : {no_trace / hand_us:8.2f}x")
    print(f"ratio with trace / without                             : {with_trace / no_trace:8.2f}x")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
