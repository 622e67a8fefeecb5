"""Honest files: owner-only, whole or absent, --out rules, --resume byte for byte."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rxpolicy.server.cli import main
from rxpolicy.server.retro.synth import write_claims

CLI = "import sys; from rxpolicy.server.cli import main; sys.exit(main(sys.argv[1:]))"
# Bounds against a hang, not timed assertions.
RUN_LIMIT_S = 300.0
POLL_S = 0.02


def retro(*args: str) -> int:
    return main(["retro", "--no-progress", *args])


def claims_file(directory: Path, count: int, fmt: str = "csv", seed: int = 4) -> Path:
    path = directory / f"claims-{count}.{fmt}"
    with path.open("w", encoding="utf-8", newline="") as f:
        write_claims(f, count, seed=seed, fmt=fmt, invalid_rate=0.05)
    return path


def comparable(out: Path) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    summary.pop("run")
    summary.pop("provenance")
    return summary


def test_outputs_are_owner_only(tmp_path: Path) -> None:
    claims = claims_file(tmp_path, 50)
    out = tmp_path / "out"
    old = os.umask(0o022)
    try:
        assert retro(str(claims), "--out", str(out), "--workers", "1") == 0
    finally:
        os.umask(old)
    for name in ("results.csv", "summary.json", "report.html"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(out.stat().st_mode) == 0o700


def test_out_with_other_files_is_refused(tmp_path: Path, capsys: Any) -> None:
    claims = claims_file(tmp_path, 20)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    for extra in ([], ["--overwrite"]):
        assert retro(str(claims), "--out", str(out), "--workers", "1", *extra) == 1
        assert "notes.txt" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_earlier_outputs_need_overwrite_which_removes_them_all(tmp_path: Path, capsys: Any) -> None:
    claims = claims_file(tmp_path, 30)
    out = tmp_path / "out"
    assert retro(str(claims), "--out", str(out), "--workers", "1", "--format", "jsonl") == 0
    assert retro(str(claims), "--out", str(out), "--workers", "1") == 1
    assert "--overwrite" in capsys.readouterr().err
    assert retro(str(claims), "--out", str(out), "--workers", "1", "--overwrite") == 0
    # The earlier run's results.jsonl is gone: nothing of another run stays beside these.
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "results.csv", "summary.json"]


def test_input_inside_out_is_never_overwritten(tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "out"
    out.mkdir()
    claims = out / "results.csv"
    with claims.open("w", encoding="utf-8", newline="") as f:
        write_claims(f, 20, seed=1, fmt="csv", invalid_rate=0.0)
    before = claims.read_bytes()
    for extra in ([], ["--overwrite"], ["--resume"]):
        assert retro(str(claims), "--out", str(out), "--workers", "1", *extra) == 1
        assert "would overwrite it" in capsys.readouterr().err
    assert claims.read_bytes() == before
    linked = tmp_path / "claims.csv"
    os.link(claims, linked)  # the same file under another name
    assert retro(str(linked), "--out", str(out), "--workers", "1", "--overwrite") == 1
    assert claims.read_bytes() == before


def test_overwrite_and_resume_exclude_each_other(tmp_path: Path, capsys: Any) -> None:
    claims = claims_file(tmp_path, 5)
    assert retro(str(claims), "--out", str(tmp_path / "o"), "--overwrite", "--resume") == 1
    assert "cannot be combined" in capsys.readouterr().err


def test_resume_without_state_is_refused(tmp_path: Path, capsys: Any) -> None:
    claims = claims_file(tmp_path, 20)
    out = tmp_path / "out"
    assert retro(str(claims), "--out", str(out), "--workers", "1") == 0
    assert retro(str(claims), "--out", str(out), "--workers", "1", "--resume") == 1
    assert "resume.json" in capsys.readouterr().err


def start_retro(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CLI, "retro", "--no-progress", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_rows(proc: subprocess.Popen[str], partial: Path, size: int) -> None:
    """Until ``partial`` holds more than ``size`` bytes (the run is under way)."""
    limit = time.monotonic() + RUN_LIMIT_S
    while time.monotonic() < limit and proc.poll() is None:
        with contextlib.suppress(OSError):
            if partial.stat().st_size > size:
                return
        time.sleep(POLL_S)
    pytest.fail(f"the run ended or stalled before writing {size} bytes: {proc.poll()}")


def children(pid: int) -> set[int]:
    """Every descendant of ``pid`` now (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), ()):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def outlived(pids: set[int]) -> list[int]:
    """The processes of ``pids`` still running a moment after the run ended. multiprocessing's
    resource tracker ends once it reads the end of its pipe from the dead parent, so it gets a
    bounded moment; a worker left behind would stay."""
    limit = time.monotonic() + 10
    while (left := [p for p in pids if alive(p)]) and time.monotonic() < limit:
        time.sleep(POLL_S)
    return left


