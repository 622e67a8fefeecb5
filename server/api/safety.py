"""Settings that leave a server open, each named before it starts serving.

The server warns (a ``warning`` log line per problem, its ``insecure`` list in the
``serving`` line) rather than refusing to start: each setting is right somewhere (TLS ended
by a sidecar or a service mesh in front of plaintext, secrets mounted 0644 by an
orchestrator into a container no one else enters, a wildcard address inside a container
whose network is the boundary), so a refusal would only teach operators an override flag.
docs/deploy.md says how to make each warning go away.
"""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import attrs

WILDCARD_HOSTS = frozenset({"", "*", "0.0.0.0", "::", "[::]"})


@attrs.frozen
class Insecure:
    problem: str  # a short stable key, for the log line and the tests
    message: str
    fix: str


def is_wildcard(host: str) -> bool:
    return host.strip() in WILDCARD_HOSTS


def is_loopback(host: str) -> bool:
    bare = host.strip().strip("[]")
    if bare == "localhost":
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def insecure_settings(
    *,
    host: str,
    tls: bool,
    mutual_tls: bool,
    tokens: bool,
    tls_key: Path | None,
    token_file: Path | None,
) -> list[Insecure]:
    """What is open about these settings, in a stable order (empty: nothing)."""
    found: list[Insecure] = []
    # On a loopback address the token never crosses a network (TLS ended by a sidecar).
    if tokens and not tls and not is_loopback(host):
        found.append(
            Insecure(
                "tokens_over_plaintext",
                "bearer tokens are accepted over plaintext: anyone on the network path can read "
                "a token and call as its holder",
                "give --tls-cert and --tls-key, or end TLS in a proxy in front of this server "
                "and listen on a loopback address (--host 127.0.0.1)",
            )
        )
    for option, path in (("--tls-key", tls_key), ("--token-file", token_file)):
        if path is None:
            continue
        try:
            mode = path.stat().st_mode
        except OSError:
            continue  # reading it already failed, with its own message
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            found.append(
                Insecure(
                    "secret_file_readable",
                    f"{option} {path} is readable or writable by group or others "
                    f"(mode {stat.S_IMODE(mode):04o}): other accounts on this host can take it",
                    f"chmod 600 {path} (an orchestrator's secret mount: set its mode to 0400 or 0600)",
                )
            )
    if is_wildcard(host) and not tokens and not mutual_tls:
        found.append(
            Insecure(
                "wildcard_without_auth",
                f"listening on every address ({host or 'all'}) with no authentication: anyone who "
                "can reach this host can ask for decisions",
                "give --token-file (or RXPOLICY_TOKENS) or --tls-client-ca, or listen on one "
                "address (--host 127.0.0.1, or the interface a balancer reaches)",
            )
        )
    return found
