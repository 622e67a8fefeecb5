"""rxpolicy serve: the gRPC policy service."""

from __future__ import annotations

import argparse
import os
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import fail

TOKENS_ENV = "RXPOLICY_TOKENS"


def _int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer within [low, high]; argparse names the option on error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(
                f"must be {low}..{high}, not {value}"
                if high is not None
                else f"must be at least {low}, not {value}"
            )
        return value

    parse.__name__ = "integer"
    return parse


def _usable_cpus() -> int:
    """CPUs this process may run on (a container's or taskset's limit), not the host's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def register(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="serve decisions over gRPC (rxpolicy.v1.PolicyService, health, reflection)",
        description="Serve rxpolicy.v1.PolicyService with grpc.health.v1 and server reflection. "
        "Logs are JSON lines on standard error; the decision log (one JSON line per decision, "
        "never a fact value) goes to standard output unless --decision-log says otherwise. "
        "SIGTERM drains: health turns NOT_SERVING, new calls are refused, in-flight calls finish.",
    )
    p.add_argument("--host", default="[::]", help="address to listen on (default: all, [::])")
    p.add_argument(
        "--port", type=_int_in(0, 65535), default=50051, help="port (default 50051; 0: any free port)"
    )
    p.add_argument(
        "--policies",
        type=Path,
        metavar="DIR",
        help="directory of policy version directories (default: the packaged versions)",
    )
    p.add_argument(
        "--workers",
        type=_int_in(1),
        default=_usable_cpus(),
        metavar="N",
        help="grpc.aio server processes sharing the port (default: one per usable core, %(default)s here; "
        "several processes measured faster than one on 2 cores, see bench/grpc_bench.py)",
    )
    p.add_argument("--tls-cert", type=Path, metavar="PEM", help="server certificate chain (enables TLS)")
    p.add_argument("--tls-key", type=Path, metavar="PEM", help="server private key")
    p.add_argument(
        "--tls-client-ca", type=Path, metavar="PEM", help="CA for client certificates (enables mutual TLS)"
    )
    p.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help=f"require 'authorization: Bearer <token>'; FILE holds the accepted tokens, one a line "
        f"(or set {TOKENS_ENV}, comma-separated)",
    )
    p.add_argument(
        "--max-message-bytes", type=_int_in(1), default=4 * 1024 * 1024, help="largest request accepted"
    )
    p.add_argument(
        "--max-concurrent-rpcs",
        type=_int_in(1),
        default=1000,
        help="calls in progress at once; more: RESOURCE_EXHAUSTED",
    )
    p.add_argument(
        "--grace", type=float, default=15.0, help="seconds in-flight calls get to finish on SIGTERM"
    )
    p.add_argument(
        "--shutdown-delay",
        type=float,
        default=0.0,
        help="seconds between health NOT_SERVING and refusing new calls on SIGTERM",
    )
    p.add_argument(
        "--decision-log",
        default="-",
        metavar="PATH",
        help="decision log file (JSON lines, appended); '-' standard output (default), 'off' none",
    )
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.add_argument("--no-reflection", action="store_true", help="do not offer server reflection")
    p.set_defaults(func=run)


def _tokens(args: argparse.Namespace) -> tuple[str, ...]:
    tokens: list[str] = []
    if args.token_file is not None:
        for line in args.token_file.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                tokens.append(line)
        if not tokens:
            raise ValueError(f"{args.token_file} holds no token")
    tokens += [t.strip() for t in os.environ.get(TOKENS_ENV, "").split(",") if t.strip()]
    return tuple(tokens)


def _tls_problem(cert: Path, key: Path, client_ca: Path | None) -> str | None:
    """Why the certificate chain, key or client CA cannot be used, checked before listening
    (gRPC's own refusal comes later and reads like a port that cannot be bound)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        # A password-protected key gets an empty password (gRPC takes none): refused, not prompted.
        context.load_cert_chain(cert, key, password="")
    except ssl.SSLError as exc:
        why = (
            "the key does not match the certificate" if exc.reason == "KEY_VALUES_MISMATCH" else _reason(exc)
        )
        return f"--tls-cert {cert} / --tls-key {key}: {why}"
    if client_ca is not None:
        try:
            context.load_verify_locations(cafile=client_ca)
        except ssl.SSLError as exc:
            return f"--tls-client-ca {client_ca}: {_reason(exc)}"
    return None


def _reason(exc: ssl.SSLError) -> str:
    if exc.reason is None:  # OpenSSL could not parse it at all
        return "not a PEM certificate chain with its private key"
    return exc.reason.lower().replace("_", " ")


def run(args: argparse.Namespace) -> int:
    from ..api.logs import configure_logging
    from ..api.server import ServeConfig, TlsConfig, serve
    from .common import load_store

    configure_logging(args.log_level)
    if bool(args.tls_cert) != bool(args.tls_key):
        fail("--tls-cert and --tls-key go together")
        return 2
    if args.tls_client_ca and not args.tls_cert:
        fail("--tls-client-ca needs --tls-cert and --tls-key")
        return 2
    try:
        tokens = _tokens(args)
        tls = TlsConfig.from_files(args.tls_cert, args.tls_key, args.tls_client_ca) if args.tls_cert else None
    except (OSError, ValueError) as exc:
        fail(str(exc))
        return 2
    if args.tls_cert:
        problem = _tls_problem(args.tls_cert, args.tls_key, args.tls_client_ca)
        if problem is not None:
            fail(f"TLS certificate or key invalid: {problem}")
            return 1
    store = load_store(args)
    if store is None:
        return 1
    config = ServeConfig(
        host=args.host,
        port=args.port,
        workers=args.workers,
        tls=tls,
        tokens=tokens,
        max_receive_bytes=args.max_message_bytes,
        max_concurrent_rpcs=args.max_concurrent_rpcs,
        grace=args.grace,
        shutdown_delay=args.shutdown_delay,
        decision_log=None if args.decision_log == "off" else args.decision_log,
        reflection=not args.no_reflection,
    )
    return serve(store, config)
