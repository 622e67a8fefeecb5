"""Semantic diffs in a child process, one per request.

z3 is not thread-safe even behind a lock (its objects can be freed by the collector on
whichever thread runs it), and concurrent semantic diffs in server threads crashed the
whole server in libz3. So each semantic diff runs in a fresh ``spawn`` process (no
inherited gRPC or z3 state) that loads the same policy versions, and the server can
kill it when the caller's deadline passes or the call is cancelled. Structural diffs
never touch z3 and stay in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..engine.errors import NotFound

if TYPE_CHECKING:  # the diff machinery is imported by the first diff, not at server start
    from ..analysis.diff.document import DiffDocument

_SPAWN = multiprocessing.get_context("spawn")
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


@attrs.frozen
class DiffJob:
    """What the child needs: the store's root and the resolved versions with their hashes,
    so a policy file changed on disk since the server started is noticed, not diffed."""

    root: str | None  # None: the packaged versions
    policy_id: str
    from_version: str
    from_hash: str
    to_version: str
    to_hash: str
    fmt: str


class DiffTimeout(Exception):
    """The caller's deadline passed before the child finished; the child was killed."""


class DiffFailed(Exception):
    """The child failed (an exception, named by type only, or a crash)."""


def _run_job(job: DiffJob) -> DiffDocument:
    from ..analysis.diff.document import diff_document
    from ..engine.store import VersionStore

    store = VersionStore.load(Path(job.root) if job.root is not None else None)
    for ref, expected in ((job.from_version, job.from_hash), (job.to_version, job.to_hash)):
        if store.resolve(ref, job.policy_id).content_hash != expected:
            raise RuntimeError("a policy version file changed since the server loaded it")
    return diff_document(
        store, job.from_version, job.to_version, policy_id=job.policy_id, semantic=True, fmt=job.fmt
    )


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this child when the server dies, however it dies (Linux's
    PR_SET_PDEATHSIG); a server already gone by now means exit at once."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _child(job: DiffJob, conn: Connection, parent: int) -> None:
    _die_with_parent(parent)
    try:
        try:
            reply: tuple[str, Any] = ("ok", _run_job(job))
        except NotFound as exc:
            reply = ("not_found", str(exc))
        except Exception as exc:  # the parent logs the type; the message may quote anything
            reply = ("error", type(exc).__name__)
        conn.send(reply)
    finally:
        conn.close()


def _receive(conn: Connection) -> tuple[str, Any] | None:
    """The child's reply, or None when it died without one. Closes ``conn``: this runs in a
    thread, and no other code touches the connection while it does."""
    try:
        reply: tuple[str, Any] = conn.recv()
        return reply
    except (EOFError, OSError):
        return None
    finally:
        conn.close()


async def run_semantic_diff(job: DiffJob, timeout: float | None) -> DiffDocument:
    """The diff from a child process. Raises NotFound, DiffTimeout (the child is killed) or
    DiffFailed; a cancelled caller kills the child too."""
    mine, theirs = _SPAWN.Pipe(duplex=False)
    proc = _SPAWN.Process(
        target=_child, args=(job, theirs, os.getpid()), daemon=True, name="rxpolicy-semantic-diff"
    )
    try:
        proc.start()
    finally:
        theirs.close()  # the child holds its own copy: its death is EOF here
    receiving = asyncio.ensure_future(asyncio.to_thread(_receive, mine))
    exitcode: int | None = None
    try:
        done, _ = await asyncio.wait({receiving}, timeout=timeout)
        if not done:
            raise DiffTimeout()
        reply = receiving.result()
    finally:
        if not receiving.done():
            proc.kill()  # the deadline passed or the caller went away
        # Killed, or done once its reply is sent: reap the child off the event loop. The
        # receiving thread sees EOF after a kill and closes its end itself.
        await asyncio.shield(asyncio.to_thread(proc.join))
        exitcode = proc.exitcode
        proc.close()
    if reply is None:
        raise DiffFailed(f"the diff process ended without an answer (exit code {exitcode})")
    kind, value = reply
    if kind == "ok":
        from ..analysis.diff.document import DiffDocument

        assert isinstance(value, DiffDocument)
        return value
    if kind == "not_found":
        raise NotFound(str(value))
    raise DiffFailed(f"the diff process raised {value}")
