"""``--server HOST:PORT`` for evaluate and test: the same requests through a running
server, answered in the same JSON shape as in process.

TLS and the token can also come from the environment, so scripts need no secrets on
the command line: RXPOLICY_TOKEN, RXPOLICY_TLS_CA (CA bundle: enables TLS),
RXPOLICY_TLS_CERT and RXPOLICY_TLS_KEY (client certificate for mutual TLS).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from rxpolicy.client import (
    InvalidRequestError,
    NotFoundError,
    PolicyClient,
    PolicyClientError,
)
from rxpolicy.client.environment import SettingsError, connection_settings

from ..engine.errors import NotFound
from ..formats.cases import Case


def client_for(args: argparse.Namespace) -> PolicyClient:
    try:
        settings = connection_settings(getattr(args, "token", None))
    except SettingsError as exc:
        raise SystemExit(f"rxpolicy: {exc}") from None
    return PolicyClient(args.server, policy_id=getattr(args, "policy", None), **settings)


def _decide(client: PolicyClient, args: argparse.Namespace, request: Any, with_trace: bool) -> dict[str, Any]:
    if not isinstance(request, dict):
        raise SystemExit("rxpolicy: a request is a mapping of fact names to values")
    result: dict[str, Any]
    try:
        result = client.evaluate(
            request, as_known_on=getattr(args, "as_known_on", None), include_trace=with_trace
        ).to_dict()
    except InvalidRequestError as exc:
        result = exc.to_dict()
    except NotFoundError as exc:
        raise NotFound(exc.details) from None
    except PolicyClientError as exc:
        raise SystemExit(f"rxpolicy: server {args.server}: {exc}") from None
    return result


def remote_decide(args: argparse.Namespace, request: Any, with_trace: bool) -> dict[str, Any]:
    with client_for(args) as client:
        try:
            return _decide(client, args, request, with_trace)
        except NotFound as exc:
            raise SystemExit(f"rxpolicy: {exc}") from None


def remote_decider(args: argparse.Namespace, *, with_trace: bool = False) -> Callable[[Case], dict[str, Any]]:
    client = client_for(args)

    def decide(case: Case) -> dict[str, Any]:
        return _decide(client, args, case.request, with_trace)

    return decide
