"""rxpolicy serve: the gRPC policy service."""

from __future__ import annotations

import argparse
import os
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..api.auth import TOKENS_ENV, read_tokens
from ..api.config import DEFAULTS
from . import environment
from .common import add_default_policy, fail

COMMAND = "serve"


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


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds, at least 0, not {text}")
    return value


_seconds.__name__ = "seconds"


def register(sub: Any) -> None:
    d = DEFAULTS
    p = sub.add_parser(
        "serve",
        help="serve decisions over gRPC (rxpolicy.v1.PolicyService, health, reflection)",
        description="Serve rxpolicy.v1.PolicyService with grpc.health.v1 and server reflection, in "
        "one process (run several servers for more capacity). Only published versions "
        "(in versions.lock) decide unless --allow-drafts. Logs are JSON lines on standard error; "
        "the decision log (one JSON line per decision, never a fact value) goes to standard output "
        "unless --decision-log says otherwise. SIGHUP reloads the policy directory; SIGTERM "
        "drains: health NOT_SERVING, --shutdown-delay, then new calls are refused with "
        "UNAVAILABLE while admitted calls finish within --grace. Every option can also be set "
        "by an environment variable, RXPOLICY_SERVE_ and the option's name in capitals "
        "(--max-message-bytes: RXPOLICY_SERVE_MAX_MESSAGE_BYTES; switches take 1/0, true/false, "
        "yes/no, on/off); a flag given wins over its variable.",
    )
    p.add_argument("--host", default=d.host, help=f"address to listen on (default: all, {d.host})")
    p.add_argument(
        "--port", type=_int_in(0, 65535), default=d.port, help=f"port (default {d.port}; 0: any free port)"
    )
    p.add_argument(
        "--policies",
        type=Path,
        metavar="DIR",
        help="directory of policy version directories (default: the packaged versions)",
    )
    add_default_policy(p)
    p.add_argument(
        "--allow-drafts",
        action="store_true",
        help="serve version files not in versions.lock too; every decision under one says draft",
    )
    p.add_argument(
        "--watch",
        action="store_true",
        help="reload when a file under the policy directory changes (as SIGHUP does)",
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
        "--max-message-bytes", type=_int_in(1), default=d.max_receive_bytes, help="largest request accepted"
    )
    p.add_argument(
        "--max-concurrent-rpcs",
        type=_int_in(1),
        default=d.max_concurrent_rpcs,
        help=f"policy-service calls being decided at once (default {d.max_concurrent_rpcs}); more get "
        "RESOURCE_EXHAUSTED; health checks never count",
    )
    p.add_argument(
        "--message-timeout",
        type=_seconds,
        default=d.message_timeout,
        metavar="S",
        help=f"seconds a call may wait for its request message (default {d.message_timeout:g})",
    )
    p.add_argument(
        "--stream-idle-timeout",
        type=_seconds,
        default=d.stream_idle_timeout,
        metavar="S",
        help=f"seconds a stream may wait for its next message (default {d.stream_idle_timeout:g})",
    )
    p.add_argument(
        "--grace",
        type=_seconds,
        default=d.grace,
        help=f"seconds admitted calls get to finish on SIGTERM (default {d.grace:g})",
    )
    p.add_argument(
        "--shutdown-delay",
        type=_seconds,
        default=d.shutdown_delay,
        help=f"seconds between health NOT_SERVING and refusing new calls on SIGTERM (default "
        f"{d.shutdown_delay:g}: load balancers and clients' health checks move away first)",
    )
    p.add_argument(
        "--decision-log",
        default=d.decision_log,
        metavar="PATH",
        help="decision log file (JSON lines, appended, created 0600); '-' standard output (default), "
        "'off' none",
    )
    p.add_argument(
        "--decision-log-buffer",
        type=_int_in(1),
        default=d.decision_log_buffer,
        metavar="N",
        help=f"records that may wait for a slow decision-log sink before new calls are refused "
        f"(default {d.decision_log_buffer})",
    )
    p.add_argument(
        "--access-log",
        default=d.access_log,
        metavar="PATH",
        help="access log, one JSON line per call (method, status, latency, peer, request id; refusals "
        "at most one line per cause a second): '-' standard error with the other logs (default), "
        "a file (appended, created 0600), 'off' none",
    )
    p.add_argument(
        "--metrics-port",
        type=_int_in(0, 65535),
        metavar="PORT",
        help="serve Prometheus metrics over HTTP on this port (default: no metrics; 0: any free port, "
        "named in the 'serving' log line)",
    )
    p.add_argument(
        "--metrics-host",
        metavar="ADDR",
        help="address the metrics listen on (default: the --host address)",
    )
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.add_argument("--no-reflection", action="store_true", help="do not offer server reflection")
    environment.mark_defaults(COMMAND, p)
    p.set_defaults(func=run, serve_options=environment.options(p))


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
    from ..api.logs import configure_logging, event
    from ..api.policy_set import DraftsRefused, check_published
    from ..api.safety import insecure_settings
    from ..api.server import ServeConfig, TlsConfig, serve
    from .common import load_store

    try:
        environment.apply(COMMAND, args, args.serve_options, os.environ)
    except environment.EnvironmentValueError as exc:
        fail(str(exc))
        return 2
    configure_logging(args.log_level)
    if bool(args.tls_cert) != bool(args.tls_key):
        fail("--tls-cert and --tls-key go together")
        return 2
    if args.tls_client_ca and not args.tls_cert:
        fail("--tls-client-ca needs --tls-cert and --tls-key")
        return 2
    try:
        tokens = read_tokens(args.token_file)
        tls = TlsConfig.from_files(args.tls_cert, args.tls_key, args.tls_client_ca) if args.tls_cert else None
    except (OSError, ValueError) as exc:
        fail(str(exc))
        return 2
    if args.tls_cert:
        problem = _tls_problem(args.tls_cert, args.tls_key, args.tls_client_ca)
        if problem is not None:
            fail(f"TLS certificate or key invalid: {problem}")
            return 1
    insecure: list[str] = []
    for finding in insecure_settings(
        host=args.host,
        tls=tls is not None,
        mutual_tls=tls is not None and tls.client_ca is not None,
        tokens=bool(tokens),
        tls_key=args.tls_key,
        token_file=args.token_file,
    ):
        event(f"INSECURE: {finding.message}", 30, problem=finding.problem, fix=finding.fix)
        insecure.append(finding.problem)
    store = load_store(args)
    if store is None:
        return 1
    try:
        check_published(store, args.allow_drafts)
    except DraftsRefused as exc:
        fail(str(exc))
        return 1
    config = ServeConfig(
        host=args.host,
        port=args.port,
        tls=tls,
        tokens=tokens,
        max_receive_bytes=args.max_message_bytes,
        max_concurrent_rpcs=args.max_concurrent_rpcs,
        message_timeout=args.message_timeout,
        stream_idle_timeout=args.stream_idle_timeout,
        grace=args.grace,
        shutdown_delay=args.shutdown_delay,
        decision_log=None if args.decision_log == "off" else args.decision_log,
        decision_log_buffer=args.decision_log_buffer,
        reflection=not args.no_reflection,
        allow_drafts=args.allow_drafts,
        watch=args.watch,
        access_log=None if args.access_log == "off" else args.access_log,
        metrics_port=args.metrics_port,
        metrics_host=args.metrics_host,
        insecure=tuple(insecure),
    )
    return serve(store, config)
