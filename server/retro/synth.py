"""Seeded synthetic claims for CP.PHAR.431 (selinexor), for tests and benchmarks.

Realistic enough to exercise every path: service dates from the first version's
effective date to late 2026 with volume growing over time, every diagnosis term, the
myeloma regimens and B-cell histories the versions distinguish, brand-name aliases,
the tablet strengths of each period, continuation requests, off-label diagnoses, and
facts left unknown now and then, so claims approve, deny, pend and refer under every
version. A small share is invalid on purpose: bad terms, dates and numbers, tablet
strengths not yet on the market, missing required facts, unreadable cells and broken
rows. The same seed (and the same versions) always gives the same file.

The clinical scenarios (regimens, prior lines, how often each case occurs) are this
generator's; what the policy says is read from its loaded versions: the first effective
date, the strengths marketed under each version, when generic redirection began, the
diagnosis terms, and the agent vocabulary every scenario must be spelled in. The
retro-review itself knows no policy.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import math
import random
from collections.abc import Iterator, Sequence
from typing import IO, Any, Literal

import attrs

from ..engine.model import FactType, Leaf, PolicyVersion
from ..engine.store import VersionStore
from .columns import CLAIM_ID, encode_cell

ClaimFormat = Literal["csv", "jsonl"]
Corruption = Literal["", "bad_cell", "broken_row"]

POLICY_ID = "CP.PHAR.431"
LAST_DAY = dt.date(2026, 10, 31)  # the end of the generated period, not a policy date
DIAGNOSIS = "diagnosis"
GENERIC_FACT = "generic_available"  # read by criteria from the version that began generic redirection

# Column order of generated CSV files (the types the engine's fact specs give them).
COLUMNS: tuple[tuple[str, FactType], ...] = (
    ("service_date", "date"),
    ("line_of_business", "enum"),
    ("request_type", "enum"),
    ("member_age", "int"),
    ("diagnosis", "enum"),
    ("prescriber_specialty", "enum"),
    ("specialist_consulted", "bool"),
    ("disease_status", "enum"),
    ("combination", "terms"),
    ("prior_therapies", "lines"),
    ("product", "enum"),
    ("generic_available", "bool"),
    ("generic_contraindicated", "bool"),
    ("doses", "doses"),
    ("dose_evidence_submitted", "bool"),
    ("receiving_via_plan_benefit", "bool"),
    ("days_on_therapy", "int"),
    ("positive_response", "bool"),
    ("dose_increase", "bool"),
    ("label_change_within_6_months", "bool"),
    ("on_formulary", "bool"),
    ("requested_months", "int"),
)

_DIAGNOSIS_WEIGHTS = (  # terms of the versions' diagnosis fact; one not listed here gets weight 1
    ("multiple_myeloma", 52),
    ("dlbcl", 14),
    ("dlbcl_transformed_follicular", 4),
    ("dlbcl_transformed_indolent", 3),
    ("high_grade_b_cell_lymphoma", 3),
    ("hiv_related_dlbcl", 2),
    ("primary_effusion_lymphoma", 1),
    ("hhv8_positive_dlbcl", 1),
    ("monomorphic_ptld_b_cell", 2),
    ("follicular_lymphoma", 5),
    ("other", 10),
)
_UNSTATED_WEIGHT = 3  # no diagnosis: the indication cannot be chosen
# How often each term of these facts occurs (every term must be a value of the fact).
_TERM_WEIGHTS: dict[str, tuple[tuple[str, int], ...]] = {
    "line_of_business": (("commercial", 40), ("medicaid", 35), ("marketplace", 25)),
    "prescriber_specialty": (("hematology", 50), ("oncology", 42), ("other", 8)),
    "disease_status": (
        ("relapsed", 45),
        ("refractory", 38),
        ("progressive", 9),
        ("responding", 5),
        ("newly_diagnosed", 3),
    ),
}
BRAND, GENERIC = "xpovio", "selinexor"  # terms of the product fact

# Prior lines a myeloma patient plausibly had, by how far along they are.
_MM_EARLY = (
    ("lenalidomide", "dexamethasone"),
    ("bortezomib", "lenalidomide", "dexamethasone"),
    ("daratumumab", "lenalidomide", "dexamethasone"),
    ("Velcade", "Revlimid", "dexamethasone"),
    ("cyclophosphamide", "bortezomib", "dexamethasone"),
)
_MM_LATER = (
    ("carfilzomib", "pomalidomide", "dexamethasone"),
    ("daratumumab", "pomalidomide", "dexamethasone"),
    ("Darzalex Faspro", "dexamethasone"),
    ("ixazomib", "lenalidomide", "dexamethasone"),
    ("isatuximab", "pomalidomide", "dexamethasone"),
    ("elotuzumab", "pomalidomide", "dexamethasone"),
    ("melphalan",),
    ("thalidomide", "dexamethasone"),
)
_PENTA = (  # two PIs, two IMiDs and an anti-CD38 across four or more lines
    ("bortezomib", "lenalidomide", "dexamethasone"),
    ("carfilzomib", "pomalidomide", "dexamethasone"),
    ("daratumumab", "dexamethasone"),
    ("ixazomib", "thalidomide", "dexamethasone"),
)
_BCELL_LINES = (
    ("rituximab", "cyclophosphamide", "doxorubicin", "vincristine", "prednisone"),
    ("rituximab", "gemcitabine", "oxaliplatin"),
    ("axicabtagene_ciloleucel",),
    ("Kymriah",),
    ("polatuzumab_vedotin", "bendamustine", "rituximab"),
    ("rituximab", "cisplatin", "cytarabine"),
)
_REGIMENS = (  # (name, combination, weight)
    ("penta", ("dexamethasone",), 30),
    ("penta_brand", ("Decadron",), 5),
    ("bvd", ("bortezomib", "dexamethasone"), 22),
    ("bvd_brand", ("Velcade", "dexamethasone"), 5),
    ("dd", ("Darzalex", "dexamethasone"), 10),
    ("dfd", ("Darzalex Faspro", "dexamethasone"), 8),
    ("pd", ("pomalidomide", "dexamethasone"), 10),
    ("kd", ("Kyprolis", "dexamethasone"), 8),
    ("none", (), 2),
)
_INVALID = (
    "diagnosis_term",
    "negative_age",
    "impossible_date",
    "before_first_version",
    "unavailable_strength",
    "missing_line_of_business",
    "unknown_agent",
    "empty_claim_id",
    "bad_cell",
    "broken_row",
)


@attrs.frozen
class SyntheticClaim:
    claim_id: str
    request: dict[str, Any]
    corruption: Corruption = ""


def _pick(rng: random.Random, weighted: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


@attrs.frozen
class PolicyData:
    """What the generator reads from the versions of the policy."""

    effective: tuple[dt.date, ...]  # each version's effective date, in order
    strengths: tuple[tuple[int, ...], ...]  # per version: its strengths, in order of first marketing
    unmarketed_mg: int  # a strength in the same steps that no version lists
    generic_from: dt.date
    diagnoses: tuple[tuple[str, int], ...]  # (term, weight); "" for not stated

    @classmethod
    def of(cls, versions: Sequence[PolicyVersion]) -> PolicyData:
        ordered = sorted(versions, key=lambda v: v.effective)
        if not ordered:
            raise ValueError("synthetic claims need the versions of a policy")
        marketed = list(dict.fromkeys(mg for v in ordered for mg in v.strengths_mg))
        step = math.gcd(*marketed) if marketed else 1
        terms = dict.fromkeys(t for v in ordered for t in v.facts[DIAGNOSIS].values)
        weights = dict(_DIAGNOSIS_WEIGHTS)
        _check_vocabulary(ordered[-1])
        return cls(
            effective=tuple(v.effective for v in ordered),
            strengths=tuple(tuple(mg for mg in marketed if mg in v.strengths_mg) for v in ordered),
            unmarketed_mg=next(mg for mg in itertools.count(step, step) if mg not in marketed),
            generic_from=next((v.effective for v in ordered if _reads(v, GENERIC_FACT)), dt.date.max),
            diagnoses=(*((t, weights.get(t, 1)) for t in terms), ("", _UNSTATED_WEIGHT)),
        )

    def strengths_on(self, day: dt.date) -> tuple[int, ...]:
        i = bisect.bisect_right(self.effective, day)
        return self.strengths[max(i - 1, 0)]

    def not_yet_marketed(self, day: dt.date) -> int:
        """The newest strength if the version in force on ``day`` does not list it yet,
        else one no version lists."""
        newest = self.strengths[-1][-1]
        return newest if newest not in self.strengths_on(day) else self.unmarketed_mg


def _reads(version: PolicyVersion, fact: str) -> bool:
    return any(isinstance(n, Leaf) and n.base_fact == fact for n in version.nodes().values())


def _check_vocabulary(version: PolicyVersion) -> None:
    """Every agent a scenario names is a term or alias of the policy (else the scenarios
    would be invalid input by accident, not on purpose)."""
    named = {a for lines in (_MM_EARLY, _MM_LATER, _PENTA, _BCELL_LINES) for line in lines for a in line}
    named |= {a for _, combination, _ in _REGIMENS for a in combination}
    unknown = sorted(a for a in named if a.lower() not in version.agent_index)
    if unknown:
        raise ValueError(f"the scenarios name agents {version.version} does not know: {unknown}")
    used = {**{f: [t for t, _ in w] for f, w in _TERM_WEIGHTS.items()}, "product": [BRAND, GENERIC]}
    for fact, terms in used.items():
        bad = [t for t in terms if t not in version.facts[fact].values]
        if bad:
            raise ValueError(f"the scenarios use {bad}, not values of {fact} in {version.version}")


def policy_versions() -> list[PolicyVersion]:
    """The packaged versions of the policy the scenarios are written for."""
    return VersionStore.load().versions(POLICY_ID)


class _Maker:
    def __init__(self, seed: int, policy: PolicyData) -> None:
        self.rng = random.Random(seed)
        self.policy = policy
        self.first_day = policy.effective[0]
        self.span = (LAST_DAY - self.first_day).days
        self.diagnoses = [d for d, _ in policy.diagnoses]
        self.diagnosis_weights = [w for _, w in policy.diagnoses]
        self.regimens = [(n, c) for n, c, _ in _REGIMENS]
        self.regimen_weights = [w for _, _, w in _REGIMENS]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def tri(self, p_true: float, p_false: float) -> bool | None:
        """True, False, or unknown (None)."""
        u = self.rng.random()
        return True if u < p_true else False if u < p_true + p_false else None

    def service_date(self) -> dt.date:
        # u ** 0.7 leans late: claim volume grows as the drug's indications widen.
        return self.first_day + dt.timedelta(days=int(self.span * self.rng.random() ** 0.7))

    def doses(self, day: dt.date, weekly_mg: int, days: int) -> list[dict[str, int]]:
        per_day = weekly_mg // days
        available = self.policy.strengths_on(day)
        options = [s for s in available if per_day % s == 0 and per_day // s <= 8]
        strength = self.rng.choice(options) if options else available[0]
        tablets = max(1, per_day // strength)
        return [{"tablets": tablets, "strength_mg": strength} for _ in range(days)]

    def mm(self, r: dict[str, Any], day: dt.date) -> None:
        rng = self.rng
        name, combination = rng.choices(self.regimens, self.regimen_weights)[0]
        r["combination"] = list(combination)
        if name.startswith("penta"):
            lines = list(_PENTA)
            if self.chance(0.25):
                lines[rng.randrange(len(lines))] = rng.choice(_MM_EARLY)  # falls short of penta
            lines += [rng.choice(_MM_LATER) for _ in range(rng.choice((0, 0, 1, 2)))]
            weekly, days = rng.choice(((160, 2), (160, 2), (80, 2), (200, 2)))
        elif name.startswith("bvd"):
            lines = [rng.choice(_MM_EARLY) for _ in range(rng.choice((1, 1, 2, 3)))]
            weekly, days = rng.choice(((100, 1), (100, 1), (80, 1), (160, 2)))
        elif name == "pd":
            lines = [rng.choice(_MM_EARLY) for _ in range(rng.choice((1, 2, 2, 3)))]
            weekly, days = rng.choice(((100, 1), (60, 1), (80, 1)))
        else:
            lines = [rng.choice(_MM_EARLY + _MM_LATER) for _ in range(rng.choice((1, 2, 3)))]
            weekly, days = rng.choice(((100, 1), (80, 1), (60, 1), (160, 2)))
        r["prior_therapies"] = [list(line) for line in lines]
        r["doses"] = self.doses(day, weekly, days)
        if weekly > 100:
            r["dose_evidence_submitted"] = self.tri(0.3, 0.3)

    def bcell(self, r: dict[str, Any], day: dt.date) -> None:
        rng = self.rng
        n_lines = rng.choice((1, 2, 2, 2, 3, 3, 4))
        r["prior_therapies"] = [list(rng.choice(_BCELL_LINES)) for _ in range(n_lines)]
        if self.chance(0.5):
            r["combination"] = []
        weekly, days = rng.choice(((120, 2), (120, 2), (80, 2), (120, 3), (180, 3), (60, 1)))
        r["doses"] = self.doses(day, weekly, days)
        if weekly > 120 or days > 2:
            r["dose_evidence_submitted"] = self.tri(0.3, 0.3)

    def claim(self, index: int, invalid_rate: float) -> SyntheticClaim:
        rng = self.rng
        day = self.service_date()
        lob = _pick(rng, _TERM_WEIGHTS["line_of_business"])
        r: dict[str, Any] = {
            "service_date": day.isoformat(),
            "line_of_business": lob,
            "request_type": "continuation" if self.chance(0.28) else "initial",
        }
        diagnosis = rng.choices(self.diagnoses, self.diagnosis_weights)[0]
        if diagnosis:
            r["diagnosis"] = diagnosis
        mm = diagnosis == "multiple_myeloma"
        if r["request_type"] == "initial":
            age = int(rng.gauss(68 if mm else 63, 10))
            r["member_age"] = 16 if self.chance(0.004) else min(max(age, 19), 97)
            specialty = _pick(rng, _TERM_WEIGHTS["prescriber_specialty"])
            r["prescriber_specialty"] = specialty
            if specialty == "other":
                r["specialist_consulted"] = self.tri(0.6, 0.25)
            r["disease_status"] = _pick(rng, _TERM_WEIGHTS["disease_status"])
            if mm:
                self.mm(r, day)
            elif diagnosis in ("other", ""):
                r["prior_therapies"] = [list(rng.choice(_BCELL_LINES))]
            else:
                self.bcell(r, day)
        else:
            if self.chance(0.7):
                r["receiving_via_plan_benefit"] = True
            else:
                r["receiving_via_plan_benefit"] = False
                r["days_on_therapy"] = rng.randint(10, 400)
            r["positive_response"] = self.tri(0.85, 0.1)
            r["dose_increase"] = self.chance(0.15)
            if r["dose_increase"]:
                if mm:
                    self.mm(r, day)
                else:
                    self.bcell(r, day)
        if day >= self.policy.generic_from:
            if self.chance(0.45):
                r["product"] = GENERIC
            else:
                r["product"] = BRAND
                r["generic_available"] = self.tri(0.6, 0.3)
                if r["generic_available"]:
                    r["generic_contraindicated"] = self.tri(0.4, 0.4)
        elif self.chance(0.8):
            r["product"] = BRAND
        if diagnosis in ("other", "follicular_lymphoma"):
            r["label_change_within_6_months"] = self.tri(0.2, 0.6)
            r["on_formulary"] = self.tri(0.5, 0.4)
        if lob == "commercial" and self.chance(0.3):
            r["requested_months"] = rng.choice((3, 6, 12))
        for fact in ("member_age", "disease_status", "prescriber_specialty", "doses", "positive_response"):
            if fact in r and self.chance(0.02):
                del r[fact]  # not on the claim: the decision pends
        claim = SyntheticClaim(f"CLM-{index:08d}", r)
        if self.chance(invalid_rate):
            claim = self.spoil(claim, day)
        return claim

    def spoil(self, claim: SyntheticClaim, day: dt.date) -> SyntheticClaim:
        rng = self.rng
        r = dict(claim.request)
        kind = rng.choice(_INVALID)
        if kind == "diagnosis_term":
            r["diagnosis"] = rng.choice(("myeloma", "DLBCL-NOS", "mantle_cell"))
        elif kind == "negative_age":
            r["member_age"] = -rng.randint(1, 80)
        elif kind == "impossible_date":
            r["service_date"] = f"{day.year}-02-30"
        elif kind == "before_first_version":
            r["service_date"] = (self.first_day - dt.timedelta(days=rng.randint(1, 200))).isoformat()
        elif kind == "unavailable_strength":
            r["doses"] = [{"tablets": 2, "strength_mg": self.policy.not_yet_marketed(day)}]
        elif kind == "missing_line_of_business":
            del r["line_of_business"]
        elif kind == "unknown_agent":
            r["combination"] = ["bortezomab", "dexamethasone"]
        elif kind == "empty_claim_id":
            return SyntheticClaim("", r)
        else:
            return SyntheticClaim(claim.claim_id, r, kind)  # type: ignore[arg-type]
        return SyntheticClaim(claim.claim_id, r)


def synthetic_claims(
    count: int, seed: int, invalid_rate: float = 0.02, versions: Sequence[PolicyVersion] | None = None
) -> Iterator[SyntheticClaim]:
    """``versions``: the policy's versions (default: the packaged ones)."""
    maker = _Maker(seed, PolicyData.of(policy_versions() if versions is None else versions))
    for i in range(1, count + 1):
        yield maker.claim(i, invalid_rate)


