"""Real servers for the gRPC tests: ``rxpolicy serve`` in a subprocess on an ephemeral
port (never a mock), its JSON logs and decision log kept for the assertions."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
CASES_DIR = REPO.parent / "shared" / "cases"
START_LIMIT_S = 60.0  # a bound against hangs, not a timed assertion

# A request every version from 2021-05-11 approves (BVd, second line), for tests that
# need one valid request.
VALID = {
    "service_date": "2025-06-02",
    "line_of_business": "medicaid",
    "request_type": "initial",
    "member_age": 67,
    "diagnosis": "multiple_myeloma",
    "prescriber_specialty": "hematology",
    "disease_status": "relapsed",
    "combination": ["Velcade", "dexamethasone"],
    "prior_therapies": [["lenalidomide", "dexamethasone"]],
    "product": "selinexor",
    "doses": [{"tablets": 5, "strength_mg": 20}],
}


class ServerProcess:
    """``rxpolicy serve --port 0`` in a subprocess; the port comes from its 'serving' log line.

    No shutdown delay unless ``args`` give one: nothing balances load in front of a test
    server, and each stop would wait for nothing."""

    def __init__(
        self,
        tmp: Path,
        *args: str,
        env: dict[str, str] | None = None,
        port: int = 0,
        decision_log: Path | None = None,
        stdout: Any = subprocess.DEVNULL,
    ) -> None:
        self.decision_log = decision_log or tmp / f"decisions-{os.getpid()}-{time.monotonic_ns()}.jsonl"
        if "--shutdown-delay" not in args:
            args = ("--shutdown-delay", "0", *args)
        if "--decision-log" not in args:
            args = ("--decision-log", str(self.decision_log), *args)
        cmd = [
            sys.executable,
            "-c",
            "import sys; from rxpolicy.server.cli import main; sys.exit(main(sys.argv[1:]))",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--grace",
            "30",
            *args,
        ]
        self.proc = subprocess.Popen(
            cmd,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.log_lines: list[str] = []
        self._serving = threading.Event()
        self.port = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._serving.wait(START_LIMIT_S) or self.port == 0:
            self.stop()
            raise RuntimeError("server did not start:\n" + "\n".join(self.log_lines))

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log_lines.append(line.rstrip("\n"))
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("message") == "serving" and not self._serving.is_set():
                self.port = int(record["port"])
                self._serving.set()
        self._serving.set()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def logs(self) -> list[dict[str, Any]]:
        out = []
        for line in list(self.log_lines):
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"unparsed": line})
        return out

    def decisions(self) -> list[dict[str, Any]]:
        if not self.decision_log.exists():
            return []
        return [json.loads(line) for line in self.decision_log.read_text().splitlines() if line]

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 60.0) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(10)
        return code

    def stop(self) -> int:
        self.terminate()
        try:
            return self.wait()
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def running_server(tmp_path_factory: pytest.TempPathFactory, *args: str) -> Iterator[ServerProcess]:
    """For a module's ``server`` fixture: one server for the module, stopped after it."""
    srv = ServerProcess(tmp_path_factory.mktemp("server"), *args)
    yield srv
    srv.stop()


def json_ready(value: Any) -> Any:
    """YAML's dates as ISO text, so requests compare and serialise plainly."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    return value


def all_cases() -> list[Any]:
    from rxpolicy.server.formats.cases import iter_case_files, load_cases

    if not CASES_DIR.is_dir():
        pytest.skip(f"acceptance cases not found at {CASES_DIR}", allow_module_level=True)
    return [c for f in iter_case_files([CASES_DIR]) for c in load_cases(f)]


def local_json(store: Any, request: Any, *, with_trace: bool = False) -> dict[str, Any]:
    from rxpolicy.server.engine.errors import InvalidRequest
    from rxpolicy.server.formats.decisions import decision_json, error_json

    try:
        return decision_json(store.decide(request, with_trace=with_trace))
    except InvalidRequest as exc:
        return error_json(exc)


def canonical(result: dict[str, Any]) -> str:
    return json.dumps(result, sort_keys=True, default=str)
