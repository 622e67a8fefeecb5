"""The rxpolicy.v1.PolicyService servicer (grpc.aio).

Each handler converts at the edge (convert.py), asks the version store, and maps
engine errors to statuses (status.py). Any other exception is a bug: it is logged
by type and stack with the request id, and the caller gets INTERNAL with the id
only, never a stack trace or an exception message. A call that is already over (its
deadline passed, its caller gone) is not answered and not logged as an error.

Semantic diffs run in child processes (diff_process.py): z3 is not thread-safe.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import itertools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
from google.protobuf import message_factory
from google.protobuf.message import DecodeError, Message
from rxpolicy import limits, paths
from rxpolicy.v1 import policy_service_pb2 as pb

from ..engine.decision import Decision
from ..engine.errors import FieldViolation, InvalidRequest, NotFound
from ..engine.store import VersionStore
from . import convert, sizing, status
from .admission import CallEnded
from .diff_process import DiffFailed, DiffJob, DiffTimeout, run_semantic_diff
from .logs import DecisionLog, LogRecord, event

if TYPE_CHECKING:  # the diff machinery is imported by the first diff, not at server start
    from ..analysis.diff.document import DiffDocument

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["PolicyService"].full_name

_REQUEST_FIELDS = frozenset(
    {"request", "requests", "request_id", "policy_id", "as_known_on", "facts", "version", "in_force_on"}
)
# The contract's limits (rxpolicy.limits), which the client reads too.
MAX_REQUEST_ID_CHARS = limits.MAX_REQUEST_ID_CHARS
MAX_STREAM_BATCH = limits.MAX_STREAM_BATCH
# Decided between yields to the event loop (about 10 ms of work with traces), so other
# callers and health checks are served during a long batch.
STREAM_SLICE = 50
# Semantic diffs running at once in one server process (each in its own child process).
SEMANTIC_DIFFS = 2
_DIFF_FORMATS = {
    pb.DIFF_FORMAT_UNSPECIFIED: "text",
    pb.DIFF_FORMAT_TEXT: "text",
    pb.DIFF_FORMAT_MARKDOWN: "markdown",
    pb.DIFF_FORMAT_JSON: "json",
    pb.DIFF_FORMAT_HTML: "html",
}

Resp = TypeVar("Resp")


class Undecodable:
    """Stands in for a request whose bytes are not a valid message of its type, so the
    handler answers INVALID_ARGUMENT instead of gRPC's generic INTERNAL."""


UNDECODABLE = Undecodable()


def safe_deserializer(message_type: type[Message]) -> Callable[[bytes], Any]:
    def deserialize(data: bytes) -> Any:
        try:
            return message_type.FromString(data)
        except (DecodeError, RuntimeError, ValueError):
            return UNDECODABLE

    return deserialize


class _RequestIds:
    """Ids for requests that came without one: unique per process, cheap to make."""

    def __init__(self) -> None:
        self._prefix = f"rx-{os.getpid():x}-{os.urandom(4).hex()}-"
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter)}"


class _CallOver(Exception):
    """The RPC already ended (deadline passed, caller cancelled): nobody to answer."""


