"""YAML for requests and case files: dates stay text, so the engine validates them.

PyYAML turns 2024-02-30 into an exception and 2024-02-28 into a date before the
engine sees it; keeping them as text lets an impossible date become a clear error
naming the field, like any other bad value.
"""

from __future__ import annotations

from typing import Any

import yaml


class TextDateLoader(yaml.SafeLoader):
    pass


TextDateLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_request_yaml(text: str) -> Any:
    return yaml.load(text, Loader=TextDateLoader)
