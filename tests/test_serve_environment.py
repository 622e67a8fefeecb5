"""Every ``rxpolicy serve`` option from its RXPOLICY_SERVE_* variable: walked over the real
parser, so an option added without a sample here (or a row in docs/deploy.md) fails."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from grpc_fixtures import REPO, ServerProcess
from rxpolicy.server.cli import build_parser, environment
from rxpolicy.server.cli.serve import COMMAND

# For each option: a variable's text and the value the option then has (never its default).
SAMPLES: dict[str, tuple[str, Any]] = {
    "--host": ("127.0.0.2", "127.0.0.2"),
    "--port": ("6001", 6001),
    "--policies": ("/srv/policies", Path("/srv/policies")),
    "--default-policy": ("CP.PHAR.431", "CP.PHAR.431"),
    "--allow-drafts": ("true", True),
    "--watch": ("1", True),
    "--tls-cert": ("/etc/rx/cert.pem", Path("/etc/rx/cert.pem")),
    "--tls-key": ("/etc/rx/key.pem", Path("/etc/rx/key.pem")),
    "--tls-client-ca": ("/etc/rx/ca.pem", Path("/etc/rx/ca.pem")),
    "--token-file": ("/etc/rx/tokens", Path("/etc/rx/tokens")),
    "--max-message-bytes": ("1024", 1024),
    "--max-concurrent-rpcs": ("7", 7),
    "--message-timeout": ("2.5", 2.5),
    "--stream-idle-timeout": ("9", 9.0),
    "--grace": ("3", 3.0),
    "--shutdown-delay": ("0.5", 0.5),
    "--decision-log": ("/var/log/rx/decisions.jsonl", "/var/log/rx/decisions.jsonl"),
    "--decision-log-buffer": ("50", 50),
    "--access-log": ("/var/log/rx/access.jsonl", "/var/log/rx/access.jsonl"),
    "--metrics-port": ("9464", 9464),
    "--metrics-host": ("10.0.0.5", "10.0.0.5"),
    "--log-level": ("debug", "debug"),
    "--no-reflection": ("yes", True),
}


def _serve_parser() -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    serve: argparse.ArgumentParser = sub.choices[COMMAND]
    return serve


def _resolved(argv: list[str], environ: dict[str, str]) -> argparse.Namespace:
    args = build_parser().parse_args([COMMAND, *argv])
    environment.apply(COMMAND, args, args.serve_options, environ)
    return args


def _flags() -> list[str]:
    return [environment.long_flag(a) for a in environment.options(_serve_parser())]


def test_every_serve_option_has_a_sample_here() -> None:
    flags = _flags()
    assert "--port" in flags and "--metrics-port" in flags  # the walk sees the real options
    missing = sorted(set(flags) - set(SAMPLES))
    assert not missing, f"add a sample (variable text, value) for {missing} to SAMPLES"
    assert not set(SAMPLES) - set(flags), "a sample for an option serve no longer has"


@pytest.mark.parametrize("flag", sorted(SAMPLES))
def test_each_option_is_set_by_its_variable_and_a_flag_wins(flag: str) -> None:
    action = next(a for a in environment.options(_serve_parser()) if environment.long_flag(a) == flag)
    name = environment.variable(COMMAND, flag)
    assert name == "RXPOLICY_SERVE_" + flag[2:].upper().replace("-", "_")
    text, value = SAMPLES[flag]
    default = getattr(_resolved([], {}), action.dest)
    assert value != default, "a sample must differ from the default, or it proves nothing"
    assert getattr(_resolved([], {name: text}), action.dest) == value
    assert getattr(_resolved([], {name: ""}), action.dest) == default  # empty: unset
    # The flag given on the command line wins over the variable.
    if action.nargs == 0:
        assert getattr(_resolved([flag], {name: "false"}), action.dest) is True
        assert getattr(_resolved([], {name: "off"}), action.dest) is False
    else:
        assert getattr(_resolved([flag, text], {}), action.dest) == value
        other = "info" if flag == "--log-level" else ("off" if flag.endswith("log") else "8")
        assert getattr(_resolved([flag, other], {name: text}), action.dest) != value
    assert name in action.help  # --help names the variable


def test_docs_deploy_has_one_row_per_option() -> None:
    text = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `--")]
    for flag in _flags():
        name = environment.variable(COMMAND, flag)
        [row] = [r for r in rows if r.startswith(f"| `{flag}`")]
        assert f"`{name}`" in row, row
    assert len(rows) == len(_flags())


def _serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "import sys; from rxpolicy.server.cli import main; sys.exit(main(sys.argv[1:]))"
    # --port 0 and loopback: should a case start a server by mistake, it binds nothing in use.
    return subprocess.run(
        [sys.executable, "-c", code, COMMAND, "--host", "127.0.0.1", "--port", "0"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,  # every case here exits at once; a bound against a server left running
    )


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("RXPOLICY_SERVE_METRICS_PORT", "70000", "must be 0..65535, not 70000"),
        ("RXPOLICY_SERVE_MAX_CONCURRENT_RPCS", "many", "not an integer: 'many'"),
        ("RXPOLICY_SERVE_GRACE", "-1", "at least 0"),
        ("RXPOLICY_SERVE_WATCH", "maybe", "expected 1, true, yes or on"),
        ("RXPOLICY_SERVE_LOG_LEVEL", "loud", "choose one of debug, info, warning, error"),
    ],
)
def test_an_invalid_variable_is_refused_naming_it(name: str, text: str, says: str) -> None:
    out = _serve({name: text})
    assert out.returncode == 2
    assert f"{name}='{text}'" in out.stderr and says in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_a_server_takes_its_settings_from_the_environment(tmp_path: Path) -> None:
    access = tmp_path / "access.jsonl"
    env = {
        "RXPOLICY_SERVE_MAX_CONCURRENT_RPCS": "7",
        "RXPOLICY_SERVE_METRICS_PORT": "0",
        "RXPOLICY_SERVE_ACCESS_LOG": str(access),
        "RXPOLICY_SERVE_GRACE": "5",  # the fixture's --grace 30 wins
    }
    srv = ServerProcess(tmp_path, env=env)
    try:
        serving = next(r for r in srv.logs() if r.get("message") == "serving")
    finally:
        assert srv.stop() == 0
    assert serving["max_concurrent_rpcs"] == 7
    assert isinstance(serving["metrics_port"], int)
    assert serving["access_log"] == str(access) and access.exists()
    assert serving["grace_s"] == 30
