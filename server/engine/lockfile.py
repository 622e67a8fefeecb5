"""The lock file: sha256 of every published version file of a policy.

A locked file whose bytes change is refused at load; ``rxpolicy lock`` only ever
adds entries for files not yet locked, so publishing is append-only.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .errors import PolicyFileError, PolicyLoadError
from .loading import iter_version_files, sha256_of

LOCK_NAME = "versions.lock"
HEADER = (
    "# rxpolicy version lock: the sha256 of every published version file of this policy.\n"
    "# Published versions are immutable. `rxpolicy lock` appends new files; never edit a line.\n"
)


def read_lock(directory: Path) -> dict[str, str]:
    path = directory / LOCK_NAME
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise PolicyLoadError([PolicyFileError(str(path), "", f"not valid YAML: {exc}")]) from exc
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.startswith("sha256:") for k, v in data.items()
    ):
        raise PolicyLoadError(
            [PolicyFileError(str(path), "", "expected lines of the form 'FILE.yaml: sha256:HEX'")]
        )
    return data


def add_new_to_lock(directory: Path) -> list[str]:
    """Lock every version file not yet locked; return the names added."""
    locked = read_lock(directory)
    added = []
    for path in iter_version_files(directory):
        if path.name not in locked:
            locked[path.name] = sha256_of(path.read_bytes())
            added.append(path.name)
    if added:
        lines = "".join(f"{name}: {digest}\n" for name, digest in sorted(locked.items()))
        (directory / LOCK_NAME).write_text(HEADER + lines, encoding="utf-8")
    return added
