"""Optional bearer-token authentication, checked on a call's metadata alone (admission.py
refuses a call without a valid token before reading any of its messages).

Calls without ``authorization: Bearer <token>`` naming one of the configured tokens
get UNAUTHENTICATED. Health checks stay open, so load balancers and orchestrators
(grpc_health_probe, Kubernetes' gRPC probes) can probe a server without holding a token;
so does server reflection (reflection.py), which serves the public contract's descriptors
only, so grpcurl and buf curl reach health without one.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .reflection import OPEN_METHODS as REFLECTION_METHODS

TOKENS_ENV = "RXPOLICY_TOKENS"
HEALTH_METHODS = frozenset(
    {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch", "/grpc.health.v1.Health/List"}
)
OPEN_METHODS = HEALTH_METHODS | REFLECTION_METHODS
DENIED = "missing or invalid bearer token (send metadata 'authorization: Bearer <token>')"


class TokenCheck:
    def __init__(self, tokens: Iterable[str]) -> None:
        self._tokens = tuple(t.encode() for t in tokens if t)
        if not self._tokens:
            raise ValueError("at least one non-empty token is required")

    def allowed(self, metadata: Any) -> bool:
        for key, value in metadata or ():
            if key != "authorization":
                continue
            text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
            scheme, _, token = text.partition(" ")
            if scheme.lower() != "bearer":
                return False
            given = token.strip().encode()
            # Compare with every token, always, so timing says nothing about which matched.
            return sum(hmac.compare_digest(given, t) for t in self._tokens) > 0
        return False


def read_tokens(token_file: Path | None, environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """The accepted tokens: FILE's lines (blank lines and # comments skipped), then the
    comma-separated RXPOLICY_TOKENS. Raises ValueError for a file that holds none."""
    tokens: list[str] = []
    if token_file is not None:
        for line in token_file.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                tokens.append(line)
        if not tokens:
            raise ValueError(f"{token_file} holds no token")
    tokens += [t.strip() for t in environ.get(TOKENS_ENV, "").split(",") if t.strip()]
    return tuple(tokens)
