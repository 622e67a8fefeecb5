"""--server: the same review through a real server's stream gives identical output."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rxpolicy.server.cli import main
from rxpolicy.server.retro.synth import write_claims

FIXTURES = Path(__file__).parent / "retro_fixtures"
SERVE = "import sys; from rxpolicy.server.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """`rxpolicy serve` on an ephemeral port, as a user would start it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, "serve", "--host", "127.0.0.1", "--port", "0", "--decision-log", "off"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    port = None
    deadline = time.monotonic() + 60
    while port is None and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("message") == "serving":
            port = event["port"]
    if port is None:
        proc.kill()
        pytest.fail("rxpolicy serve did not report a port")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def retro(*args: str) -> int:
    return main(["retro", "--no-progress", *args])


def outputs(out: Path, fmt: str) -> tuple[bytes, dict[str, Any]]:
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    summary.pop("run")  # how and how fast it ran: the only part allowed to differ
    return (out / f"results.{fmt}").read_bytes(), summary


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_server_output_identical_to_in_process(server: str, tmp_path: Path, fmt: str) -> None:
    claims = tmp_path / f"claims.{fmt}"
    with claims.open("w", encoding="utf-8", newline="") as f:
        write_claims(f, 600, seed=21, fmt=fmt, invalid_rate=0.1)  # bad rows included
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert retro(str(claims), "--out", str(local), "--format", fmt, "--workers", "1") == 0
    assert (
        retro(str(claims), "--out", str(remote), "--format", fmt, "--server", server, "--workers", "2") == 0
    )
    assert outputs(local, fmt) == outputs(remote, fmt)
    assert outputs(local, fmt)[1]["rows"]["out"] == 600


@pytest.mark.parametrize("name", ["bad_rows.csv", "bad_rows.jsonl"])
def test_server_handles_bad_rows_identically(server: str, tmp_path: Path, name: str) -> None:
    local, remote = tmp_path / "local", tmp_path / "remote"
    claims = str(FIXTURES / name)
    assert retro(claims, "--out", str(local), "--format", "jsonl", "--workers", "1") == 0
    assert retro(claims, "--out", str(remote), "--format", "jsonl", "--server", server, "--workers", "1") == 0
    assert outputs(local, "jsonl") == outputs(remote, "jsonl")


def test_server_compare_to_identical_to_in_process(server: str, tmp_path: Path) -> None:
    claims = tmp_path / "claims.csv"
    with claims.open("w", encoding="utf-8", newline="") as f:
        write_claims(f, 400, seed=5, fmt="csv", invalid_rate=0.05)
    local, remote = tmp_path / "local", tmp_path / "remote"
    common = ["--format", "csv", "--compare-to", "2021-06-01"]
    assert retro(str(claims), "--out", str(local), *common, "--workers", "1") == 0
    assert retro(str(claims), "--out", str(remote), *common, "--server", server, "--workers", "2") == 0
    assert outputs(local, "csv") == outputs(remote, "csv")
    changes = outputs(local, "csv")[1]
    assert "compare" in json.dumps(changes)


def test_unreachable_server_stops_the_run(tmp_path: Path, capsys: Any) -> None:
    claims = str(FIXTURES / "bad_rows.csv")
    # Port 9 (discard) on loopback: nothing listens there; the run must stop, not
    # turn every claim into an error row.
    code = retro(claims, "--out", str(tmp_path / "o"), "--server", "127.0.0.1:9", "--workers", "1")
    assert code == 1
    assert "UNAVAILABLE" in capsys.readouterr().err
    assert not (tmp_path / "o" / "results.csv").exists()
