"""Where a run's outputs came from: enough to tell two runs apart and to repeat one.

The block names the rxpolicy release, the policy set (one digest over every version's
content hash, so two stores with the same published files agree whatever their
paths), each version with its own hash, the claim file (name, sha256, rows), every
option that changes a result, and when the run started and ended. The bearer token
is never recorded.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..engine.model import PolicyVersion
from ..engine.store import VersionStore


def rxpolicy_version() -> str:
    try:
        return importlib.metadata.version("rxpolicy")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def store_versions(store: VersionStore) -> list[PolicyVersion]:
    return [v for pid in store.policy_ids for v in store.versions(pid)]


def version_entry(v: PolicyVersion) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "policy_id": v.policy_id,
        "version": v.version,
        "effective": v.effective.isoformat(),
        "recorded": v.meta.recorded.isoformat(),
        "content_hash": v.content_hash,
        "locked": v.locked,
    }
    corrects = getattr(v.meta, "corrects", None)
    if corrects:
        entry["corrects"] = str(corrects)
    return entry


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def rerun_command(claims: str, out_dir: Path, options: Mapping[str, Any]) -> str:
    """The command line that repeats the run (into the same --out, replacing it)."""
    args = ["rxpolicy", "retro", claims, "--out", str(out_dir), "--overwrite"]
    flags: Sequence[tuple[str, str]] = (
        ("output_format", "--format"),
        ("input_format", "--input-format"),
        ("policies", "--policies"),
        ("policy_id", "--policy"),
        ("as_known_on", "--as-known-on"),
        ("compare_to", "--compare-to"),
        ("server", "--server"),
        ("server_timeout", "--server-timeout"),
        ("workers", "--workers"),
        ("chunk_size", "--chunk-size"),
        ("examples", "--examples"),
    )
    for key, flag in flags:
        value = options.get(key)
        if value is not None and not (key == "output_format" and value == "csv") and value != 0:
            args += [flag, str(value)]
    if options.get("ignore_unknown_columns"):
        args.append("--ignore-unknown-columns")
    return shlex.join(args)
