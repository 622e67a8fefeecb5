"""mypy checks the code under its installed names (rxpolicy.server, rxpolicy.client,
rxpolicy.v1), so the server sees the client's real types: ``.mypy-tree/rxpolicy`` mirrors
pyproject's package-dir mapping with symbolic links. A module added to the contract
package, or a package mapped anew, must be linked there too, or mypy would not see it."""

from __future__ import annotations

import tomllib

from conftest import REPO

TREE = REPO / ".mypy-tree" / "rxpolicy"


def _package_dirs() -> dict[str, str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return dict(config["tool"]["setuptools"]["package-dir"])


def test_every_mapped_python_package_is_linked() -> None:
    for name, folder in _package_dirs().items():
        source = REPO / folder
        if name == "rxpolicy" or not any(source.rglob("*.py")):
            continue  # the root is checked below; policy_versions holds data only
        link = TREE.joinpath(*name.split(".")[1:])
        assert link.is_symlink() and link.resolve() == source.resolve(), name


def test_every_entry_of_the_contract_package_is_linked() -> None:
    root = REPO / _package_dirs()["rxpolicy"]
    for entry in root.iterdir():
        if entry.name == "__pycache__":
            continue
        link = TREE / entry.name
        assert link.is_symlink() and link.resolve() == entry.resolve(), entry.name


def test_mypy_is_configured_on_the_tree() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config["files"] == [".mypy-tree/rxpolicy"] and config["mypy_path"] == ".mypy-tree"
