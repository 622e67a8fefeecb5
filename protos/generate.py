"""Regenerate the Python code for the rxpolicy.v1 protos, or check that it is current.

    python protos/generate.py          # write *_pb2.py, *_pb2.pyi, *_pb2_grpc.py(i) beside the protos
    python protos/generate.py --check  # exit 1 when the committed code is stale (CI)

The check compares the generated code with the committed files, ignoring only the
lines that stamp the generator's own version, so a newer grpcio-tools on a CI
machine does not read as a stale contract while any change to a .proto does.

The ``*_pb2_grpc.pyi`` stubs come from mypy-protobuf's ``protoc-gen-mypy_grpc`` (the
test extra): grpcio-tools types the messages but not the service stubs, and without
them every call through a stub is ``Any`` to mypy.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "rxpolicy" / "v1"
SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")
# protoc's stubs are neither ruff-clean nor mypy --strict clean (bare Mapping); they are
# generated, so the linters are told to leave them be, from inside the file.
PYI_HEADER = '# mypy: disable-error-code="type-arg"\n# ruff: noqa\n# fmt: off\n'
# mypy-protobuf's service stubs are mypy --strict clean (they carry their own ignores).
GRPC_PYI_HEADER = "# ruff: noqa\n# fmt: off\n"
# Lines that name the generator's or runtime's version, not the contract.
_STAMP = re.compile(
    r"^(# Protobuf Python Version:.*|GRPC_GENERATED_VERSION = .*|\s*\d+,\s*|.*Domain\.PUBLIC,.*)$",
    re.MULTILINE,
)


def protos() -> list[Path]:
    return sorted(PACKAGE.glob("*.proto"))


def _grpc_stub_plugin() -> str:
    """mypy-protobuf's plugin, beside this Python (a virtualenv's bin) or on PATH."""
    name = "protoc-gen-mypy_grpc"
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} not found: pip install -e '.[test]' (mypy-protobuf)")
    return found


def generate(out: Path) -> list[Path]:
    from grpc_tools import protoc  # the test extra; not a runtime dependency

    include = str(Path(protoc.__file__).parent / "_proto")
    files = [str(p.relative_to(HERE)) for p in protos()]
    plugin = _grpc_stub_plugin()
    args = [
        "grpc_tools.protoc",
        f"-I{HERE}",
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        f"--plugin=protoc-gen-mypy_grpc={plugin}",
        f"--mypy_grpc_out={out}",
        "--mypy_grpc_opt=quiet",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    generated = sorted(p for p in (out / "rxpolicy" / "v1").iterdir() if p.name.endswith(SUFFIXES))
    for path in generated:
        if path.name.endswith("_grpc.pyi"):
            path.write_text(GRPC_PYI_HEADER + path.read_text())
        elif path.suffix == ".pyi":
            path.write_text(PYI_HEADER + path.read_text())
    return generated


def committed() -> list[Path]:
    return sorted(p for p in PACKAGE.iterdir() if p.name.endswith(SUFFIXES))


def normalised(text: str) -> str:
    return _STAMP.sub("", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed code is stale")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        if args.check:
            stale = []
            have = {p.name: p for p in committed()}
            for new in fresh:
                old = have.pop(new.name, None)
                if old is None or normalised(old.read_text()) != normalised(new.read_text()):
                    stale.append(new.name)
            stale += sorted(have)  # generated files whose .proto is gone
            if stale:
                print(
                    "generated code is stale: " + ", ".join(stale) + "\nrun: python protos/generate.py",
                    file=sys.stderr,
                )
                return 1
            print(f"generated code is current ({len(fresh)} files)")
            return 0
        for old in committed():
            old.unlink()
        for new in fresh:
            shutil.copyfile(new, PACKAGE / new.name)
            print(f"wrote {(PACKAGE / new.name).relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
