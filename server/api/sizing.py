"""One EvaluateStream response within what a default gRPC client reads (4 MiB,
rxpolicy.limits.MAX_STREAM_RESPONSE_BYTES).

A message of 1,000 requests with traces answers with about 5 MB. Splitting it into
several responses would break the contract's one response per request message, so the
results that fit are sent, in order, and each one after them is replaced by an error
result (RESOURCE_EXHAUSTED, reason RESPONSE_TOO_LARGE) that says to send it again in a
smaller message: still one result per request, every request id answered. Their
decision-log records say ``"delivered": false``.
"""

from __future__ import annotations

from collections.abc import Sequence

from google.rpc import code_pb2
from rxpolicy.limits import MAX_STREAM_RESPONSE_BYTES
from rxpolicy.v1 import decision_pb2
from rxpolicy.v1 import policy_service_pb2 as pb

from .logs import LogRecord, undelivered

MAX_RESPONSE_BYTES = MAX_STREAM_RESPONSE_BYTES
RESPONSE_TOO_LARGE = "RESPONSE_TOO_LARGE"
TOO_LARGE = (
    f"not sent: this message's results passed {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB, what a "
    "default gRPC client reads; send this request again in a smaller message (fewer requests, "
    "or without include_trace)"
)


def _framed(size: int) -> int:
    """Bytes of one item of a repeated message field: tag, length, body."""
    return 1 + max(1, (size.bit_length() + 6) // 7) + size


def too_large(request_id: str) -> pb.EvaluateResult:
    return pb.EvaluateResult(
        request_id=request_id,
        error=decision_pb2.RequestError(
            code=code_pb2.RESOURCE_EXHAUSTED, message=TOO_LARGE, reason=RESPONSE_TOO_LARGE
        ),
    )


def fitted(results: Sequence[pb.EvaluateResult], limit: int = MAX_RESPONSE_BYTES) -> int:
    """How many of ``results``, from the first, can be sent as they are when each one
    after them is a ``too_large`` result, within ``limit`` bytes in all."""
    sizes = [_framed(r.ByteSize()) for r in results]
    error_sizes = [_framed(too_large(r.request_id).ByteSize()) for r in results]
    rest = sum(error_sizes)
    used = 0
    for kept, (size, error) in enumerate(zip(sizes, error_sizes, strict=True)):
        rest -= error
        if used + size + rest > limit:
            return kept
        used += size
    return len(results)


def withhold_overflow(response: pb.EvaluateStreamResponse, log: list[LogRecord]) -> None:
    """Replace the results past ``MAX_RESPONSE_BYTES`` with ``too_large`` ones, in place,
    marking their records in ``log`` (the batch's decision-log records) undelivered."""
    results = response.results
    kept = fitted(results)
    withheld = {results[i].request_id for i in range(kept, len(results))}
    for i in range(kept, len(results)):
        results[i].CopyFrom(too_large(results[i].request_id))
    # One record per result, in order (the servicer's way); by request id otherwise.
    aligned = len(log) == len(results)
    for i, record in enumerate(log):
        if (i >= kept) if aligned else record.get("request_id") in withheld:
            log[i] = undelivered(record)
