"""The service as an operator runs it: real `rxpolicy serve` processes, real signals,
sockets and pipes. One process per server, a port nobody shares, only published
versions (drafts marked when allowed), hot reload, a drain that loses no call, callers
that cannot starve others, and a decision log that never blocks and never loses a record.

Every loop here is bounded in count and time; traffic goes to 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_fixtures import REPO, VALID, ServerProcess
from grpc_health.v1 import health_pb2, health_pb2_grpc
from rxpolicy.client import AsyncPolicyClient, PolicyClient, PolicyClientError
from rxpolicy.server.engine.lockfile import add_new_to_lock
from rxpolicy.v1 import policy_service_pb2 as pb
from rxpolicy.v1 import policy_service_pb2_grpc

CLI = [sys.executable, "-c", "import sys; from rxpolicy.server.cli import main; sys.exit(main(sys.argv[1:]))"]
SERVICE = "rxpolicy.v1.PolicyService"
EVALUATE = f"/{SERVICE}/Evaluate"
LATER = dict(VALID, service_date="2026-03-02")  # after the version published in these tests
POLL_S = 0.05
POLLS = 1200  # a bound against hangs (60 s), never a timed assertion


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


def _policies(tmp: Path) -> Path:
    """A copy of the packaged versions (all published), to add versions to."""
    root = tmp / "policies"
    shutil.copytree(REPO / "policy_versions" / "CP.PHAR.431", root / "CP.PHAR.431")
    return root


def _new_version(root: Path, effective: str = "2026-01-15", version: str = "4.5.2") -> Path:
    out = _cli(
        "new-version", "--policies", str(root), "--effective", effective, "--log", "Annual review",
        "--version", version,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return root / "CP.PHAR.431" / f"{effective}.yaml"


def _health(target: str) -> int:
    with grpc.insecure_channel(target) as ch:
        status: int = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10).status
        return status


def _evaluate_raw(target: str, request: dict[str, Any]) -> pb.EvaluateResponse:
    """Evaluate without the project's client (no health-based routing, no retries)."""
    from rxpolicy.client._wire import evaluate_request

    with grpc.insecure_channel(target) as ch:
        reply: pb.EvaluateResponse = policy_service_pb2_grpc.PolicyServiceStub(ch).Evaluate(
            evaluate_request(request), timeout=10
        )
        return reply


def _wait_for(condition: Any) -> bool:
    for _ in range(POLLS):
        if condition():
            return True
        time.sleep(POLL_S)
    return False


def _messages(srv: ServerProcess) -> list[str]:
    return [str(r.get("message")) for r in srv.logs()]


