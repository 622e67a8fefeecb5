"""Field paths of google.rpc.BadRequest violations: where in the request a problem is.

The engine names a fact ("doses", with "doses[0].tablets" in its description); the wire
names the request field that carried it, so a caller who sent the fact in
``Facts.values`` or ``other_facts`` is pointed there. One grammar, written here for the
server (which builds paths) and the client (which reads the fact name back, so its
results read the same as the engine's):

    facts.<name><item>                 a typed field of Facts:  facts.doses[0].tablets
    facts.values["<name>"]<item>       Facts.values:            facts.values["member_age"]
    facts.other_facts["<name>"]<item>  Facts.other_facts
    <field>                            any other request field: as_known_on, version, request_id
    request                            the request as a whole (an undecodable message, "N more")

``<item>`` is the position inside a list fact as the fact reads (``[0]``, ``[1][2]``,
``[0].tablets``), without the wrapper messages' own field names (``days``, ``agents``,
``lines``): the same for a typed field, a typed value and a JSON list, and the position
the engine names. Names in brackets are JSON strings (any text a caller sent).
"""

from __future__ import annotations

import json
import re

FACTS = "facts"
VALUES = "values"
OTHER_FACTS = "other_facts"
_KEYED = (f"{FACTS}.{VALUES}[", f"{FACTS}.{OTHER_FACTS}[")
_ITEM = re.compile(r"(?:\[\d+\])+(?:\.[a-z_]+)?")
_NAME = re.compile(r"[^.\[]*")


def fact_path(container: str | None, name: str, item: str = "") -> str:
    """The path of fact ``name`` sent in a typed field (``container`` None), in ``values``
    or in ``other_facts``."""
    if container is None:
        return f"{FACTS}.{name}{item}"
    return f"{FACTS}.{container}[{json.dumps(name, ensure_ascii=False)}]{item}"


def item_of(name: str, description: str) -> str:
    """The list position an engine description starts with ("doses[0].tablets must ..."
    gives "[0].tablets"), or ""."""
    if not description.startswith(name):
        return ""
    found = _ITEM.match(description, len(name))
    return found.group(0) if found else ""


def field_of(path: str) -> str:
    """The fact or request field a path names: ``facts.values["member_age"]`` gives
    member_age, ``facts.doses[0].tablets`` gives doses, ``as_known_on`` itself."""
    for prefix in _KEYED:
        if path.startswith(prefix):
            try:
                name, _ = json.JSONDecoder().raw_decode(path, len(prefix))
            except ValueError:
                return path
            return name if isinstance(name, str) else path
    if path.startswith(f"{FACTS}."):
        found = _NAME.match(path, len(FACTS) + 1)
        return found.group(0) if found else path
    return path
