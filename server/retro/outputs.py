"""The output directory: what may be in it, and files that are whole or absent.

Every output is written under a temporary name, flushed to the disk (fsync) and only
then renamed to its final name, so a final name never holds a truncated file: a full
disk or a killed run leaves the temporary file (or nothing), never half a summary.
Files are created readable by their owner only: results hold member data, and the
summary and report are kept alike so no output is looser than the others.

``--out`` must be empty (or not exist yet), or hold only this tool's own earlier
outputs, which ``--overwrite`` removes before the run and ``--resume`` continues
from. Anything else in it refuses the run: the directory is not this tool's to empty,
and a claim file inside it would otherwise be overwritten by its own results.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

RESULTS_NAMES = ("results.csv", "results.jsonl", "results.parquet")
SUMMARY = "summary.json"
REPORT = "report.html"
STATE = "resume.json"  # how far an interrupted run got, for --resume
SEEN_IDS = "resume.ids"  # the claim id hashes seen so far, for --resume
PARTIAL = ".partial"
TMP = ".tmp"
FINAL_NAMES = (*RESULTS_NAMES, SUMMARY, REPORT)
OWN_NAMES = frozenset(
    {
        *FINAL_NAMES,
        *(n + PARTIAL for n in RESULTS_NAMES),
        *(n + TMP for n in (SUMMARY, REPORT, STATE, SEEN_IDS)),
        *(n + PARTIAL + TMP for n in RESULTS_NAMES),
        STATE,
        SEEN_IDS,
    }
)
FILE_MODE = 0o600
DIR_MODE = 0o700


class OutputDirError(Exception):
    """``--out`` cannot be used as it is; the message says why and what to do."""


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def prepare(out_dir: Path, claims: str, *, overwrite: bool, resume: bool) -> None:
    """Check ``out_dir`` against the rules above, create it, and (``overwrite``) remove
    this tool's earlier outputs from it."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputDirError(f"--out {out_dir} is not a directory")
    entries = sorted(p.name for p in out_dir.iterdir()) if out_dir.is_dir() else []
    claims_path = None if claims == "-" else Path(claims)
    if claims_path is not None:
        for name in entries:
            if _same_file(claims_path, out_dir / name):
                raise OutputDirError(
                    f"the claims file {claims} is inside --out {out_dir} as {name}; the run would "
                    "overwrite it: choose another --out"
                )
    foreign = [n for n in entries if n not in OWN_NAMES]
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise OutputDirError(
            f"--out {out_dir} holds files this tool did not write ({shown}); give an empty or new directory"
        )
    if entries and not (overwrite or resume):
        raise OutputDirError(
            f"--out {out_dir} holds an earlier run's outputs ({', '.join(entries)}); pass --overwrite to "
            "replace them, or --resume to continue an interrupted run"
        )
    out_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if overwrite and not resume:
        for name in entries:
            (out_dir / name).unlink(missing_ok=True)
        fsync_dir(out_dir)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create(path: Path, *, append: bool = False) -> BinaryIO:
    """``path`` opened for writing, created owner-only (never widened by the umask)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # an existing file keeps its mode through os.open
        return os.fdopen(fd, "ab" if append else "wb")
    except BaseException:
        os.close(fd)
        raise


def finish(handle: BinaryIO) -> None:
    """Flush ``handle`` all the way to the disk."""
    handle.flush()
    os.fsync(handle.fileno())


def publish(temporary: Path, final: Path) -> None:
    """Give a finished, synced file its final name (atomic on one file system)."""
    temporary.replace(final)
    fsync_dir(final.parent)


def write_atomic(path: Path, data: bytes) -> None:
    """``data`` at ``path``, whole or not at all (the temporary file is removed on failure)."""
    temporary = path.with_name(path.name + TMP)
    try:
        with create(temporary) as f:
            f.write(data)
            finish(f)
        publish(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def remove(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


@contextlib.contextmanager
def removed_on_failure(path: Path) -> Iterator[None]:
    try:
        yield
    except BaseException:
        remove(path)
        raise
