"""The set of policy versions a server decides with: only published (locked) versions
unless drafts are allowed, its digest for the log lines, and a fingerprint of the files
for ``--watch``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..engine.store import VersionStore, packaged_root


class DraftsRefused(Exception):
    """The directory holds version files not in versions.lock and drafts are not allowed."""

    def __init__(self, files: list[str]) -> None:
        super().__init__(
            "unlocked version files (drafts, not in versions.lock): "
            + ", ".join(files)
            + "; publish them with `rxpolicy lock`, or pass --allow-drafts to serve them marked as drafts"
        )
        self.files = files


def drafts(store: VersionStore) -> list[str]:
    return [v.source_path for pid in store.policy_ids for v in store.versions(pid) if not v.locked]


def check_published(store: VersionStore, allow_drafts: bool) -> VersionStore:
    """``store`` itself; raises DraftsRefused when it holds drafts that are not allowed."""
    unlocked = drafts(store)
    if unlocked and not allow_drafts:
        raise DraftsRefused(unlocked)
    return store


def load_served(root: Path | None, allow_drafts: bool, default_policy: str | None = None) -> VersionStore:
    """Load and check a set; raises PolicyLoadError (naming the files) or DraftsRefused."""
    return check_published(VersionStore.load(root, default_policy=default_policy), allow_drafts)


def summary(store: VersionStore) -> dict[str, Any]:
    return {
        "policies": {pid: [v.version for v in store.versions(pid)] for pid in store.policy_ids},
        "policy_set_digest": store.policy_set_digest,
        "drafts": drafts(store),
    }


def fingerprint(root: Path | None) -> tuple[tuple[str, int, int], ...]:
    """Path, size and modification time of every file under the directory: any edit,
    addition or removal changes it (the reload then compares content hashes)."""
    top = root or packaged_root()
    out: list[tuple[str, int, int]] = []
    for dirpath, _dirs, files in os.walk(top):
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                st = os.stat(path)
            except OSError:  # removed while walking: the next poll sees it gone
                continue
            out.append((path, st.st_size, st.st_mtime_ns))
    return tuple(sorted(out))