def _refused_connection(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
    return False


# ------------------------------------------------------------ 1. process model


def test_second_server_on_a_used_port_fails_at_once(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path)
    try:
        out = _cli("serve", "--host", "127.0.0.1", "--port", str(srv.port), "--decision-log", "off")
        assert out.returncode == 1
        assert "address already in use" in out.stderr and "Traceback" not in out.stderr
        assert _evaluate_raw(srv.target, VALID).decision.outcome == 1  # the first one still serves
    finally:
        assert srv.stop() == 0


def test_a_port_held_by_another_program_is_refused(tmp_path: Path) -> None:
    with socket.socket() as other:  # SO_REUSEPORT, as the old worker processes set it
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        out = _cli("serve", "--host", "127.0.0.1", "--port", str(port), "--decision-log", "off")
    assert out.returncode == 1
    assert "address already in use" in out.stderr


def test_sigkill_then_restart_leaves_no_orphan_answering(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path)
    port = first.port
    assert _evaluate_raw(first.target, VALID).decision.outcome == 1
    first.proc.send_signal(signal.SIGKILL)
    first.wait()
    assert _refused_connection(port)  # nothing of it is left listening
    second = ServerProcess(tmp_path, port=port)
    try:
        for i in range(60):  # fresh connections, each decided by the new server
            assert _evaluate_raw(second.target, dict(VALID, member_age=20 + i)).decision.outcome == 1
    finally:
        assert second.stop() == 0
    assert len(second.decisions()) == 60


def _children(pid: int) -> list[int]:
    """The server's semantic-diff processes (multiprocessing's spawn entry point; not its
    resource tracker, which ends by itself when the server's pipe to it closes)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if parent == pid and b"spawn_main" in (entry / "cmdline").read_bytes():
                    out.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return out


def _has_z3(pid: int) -> bool:
    try:
        return b"libz3" in Path(f"/proc/{pid}/maps").read_bytes()
    except OSError:
        return False


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads child processes from /proc")
def test_a_semantic_diff_child_dies_with_a_killed_server(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path)
    pid = srv.proc.pid

    def diff() -> None:
        with PolicyClient(srv.target, timeout=300) as c, contextlib.suppress(PolicyClientError):
            c.diff_versions("1.0.0", "latest", semantic=True)

    caller = threading.Thread(target=diff)
    caller.start()
    children: list[int] = []
    try:
        # Once z3 is loaded the child is past its start (where it asks to die with its parent).
        assert _wait_for(lambda: any(_has_z3(c) for c in _children(pid)))
        children = _children(pid)
        for child in children:  # stopped, it cannot finish on its own: only the kernel ends it
            os.kill(child, signal.SIGSTOP)
        srv.proc.send_signal(signal.SIGKILL)
        srv.wait()
        assert _wait_for(lambda: all(_gone(c) for c in children)), children
    finally:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        caller.join(60)
        srv.stop()


# ------------------------------------------------------------ 2. drafts


def test_drafts_are_refused_unless_allowed_and_then_marked(tmp_path: Path) -> None:
    root = _policies(tmp_path)
    draft = _new_version(root)
    out = _cli("serve", "--policies", str(root), "--port", "0", "--decision-log", "off")
    assert out.returncode == 1
    assert "unlocked version files" in out.stderr and str(draft) in out.stderr
    assert "--allow-drafts" in out.stderr

    srv = ServerProcess(tmp_path, "--policies", str(root), "--allow-drafts")
    try:
        [serving] = [r for r in srv.logs() if r.get("message") == "serving"]
        assert serving["drafts"] == [str(draft)]
        reply = _evaluate_raw(srv.target, LATER)
        assert (reply.decision.version.version, reply.decision.version.draft) == ("4.5.2", True)
        published = _evaluate_raw(srv.target, VALID)
        assert (published.decision.version.version, published.decision.version.draft) == ("4.5.1", False)
        with PolicyClient(srv.target) as c:
            assert c.evaluate(LATER).to_dict()["draft"] is True
        with grpc.insecure_channel(srv.target) as ch:
            listed = policy_service_pb2_grpc.PolicyServiceStub(ch).ListVersions(
                pb.ListVersionsRequest(), timeout=10
            )
        assert {v.version: v.draft for v in listed.versions if v.draft} == {"4.5.2": True}
        assert listed.policy_set_digest.startswith("sha256:") and len(listed.policy_set_digest) == 71
    finally:
        assert srv.stop() == 0
    records = srv.decisions()
    assert [r.get("draft", False) for r in records] == [True, False, True]


# ------------------------------------------------------------ 3. reload


def test_sighup_publishes_under_load_and_refuses_a_tampered_set(tmp_path: Path) -> None:
    root = _policies(tmp_path)
    srv = ServerProcess(tmp_path, "--policies", str(root))
    digest_before = next(r for r in srv.logs() if r.get("message") == "serving")["policy_set_digest"]
    versions: Counter[str] = Counter()
    failures: list[str] = []
    reloaded = threading.Event()
    answered_after_reload: list[str] = []

    async def load() -> None:
        async with AsyncPolicyClient(srv.target, timeout=60) as c:

            async def caller(k: int) -> None:
                for _ in range(200):
                    seen_reload = reloaded.is_set()
                    try:
                        d = await c.evaluate(LATER)
                    except PolicyClientError as exc:
                        failures.append(str(exc.code))
                        continue
                    versions[d.version.version] += 1
                    if seen_reload:
                        answered_after_reload.append(d.version.version)

            await asyncio.gather(*(caller(k) for k in range(50)))

    def publish() -> None:
        _wait_for(lambda: sum(versions.values()) >= 2000)
        _new_version(root)
        add_new_to_lock(root / "CP.PHAR.431")
        srv.proc.send_signal(signal.SIGHUP)
        _wait_for(lambda: "reloaded" in _messages(srv))
        reloaded.set()

    try:
        publisher = threading.Thread(target=publish)
        publisher.start()
        asyncio.run(load())
        publisher.join(120)
        assert failures == []
        assert sum(versions.values()) == 10_000
        assert set(versions) == {"4.5.1", "4.5.2"} and versions["4.5.1"] >= 2000
        assert reloaded.is_set() and set(answered_after_reload) == {"4.5.2"}
        assert _health(srv.target) == health_pb2.HealthCheckResponse.SERVING
        [line] = [r for r in srv.logs() if r.get("message") == "reloaded"]
        assert line["previous_policy_set_digest"] == digest_before != line["policy_set_digest"]

        # A published file edited afterwards: refused, named, and the set before keeps serving.
        tampered = root / "CP.PHAR.431" / "2025-03-25.yaml"
        tampered.write_text(tampered.read_text() + "\n# edited after publication\n")
        srv.proc.send_signal(signal.SIGHUP)
        assert _wait_for(lambda: "reload refused: the old policy set keeps serving" in _messages(srv))
        [refused] = [r for r in srv.logs() if r.get("message", "").startswith("reload refused")]
        assert str(tampered) in refused["files"]
        assert _evaluate_raw(srv.target, LATER).decision.version.version == "4.5.2"
        with grpc.insecure_channel(srv.target) as ch:
            listed = policy_service_pb2_grpc.PolicyServiceStub(ch).ListVersions(
                pb.ListVersionsRequest(), timeout=10
            )
        assert listed.policy_set_digest == line["policy_set_digest"]
    finally:
        assert srv.stop() == 0
    assert len(srv.decisions()) == 10_001


def test_watch_reloads_a_published_version(tmp_path: Path) -> None:
    root = _policies(tmp_path)
    srv = ServerProcess(tmp_path, "--policies", str(root), "--watch")
    try:
        assert _evaluate_raw(srv.target, LATER).decision.version.version == "4.5.1"
        _new_version(root)  # a draft alone is refused: the set with it is not served
        assert _wait_for(lambda: "reload refused: the old policy set keeps serving" in _messages(srv))
        add_new_to_lock(root / "CP.PHAR.431")
        assert _wait_for(lambda: "reloaded" in _messages(srv))
        assert _evaluate_raw(srv.target, LATER).decision.version.version == "4.5.2"
    finally:
        assert srv.stop() == 0


# ------------------------------------------------------------ 4. drain


def test_rolling_restart_of_two_servers_under_64_threads_loses_nothing(tmp_path: Path) -> None:
    """The client is given both addresses: round_robin with client-side health checks
    (client/_channel.py) stops sending to a server once it reports NOT_SERVING, and a
    call refused UNAVAILABLE during the drain is retried on the other one."""
    delay = ("--shutdown-delay", "1")
    a = ServerProcess(tmp_path, *delay)
    b = ServerProcess(tmp_path, *delay)
    ports = (a.port, b.port)
    servers = [a, b]
    stop = threading.Event()
    ok = Counter[int]()
    errors: list[str] = []

    with PolicyClient(f"ipv4:127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}", timeout=30) as client:

        def caller(k: int) -> None:
            n = 0
            while not stop.is_set() and n < 5000:
                n += 1
                try:
                    assert client.evaluate(dict(VALID, member_age=20 + k)).outcome == "approve"
                    ok[k] += 1
                except PolicyClientError as exc:
                    errors.append(f"{exc.code}: {exc.details}")

        threads = [threading.Thread(target=caller, args=(k,)) for k in range(64)]
        for t in threads:
            t.start()
        try:
            for i in (0, 1):
                assert _wait_for(lambda s=servers[i]: len(s.decisions()) >= 50)
                old = servers[i]
                old.terminate()
                assert old.wait() == 0
                servers.append(ServerProcess(tmp_path, *delay, port=ports[i]))
                new = servers[-1]
                assert _wait_for(lambda s=new: len(s.decisions()) >= 50)  # the clients found it
        finally:
            stop.set()
            for t in threads:
                t.join(120)
            for s in servers:
                s.stop()
    assert errors == []
    decided = sum(len(s.decisions()) for s in servers)
    assert decided == sum(ok.values()) > 0  # every answer decided once, none lost or doubled
    for s in servers:
        messages = _messages(s)
        if "draining: health NOT_SERVING, in-flight calls finish" in messages:
            assert not any("cancelled" in m for m in messages)


# ------------------------------------------------------------ 5. slow, idle, unauthenticated


async def _flood(target: str, *, metadata: Any, calls: int, connections: int, stream: bool) -> list[Any]:
    """Calls whose request message never comes: headers only (unary methods) or a stream
    that sends nothing. Returns the channels and tasks, for the caller to end."""
    never = asyncio.Event()

    async def nothing() -> Any:
        await never.wait()
        yield b""  # pragma: no cover

    channels = [
        grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(connections)
    ]
    pending = []
    for i in range(calls):
        ch = channels[i % connections]
        if stream:
            call = ch.stream_stream(f"/{SERVICE}/EvaluateStream")(nothing(), metadata=metadata, timeout=120)
        else:
            call = ch.stream_unary(EVALUATE)(nothing(), metadata=metadata, timeout=120)
        pending.append(call)
    return [channels, pending, never]


def _well_behaved(target: str, token: str | None, n: int) -> tuple[int, list[int]]:
    answered = 0
    statuses = []
    with PolicyClient(target, token=token, timeout=30) as c:
        for i in range(n):
            if c.evaluate(dict(VALID, member_age=20 + i % 60)).outcome == "approve":
                answered += 1
            if i % 20 == 0:
                statuses.append(_health(target))
        answered += sum(r.ok for r in c.evaluate_many([VALID] * 100))
    return answered, statuses


@pytest.mark.parametrize("stream", [False, True], ids=["header-only", "idle-stream"])
def test_floods_of_calls_that_send_nothing_starve_nobody(tmp_path: Path, stream: bool) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("good-token\n")
    srv = ServerProcess(tmp_path, "--token-file", str(tokens), "--max-concurrent-rpcs", "50")

    async def run() -> tuple[int, list[int]]:
        without = await _flood(srv.target, metadata=None, calls=1200, connections=6, stream=stream)
        with_token = await _flood(
            srv.target,
            metadata=(("authorization", "Bearer good-token"),),
            calls=1000,
            connections=5,
            stream=stream,
        )
        await asyncio.sleep(1)  # the flood is in place on the server
        result = await asyncio.to_thread(_well_behaved, srv.target, "good-token", 200)
        for channels, pending, never in (without, with_token):
            never.set()
            for call in pending:
                call.cancel()
            await asyncio.gather(*(call.code() for call in pending))
            for ch in channels:
                await ch.close()
        return result

    try:
        answered, statuses = asyncio.run(run())
        assert answered == 300
        assert set(statuses) == {health_pb2.HealthCheckResponse.SERVING}
    finally:
        assert srv.stop() == 0
    assert len(srv.decisions()) == 300


def test_unauthenticated_calls_are_refused_without_their_message(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("good-token\n")
    srv = ServerProcess(tmp_path, "--token-file", str(tokens), "--message-timeout", "60")

    async def run() -> list[grpc.StatusCode]:
        [channels, pending, never] = await _flood(
            srv.target, metadata=None, calls=20, connections=1, stream=False
        )
        out = []
        for call in pending:  # answered while their message is still awaited by the caller
            out.append(await call.code())
        never.set()
        for ch in channels:
            await ch.close()
        return out

    try:
        assert set(asyncio.run(run())) == {grpc.StatusCode.UNAUTHENTICATED}
    finally:
        assert srv.stop() == 0


def test_a_call_whose_message_never_arrives_is_ended(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path, "--message-timeout", "1", "--max-concurrent-rpcs", "1")

    async def run() -> list[tuple[grpc.StatusCode, str]]:
        [channels, pending, never] = await _flood(
            srv.target, metadata=None, calls=3, connections=1, stream=False
        )
        # While they wait, the one slot is free: a call holds it from its message on.
        decided = await asyncio.to_thread(_evaluate_raw, srv.target, VALID)
        assert decided.decision.outcome == 1
        out = [(await call.code(), await call.details()) for call in pending]
        async with grpc.aio.insecure_channel(srv.target) as ch:  # HEADERS, then END_STREAM at once
            call = ch.stream_unary(EVALUATE)(_no_messages(), timeout=10)
            out.append((await call.code(), await call.details()))
        never.set()
        for ch in channels:
            await ch.close()
        return out

    try:
        answers = asyncio.run(run())
    finally:
        assert srv.stop() == 0
    assert answers == [(grpc.StatusCode.DEADLINE_EXCEEDED, "no request message arrived within 1 s")] * 3 + [
        (grpc.StatusCode.INVALID_ARGUMENT, "the call ended without its request message")
    ]


async def _no_messages() -> Any:
    for _ in ():
        yield b""  # pragma: no cover


def _frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def _literal(name: str, value: str) -> bytes:
    """An HPACK literal header field without indexing, new name, no Huffman (short strings)."""
    return b"\x00" + bytes([len(name)]) + name.encode() + bytes([len(value)]) + value.encode()


H2_DATA, H2_HEADERS, H2_RST_STREAM, H2_SETTINGS, H2_GOAWAY = 0, 1, 3, 4, 7
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


def _raw_call_ends(port: int, *, end_stream_on_headers: bool, data: bytes = b"") -> bool:
    """One Evaluate call by hand on a raw HTTP/2 connection: HEADERS (with END_STREAM, or
    followed by ``data`` and nothing more). Whether the server ends stream 1 (trailers
    with END_STREAM, or RST_STREAM) before the socket's 30 s bound."""
    headers = b"".join(
        _literal(k, v)
        for k, v in (
            (":method", "POST"),
            (":scheme", "http"),
            (":path", EVALUATE),
            (":authority", f"127.0.0.1:{port}"),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
        )
    )
    flags = END_HEADERS | (END_STREAM if end_stream_on_headers else 0)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + _frame(H2_SETTINGS, 0, 0))
        sock.sendall(_frame(H2_HEADERS, flags, 1, headers) + (_frame(H2_DATA, 0, 1, data) if data else b""))
        buffer = b""
        for _ in range(1000):  # frames read, bounded
            while len(buffer) < 9:
                chunk = sock.recv(65536)
                if not chunk:
                    return False
                buffer += chunk
            length = int.from_bytes(buffer[:3], "big")
            while len(buffer) < 9 + length:
                chunk = sock.recv(65536)
                if not chunk:
                    return False
                buffer += chunk
            kind, frame_flags = buffer[3], buffer[4]
            stream = int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
            buffer = buffer[9 + length :]
            if kind == H2_SETTINGS and not frame_flags & ACK:
                sock.sendall(_frame(H2_SETTINGS, ACK, 0))
            elif stream == 1 and (kind == H2_RST_STREAM or (kind == H2_HEADERS and frame_flags & END_STREAM)):
                return True
            elif kind == H2_GOAWAY:
                return False
    return False


