"""Which locked version files have already passed the JSON Schema, so loading them again
(every server start, every reload) skips the schema pass, about three quarters of the
load time.

An entry is the pair (sha256 of the file's bytes, sha256 of the schema's text): the same
bytes under the same schema give the same verdict, so the pass is skipped only where its
answer is already known. Only passes are recorded, and only for files whose bytes match
their hash in versions.lock. The second pass (meaning: facts, operators, terms, keys)
always runs, since it builds the model. A changed file or a changed schema has another
pair, so it is validated again.

The cache is a convenience, never a source of policy: it holds hashes only (no policy
text, no request data), and a cache that is absent, unreadable, corrupt or unwritable is
treated as empty, silently. It lives in ``$XDG_CACHE_HOME/rxpolicy/`` (default
``~/.cache/rxpolicy/``); deleting it is always safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

CACHE_FILE = "schema-valid.json"
# Bumped when the file's layout or what an entry means changes: other formats are ignored.
FORMAT = 1
# Entries kept (newest last); a few kilobytes however many versions come and go.
MAX_ENTRIES = 4096


def default_path() -> Path | None:
    """``$XDG_CACHE_HOME/rxpolicy/schema-valid.json``, or under ``~/.cache``; None when
    there is no home directory to put it in."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no HOME and no passwd entry
            return None
    return Path(base) / "rxpolicy" / CACHE_FILE


class ValidationCache:
    """The schema passes known for one schema text. Not shared between threads."""

    def __init__(self, path: Path | None, schema_text: bytes) -> None:
        self.path = path
        self._schema = hashlib.sha256(schema_text).hexdigest()
        self._entries: dict[str, None] | None = None  # ordered set of "file-hash schema-hash"
        self._added = False

    def _key(self, content_hash: str) -> str:
        return f"{content_hash} sha256:{self._schema}"

    def _load(self) -> dict[str, None]:
        if self._entries is None:
            self._entries = {}
            if self.path is not None:
                with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
                    data = json.loads(self.path.read_bytes())
                    if data.get("format") == FORMAT:
                        self._entries = {e: None for e in data["passed"] if isinstance(e, str)}
        return self._entries

    def passed(self, content_hash: str) -> bool:
        """Whether the file with this sha256 already passed this schema."""
        return self._key(content_hash) in self._load()

    def add(self, content_hash: str) -> None:
        """Record that the file with this sha256 passes this schema (kept by ``save``)."""
        entries = self._load()
        key = self._key(content_hash)
        if key not in entries:
            entries[key] = None
            self._added = True

    def save(self) -> None:
        """Write the entries if any were added: atomically (a reader sees the old file or
        the new one), and not at all when the directory cannot be written."""
        if not self._added or self.path is None or self._entries is None:
            return
        passed = list(self._entries)[-MAX_ENTRIES:]
        payload = json.dumps({"format": FORMAT, "passed": passed}, indent=0).encode()
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".schema-valid-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(payload)
                os.replace(tmp, self.path)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            self._added = False