class PolicyServicer:
    def __init__(
        self, store: VersionStore, decision_log: DecisionLog, *, semantic_diffs: int = SEMANTIC_DIFFS
    ) -> None:
        self.decision_log = decision_log
        self._new_id = _RequestIds()
        self._semantic_slots = asyncio.Semaphore(max(1, semantic_diffs))
        self.replace_store(store)

    def replace_store(self, store: VersionStore) -> None:
        """Serve another version set from the next call on. Each call reads ``self.store``
        once and keeps what it read, so a call in flight finishes under its own set; the
        event loop runs no call between these two assignments."""
        self._known_fields = _REQUEST_FIELDS | {
            name for pid in store.policy_ids for v in store.versions(pid) for name in v.facts
        }
        self.store = store

    # ------------------------------------------------------------ deciding

    def _request_id(self, request: pb.EvaluateRequest) -> str:
        """The caller's id, or one of ours when it sent none or one too long to log."""
        rid = request.request_id
        return rid if 0 < len(rid) <= MAX_REQUEST_ID_CHARS else self._new_id()

    def _decide(self, store: VersionStore, request: pb.EvaluateRequest) -> Decision:
        if len(request.request_id) > MAX_REQUEST_ID_CHARS:
            raise InvalidRequest(
                [
                    FieldViolation(
                        "request_id",
                        f"is {len(request.request_id)} characters long; at most {MAX_REQUEST_ID_CHARS}",
                    )
                ]
            )
        if request.HasField("version") and not request.version.strip():
            raise InvalidRequest(
                [FieldViolation("version", "is empty: give a semantic version, a date or 'latest'")]
            )
        as_known_on: dt.date | None = None
        if request.HasField("as_known_on"):
            as_known_on = convert.parse_request_date("as_known_on", request.as_known_on)
        policy_id = request.policy_id or None
        version = store.resolve(request.version, policy_id) if request.HasField("version") else None
        try:
            return store.decide(
                convert.facts_mapping(request.facts),
                policy_id=policy_id,
                as_known_on=as_known_on,
                with_trace=request.include_trace,
                version=version,
            )
        except InvalidRequest as exc:
            # The engine names facts; the caller is told where in the request each was sent.
            raise status.on_the_wire(exc, request.facts) from None

    def _loggable_fields(self, violations: tuple[FieldViolation, ...]) -> list[str]:
        # An unknown fact's name is the caller's text; it might be anything, so not logged.
        names = (paths.field_of(v.field) for v in violations)
        return [name if name in self._known_fields else "(unknown field)" for name in names]

    def _decide_logged(
        self, store: VersionStore, request: pb.EvaluateRequest, rid: str, log: list[LogRecord]
    ) -> Decision:
        """Decide, adding the decision-log record; engine errors are recorded and re-raised."""
        try:
            decision = self._decide(store, request)
        except InvalidRequest as exc:
            log.append(
                DecisionLog.error_record(rid, "INVALID_ARGUMENT", self._loggable_fields(exc.violations))
            )
            raise
        except NotFound:
            log.append(DecisionLog.error_record(rid, "NOT_FOUND"))
            raise
        log.append(DecisionLog.decision_record(rid, decision))
        return decision

    def _answer(
        self, out: pb.EvaluateResult, store: VersionStore, request: pb.EvaluateRequest, log: list[LogRecord]
    ) -> None:
        """One request of a stream, answered in ``out`` (a new result of the response, filled
        in place): a decision or an error result, never an exception."""
        rid = self._request_id(request)
        out.request_id = rid
        try:
            decision = self._decide_logged(store, request, rid, log)
        except InvalidRequest as exc:
            out.error.CopyFrom(status.request_error(exc))
            return
        except NotFound as exc:
            out.error.CopyFrom(status.not_found_error(exc))
            return
        except Exception:
            event("internal error deciding a stream item", 40, request_id=rid, exc_info=True)
            log.append(DecisionLog.error_record(rid, "INTERNAL"))
            out.error.code = 13
            out.error.message = f"internal error (request id {rid})"
            return
        convert.decision_message(decision, into=out.decision)

    def _log_when_done(self, context: Any, records: list[LogRecord]) -> None:
        """Write the call's records once it has ended, saying so when the caller never got
        its answer (cancelled, or past its deadline)."""

        def done(ended: Any) -> None:
            self.decision_log.write(records, delivered=not ended.cancelled())

        context.add_done_callback(done)

    async def Evaluate(self, request: pb.EvaluateRequest, context: Any) -> pb.EvaluateResponse:
        store = self.store
        rid = self._request_id(request)
        log: list[LogRecord] = []
        try:
            decision = self._decide_logged(store, request, rid, log)
        finally:
            self._log_when_done(context, log)
        # The digest in the answer itself, not in metadata: a separate send of initial
        # metadata measured about 60 us of server CPU a call (bench/grpc_bench.py).
        response = pb.EvaluateResponse(request_id=rid, policy_set_digest=store.policy_set_digest)
        convert.decision_message(decision, into=response.decision)
        return response

    async def EvaluateStream(
        self, requests: AsyncIterator[pb.EvaluateStreamRequest | Undecodable], context: Any
    ) -> AsyncIterator[pb.EvaluateStreamResponse]:
        store = self.store  # one set for the whole stream
        async for batch in requests:
            log: list[LogRecord] = []
            delivered = False
            try:
                response = await self._batch(store, batch, log)
                yield response
                delivered = True
            finally:
                # Decided, answered or not: every record is kept, marked when undelivered.
                self.decision_log.write(log, delivered=delivered)
            await asyncio.sleep(0)

    async def _batch(
        self, store: VersionStore, batch: pb.EvaluateStreamRequest | Undecodable, log: list[LogRecord]
    ) -> pb.EvaluateStreamResponse:
        if isinstance(batch, Undecodable):
            rid = self._new_id()
            log.append(DecisionLog.error_record(rid, "INVALID_ARGUMENT", ["request"]))
            undecodable = status.request_error(status.undecodable())
            response = pb.EvaluateStreamResponse(
                results=[pb.EvaluateResult(request_id=rid, error=undecodable)]
            )
        elif len(batch.requests) > MAX_STREAM_BATCH:
            response = pb.EvaluateStreamResponse(results=[self._oversized(len(batch.requests), log)])
        else:
            # Each result is filled in place in the response: built apart, every one would
            # be copied in whole. The digest first, so the size check below counts it.
            response = pb.EvaluateStreamResponse(policy_set_digest=store.policy_set_digest)
            add = response.results.add
            requests = batch.requests
            for start in range(0, len(requests), STREAM_SLICE):
                if start:
                    # A long batch must not starve other callers on this event loop.
                    await asyncio.sleep(0)
                for request in requests[start : start + STREAM_SLICE]:
                    self._answer(add(), store, request, log)
            if response.ByteSize() > sizing.MAX_RESPONSE_BYTES:
                sizing.withhold_overflow(response, log)
        # Every answer names the set it was decided with (the client checks it).
        response.policy_set_digest = store.policy_set_digest
        return response

    def _oversized(self, count: int, log: list[LogRecord]) -> pb.EvaluateResult:
        """One error result for a whole message with too many requests; the stream goes on."""
        rid = self._new_id()
        log.append(DecisionLog.error_record(rid, "INVALID_ARGUMENT", ["requests"]))
        problem = FieldViolation(
            "requests",
            f"holds {count} requests; at most {MAX_STREAM_BATCH} in one message (send several messages)",
        )
        return pb.EvaluateResult(request_id=rid, error=status.request_error(InvalidRequest([problem])))

    # ------------------------------------------------------------ versions

    async def ListVersions(self, request: pb.ListVersionsRequest, context: Any) -> pb.ListVersionsResponse:
        store = self.store
        versions = store.versions(request.policy_id or None)
        return pb.ListVersionsResponse(
            policy_id=versions[0].policy_id,
            versions=[convert.version_info(v) for v in versions],
            policy_set_digest=store.policy_set_digest,
        )

    async def GetVersion(self, request: pb.GetVersionRequest, context: Any) -> pb.GetVersionResponse:
        store = self.store
        policy_id = request.policy_id or None
        selector = request.WhichOneof("selector")
        if selector == "in_force_on":
            day = convert.parse_request_date("in_force_on", request.in_force_on)
            version = store.resolve(day.isoformat(), policy_id)
        elif selector == "version" and request.version.strip():
            version = store.resolve(request.version, policy_id)
        else:
            version = store.resolve("latest", policy_id)
        return pb.GetVersionResponse(
            version=convert.version_message(version), policy_set_digest=store.policy_set_digest
        )

    async def DiffVersions(self, request: pb.DiffVersionsRequest, context: Any) -> pb.DiffVersionsResponse:
        fmt = _DIFF_FORMATS.get(request.format)
        problems = []
        if fmt is None:
            problems.append(FieldViolation("format", f"unknown format {request.format}"))
        for name in ("from_ref", "to_ref"):
            if not getattr(request, name).strip():
                problems.append(FieldViolation(name, "is required: a semantic version, a date, or 'latest'"))
        if problems or fmt is None:
            raise InvalidRequest(problems)
        store = self.store
        try:
            if request.semantic:
                doc = await self._semantic_diff(store, request, fmt, context.time_remaining())
            else:
                from ..analysis.diff.document import diff_document

                work = functools.partial(
                    diff_document,
                    store,
                    request.from_ref,
                    request.to_ref,
                    policy_id=request.policy_id or None,
                    semantic=False,
                    fmt=fmt,
                )
                # Structural only (no z3): a thread keeps rendering off the event loop.
                doc = await asyncio.wait_for(asyncio.to_thread(work), timeout=context.time_remaining())
        except (TimeoutError, DiffTimeout):
            await _abort(
                context, grpc.StatusCode.DEADLINE_EXCEEDED, "the diff did not finish within the deadline"
            )
            raise
        out = pb.DiffVersionsResponse(
            content=doc.content,
            media_type=doc.media_type,
            from_version=_version_text(doc.from_version),
            to_version=_version_text(doc.to_version),
            policy_set_digest=store.policy_set_digest,
        )
        if doc.equivalent is not None:
            out.equivalent = doc.equivalent
        if doc.required_bump is not None:
            out.required_bump = str(doc.required_bump)
        return out

    async def _semantic_diff(
        self, store: VersionStore, request: pb.DiffVersionsRequest, fmt: str, timeout: float | None
    ) -> DiffDocument:
        """In a child process (diff_process.py), at most SEMANTIC_DIFFS at once, killed at the
        deadline. The refs are resolved here, so an unknown one costs no process."""
        pid = request.policy_id or None
        old = store.resolve(request.from_ref, pid)
        new = store.resolve(request.to_ref, pid)
        root = store.root
        job = DiffJob(
            root=str(root.resolve()) if root is not None else None,
            policy_id=old.policy_id,
            from_version=old.version,
            from_hash=old.content_hash,
            to_version=new.version,
            to_hash=new.content_hash,
            fmt=fmt,
        )
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        async with asyncio.timeout_at(deadline):
            await self._semantic_slots.acquire()
        try:
            left = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                return await run_semantic_diff(job, left)
            except DiffFailed as exc:
                event("semantic diff failed", 40, reason=str(exc))
                raise
        finally:
            self._semantic_slots.release()


