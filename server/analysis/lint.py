"""rxpolicy lint: everything that must hold before versions are served.

Per policy directory: every file loads (schema, meaning, lock, dates, corrections); each
version is well formed as a policy by the policy's template (template_lint.py); every
version's semver agrees with its semantic difference from its predecessor, and every
correction is a PATCH of the record it corrects (docs/policy-format.md, "Semantic
versioning"). A draft (``provenance: draft``, not locked) is a warning, not a problem:
it is what ``rxpolicy publish`` is for.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Literal

import attrs
import semver

from ..engine.corrections import originals
from ..engine.errors import PolicyLoadError, RxPolicyError
from ..engine.model import PolicyVersion
from ..engine.store import VersionStore, load_policy_dir
from . import template_lint
from .template import Template, load_template

SemverScope = Literal["all", "unlocked", "none"]


@attrs.define
class LintReport:
    lines: list[str] = attrs.field(factory=list)
    problems: list[str] = attrs.field(factory=list)
    warnings: list[str] = attrs.field(factory=list)
    checked: int = 0
    drafts: list[PolicyVersion] = attrs.field(factory=list)


def policy_dirs(root: Path) -> list[Path]:
    if any(root.glob("*.yaml")):
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob("*.yaml")))


def lint_root(root: Path, *, require_locked: bool = True, semver_scope: SemverScope = "all") -> LintReport:
    """Lint every policy under ``root``.

    ``require_locked`` False is the check ``rxpolicy publish`` runs before it locks: a
    file that is neither locked nor a draft is then not a problem. ``semver_scope``
    "unlocked" proves only the pairs with an unlocked file (a locked pair was proved
    when its later file was published, and its bytes cannot have changed since).
    """
    report = LintReport()
    if not root.is_dir():
        report.problems.append(f"{root}: is not a directory")
        return report
    directories = policy_dirs(root)
    if not directories:
        report.problems.append(f"{root}: holds no policy version files (*.yaml)")
    for directory in directories:
        try:
            versions = load_policy_dir(directory)
            template = load_template(directory, versions[0].policy_id)
        except PolicyLoadError as exc:
            report.problems.extend(str(e) for e in exc.errors)
            continue
        report.checked += len(versions)
        _lock_state(versions, report, require_locked=require_locked)
        corrected = {v.corrects for v in versions if v.corrects is not None}
        for v in versions:
            # A corrected record is history: its correction is what must be well formed.
            if v.content_hash not in corrected:
                report.problems.extend(well_formed(v, template))
        base = originals(versions)
        report.lines.append(
            f"{base[0].policy_id}: {len(base)} versions, {base[0].effective} ({base[0].version}) to "
            f"{base[-1].effective} ({base[-1].version}), {len(versions) - len(base)} corrections"
        )
        _removed_criteria(versions, report)
        if semver_scope != "none":
            check_semver(versions, report, only_unlocked=semver_scope == "unlocked")
    return report


def _lock_state(versions: list[PolicyVersion], report: LintReport, *, require_locked: bool) -> None:
    for v in versions:
        if v.locked and v.is_draft:
            report.problems.append(
                f"{v.source_path}: is locked but says provenance: draft; a published record is never a draft"
            )
        elif not v.locked and v.is_draft:
            report.drafts.append(v)
            report.warnings.append(
                f"{v.source_path}: draft {v.version}, not published; "
                "`rxpolicy publish` locks it once lint passes"
            )
        elif not v.locked and require_locked:
            report.problems.append(
                f"{v.source_path}: not locked and not a draft; set provenance: draft to keep editing it, "
                "or run `rxpolicy publish`"
            )


def well_formed(version: PolicyVersion, template: Template) -> list[str]:
    """The template checks of one version: required criteria, coverage, citations, placeholders."""
    text = Path(version.source_path).read_text(encoding="utf-8")
    return [
        *template_lint.check_required(version, template),
        *template_lint.check_coverage(version, template),
        *template_lint.check_citations(version, template),
        *template_lint.check_placeholders(version, template, text),
        *template_lint.check_fact_sources(version, template),
    ]


def _removed_criteria(versions: list[PolicyVersion], report: LintReport) -> None:
    """Drafts against their predecessor, corrections against the record they correct."""
    by_hash = {v.content_hash: v for v in versions}
    base = originals(versions)
    for old, new in itertools.pairwise(base):
        if not new.locked:
            report.problems.extend(template_lint.check_removed(old, new))
    for v in versions:
        if v.corrects is not None:
            report.problems.extend(template_lint.check_removed(by_hash[v.corrects], v))


def semver_pairs(versions: list[PolicyVersion]) -> list[tuple[PolicyVersion, PolicyVersion]]:
    """Each version after its predecessor, and each correction after the record it corrects.

    A correction must decide every request as its record does (PATCH), so the pairs
    through it would give the same verdicts as the pairs through the record: proving
    the originals' sequence and each correction's equivalence covers every sequence.
    """
    by_hash = {v.content_hash: v for v in versions}
    pairs = list(itertools.pairwise(originals(versions)))
    pairs += [(by_hash[v.corrects], v) for v in versions if v.corrects is not None]
    return pairs


def check_semver(versions: list[PolicyVersion], report: LintReport, *, only_unlocked: bool = False) -> None:
    """Every pair of ``semver_pairs`` by the semver rule, using the semantic diff."""
    # Imported here: z3 loads only when lint gets this far.
    from .diff.semver import check_pair, verdict_line, verdict_problem
    from .diff.wording import kind_heading

    store = VersionStore({versions[0].policy_id: versions})
    for old, new in semver_pairs(versions):
        if only_unlocked and old.locked and new.locked:
            continue
        try:
            verdict = check_pair(store, old, new)
        except RxPolicyError as exc:
            report.problems.append(f"{new.source_path}: semantic diff from {old.version} failed: {exc}")
            continue
        correction = new.corrects is not None
        line = "  " + ("correction " if correction else "") + verdict_line(verdict)
        if verdict.witness is not None:
            line += f"; e.g. {kind_heading(verdict.witness)}"
        report.lines.append(line)
        if correction and verdict.required != "patch":
            report.problems.append(
                f"{new.source_path}: a correction must decide every request as {old.file_name} does "
                f"(PATCH), but the semantic diff requires {verdict.required.upper()}; a change of what "
                "the policy decides is a new version (rxpolicy new-version)\n" + verdict_problem(verdict)
            )
        elif not verdict.ok:
            report.problems.append(verdict_problem(verdict) + _write_instead(old, verdict.required))


def _write_instead(old: PolicyVersion, required: str) -> str:
    base = semver.Version.parse(old.version)
    bumped = {"major": base.bump_major, "minor": base.bump_minor, "patch": base.bump_patch}[required]()
    return f"\n  write `version: {bumped}` ({required.upper()} from {old.version})"