@pytest.fixture(scope="module")
def big_claims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return claims_file(tmp_path_factory.mktemp("big"), 20_000, seed=9)


@pytest.fixture(scope="module")
def uninterrupted(big_claims: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "out"
    assert retro(str(big_claims), "--out", str(out), "--workers", "1", "--compare-to", "latest") == 0
    return out


@pytest.mark.parametrize(("sig", "workers"), [(signal.SIGINT, "1"), (signal.SIGTERM, "2")])
def test_signal_leaves_a_partial_result_that_resumes_byte_for_byte(
    big_claims: Path, uninterrupted: Path, tmp_path: Path, sig: signal.Signals, workers: str
) -> None:
    out = tmp_path / "out"
    common = ["--workers", workers, "--chunk-size", "200", "--compare-to", "latest"]
    proc = start_retro(str(big_claims), "--out", str(out), *common)
    wait_for_rows(proc, out / "results.csv.partial", 60_000)
    workers_seen = children(proc.pid)
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=RUN_LIMIT_S)
    assert proc.returncode == 128 + sig, err
    assert f"interrupted by {sig.name}" in err and "--resume" in err
    assert not outlived(workers_seen), "a worker outlived the run"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["resume.ids", "resume.json", "results.csv.partial"])  # obviously partial
    # Resume, with other workers and chunks: the same bytes as the run never stopped.
    assert (
        retro(str(big_claims), "--out", str(out), "--resume", "--workers", "1", "--compare-to", "latest") == 0
    )
    assert (out / "results.csv").read_bytes() == (uninterrupted / "results.csv").read_bytes()
    assert comparable(out) == comparable(uninterrupted)
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "results.csv", "summary.json"]


def test_resume_refuses_a_changed_claim_file(big_claims: Path, tmp_path: Path, capsys: Any) -> None:
    claims = tmp_path / "claims.csv"
    claims.write_bytes(big_claims.read_bytes())
    out = tmp_path / "out"
    proc = start_retro(str(claims), "--out", str(out), "--workers", "1", "--chunk-size", "200")
    wait_for_rows(proc, out / "results.csv.partial", 20_000)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=RUN_LIMIT_S)
    assert proc.returncode == 130
    data = bytearray(claims.read_bytes())
    data[2000] ^= 1  # one bit, in the part already decided
    claims.write_bytes(bytes(data))
    assert retro(str(claims), "--out", str(out), "--resume", "--workers", "1") == 1
    assert "not the file the interrupted run read" in capsys.readouterr().err
    # Other options are refused too.
    claims.write_bytes(big_claims.read_bytes())
    assert retro(str(claims), "--out", str(out), "--resume", "--workers", "1", "--format", "jsonl") == 1
    assert "output_format" in capsys.readouterr().err


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (needs root and a kernel that allows it; skipped otherwise)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or done.returncode})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_while_writing_results(small_disk: Path, tmp_path: Path, capsys: Any) -> None:
    claims = claims_file(tmp_path, 4_000)  # about 2.5 MB of JSON-lines results
    out = small_disk / "out"
    assert retro(str(claims), "--out", str(out), "--workers", "1", "--format", "jsonl") == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "partial" in err
    names = {p.name for p in out.iterdir()}
    assert not names & {"results.jsonl", "summary.json", "report.html"}
    assert "results.jsonl.partial" in names


def test_full_disk_while_writing_the_report(small_disk: Path, tmp_path: Path, capsys: Any) -> None:
    claims = claims_file(tmp_path, 300)
    sizes = tmp_path / "sizes"
    assert retro(str(claims), "--out", str(sizes), "--workers", "1") == 0
    need = {n: (sizes / n).stat().st_size for n in ("results.csv", "summary.json", "report.html")}
    assert need["report.html"] > 16_384  # room to fail inside it
    out = small_disk / "out"
    out.mkdir()
    # Leave room for the results and the summary, and half the report.
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    room = need["results.csv"] + need["summary.json"] + need["report.html"] // 2 + 3 * 4096
    (small_disk / "filler").write_bytes(b"\0" * (free - room))
    assert retro(str(claims), "--out", str(out), "--workers", "1", "--overwrite") == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "missing: report.html" in err
    assert sorted(p.name for p in out.iterdir()) == ["results.csv", "summary.json"]
    json.loads((out / "summary.json").read_text(encoding="utf-8"))  # whole, not truncated