def csv_header() -> str:
    return ",".join([CLAIM_ID, *(name for name, _ in COLUMNS)]) + "\n"


def _csv_cell(text: str) -> str:
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\n\r') else text


def csv_line(claim: SyntheticClaim) -> str:
    r = claim.request
    cells = [claim.claim_id] + [encode_cell(kind, r.get(name)) for name, kind in COLUMNS]
    if claim.corruption == "bad_cell":
        cells[1 + [n for n, _ in COLUMNS].index("member_age")] = "seventy"
    elif claim.corruption == "broken_row":
        cells = cells[: len(cells) // 2]
    return ",".join(_csv_cell(c) for c in cells) + "\n"


def json_line(claim: SyntheticClaim) -> str:
    obj: dict[str, Any] = {CLAIM_ID: claim.claim_id} | claim.request
    if claim.corruption == "bad_cell":
        obj["member_age"] = "seventy"
    text = json.dumps(obj, separators=(",", ":"))
    if claim.corruption == "broken_row":
        text = text[: len(text) // 2]
    return text + "\n"


def write_claims(
    out: IO[str],
    count: int,
    seed: int,
    fmt: ClaimFormat = "csv",
    invalid_rate: float = 0.02,
    versions: Sequence[PolicyVersion] | None = None,
) -> int:
    """Write ``count`` claims; returns the number of claim rows written."""
    if fmt == "csv":
        out.write(csv_header())
    line = csv_line if fmt == "csv" else json_line
    batch: list[str] = []
    for claim in synthetic_claims(count, seed, invalid_rate, versions):
        batch.append(line(claim))
        if len(batch) >= 5000:
            out.write("".join(batch))
            batch.clear()
    out.write("".join(batch))
    return count
