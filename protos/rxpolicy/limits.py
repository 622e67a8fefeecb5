"""Limits of the rxpolicy.v1 contract, read by the server that enforces them and the
client that keeps within them (pure Python: no grpc, no protobuf)."""

from __future__ import annotations

# Requests in one EvaluateStream message: bounds the work of one message. A larger message
# gets one error result. (With traces, about 5 KB a decision: 1,000 of them pass
# MAX_STREAM_RESPONSE_BYTES, and the results past it are sent back as error results.)
MAX_STREAM_BATCH = 1000
# Bytes of one EvaluateStreamResponse: what a gRPC client reads by default (4 MiB), so
# grpcurl, buf curl and other languages' default channels can read every answer. Results
# past it come back as error results (RESOURCE_EXHAUSTED) to send again in a smaller message.
MAX_STREAM_RESPONSE_BYTES = 4 * 1024 * 1024
# Requests the client puts in one EvaluateStream message unless told otherwise.
CLIENT_STREAM_BATCH = 64
# A request id goes into the decision log, whose lines must stay under PIPE_BUF.
MAX_REQUEST_ID_CHARS = 256
# Integer facts travel as 64-bit signed integers (FactValue.integer).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
