"""With --server: the versions the server serves, with their hashes, for the provenance.

Asked once, before the first claim. The server decides every claim, so its versions are
the ones that count; the local policy definitions give only the CSV column types. Any
version whose hash differs from the local one is named, so a report never suggests that
files the server did not serve decided its claims.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rxpolicy.client import PolicyClient, PolicyClientError
from rxpolicy.client.environment import connection_settings

from ..engine.model import PolicyVersion

LIST_TIMEOUT_S = 30.0


class ServerVersionsError(Exception):
    """The server could not be asked for its versions."""


def served_versions(
    target: str, *, token: str | None, policy_id: str | None, local: Sequence[PolicyVersion]
) -> dict[str, Any]:
    client = PolicyClient(target, policy_id=policy_id, timeout=LIST_TIMEOUT_S, **connection_settings(token))
    try:
        infos = client.list_versions(policy_id)
    except PolicyClientError as exc:
        raise ServerVersionsError(f"server {target}: {exc.code.name}: {exc.details}") from None
    finally:
        client.close()
    mine = {v.version: v.content_hash for v in local}
    versions = [
        {"version": i.version, "effective": i.effective.isoformat(), "content_hash": i.content_hash}
        for i in infos
    ]
    differ = sorted(v["version"] for v in versions if mine.get(v["version"]) != v["content_hash"])
    return {"target": target, "versions": versions, "differ_from_local": differ}
