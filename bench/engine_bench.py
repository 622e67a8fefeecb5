"""Engine benchmark (run on demand, not a test).

    python bench/engine_bench.py [--cases ../shared/cases] [--rounds 200]

Reports, measured in one run over the same requests (medians of interleaved rounds, with
the spread between the 10th and 90th percentile):
- microseconds per decision, full path (raw request -> validated facts -> version by
  date -> decision), without and with the trace, and the full path by outcome;
- the compiled decide alone (normalised facts -> decision) by outcome, and deny, pend and
  refer as ratios of approve;
- a hand-written function of the 2025 criteria from the raw request (it reads terms,
  aliases and agents and derives the measures itself, validating nothing), and the full
  path under the 2025 version on the same requests;
- with cedarpy installed, the 2025 multiple-myeloma initial criteria written in Cedar,
  decided on the same requests (the Python side derives the measures from the raw request
  as the hand-written function does, then asks Cedar).
The hand-written and Cedar functions are checked to agree with the engine on every
request first, so the comparisons are between implementations of the same policy.
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
from rxpolicy.server.engine.decision import Decision
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


def handwritten_2025(terms: Terms) -> Callable[[dict[str, Any]], Result]:
    """The hand-written decision function, over the term lists of the 2025 version."""
    B_CELL, BVD, DARA, KD, PD, DEX = terms.b_cell, terms.bvd, terms.dara, terms.kd, terms.pd, terms.dex

    def decide(f: dict[str, Any]) -> Result:
        get = f.get
        (
            days_on_therapy,
            disease_status,
            dose_evidence_submitted,
            dose_increase,
            generic_available,
            generic_contraindicated,
            member_age,
            positive_response,
            prescriber_specialty,
            product,
            receiving_via_plan_benefit,
            specialist_consulted,
        ) = (
            get("days_on_therapy"),
            get("disease_status"),
            get("dose_evidence_submitted"),
            get("dose_increase"),
            get("generic_available"),
            get("generic_contraindicated"),
            get("member_age"),
            get("positive_response"),
            get("prescriber_specialty"),
            get("product"),
            get("receiving_via_plan_benefit"),
            get("specialist_consulted"),
        )
        dx, lob, rt = get("diagnosis"), f["line_of_business"], f["request_type"]
        generic = _or(
            (None if product is None else product == "selinexor"),
            (None if generic_available is None else generic_available is False),
            (None if generic_contraindicated is None else generic_contraindicated is True),
        )
        combo = get("combination")
        weekly_mg, weekly_tab = get("doses.weekly_mg"), get("doses.weekly_tablets")
        evidence = None if dose_evidence_submitted is None else dose_evidence_submitted is True
        # Within 100 mg / 5 tablets is within the limit whatever the regimen (the BVd limit
        # is the smaller one): written so, as a hand-written reading would, it decides where
        # the regimen is unknown, as the engine's minimal pends do.
        mm_limit = _or(
            _and(
                (None if weekly_mg is None else weekly_mg <= 100),
                (None if weekly_tab is None else weekly_tab <= 5),
            ),
            _and(
                (None if combo is None else combo != BVD),
                (None if weekly_mg is None else weekly_mg <= 160),
                (None if weekly_tab is None else weekly_tab <= 8),
            ),
        )
        bcell_limit = _and(
            (None if weekly_mg is None else weekly_mg <= 120),
            (None if weekly_tab is None else weekly_tab <= 6),
        )
        if dx is None:
            return ("pend", (), ("diagnosis",), None)
        if rt == "initial" and (dx == "multiple_myeloma" or dx in B_CELL):
            prescriber = _or(
                (
                    None
                    if prescriber_specialty is None
                    else prescriber_specialty in ("oncology", "hematology")
                ),
                (None if specialist_consulted is None else specialist_consulted is True),
            )
            age = None if member_age is None else member_age >= 18
            if dx == "multiple_myeloma":
                status = (
                    None
                    if disease_status is None
                    else disease_status in ("relapsed", "refractory", "progressive")
                )
                count = get("prior_therapies.count")
                pi = get("prior_therapies.molecules_in_class.proteasome_inhibitor")
                imid = get("prior_therapies.molecules_in_class.immunomodulatory_agent")
                cd38 = get("prior_therapies.molecules_in_class.anti_cd38_antibody")
                regimen = _or(
                    (None if combo is None else combo == BVD),
                    (None if combo is None else combo in DARA),
                    (None if combo is None else combo == KD),
                    _and(
                        (None if combo is None else combo == PD),
                        (None if count is None else count >= 2),
                        (None if imid is None else imid >= 1),
                        (None if pi is None else pi >= 1),
                    ),
                    _and(
                        (None if combo is None else combo == DEX),
                        (None if count is None else count >= 4),
                        (None if pi is None else pi >= 2),
                        (None if imid is None else imid >= 2),
                        (None if cd38 is None else cd38 >= 1),
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
                status = (
                    None
                    if disease_status is None
                    else disease_status in ("relapsed", "refractory", "progressive")
                )
                count = get("prior_therapies.count")
                prior = None if count is None else count >= 2
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
                (None if receiving_via_plan_benefit is None else receiving_via_plan_benefit is True),
                (None if days_on_therapy is None else days_on_therapy >= 30),
            )
            response = None if positive_response is None else positive_response is True
            dose = _or(
                (None if dose_increase is None else dose_increase is False),
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
# From the raw request, by hand: what an engineer would write to feed the function above
# (terms and aliases looked up, agents mapped, the measures derived), validating nothing.
# Its lookups are read from the 2025 version, not copied.


def from_raw_2025(
    version: PolicyVersion, decide: Callable[[dict[str, Any]], Result]
) -> Callable[[Any], Result]:
    facts = version.facts
    enums = {
        name: {**spec.aliases, **{v: v for v in spec.values}}
        for name, spec in facts.items()
        if spec.type == "enum"
    }
    plain = [name for name, spec in facts.items() if spec.type in ("int", "bool")]
    agent = {**version.agent_index, **dict.fromkeys(version.self_names, "")}
    in_class = {
        cls: {term: a.molecule for term, a in version.agents.items() if cls in a.classes}
        for cls in ("proteasome_inhibitor", "immunomodulatory_agent", "anti_cd38_antibody")
    }

    def derive(raw: Any) -> Result:
        f: dict[str, Any] = {"service_date": dt.date.fromisoformat(raw["service_date"])}
        for name, lookup in enums.items():
            value = raw.get(name)
            if value is not None:
                f[name] = lookup[value.strip().lower()]
        for name in plain:
            value = raw.get(name)
            if value is not None:
                f[name] = value
        combination = raw.get("combination")
        if combination is not None:
            f["combination"] = frozenset(agent[a.strip().lower()] for a in combination) - {""}
        lines = raw.get("prior_therapies")
        if lines is not None:
            terms = [[agent[a.strip().lower()] for a in line] for line in lines]
            f["prior_therapies.count"] = len(terms)
            for cls, molecule in in_class.items():
                f[f"prior_therapies.molecules_in_class.{cls}"] = len(
                    {molecule[t] for line in terms for t in line if t in molecule}
                )
        doses = raw.get("doses")
        if doses is not None:
            f["doses.weekly_mg"] = sum(d["tablets"] * d["strength_mg"] for d in doses)
            f["doses.weekly_tablets"] = sum(d["tablets"] for d in doses)
        return decide(f)

    return derive


# ----------------------------------------------------------------------------------------
# The 2025 multiple-myeloma initial criteria (I.A.2-I.A.7) in Cedar: permit when every
# criterion holds. Cedar is two-valued, so an unknown fact (absent from the context) makes
# its criterion fail: Allow is compared with the engine's approve only.

CEDAR_MM_INITIAL = """
permit (principal, action == Action::"initial", resource)
when {
  context.diagnosis == "multiple_myeloma" &&
  ((context has prescriber_specialty &&
      ["oncology", "hematology"].contains(context.prescriber_specialty)) ||
   (context has specialist_consulted && context.specialist_consulted)) &&
  context has member_age && context.member_age >= 18 &&
  ((context has product && context.product == "selinexor") ||
   (context has generic_available && !context.generic_available) ||
   (context has generic_contraindicated && context.generic_contraindicated)) &&
  context has disease_status &&
    ["relapsed", "refractory", "progressive"].contains(context.disease_status) &&
  context has combination &&
  (context.combination == BVD || DARA.contains(context.combination) || context.combination == KD ||
   (context.combination == PD && context has prior_count && context.prior_count >= 2 &&
      context.imid >= 1 && context.pi >= 1) ||
   (context.combination == DEX && context has prior_count && context.prior_count >= 4 &&
      context.pi >= 2 && context.imid >= 2 && context.cd38 >= 1)) &&
  ((context has weekly_mg &&
     ((context.combination == BVD && context.weekly_mg <= 100 && context.weekly_tablets <= 5) ||
      (context.combination != BVD && context.weekly_mg <= 160 && context.weekly_tablets <= 8))) ||
   (context has dose_evidence_submitted && context.dose_evidence_submitted))
};
"""


def _cedar_set(terms: frozenset[str]) -> str:
    return "[" + ", ".join(f'"{t}"' for t in sorted(terms)) + "]"


def cedar_2025(terms: Terms) -> tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]:
    """The Cedar policy text (term lists from the 2025 version) and the request -> Cedar
    context conversion over facts derived from the raw request."""
    text = CEDAR_MM_INITIAL
    for name, value in (("BVD", terms.bvd), ("KD", terms.kd), ("PD", terms.pd), ("DEX", terms.dex)):
        text = text.replace(name, _cedar_set(value))
    text = text.replace("DARA", "[" + ", ".join(_cedar_set(c) for c in sorted(terms.dara, key=sorted)) + "]")
    renames = {
        "prior_therapies.count": "prior_count",
        "prior_therapies.molecules_in_class.proteasome_inhibitor": "pi",
        "prior_therapies.molecules_in_class.immunomodulatory_agent": "imid",
        "prior_therapies.molecules_in_class.anti_cd38_antibody": "cd38",
        "doses.weekly_mg": "weekly_mg",
        "doses.weekly_tablets": "weekly_tablets",
    }

    def context(f: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in f.items():
            if name == "service_date":
                continue
            out[renames.get(name, name)] = sorted(value) if isinstance(value, frozenset) else value
        return out

    return text, context


# ----------------------------------------------------------------------------------------


class Rounds:
    """Interleaved timing: every measured function runs once per round, in turn, so a
    slow moment of the (shared) machine falls on all of them alike."""

    def __init__(self) -> None:
        self.runs: dict[str, tuple[Callable[[], Any], int]] = {}
        self.samples: dict[str, list[float]] = {}

    def add(self, name: str, fn: Callable[[], Any], items: int) -> None:
        if items:
            self.runs[name] = (fn, items)
            self.samples[name] = []

    def run(self, rounds: int) -> None:
        for fn, _ in self.runs.values():
            fn()  # warm up
        for _ in range(rounds):
            for name, (fn, items) in self.runs.items():
                start = time.perf_counter()
                fn()
                self.samples[name].append((time.perf_counter() - start) / items * 1e6)

    def median(self, name: str) -> float:
        return statistics.median(self.samples[name])

    def line(self, name: str, label: str) -> str:
        s = sorted(self.samples[name])
        lo, hi = s[len(s) // 10], s[len(s) * 9 // 10]
        return (
            f"{label:<58}: {self.median(name):8.2f} us  (p10-p90 {lo:.2f}-{hi:.2f}, n={self.runs[name][1]})"
        )


def _loop(fn: Callable[[Any], Any], items: list[Any]) -> Callable[[], None]:
    def run() -> None:
        for item in items:
            fn(item)

    return run


OUTCOMES = ("approve", "deny", "pend", "refer")


def _cite(decision: Decision) -> str:
    return decision.indication.cite if decision.indication is not None else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, nargs="*", default=[DEFAULT_CASES, OWN_CASES])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    paths = [p for p in args.cases if p.exists()]
    store = VersionStore.load()
    requests: list[dict[str, Any]] = []
    by_outcome: dict[str, list[dict[str, Any]]] = {o: [] for o in OUTCOMES}
    facts_by_outcome: dict[str, list[tuple[Any, dict[str, Any]]]] = {o: [] for o in OUTCOMES}
    for case in (c for f in iter_case_files(paths) for c in load_cases(f)):
        try:
            decision = store.decide(case.request)
        except InvalidRequest:
            continue
        requests.append(case.request)
        by_outcome[decision.outcome].append(case.request)
        compiled = store.compiled(store.resolve(decision.version.version))
        facts_by_outcome[decision.outcome].append((compiled, compiled.normalise(case.request)))
    if not requests:
        print("no valid requests found", file=sys.stderr)
        return 1

    # The 2025 version on the same requests, moved to a 2025 service date.
    v2025 = store.resolve("4.5.0")
    terms = Terms.of(v2025)
    handwritten = handwritten_2025(terms)
    raw_2025 = from_raw_2025(v2025, handwritten)
    moved_all = [dict(r, service_date=dt.date(2025, 6, 2).isoformat()) for r in requests]
    moved: list[dict[str, Any]] = []
    for r in moved_all:
        try:
            store.decide(r, version=v2025)
        except InvalidRequest:
            continue
        moved.append(r)
    disagreements = 0
    for r in moved:
        engine = store.decide(r, version=v2025)
        mine = raw_2025(r)
        months = engine.approval.months if engine.approval else None
        # Outcome, unmet citations and duration must agree; the hand-written missing-fact
        # lists are coarser (per numbered criterion), so they are not compared.
        if (engine.outcome, engine.unmet_cites, months) != (mine[0], mine[1], mine[3]):
            disagreements += 1
            print(f"disagree: engine {engine.outcome} {engine.unmet_cites} hand {mine}", file=sys.stderr)

    rounds = Rounds()
    rounds.add("full", _loop(store.decide, requests), len(requests))
    rounds.add("trace", _loop(lambda r: store.decide(r, with_trace=True), requests), len(requests))
    for outcome in OUTCOMES:
        rounds.add(f"full.{outcome}", _loop(store.decide, by_outcome[outcome]), len(by_outcome[outcome]))
        pairs = facts_by_outcome[outcome]
        rounds.add(f"decide.{outcome}", _loop(lambda p: p[0].decide(p[1]), pairs), len(pairs))
    rounds.add("full.2025", _loop(lambda r: store.decide(r, version=v2025), moved), len(moved))
    rounds.add("raw.2025", _loop(raw_2025, moved), len(moved))

    cedar_note = "cedarpy is not installed: no Cedar figure"
    try:
        import cedarpy
    except ImportError:
        cedarpy = None
    if cedarpy is not None:
        text, context = cedar_2025(terms)
        policies = cedarpy.PolicySet.from_str(text) if hasattr(cedarpy, "PolicySet") else text
        entities = cedarpy.Entities.from_json_str("[]") if hasattr(cedarpy, "Entities") else "[]"
        derive = from_raw_2025(v2025, lambda f: f)  # the facts only, derived from the raw request
        mm_initial = [r for r in moved if _cite(store.decide(r, version=v2025)) == "I.A"]

        def cedar_decide(raw: dict[str, Any]) -> bool:
            request = {
                "principal": 'Member::"m"',
                "action": f'Action::"{raw["request_type"]}"',
                "resource": 'Drug::"selinexor"',
                "context": context(derive(raw)),
            }
            return bool(cedarpy.is_authorized(request, policies, entities).allowed)

        mismatch = sum(
            (store.decide(r, version=v2025).outcome == "approve") != cedar_decide(r) for r in mm_initial
        )
        disagreements += mismatch
        rounds.add("cedar", _loop(cedar_decide, mm_initial), len(mm_initial))
        rounds.add("full.mm", _loop(lambda r: store.decide(r, version=v2025), mm_initial), len(mm_initial))
        cedar_note = f"Cedar (cedarpy {getattr(cedarpy, '__version__', '?')}) disagreements: {mismatch}"

    rounds.run(args.rounds)
    print(
        f"requests: {len(requests)} valid case requests; {len(moved)} under the 2025 version; "
        f"hand-written disagreements: {disagreements}; {cedar_note}"
    )
    print(rounds.line("full", "full path (validate + pick version + decide), no trace"))
    print(rounds.line("trace", "full path, with trace"))
    for outcome in OUTCOMES:
        if f"full.{outcome}" in rounds.runs:
            print(rounds.line(f"full.{outcome}", f"full path, requests decided {outcome}"))
    for outcome in OUTCOMES:
        if f"decide.{outcome}" in rounds.runs:
            print(rounds.line(f"decide.{outcome}", f"compiled decide alone (facts -> decision), {outcome}"))
    approve = rounds.median("decide.approve")
    for outcome in OUTCOMES[1:]:
        if f"decide.{outcome}" in rounds.runs:
            ratio = rounds.median(f"decide.{outcome}") / approve
            print(f"{'ratio compiled decide ' + outcome + ' / approve':<58}: {ratio:8.2f}x")
    print(rounds.line("full.2025", "full path under the 2025 version, moved requests"))
    print(rounds.line("raw.2025", "hand-written from the raw request, same requests"))
    from_raw = rounds.median("full.2025") / rounds.median("raw.2025")
    print(f"{'ratio full path / hand-written from raw':<58}: {from_raw:8.2f}x")
    if "cedar" in rounds.runs:
        print(rounds.line("cedar", "Cedar (cedarpy), MM initial requests, from raw"))
        print(rounds.line("full.mm", "full path under the 2025 version, same MM initial requests"))
        print(f"{'ratio full path / Cedar':<58}: {rounds.median('full.mm') / rounds.median('cedar'):8.2f}x")
    print(f"{'ratio with trace / without':<58}: {rounds.median('trace') / rounds.median('full'):8.2f}x")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
