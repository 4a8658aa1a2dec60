"""Faults: servers crash and restart, Redis goes away, a peer stops reading.

Each test injects real faults (listening sockets closed, TCP connections
aborted without a close frame, Redis connections cut) at random moments from
a seeded generator (the seed is printed; ``WSLAB_SEED`` replays it), and then
counts: messages sent, kept, lost and duplicated, partial files left, bytes
buffered. Nothing here asserts on how long anything took.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from counting import Record
from helpers import async_wait_until, recv_json, send_json, sync_connect, wait_until
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import ClientConnection

import wslab
from wslab.clients.outbox import ReliableSession
from wslab.clients.reconnect import pending_retry_timers
from wslab.core.eventlog import LogEntry
from wslab.core.files import CHUNK_SIZE, TransferProgress, file_meta, iter_chunks, sha256_hex
from wslab.core.messages import POLICY_VIOLATION
from wslab.core.timescale import scaled_time
from wslab.network.cluster import start_cluster
from wslab.network.redisbox import start_redis
from wslab.servers.broadcast import BroadcastServer
from wslab.servers.files import FilesServer
from wslab.servers.flaky import FlakyServer

CRASHES = 20


@pytest.fixture
def tiny() -> Iterator[float]:
    # Backoff delays are nominal: 1 s becomes 1 ms, so a retry is quick.
    with scaled_time(0.001) as scale:
        yield scale


@pytest.fixture
async def sessions() -> AsyncIterator[list[ReliableSession]]:
    made: list[ReliableSession] = []
    yield made
    for session in made:
        session.close()
    for session in made:
        await session.client.wait_for_state("closed", "gave up", timeout=5)
    assert pending_retry_timers() == 0


def lost_and_duplicated(sent: list[int], kept: list[int]) -> tuple[int, int]:
    """How many of ``sent`` are missing from ``kept``, and how many are there twice or more."""
    seen = Counter(kept)
    lost = sum(1 for message_id in sent if seen[message_id] == 0)
    duplicated = sum(n - 1 for n in seen.values() if n > 1)
    return lost, duplicated


# --- lesson 5: the flaky server, crashed 20 times -------------------------------------


async def test_lesson5_twenty_random_crashes_lose_and_duplicate_nothing(
    tiny: float, sessions: list[ReliableSession], rng: random.Random, counts: Record
) -> None:
    server = wslab.serve("flaky")
    app = server.app
    assert isinstance(app, FlakyServer)
    for name in ("alice", "bob"):
        sessions.append(ReliableSession(server.url, name))
    for session in sessions:
        await session.client.wait_for_state("open")
    dropped = 0
    for crash in range(CRASHES):
        # Back up, then a burst, the crash at a random moment (acks may be
        # in flight), more messages while down, a restart on the same port.
        await async_wait_until(lambda: all(s.welcomed for s in sessions), timeout=10)
        for _ in range(rng.randint(1, 8)):
            rng.choice(sessions).send(f"up {crash}")
            if rng.random() < 0.5:
                await asyncio.sleep(0)
        # Often with messages or acks still on the wire: the resend case.
        await asyncio.sleep(rng.choice((0, 0.0005, 0.001, 0.003)))
        dropped += app.crash()
        for _ in range(rng.randint(0, 4)):
            rng.choice(sessions).send(f"down {crash}")
        await asyncio.sleep(rng.random() * 0.01)
        app.restart()
    for session in sessions:
        try:
            await session.drained(timeout=10)
        except TimeoutError:
            raise AssertionError(
                f"{session!r}: {session.client.state}, welcomed {session.welcomed}, "
                f"outbox {session.outbox!r}, last attempts {session.client.attempts[-3:]}, "
                f"server {app.status}, log {[e.text for e in session.client.log.entries()][-8:]}"
                f"server log {[(round(e.time % 100, 3), e.text) for e in app.log.entries()][-30:]}"
            ) from None
    total_sent = total_lost = total_dups = resent = 0
    for session in sessions:
        sent = [e.id for e in session.sent]
        kept = [e.id for e in app.received(session.client_id)]
        lost, duplicated = lost_and_duplicated(sent, kept)
        assert (lost, duplicated) == (0, 0), (session.client_id, lost, duplicated)
        assert kept == sorted(kept)  # in order, too
        assert [e.text for e in app.received(session.client_id)] == [e.text for e in session.sent]
        total_sent += len(sent)
        total_lost += lost
        total_dups += duplicated
        resent += app.inbox.duplicates(session.client_id)
    crashes = len(app.log.entries("crash"))
    assert crashes == CRASHES
    assert dropped >= CRASHES  # each crash dropped at least one live connection
    reconnects = sum(len(s.client.attempts) - 1 for s in sessions)
    counts(
        f"lesson 5: {crashes} crashes, {dropped} connections dropped, {reconnects} reconnects, "
        f"{total_sent} messages sent, {total_lost} lost, {total_dups} duplicated "
        f"({resent} resends recognised and dropped by the server)"
    )


# --- lesson 6: a peer that stops reading ----------------------------------------------


def stalled_client(url: str) -> socket.socket:
    """A WebSocket opened by hand that never reads after the handshake (lesson 6's)."""
    parts = urlsplit(url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect()
    sock.settimeout(5)
    sock.connect((parts.hostname or "127.0.0.1", parts.port or 80))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET / HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    answer = b""
    while not answer.endswith(b"\r\n\r\n"):
        answer += sock.recv(1)
    assert answer.startswith(b"HTTP/1.1 101")
    return sock


def test_lesson6_a_client_that_stops_reading_is_bounded_and_dropped(counts: Record) -> None:
    limit = 64 * 1024
    server = wslab.serve("broadcast", write_limit=4096, send_buffer=4096, max_backlog=limit)
    app = server.app
    assert isinstance(app, BroadcastServer)
    too_slow: list[LogEntry] = []
    app.log.subscribe(lambda e: too_slow.append(e) if e.kind == "too-slow" else None)
    slow = stalled_client(server.url)
    try:
        with sync_connect(server.url) as fast, sync_connect(server.url) as publisher:
            count, size = 1000, 1024  # 1 MiB in all: 16 times what the slow one may hold
            got: list[int] = []

            def read_all() -> None:
                while len(got) < count:
                    got.append(int(json.loads(fast.recv(timeout=10))["text"][:4]))

            reader = threading.Thread(target=read_all, name="fast-reader")
            reader.start()
            for n in range(count):
                publisher.send(f"{n:04d} " + "x" * size)
                if n % 20 == 19:
                    # A publisher at a steady pace, not a burst: a reader that
                    # keeps up never has more than a few KiB waiting.
                    wait_until(lambda n=n: len(got) > n, timeout=10)
            reader.join(30)
            assert got == list(range(count))  # the fast client got everything, in order
        wait_until(lambda: app.too_slow >= 1)
        assert app.too_slow == 1
        wait_until(lambda: len(app.peers) == 0)  # the slow one is gone too, in the end
        assert [e.code for e in too_slow] == [POLICY_VIOLATION]
        peak = app.peak_backlog
        biggest_message = size + 40
        assert peak <= limit + biggest_message, peak
        counts(
            f"lesson 6: {count} messages of {size} B to 1 fast + 1 stalled client: fast got "
            f"{len(got)}, lost 0; stalled client's backlog peaked at {peak:,} B "
            f"(limit {limit:,} B), then closed with {POLICY_VIOLATION}"
        )
    finally:
        slow.close()


def test_lesson4_chat_also_drops_a_client_that_stops_reading(counts: Record) -> None:
    # The bound lives in LessonServer.broadcast (keep_up), so every server that
    # broadcasts has it, not only lesson 6's.
    limit = 64 * 1024
    server = wslab.serve("chat")
    app = server.app
    app.max_backlog = limit
    too_slow: list[LogEntry] = []
    app.log.subscribe(lambda e: too_slow.append(e) if e.kind == "too-slow" else None)
    slow = stalled_client(server.url)
    try:
        join = json.dumps({"type": "join", "name": "Slow"}).encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(join))
        slow.sendall(bytes([0x81, 0x80 | len(join)]) + mask + masked)
        wait_until(lambda: len(app.peers) == 1)

        async def small_send_buffer() -> None:
            # Without it the kernel's own send buffer (megabytes on loopback)
            # would take the backlog before the server's does.
            for ws in app.peers:
                sock = ws.transport.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)

        server.call(small_send_buffer())
        with sync_connect(server.url) as fast, sync_connect(server.url) as publisher:
            send_json(fast, {"type": "join", "name": "Fast"})
            send_json(publisher, {"type": "join", "name": "Pub"})
            count, size = 600, 900
            got: list[int] = []

            def read_all() -> None:
                while len(got) < count:
                    message = json.loads(fast.recv(timeout=10))
                    if message["type"] == "chat":
                        got.append(int(message["text"][:4]))

            reader = threading.Thread(target=read_all, name="fast-reader")
            reader.start()
            wait_until(lambda: len(app.peers) == 3)
            for n in range(count):
                send_json(publisher, {"type": "chat", "text": f"{n:04d} " + "x" * size})
                if n % 20 == 19:
                    wait_until(lambda n=n: len(got) > n, timeout=10)
            reader.join(30)
            assert got == list(range(count))  # the fast client got everything, in order
        wait_until(lambda: app.too_slow >= 1)
        assert app.too_slow == 1
        assert [e.code for e in too_slow] == [POLICY_VIOLATION]
        counts(
            f"lesson 4: {count} chat messages of {size} B to 1 fast + 1 stalled client: fast got "
            f"{len(got)}, lost 0; stalled client dropped with {POLICY_VIOLATION} past {limit:,} B"
        )
    finally:
        slow.close()


