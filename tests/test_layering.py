"""The engine is pure policy logic: it imports no grpc; the client never imports the server."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO


def _imports(folder: Path) -> set[tuple[str, str]]:
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {(str(path), alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add((str(path), node.module))
    return found


def test_engine_imports_no_grpc() -> None:
    bad = [(p, m) for p, m in _imports(REPO / "server" / "engine") if m.split(".")[0].startswith("grpc")]
    assert not bad


def test_client_never_imports_the_server() -> None:
    client = REPO / "client"
    if not any(client.glob("*.py")):
        return
    bad = [(p, m) for p, m in _imports(client) if "server" in m.split(".")]
    assert not bad