def test_raw_http2_calls_without_a_whole_message_are_answered(tmp_path: Path) -> None:
    """HEADERS with END_STREAM and no message, and a DATA frame whose gRPC message is cut
    short (its prefix says 100 bytes, 10 come): both ended by the server, and the calls
    that hold no slot leave the one there is free."""
    srv = ServerProcess(tmp_path, "--message-timeout", "1", "--max-concurrent-rpcs", "1")
    truncated = b"\x00" + (100).to_bytes(4, "big") + b"\x0a" * 10
    try:
        assert _raw_call_ends(srv.port, end_stream_on_headers=True)
        assert _raw_call_ends(srv.port, end_stream_on_headers=False, data=truncated)
        assert _evaluate_raw(srv.target, VALID).decision.outcome == 1
    finally:
        assert srv.stop() == 0
    assert len(srv.decisions()) == 1


def test_health_is_answered_when_every_slot_is_taken(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path, "--max-concurrent-rpcs", "1")
    release = threading.Event()

    def held() -> Any:
        yield VALID
        release.wait(60)  # the stream, and so the one slot, stays taken

    try:
        with PolicyClient(srv.target) as c:
            stream = c.evaluate_many(held(), batch_size=1)
            assert next(stream).ok
            with pytest.raises(grpc.RpcError) as info:
                _evaluate_raw(srv.target, VALID)
            assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert _health(srv.target) == health_pb2.HealthCheckResponse.SERVING
            release.set()
            assert list(stream) == []
    finally:
        release.set()
        assert srv.stop() == 0


