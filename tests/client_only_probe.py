"""Run by tests/test_client_only.py with the python of a virtualenv holding only the
client distribution (clients/python): what that virtualenv can import, and what the
installed client gets from a real server. Prints one JSON object; the test judges it.

    python client_only_probe.py TARGET REQUEST.json INVALID.json PEND.json
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import sys
from pathlib import Path

# What a backend service that only calls the API must not be made to install.
SERVER_ONLY = ("z3", "jsonschema", "yaml", "semver", "tqdm", "grpc_status", "grpc_health", "rxpolicy.server")


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is absent (rxpolicy.server's rxpolicy is not)
        return False


def main(target: str, request_path: str, invalid_path: str, pend_path: str) -> dict[str, object]:
    import rxpolicy.client as client_package
    from rxpolicy.client import Decision, InvalidRequestError, PolicyClient, VersionInfo, VersionList

    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    invalid = json.loads(Path(invalid_path).read_text(encoding="utf-8"))
    pend = json.loads(Path(pend_path).read_text(encoding="utf-8"))
    with PolicyClient(target) as client:
        decision = client.evaluate(request)
        traced = client.evaluate(request, include_trace=True)
        pended = client.evaluate(pend, include_trace=True)
        try:
            client.evaluate(invalid)
            refused = None
        except InvalidRequestError as exc:
            refused = exc.to_json()
        many = list(client.evaluate_many([{"request_id": "claim-1", **request}, request, invalid]))
        versions = client.list_versions()
        latest = client.get_version()
        diff = client.diff_versions(versions[0].version, versions[-1].version)
    return {
        "client_file": client_package.__file__,
        "importable": {name: _importable(name) for name in SERVER_ONLY},
        "requires": sorted(importlib.metadata.requires("rxpolicy-client") or ()),
        "modules": sorted(
            str(f) for f in importlib.metadata.files("rxpolicy-client") or () if f.suffix == ".py"
        ),
        "distributions": sorted({d.metadata["Name"].lower() for d in importlib.metadata.distributions()}),
        "decision": decision.to_json(),
        "decision_dict": decision.to_dict(),
        "traced": traced.to_json(),
        "pended": pended.to_json(),
        "refused": refused,
        "many": [[type(r).__name__, r.request_id, r.ok] for r in many],
        "decision_typed": isinstance(decision, Decision),
        "versions_typed": isinstance(versions, VersionList)
        and all(isinstance(v, VersionInfo) for v in versions),
        "policy_set_digest": versions.policy_set_digest,
        "latest": [latest.info.version, latest.info.effective.isoformat(), len(latest.indications)],
        "newest_listed": versions[-1].version,
        "diff": [diff.from_version, diff.to_version, diff.media_type, bool(diff.content)],
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:5])))