# --- lesson 11: Redis dropped and restored under a cluster -----------------------------


def until(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """Read messages until one of type ``kind``; return it."""
    while True:
        message = recv_json(ws)
        if message["type"] == kind:
            return dict(message)


def test_lesson11_redis_dropped_and_restored(fast: float, counts: Record) -> None:
    box = start_redis()  # $REDIS_URL (CI's real redis-server) if set, else embedded fakeredis
    cluster = start_cluster(2, mode="redis", redis=box)
    try:
        a, b = cluster.servers
        with (
            sync_connect(a.url + "?client=alice") as alice,
            sync_connect(a.url + "?client=carol") as carol,
            sync_connect(b.url + "?client=bob") as bob,
        ):
            for ws in (alice, carol, bob):
                assert recv_json(ws)["type"] == "welcome"
            cluster.cut_redis()  # every Redis connection of the servers dropped, new ones refused
            wait_until(lambda: all(s.redis_up is False for s in cluster.servers), timeout=10)
            down = [until(ws, "notice") for ws in (alice, carol, bob)]
            assert [(n["event"], n["server"]) for n in down] == [
                ("redis-down", "A"),
                ("redis-down", "A"),
                ("redis-down", "B"),
            ]
            assert all("missed" in n["text"] for n in down)
            # Local clients keep chatting: Alice and Carol share server A.
            send_json(alice, {"type": "chat", "text": "A is on its own"})
            send_json(bob, {"type": "chat", "text": "B is on its own"})
            assert until(carol, "chat")["text"] == "A is on its own"
            assert until(alice, "chat")["text"] == "A is on its own"
            assert until(bob, "chat")["text"] == "B is on its own"  # and nothing from A
            # Someone arriving during the gap is told at once.
            with sync_connect(b.url + "?client=dave") as dave:
                welcome = recv_json(dave)
                assert welcome["type"] == "welcome"
                assert welcome["notice"]["event"] == "redis-down"
            cluster.restore_redis()
            wait_until(lambda: all(s.redis_up for s in cluster.servers), timeout=10)
            back = [until(ws, "notice") for ws in (alice, carol, bob)]
            assert [n["event"] for n in back] == ["redis-back"] * 3
            assert all(n["until"] >= n["since"] >= down[0]["since"] - 1 for n in back)
            # Across servers again.
            send_json(alice, {"type": "chat", "text": "together again"})
            assert until(bob, "chat")["text"] == "together again"
            assert until(carol, "chat")["text"] == "together again"
        kind = "embedded fakeredis" if box.embedded else "real Redis ($REDIS_URL)"
        counts(
            f"lesson 11 ({kind}): Redis cut and restored under 2 server processes: "
            f"3/3 clients told redis-down and redis-back (gap {back[0]['missed_seconds']:g} s "
            f"on A), local chat kept working, 0 cross-server messages during the gap, "
            f"cross-server chat back after it"
        )
    finally:
        cluster.stop()
        box.stop()


# --- lesson 10: the files server crashed during uploads ---------------------------------


def upload_once(url: str, name: str, data: bytes) -> int:
    """Upload ``data`` until the server has it exactly once; return the attempts made.

    After a dropped connection the client first asks for the list: a file
    whose SHA-256 is there was saved before the drop (its "saved" was lost),
    and is not sent again. Otherwise the whole file goes again: the server
    kept nothing of the interrupted one.
    """
    sha = sha256_hex(data)
    attempts = 0
    while True:
        attempts += 1
        try:
            with sync_connect(url, open_timeout=2) as ws:
                send_json(ws, {"type": "list"})
                if any(f["sha256"] == sha for f in until(ws, "files")["files"]):
                    return attempts
                send_json(ws, file_meta(name, data, "text/plain"))
                assert until(ws, "ready")["size"] == len(data)
                for chunk in iter_chunks(data):
                    ws.send(chunk)
                assert until(ws, "saved")["sha256"] == sha
                return attempts
        except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError):
            time.sleep(0.002)


