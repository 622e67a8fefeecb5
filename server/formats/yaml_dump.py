"""How rxpolicy writes a policy-version file: block style for structure, one line per
leaf criterion, so a diff of two files reads like a diff of the policy."""

from __future__ import annotations

from typing import Any

import yaml


class PolicyDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _mapping(dumper: PolicyDumper, data: dict[str, Any]) -> yaml.Node:
    flow = (
        "fact" in data
        or "molecule" in data
        or (bool(data) and set(data) <= {"months", "length_of_benefit", "at_most_fact"})
    )
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


def _sequence(dumper: PolicyDumper, data: list[Any]) -> yaml.Node:
    scalars = all(not isinstance(x, (dict, list)) for x in data) and len(str(data)) < 80
    flow = scalars or all(isinstance(x, list) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


PolicyDumper.add_representer(dict, _mapping)
PolicyDumper.add_representer(list, _sequence)


def header(policy_id: str, title: str, version: str, effective: str) -> str:
    return (
        f"# {policy_id} {title}, version {version}, in force from {effective}.\n"
        "# A published version is immutable: its sha256 is in versions.lock and loading refuses\n"
        "# changed bytes. To change the policy, scaffold the next file: rxpolicy new-version.\n"
        "# yaml-language-server: $schema=../../server/engine/policy-version.schema.json\n"
    )


def dump_version(doc: dict[str, Any]) -> str:
    text = yaml.dump(doc, Dumper=PolicyDumper, sort_keys=False, allow_unicode=True, width=100)
    return header(doc["policy"]["id"], doc["policy"]["title"], doc["version"], str(doc["effective"])) + text