def _version_text(value: Any) -> str:
    return str(getattr(value, "version", value))


async def _abort(context: Any, code: grpc.StatusCode, details: str, trailing_metadata: Any = ()) -> None:
    """Abort the call with this status (raises AbortError). When the call is already over
    (its deadline passed, the caller went away) nobody can hear it: raises _CallOver."""
    if context.done():
        raise _CallOver()
    try:
        await context.abort(code, details, trailing_metadata)
    except grpc.aio.AbortError:
        raise
    except Exception:
        if context.done():
            raise _CallOver() from None
        raise


def guarded(
    method: Callable[[Any, Any], Awaitable[Resp]],
) -> Callable[[Any, Any], Awaitable[Resp]]:
    """A unary handler: undecodable bytes and engine errors become INVALID_ARGUMENT (with
    field violations) or NOT_FOUND; a bug's text or stack never reaches the wire."""

    @functools.wraps(method)
    async def handler(request: Any, context: Any) -> Resp:
        try:
            try:
                if isinstance(request, Undecodable):
                    raise status.undecodable()
                return await method(request, context)
            except (asyncio.CancelledError, grpc.aio.AbortError, _CallOver):
                raise
            except InvalidRequest as exc:
                s = status.invalid_argument(exc)
                await _abort(context, s.code, s.details, s.trailing_metadata)
                raise
            except NotFound as exc:
                s = status.not_found(exc)
                await _abort(context, s.code, s.details, s.trailing_metadata)
                raise
            except Exception:
                if context.done():
                    raise _CallOver() from None
                rid = status.clip(getattr(request, "request_id", "") or "", MAX_REQUEST_ID_CHARS)
                event("internal error", 40, method=method.__name__, request_id=rid, exc_info=True)
                await _abort(
                    context,
                    grpc.StatusCode.INTERNAL,
                    "internal error" + (f" (request id {rid})" if rid else ""),
                )
                raise
        except _CallOver:
            # The call ended before its answer (an ordinary deadline or cancellation): not an error.
            raise asyncio.CancelledError() from None

    return handler


