"""What several benchmarks use: one valid request and the synthetic claim generator.

Benchmarks never import the tests, so the request tests/grpc_fixtures.py calls VALID is
restated here once (an approval under every version in force since 2021)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

CLI = "import sys; from rxpolicy.server.cli import main; sys.exit(main(sys.argv[1:]))"

REQUEST: dict[str, Any] = {
    "service_date": "2025-06-02",
    "line_of_business": "medicaid",
    "request_type": "initial",
    "member_age": 67,
    "diagnosis": "multiple_myeloma",
    "prescriber_specialty": "hematology",
    "disease_status": "relapsed",
    "combination": ["bortezomib", "dexamethasone"],
    "prior_therapies": [["lenalidomide", "dexamethasone"]],
    "product": "selinexor",
    "doses": [{"tablets": 5, "strength_mg": 20}],
}


def generate_claims(path: Path, count: int, seed: int) -> None:
    """``rxpolicy retro-generate`` into ``path`` (its format from the name)."""
    subprocess.run(
        [sys.executable, "-c", CLI, "retro-generate", "-n", str(count), "-s", str(seed), "-o", str(path)],
        check=True,
        stderr=subprocess.DEVNULL,
    )
