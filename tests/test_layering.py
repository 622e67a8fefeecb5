"""Each package keeps to its job: the engine core is pure policy logic (no grpc, no z3, no
analysis or presentation), the API edge never reaches into batch work or the CLI, and the
client never imports the server."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import REPO

SERVER = REPO / "server"


def _imports(folder: Path) -> set[tuple[str, str]]:
    """(file, absolute module) for every import below ``folder``; relative imports resolved."""
    found = set()
    for path in folder.rglob("*.py"):
        package = ["rxpolicy", *path.relative_to(REPO).parent.parts]
        if package[1] == "protos":
            package = package[2:]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {(str(path), alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                found.add((str(path), module))
    return found


def _offending(folder: Path, forbidden: tuple[str, ...]) -> list[tuple[str, str]]:
    return sorted(
        (p, m)
        for p, m in _imports(folder)
        if any(m == f or m.startswith(f + ".") or m.split(".")[0] == f for f in forbidden)
    )


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        (
            "engine",
            (
                "grpc",
                "grpc_health",
                "grpc_reflection",
                "grpc_status",
                "z3",
                "rxpolicy.server.analysis",
                "rxpolicy.server.formats",
                "rxpolicy.server.api",
                "rxpolicy.server.retro",
                "rxpolicy.server.cli",
                "rxpolicy.client",
            ),
        ),
        ("formats", ("grpc", "z3", "rxpolicy.server.analysis", "rxpolicy.server.api", "rxpolicy.server.cli")),
        ("analysis", ("grpc", "rxpolicy.server.api", "rxpolicy.server.retro", "rxpolicy.server.cli")),
        ("api", ("rxpolicy.server.retro", "rxpolicy.server.cli")),
        ("retro", ("rxpolicy.server.api", "rxpolicy.server.cli")),
    ],
)
def test_package_layering(package: str, forbidden: tuple[str, ...]) -> None:
    assert _offending(SERVER / package, forbidden) == []


def test_the_layering_check_sees_relative_imports() -> None:
    # A check that cannot fail proves nothing: the API edge does import the engine.
    assert _offending(SERVER / "api", ("rxpolicy.server.engine",))


def test_client_never_imports_the_server() -> None:
    bad = [(p, m) for p, m in _imports(REPO / "client") if m.startswith("rxpolicy.server")]
    assert not bad