def guarded_stream(
    method: Callable[[Any, Any], AsyncIterator[Resp]],
) -> Callable[[Any, Any], AsyncIterator[Resp]]:
    @functools.wraps(method)
    async def handler(requests: Any, context: Any) -> AsyncIterator[Resp]:
        try:
            async for response in method(requests, context):
                yield response
        except (asyncio.CancelledError, grpc.aio.AbortError, CallEnded):
            raise
        except Exception:
            if context.done():  # the call is over: nobody to tell, and not worth an error line
                raise asyncio.CancelledError() from None
            event("internal error", 40, method=method.__name__, exc_info=True)
            try:
                await _abort(context, grpc.StatusCode.INTERNAL, "internal error")
            except _CallOver:
                raise asyncio.CancelledError() from None
            raise

    return handler


SERVICE = pb.DESCRIPTOR.services_by_name["PolicyService"]


def method_handlers(servicer: PolicyServicer) -> dict[str, grpc.RpcMethodHandler[Any, Any]]:
    """One handler per rpc of the service descriptor, each with deserializers that turn
    undecodable bytes into INVALID_ARGUMENT (the generated registration would answer
    INTERNAL). An rpc with no servicer method, or of a kind not handled here, fails
    the server's start: it is never silently left unserved."""
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in SERVICE.methods:
        implementation = getattr(servicer, method.name, None)
        if implementation is None:
            raise TypeError(f"{type(servicer).__name__} has no method for rpc {method.full_name}")
        request = safe_deserializer(message_factory.GetMessageClass(method.input_type))
        response = message_factory.GetMessageClass(method.output_type).SerializeToString
        kind = (method.client_streaming, method.server_streaming)
        if kind == (False, False):
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                guarded(implementation), request_deserializer=request, response_serializer=response
            )
        elif kind == (True, True):
            handlers[method.name] = grpc.stream_stream_rpc_method_handler(
                guarded_stream(implementation), request_deserializer=request, response_serializer=response
            )
        else:
            raise TypeError(f"rpc {method.full_name}: no handler for its streaming kind {kind}")
    return handlers
