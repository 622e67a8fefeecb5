"""The one entry point for a rendered version diff: the CLI and the DiffVersions RPC call it."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ...engine.model import PolicyVersion
from ...engine.store import VersionStore
from ..render.html_page import render_html
from ..render.json_doc import render_json
from ..render.markdown import render_markdown
from ..render.text import render_text
from .model import VersionDiff
from .semver import declared_bump
from .structural import structural_diff

RENDERERS: dict[str, tuple[Callable[[VersionDiff], str], str]] = {
    "text": (render_text, "text/plain; charset=utf-8"),
    "markdown": (render_markdown, "text/markdown; charset=utf-8"),
    "json": (render_json, "application/json"),
    "html": (render_html, "text/html; charset=utf-8"),
}
FORMATS = tuple(RENDERERS)


@attrs.frozen
class DiffDocument:
    content: str
    media_type: str
    from_version: str
    to_version: str
    equivalent: bool | None  # None unless the semantic diff ran
    required_bump: str | None  # "major" | "minor" | "patch" when the semantic diff ran
    # What `rxpolicy diff --exit-code` reports: with the semantic diff, whether some request is
    # decided differently; without it, whether the versions' data differ at all.
    differs: bool


def diff_versions(
    store: VersionStore, old: PolicyVersion, new: PolicyVersion, *, semantic: bool
) -> VersionDiff:
    sem = None
    if semantic:
        # Imported here: z3 is loaded only when a proof is asked for.
        from ..semantic.diff import semantic_diff

        sem = semantic_diff(store, old, new)
    return VersionDiff(structural_diff(old, new), sem, declared_bump(old.version, new.version))


def diff_document(
    store: VersionStore,
    from_ref: str,
    to_ref: str,
    *,
    policy_id: str | None = None,
    semantic: bool,
    fmt: str,
) -> DiffDocument:
    """Diff two versions (each a semver, a date in force, or "latest") and render it.

    Raises NotFound for an unknown policy or version and ValueError for an unknown format.
    """
    if fmt not in RENDERERS:
        raise ValueError(f"unknown diff format {fmt!r} (one of {', '.join(FORMATS)})")
    old = store.resolve(from_ref, policy_id)
    new = store.resolve(to_ref, policy_id)
    diff = diff_versions(store, old, new, semantic=semantic)
    render, media_type = RENDERERS[fmt]
    sem = diff.semantic
    return DiffDocument(
        content=render(diff),
        media_type=media_type,
        from_version=old.version,
        to_version=new.version,
        equivalent=sem.equivalent if sem is not None else None,
        required_bump=sem.required_bump if sem is not None else None,
        differs=not sem.equivalent if sem is not None else not diff.structural.empty,
    )
