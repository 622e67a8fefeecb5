"""Lint checks that a version is well formed as a policy, not only as YAML.

Each check takes a loaded version (and its template, server/analysis/template.py) and
returns problems as lines "FILE: PATH: reason". They are structural: they read the
criteria trees, never decide a request.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..engine.model import Group, Indication, Leaf, Node, PolicyVersion
from .template import RequiredCriterion, Template

_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50}
_LETTER_LEVEL_ROMANS = frozenset({"i", "ii", "iii", "iv", "vi", "vii", "viii", "ix"})


# ------------------------------------------------------------------ tree helpers


def _walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Group):
        for child in node.children:
            yield from _walk(child)


def _reads(node: Node) -> set[str]:
    return {n.base_fact for n in _walk(node) if isinstance(n, Leaf)}


def selector_values(node: Node, fact: str) -> set[str]:
    """The values of ``fact`` that a selector criterion names (``in`` / ``eq`` leaves)."""
    out: set[str] = set()
    for n in _walk(node):
        if isinstance(n, Leaf) and n.fact == fact:
            if n.op == "in":
                out |= set(n.value)
            elif n.op == "eq":
                out.add(n.value)
    return out


def _reachable(node: Node, facts: frozenset[str], selector: str, allowed: set[str]) -> set[str]:
    """Selector values for which some path of ``node`` reaches a leaf reading ``facts``,
    with the selector guards met on the way (an all-of's selector leaves narrow the rest)."""
    if isinstance(node, Leaf):
        return set(allowed) if node.base_fact in facts else set()
    narrowed = set(allowed)
    if node.mode == "all":
        for child in node.children:
            if isinstance(child, Leaf) and child.fact == selector:
                if child.op in ("in", "eq"):
                    narrowed &= set(child.value) if child.op == "in" else {child.value}
                elif child.op in ("not_in", "ne"):
                    narrowed -= set(child.value) if child.op == "not_in" else {child.value}
    out: set[str] = set()
    for child in node.children:
        out |= _reachable(child, facts, selector, narrowed)
    return out


def _sections(version: PolicyVersion, request_type: str) -> list[Indication]:
    return [i for i in version.indications if request_type in i.request_types]


# ------------------------------------------------------------------ required criteria


def check_required(version: PolicyVersion, template: Template) -> list[str]:
    problems = []
    for req in template.required:
        if req.since is not None and version.effective < req.since:
            continue
        for rt in req.request_types:
            for ind in _sections(version, rt):
                problems += _check_one(version, template, req, ind)
    return problems


def _matches(req: RequiredCriterion, node: Node) -> bool:
    reads = _reads(node)
    if req.reads_all and not req.reads_all <= reads:
        return False
    return not req.reads_any or bool(req.reads_any & reads)


def _check_one(
    version: PolicyVersion, template: Template, req: RequiredCriterion, ind: Indication
) -> list[str]:
    where = f"{version.source_path}: {ind.cite} {ind.title}"
    found = [c for c in ind.criteria.children if _matches(req, c)]
    since = f" (required from {req.since})" if req.since else ""
    if not found:
        reads = sorted(req.reads_all or req.reads_any)
        return [
            f"{where}: has no {req.name} criterion{since}: no numbered criterion reads {', '.join(reads)}"
        ]
    if not req.per_selector_value or template.selector_fact is None:
        return []
    fact = template.selector_fact
    covered = selector_values(ind.applies_to, fact)
    reached: set[str] = set()
    for criterion in found:
        reached |= _reachable(criterion, req.reads_any or req.reads_all, fact, covered)
    missing = sorted(covered - reached)
    if not missing:
        return []
    return [
        f"{where}: the {req.name} criterion {found[0].cite} has no branch for {fact} "
        f"{', '.join(missing)}{since}: such requests can only fail it"
    ]


# ------------------------------------------------------------------ coverage


def check_coverage(version: PolicyVersion, template: Template) -> list[str]:
    """e.g. continuation (II.A, "All Indications in Section I") covers what initial covers."""
    fact = template.selector_fact
    if fact is None:
        return []
    problems = []
    for rule in template.coverage:
        wanted = set().union(*(selector_values(i.applies_to, fact) for i in _sections(version, rule.covers)))
        have_sections = _sections(version, rule.request_type)
        have = set().union(*(selector_values(i.applies_to, fact) for i in have_sections))
        cites = ", ".join(i.cite for i in have_sections) or f"no {rule.request_type} section"
        if wanted - have:
            problems.append(
                f"{version.source_path}: {cites}: {rule.request_type} does not cover {fact} "
                f"{', '.join(sorted(wanted - have))}, which {rule.covers} covers (such requests are referred)"
            )
        if have - wanted:
            problems.append(
                f"{version.source_path}: {cites}: {rule.request_type} covers {fact} "
                f"{', '.join(sorted(have - wanted))}, which no {rule.covers} section covers"
            )
    return problems


# ------------------------------------------------------------------ citations


def cite_key(cite: str, levels: Sequence[str]) -> tuple[int, ...] | str:
    """The cite as comparable numbers, or a reason it does not follow the numbering scheme."""
    out = []
    for depth, part in enumerate(cite.split(".")):
        kind = levels[min(depth, len(levels) - 1)]
        value = _component(part, kind)
        if value is None:
            return f"'{part}' in {cite} is not a {kind.replace('_', ' ')} (level {depth + 1})"
        out.append(value)
    return tuple(out)


def _component(part: str, kind: str) -> int | None:
    if kind == "number":
        return int(part) if part.isdigit() else None
    if kind == "lower_letter" and part in _LETTER_LEVEL_ROMANS:
        # Policies put roman items straight under a number too (5.i, 5.ii); "i" reads as one
        # either way, and no criterion has nine lettered items.
        return _roman(part)
    if kind in ("upper_letter", "lower_letter"):
        ok = (
            len(part) == 1
            and part.isalpha()
            and (part.isupper() if kind == "upper_letter" else part.islower())
        )
        return ord(part.lower()) - ord("a") + 1 if ok else None
    word = part.lower()
    if (part.isupper() if kind == "upper_roman" else part.islower()) and word and set(word) <= set(_ROMAN):
        return _roman(word)
    return None


def _roman(word: str) -> int:
    total = 0
    for a, b in zip(word, [*word[1:], ""], strict=True):
        value = _ROMAN[a]
        total += -value if b and _ROMAN[b] > value else value
    return total


def check_citations(version: PolicyVersion, template: Template) -> list[str]:
    levels = template.citation_levels
    problems: list[str] = []
    file = version.source_path
    sections: dict[str, str] = {}
    for key, cite in [(i.key, i.cite) for i in version.indications] + [
        (r.key, r.cite) for r in version.referrals
    ]:
        if cite in sections:
            problems.append(f"{file}: sections {sections[cite]} and {key} are both cited {cite}")
        sections.setdefault(cite, key)
    by_part: dict[str, list[tuple[int, ...]]] = {}
    for cite in sections:
        parsed = cite_key(cite, levels)
        if isinstance(parsed, str):
            problems.append(f"{file}: section {sections[cite]}: {parsed}")
            continue
        by_part.setdefault(cite.split(".")[0], []).append(parsed)
    for part, keys in by_part.items():
        letters = sorted(k[1] for k in keys if len(k) > 1)
        if letters != list(range(1, len(letters) + 1)):
            problems.append(f"{file}: the sections of {part} are not lettered A, B, C... without gaps")
    for ind in version.indications:
        problems += _check_tree(file, ind.cite, list(ind.criteria.children), ind.criteria, levels)
    for ref in version.referrals:
        cites: list[tuple[str, str]] = []
        for rule in ref.rules:
            cites.append((rule.key, rule.cite))
            if rule.when is not None:
                cites += [(n.key, n.cite) for n in _walk(rule.when)]
        problems += _order(file, ref.cite, cites, levels)
    return problems


def _check_tree(
    file: str, section: str, children: list[Node], root: Group, levels: Sequence[str]
) -> list[str]:
    problems = _order(file, section, [(n.key, n.cite) for c in children for n in _walk(c)], levels)
    for group in (n for n in _walk(root) if isinstance(n, Group)):
        problems += _siblings(file, group, levels)
    return problems


def _is_prefix(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return len(a) < len(b) and b[: len(a)] == a


def _order(file: str, section: str, cites: list[tuple[str, str]], levels: Sequence[str]) -> list[str]:
    """In reading order every cite is within its section, and never goes back to an
    earlier number except to an enclosing one (a leaf citing its parent's number)."""
    problems = []
    head = cite_key(section, levels)
    highest: tuple[int, ...] | None = None
    highest_cite = ""
    for key, cite in cites:
        parsed = cite_key(cite, levels)
        if isinstance(parsed, str):
            problems.append(f"{file}: {key}: {parsed}")
            continue
        if isinstance(head, tuple) and parsed[: len(head)] != head:
            problems.append(f"{file}: {key}: cite {cite} is outside its section {section}")
            continue
        if highest is None or parsed > highest:
            highest, highest_cite = parsed, cite
        elif parsed != highest and not _is_prefix(parsed, highest):
            problems.append(f"{file}: {key}: cite {cite} comes after {highest_cite}: citations out of order")
    return problems


def _siblings(file: str, group: Group, levels: Sequence[str]) -> list[str]:
    """The numbered children of a criterion: each number once, 1, 2, 3 (a, b, c; i, ii, iii)."""
    depth = len(group.cite.split("."))
    numbered = [c for c in group.children if c.cite != group.cite]
    cites = [c.cite for c in numbered]
    problems = [
        f"{file}: {group.key}: two criteria are cited {c}"
        for c in sorted({c for c in cites if cites.count(c) > 1})
    ]
    direct = [cite_key(c, levels) for c in dict.fromkeys(cites) if len(c.split(".")) == depth + 1]
    ordinals = [k[-1] for k in direct if isinstance(k, tuple)]
    if ordinals and ordinals != list(range(1, len(ordinals) + 1)):
        problems.append(
            f"{file}: {group.key}: criteria under {group.cite} are numbered "
            f"{', '.join(c for c in dict.fromkeys(cites) if len(c.split('.')) == depth + 1)}: "
            "expected consecutive numbers from the first (rxpolicy renumber FILE)"
        )
    return problems


# ------------------------------------------------------------------ placeholders, removed criteria


def check_placeholders(version: PolicyVersion, template: Template, text: str) -> list[str]:
    found = [p for p in template.placeholders if p.lower() in text.lower()]
    return [
        f"{version.source_path}: still holds the scaffold's placeholder {p!r}: "
        "replace it with the policy's own words"
        for p in found
    ]


def check_removed(old: PolicyVersion, new: PolicyVersion) -> list[str]:
    """A criterion key of ``old`` gone from ``new`` must be named in new's change list."""
    named = {c.key for c in new.meta.changes}
    gone = sorted(set(old.nodes()) - set(new.nodes()) - named)
    if not gone:
        return []
    return [
        f"{new.source_path}: criteria of {old.version} ({old.file_name}) are gone: {', '.join(gone)}; "
        "if that is intended, name each under changes: with change: removed and why"
    ]


def check_fact_sources(version: PolicyVersion, template: Template) -> list[str]:
    if not template.facts:
        return []
    missing = sorted(set(version.facts) - set(template.facts))
    if not missing:
        return []
    return [
        f"{version.source_path}: facts {', '.join(missing)} have no source and question in {template.path}"
    ]
