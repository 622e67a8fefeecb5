"""rxpolicy publish (and its older name, lock): lint, prove semver, then lock.

Publishing turns each draft's ``provenance: draft`` into ``provenance: published`` and
then locks the file: the lock holds the sha256 of those final bytes, so a published file
says what it is, and the lock only ever adds lines.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from ..analysis.lint import lint_root, policy_dirs
from ..engine.errors import PolicyLoadError
from ..engine.loading import iter_version_files
from ..engine.lockfile import add_new_to_lock, read_lock
from ..engine.store import load_policy_dir
from .common import fail
from .workspace import add_policies_option, writable_root

_DRAFT_LINE = re.compile(r"^provenance: draft[ \t]*$", re.MULTILINE)


def register(sub: Any) -> None:
    for name, words in (
        ("publish", "publish drafts: lint, prove each semver bump, mark published and lock"),
        ("lock", "the same as publish (its older name)"),
    ):
        parser = sub.add_parser(
            name,
            help=words,
            description="Lint every version (template checks included) and prove the semver of every "
            "pair with an unlocked file; refuse on any problem. Otherwise set each draft's provenance "
            "to published and add its sha256 to versions.lock (a locked line never changes).",
        )
        add_policies_option(parser)
        parser.set_defaults(func=run_publish)


def publish_text(text: str) -> str:
    """A draft's text as published: only the provenance line changes."""
    return _DRAFT_LINE.sub("provenance: published", text, count=1)


def run_publish(args: argparse.Namespace) -> int:
    root = writable_root(args)
    if root is None:
        return 1
    report = lint_root(root, require_locked=False, semver_scope="unlocked")
    for line in report.lines:
        print(line)
    if report.problems:
        fail("not publishing: fix these first:\n" + "\n".join(f"  {p}" for p in report.problems))
        return 1
    for directory in policy_dirs(root):
        locked = read_lock(directory)
        for path in iter_version_files(directory):
            if path.name in locked:
                continue
            text = path.read_text(encoding="utf-8")
            published = publish_text(text)
            if published != text:
                path.write_text(published, encoding="utf-8")
        try:
            load_policy_dir(directory)  # the published bytes still load, before they are locked
        except PolicyLoadError as exc:
            fail("not locking: published files do not load:\n" + "\n".join(f"  {e}" for e in exc.errors))
            return 1
        added = add_new_to_lock(directory)
        for name in added:
            print(f"published and locked {directory.name}/{name}")
        if not added:
            print(f"{directory.name}: nothing new to publish")
    return 0