# ------------------------------------------------------------ 6. decision log


def test_a_stalled_decision_log_refuses_fast_and_loses_no_record(tmp_path: Path) -> None:
    """Standard output is a pipe nobody reads: the pipe fills, the buffer fills, then new
    calls get UNAVAILABLE at once and health says NOT_SERVING; once the pipe is read,
    the server serves again, and every decided call has its record."""
    srv = ServerProcess(
        tmp_path, "--decision-log", "-", "--decision-log-buffer", "200", stdout=subprocess.PIPE
    )
    assert srv.proc.stdout is not None
    ok = 0
    refused: Counter[str] = Counter()
    try:
        with PolicyClient(srv.target, timeout=30) as c:
            for _ in range(5000):  # ~200 records fill a pipe, 200 more the buffer
                try:
                    c.evaluate(VALID)
                    ok += 1
                except PolicyClientError as exc:
                    refused[exc.code.name] += 1
                    break
        assert set(refused) == {"UNAVAILABLE"}, refused
        assert _health(srv.target) == health_pb2.HealthCheckResponse.NOT_SERVING
        with grpc.insecure_channel(srv.target) as ch, pytest.raises(grpc.RpcError) as info:
            policy_service_pb2_grpc.PolicyServiceStub(ch).ListVersions(pb.ListVersionsRequest(), timeout=10)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "decision log" in str(info.value.details())

        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(srv.proc.stdout or ()))
        reader.start()
        assert _wait_for(lambda: _health(srv.target) == health_pb2.HealthCheckResponse.SERVING)
        with PolicyClient(srv.target, timeout=30) as c:
            assert c.evaluate(VALID).outcome == "approve"
            ok += 1
    finally:
        assert srv.stop() == 0
    reader.join(60)
    # The buffer's 200 records, and more that the pipe took (64 KiB holds about 190
    # lines; written in PIPE_BUF chunks, it may stop up to one chunk short of full).
    assert ok > 300
    assert len(lines) == ok  # one record for every decided call, none lost
    assert "delivered" not in "".join(lines)
