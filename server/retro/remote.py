"""Deciding through a running server: each chunk goes over one EvaluateStream.

Results come back as the client's typed results, the same types the engine returns
(``rxpolicy.decisions``), so rows are built exactly as in process. A per-claim
error (invalid facts) is a result like any other; losing the server is not, and
stops the run instead of turning every later claim into an error row. Each chunk's
stream has a deadline, so a server that accepts the call and never answers stops the
run the same way instead of hanging it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from rxpolicy.client import PolicyClient, PolicyClientError
from rxpolicy.client import Request as ClientRequest
from rxpolicy.client.environment import connection_settings
from rxpolicy.decisions import Result

from .deciders import FatalDeciderError, Request

# Claims per stream message: large enough that per-message overhead vanishes, small
# enough to stay far below the server's 4 MiB message limit (a claim is < 1 KiB).
STREAM_BATCH = 256
# The deadline of one chunk's stream, unless --server-timeout gives one: generous (a
# server decides thousands of claims a second), so only a server that stopped answering
# meets it, and a run never hangs on one that accepts and then says nothing.
MIN_CHUNK_SECONDS = 60.0
SECONDS_PER_CLAIM = 0.05


def chunk_deadline(claims: int, timeout: float | None = None) -> float:
    """Seconds one stream of ``claims`` claims may take: ``timeout`` when given, else
    SECONDS_PER_CLAIM per claim, at least MIN_CHUNK_SECONDS."""
    if timeout is not None:
        return timeout
    return max(MIN_CHUNK_SECONDS, claims * SECONDS_PER_CLAIM)


class RemoteDecider:
    def __init__(
        self,
        target: str,
        *,
        token: str | None,
        policy_id: str | None,
        as_known_on: dt.date | None,
        compare_to: str | None,
        timeout: float | None = None,
    ) -> None:
        """``timeout``: the deadline of each chunk's stream (None: ``chunk_deadline``)."""
        self._target = target
        self._timeout = timeout
        self._compare_to = compare_to  # an exact semver, resolved once by the pipeline
        self._as_known_on = as_known_on
        # TLS and the token as `rxpolicy evaluate --server` takes them.
        self._client = PolicyClient(target, policy_id=policy_id, timeout=None, **connection_settings(token))

    def decide_many(self, requests: Sequence[Request], *, compare: bool) -> list[Result]:
        items = [ClientRequest(facts=facts, request_id=claim_id) for claim_id, facts in requests]
        deadline = chunk_deadline(len(items), self._timeout)
        try:
            return list(
                self._client.evaluate_many(
                    items,
                    as_known_on=self._as_known_on,
                    version=self._compare_to if compare else None,
                    batch_size=STREAM_BATCH,
                    timeout=deadline,
                )
            )
        except PolicyClientError as exc:
            # The status code and the server's words only: never a claim's facts.
            if exc.code.name == "DEADLINE_EXCEEDED":
                raise FatalDeciderError(
                    f"server {self._target}: DEADLINE_EXCEEDED: no complete answer for a chunk of "
                    f"{len(items)} claims within {deadline:g} s; the server is not answering "
                    "(or is far slower than expected: see --server-timeout)"
                ) from None
            raise FatalDeciderError(f"server {self._target}: {exc.code.name}: {exc.details}") from None

    def close(self) -> None:
        self._client.close()