def test_lesson10_crashes_during_uploads_leave_no_partial_file(
    rng: random.Random, counts: Record
) -> None:
    server = wslab.serve("files")
    app = server.app
    assert isinstance(app, FilesServer) and app.directory is not None
    directory, partial = app.directory, app.directory / ".partial"
    files = {
        f"notes-{n}.txt": rng.randbytes(rng.randint(1, 6) * CHUNK_SIZE + 7).hex().encode()
        for n in range(16)
    }  # 130 KiB to 780 KiB each: several chunks, room to interrupt
    attempts: dict[str, int] = {}
    done = threading.Event()
    armed = threading.Event()  # crash at the next chunk that arrives
    crashed = threading.Event()
    failed: list[str] = []
    dropped = partial_seen = 0

    async def crash_now() -> None:
        nonlocal dropped
        dropped += await app.crash()
        crashed.set()

    def watch(progress: TransferProgress) -> None:
        # On the server's thread, in the middle of receiving a file.
        if progress.status == "active" and 0 < progress.done < progress.size and armed.is_set():
            armed.clear()
            asyncio.get_running_loop().create_task(crash_now())
        elif progress.status == "failed":
            failed.append(progress.detail)

    app.progress.subscribe(watch)

    def uploader() -> None:
        for name, data in files.items():
            attempts[name] = upload_once(server.url, name, data)
        done.set()

    thread = threading.Thread(target=uploader, name="uploader")
    thread.start()
    try:
        for _ in range(CRASHES):
            crashed.clear()
            if rng.random() < 0.75:  # mostly in the middle of a file...
                armed.set()
                while not crashed.wait(0.01) and not done.is_set():
                    pass
            if not crashed.is_set():  # ...sometimes at any moment
                armed.clear()
                time.sleep(rng.random() * 0.01)
                server.call(crash_now())
            # Every interrupted upload was thrown away as its session ended.
            partial_seen += len(list(partial.iterdir()))
            time.sleep(rng.random() * 0.01)
            server.call(app.restart())
    finally:
        thread.join(60)
    assert done.is_set()
    aborted = len(failed)
    assert aborted > 0 and set(failed) <= {"disconnected"}
    stored = {f.sha256: f for f in app.files.values()}
    on_disk = sorted(p.name for p in directory.iterdir() if p.is_file())
    lost = sum(1 for data in files.values() if sha256_hex(data) not in stored)
    duplicated = len(app.files) - len(stored)
    assert (lost, duplicated, partial_seen) == (0, 0, 0)
    assert list(partial.iterdir()) == []
    assert on_disk == sorted(app.files)  # nothing but the complete files
    for name in on_disk:
        assert sha256_hex((directory / name).read_bytes()) == app.files[name].sha256
    counts(
        f"lesson 10: {CRASHES} crashes during {len(files)} uploads, {dropped} connections "
        f"dropped, {aborted} transfers interrupted and discarded, "
        f"{sum(attempts.values()) - len(files)} reconnects; {lost} files lost, "
        f"{duplicated} duplicated, {partial_seen} partial files left after a crash"
    )
