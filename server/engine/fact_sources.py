"""Who can supply each fact, and the question that asks for it: policy-level data.

The ``facts`` block of a policy's ``template.yaml`` gives, per fact, its ``source``
(``request``: the calling system; ``plan``: eligibility, formulary, generic
availability, label changes; ``claims``: the plan's claims history; ``prescriber``:
documentation from the prescriber) and a plain-language ``question``. It lives beside
the version files rather than in them because a published version file can never gain
it (its bytes are locked), and it decides nothing: a pend's requests for information
and ``rxpolicy facts`` read it. The template as a whole is checked by
``server/analysis/template.py``; here only this block is read, so the engine can
attach it to every version of the policy when the directory loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from .errors import PolicyFileError, PolicyLoadError
from .loading import TEMPLATE_NAME
from .model import FactSource

SOURCES = ("request", "plan", "claims", "prescriber")
UNKNOWN_SOURCE = "prescriber"  # a fact the template does not describe is asked of the prescriber


def read_fact_sources(directory: Path) -> dict[str, FactSource]:
    """The ``facts`` block of the directory's template, or nothing when it has none."""
    path = directory / TEMPLATE_NAME
    if not path.exists():
        return {}
    file = str(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyLoadError([PolicyFileError(file, "", f"not valid YAML: {exc}")]) from exc
    block = doc.get("facts", {}) if isinstance(doc, Mapping) else {}
    if not isinstance(block, Mapping):
        raise PolicyLoadError(
            [PolicyFileError(file, "facts", "must map fact names to a source and a question")]
        )
    out: dict[str, FactSource] = {}
    errors: list[PolicyFileError] = []
    for name, entry in block.items():
        source = entry.get("source") if isinstance(entry, Mapping) else None
        question = entry.get("question") if isinstance(entry, Mapping) else None
        if source not in SOURCES or not isinstance(question, str) or not question:
            errors.append(
                PolicyFileError(
                    file, f"facts.{name}", f"needs a source ({', '.join(SOURCES)}) and a non-empty question"
                )
            )
            continue
        out[str(name)] = FactSource(source, question)
    if errors:
        raise PolicyLoadError(errors)
    return out
