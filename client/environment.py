"""Connection settings from the environment, so scripts keep secrets off the command line.

RXPOLICY_TOKEN (a bearer token), RXPOLICY_TLS_CA (a CA bundle: enables TLS),
RXPOLICY_TLS_CERT and RXPOLICY_TLS_KEY (a client certificate for mutual TLS). The files
are read here, so a path that cannot be read is reported by the variable that named it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

TOKEN = "RXPOLICY_TOKEN"
TLS_CA = "RXPOLICY_TLS_CA"
TLS_CERT = "RXPOLICY_TLS_CERT"
TLS_KEY = "RXPOLICY_TLS_KEY"


class SettingsError(ValueError):
    """A variable names a file that cannot be read."""


def _pem(environ: Mapping[str, str], name: str) -> bytes | None:
    path = environ.get(name) or None
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SettingsError(f"cannot read {name}={path}: {exc.strerror or exc}") from None


def connection_settings(token: str | None = None, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Keyword arguments for PolicyClient / AsyncPolicyClient: ``token`` if given, else the
    environment's, and the TLS files the environment names."""
    return {
        "token": token or environ.get(TOKEN) or None,
        "root_certificates": _pem(environ, TLS_CA),
        "certificate_chain": _pem(environ, TLS_CERT),
        "private_key": _pem(environ, TLS_KEY),
    }
