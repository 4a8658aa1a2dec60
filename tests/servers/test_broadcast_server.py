"""The ``broadcast`` server's contract (lesson 6), over real sockets.

"Nothing else arrived" is checked by ordering, as in test_servers.py: the
server handles one connection's messages in order, so if a later message is
the next thing a client reads, nothing reached it in between.

A client that "stops reading" is a raw socket that completes the opening
handshake and never reads again, with a tiny receive buffer; the server gets
a small write limit and send buffer, so backpressure shows after a few
kilobytes. Nothing here asserts how long anything took: only counts, order,
and whether a send is still pending.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
from helpers import TOO_BIG, async_wait_until, recv_json, sync_connect, wait_until
from websockets.asyncio.client import ClientConnection as AsyncClientConnection
from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

import wslab
from wslab.servers import SERVERS, create_server
from wslab.servers.broadcast import DEFAULT_WRITE_LIMIT, BroadcastServer

WRITE_LIMIT = 4096
#: Messages and their size for the slow-client tests: 200 KiB in all, far more
#: than the few kilobytes of buffers between the server and a client that
#: does not read, so the outcome does not depend on timing.
COUNT, SIZE = 200, 1024


def stalled_client(url: str, receive_buffer: int = 4096) -> socket.socket:
    """Open a WebSocket by hand, then never read: a client that stopped reading."""
    parts = urlsplit(url)
    sock = socket.socket()
    # Before connect(): the receive window is agreed on during TCP's handshake.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(5)
    sock.connect((parts.hostname, parts.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET / HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    response = b""
    while not response.endswith(b"\r\n\r\n"):
        response += sock.recv(1)  # one byte at a time: not a byte of the frames after it
    assert response.startswith(b"HTTP/1.1 101 "), response
    return sock


def reset(sock: socket.socket) -> None:
    """Close with a TCP reset, discarding what the socket holds."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@contextmanager
def clients(url: str, count: int, **kwargs: Any) -> Iterator[list[ClientConnection]]:
    """``count`` connections, opened one after the other (so in the server's order)."""
    with ExitStack() as stack:
        yield [stack.enter_context(sync_connect(url, **kwargs)) for _ in range(count)]


def relayed(text: str) -> dict[str, str]:
    return {"type": "broadcast", "text": text}


def error_is_next(ws: ClientConnection) -> str:
    """Send an empty message: the error reply must be the next thing read."""
    ws.send("")
    reply = recv_json(ws)
    assert reply["type"] == "error", reply
    return str(reply["error"])


# --- the registry and options -------------------------------------------------------


def test_broadcast_is_a_lesson_6_server() -> None:
    assert SERVERS["broadcast"] is BroadcastServer
    assert BroadcastServer.lessons == (6,)
    server = create_server("broadcast")
    assert isinstance(server, BroadcastServer)
    assert (server.mode, server.delivery) == ("others", "broadcast")
    assert server.write_limit == DEFAULT_WRITE_LIMIT == 2**15
    assert server.send_buffer is None
    assert server.serve_options()["write_limit"] == 2**15
    assert server.serve_options()["max_size"] == 1 << 20


def test_options_are_checked() -> None:
    server = BroadcastServer(mode="all", delivery="checked", write_limit=10, send_buffer=20)
    assert (server.mode, server.delivery, server.write_limit) == ("all", "checked", 10)
    with pytest.raises(ValueError, match="mode must be one of 'all', 'others'"):
        BroadcastServer(mode="everyone")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="delivery must be one of 'broadcast', 'checked'"):
        server.delivery = "naive"  # type: ignore[assignment]
    assert server.delivery == "checked"
    with pytest.raises(ValueError, match="write_limit"):
        BroadcastServer(write_limit=0)
    with pytest.raises(ValueError, match="send_buffer"):
        BroadcastServer(send_buffer=0)


# --- the two variants -----------------------------------------------------------------


@pytest.mark.parametrize("delivery", ["broadcast", "checked"])
def test_others_only_reaches_everyone_but_the_sender(delivery: str) -> None:
    server = wslab.serve("broadcast", delivery=delivery)
    with clients(server.url, 3) as (ada, bob, cy):
        ada.send("hello")
        assert recv_json(bob) == relayed("hello")
        assert recv_json(cy) == relayed("hello")
        assert error_is_next(ada) == "empty-message"  # Ada got nothing before it
        bob.send("hi Ada")
        assert recv_json(ada) == relayed("hi Ada")
        assert recv_json(cy) == relayed("hi Ada")
        assert error_is_next(bob) == "empty-message"


@pytest.mark.parametrize("delivery", ["broadcast", "checked"])
def test_all_reaches_the_sender_too(delivery: str) -> None:
    server = wslab.serve("broadcast", mode="all", delivery=delivery)
    with clients(server.url, 3) as (ada, bob, cy):
        ada.send("announcement")
        for ws in (ada, bob, cy):
            assert recv_json(ws) == relayed("announcement")


def test_the_mode_can_change_while_serving() -> None:
    server = wslab.serve("broadcast")
    with clients(server.url, 2) as (ada, bob):
        ada.send("one")
        assert recv_json(bob) == relayed("one")
        server.app.mode = "all"  # type: ignore[attr-defined]
        ada.send("two")
        assert recv_json(ada) == relayed("two")  # her own message, this time
        assert recv_json(bob) == relayed("two")


def test_the_message_is_relayed_exactly() -> None:
    server = wslab.serve("broadcast")
    text = '  李雷 José 🙂 "quoted" \\ {"type": "error"}\n'
    with clients(server.url, 2) as (ada, bob):
        ada.send(text)
        raw = bob.recv(timeout=5)
    assert isinstance(raw, str)
    assert json.loads(raw) == relayed(text)
    assert "李雷" in raw  # readable JSON, not \u escapes


def test_a_lone_client_in_others_mode_gets_nothing() -> None:
    server = wslab.serve("broadcast")
    with sync_connect(server.url) as ada:
        ada.send("anyone?")
        assert error_is_next(ada) == "empty-message"
    wait_until(lambda: server.log.entries("close"))
    assert [e.direction for e in server.log.entries("message")] == ["in", "in", "out"]


def test_announce_reaches_every_client() -> None:
    server = wslab.serve("broadcast")
    with clients(server.url, 2) as (ada, bob):
        reached = server.call(server.app.announce("server restarting"))  # type: ignore[attr-defined]
        assert reached == ["#1", "#2"]
        assert recv_json(ada) == recv_json(bob) == relayed("server restarting")


def test_the_log_shows_who_a_message_went_to() -> None:
    server = wslab.serve("broadcast")
    with clients(server.url, 3) as (ada, bob, cy):
        ada.send("hello")
        recv_json(bob)
        recv_json(cy)
    wait_until(lambda: len(server.log.entries("close")) == 3)
    messages = server.log.entries("message")
    assert [(e.direction, e.peer, e.text) for e in messages] == [
        ("in", "#1", "hello"),
        ("out", "", '{"type":"broadcast","text":"hello"} → #2, #3'),
    ]


# --- the OPEN check -------------------------------------------------------------------


@contextmanager
def one_closed_in_a_snapshot(
    server: wslab.RunningServer,
) -> Iterator[tuple[list[Any], list[ClientConnection]]]:
    """Ada, Bob, Cy connect; a snapshot is taken; then Bob leaves."""
    with clients(server.url, 3) as (ada, bob, cy):
        snapshot = server.call(server.app.snapshot())  # type: ignore[attr-defined]
        bob.close()
        wait_until(lambda: server.log.entries("close"))
        assert [ws.state.name for ws in snapshot] == ["OPEN", "CLOSED", "OPEN"]
        yield snapshot, [ada, cy]


def test_a_naive_loop_stops_at_a_closed_connection() -> None:
    server = wslab.serve("broadcast")
    app: BroadcastServer = server.app  # type: ignore[assignment]
    with one_closed_in_a_snapshot(server) as (snapshot, (ada, cy)):
        with pytest.raises(ConnectionClosed):
            server.call(app.deliver(snapshot, "first", how="naive"))
        assert recv_json(ada) == relayed("first")
        # Cy, after Bob in the list, never got it: the next thing Cy reads is this.
        assert server.call(app.deliver(snapshot, "second", how="checked")) == ["#1", "#3"]
        assert recv_json(cy) == relayed("second")
        assert recv_json(ada) == relayed("second")
    errors = [e.text for e in server.log.entries("error")]
    assert errors == ["naive loop: send to #2 raised ConnectionClosedOK; the loop stopped there"]
    assert [e.text for e in server.log.entries("skipped")] == ["#2 is CLOSED: not sent to"]


def test_broadcast_skips_a_closed_connection() -> None:
    server = wslab.serve("broadcast")
    app: BroadcastServer = server.app  # type: ignore[assignment]
    with one_closed_in_a_snapshot(server) as (snapshot, (ada, cy)):
        assert server.call(app.deliver(snapshot, "hi", how="broadcast")) == ["#1", "#3"]
        assert recv_json(ada) == recv_json(cy) == relayed("hi")
    assert server.log.entries("error") == []


def test_deliver_refuses_an_unknown_way() -> None:
    server = wslab.serve("broadcast")
    app: BroadcastServer = server.app  # type: ignore[assignment]
    with pytest.raises(ValueError, match="how must be one of 'naive', 'checked', 'broadcast'"):
        server.call(app.deliver([], "x", how="shout"))  # type: ignore[arg-type]


# --- a client that stops reading --------------------------------------------------------


async def _call(server: wslab.RunningServer, coro: Any) -> Any:
    """server.call without blocking this test's loop (its clients must keep reading)."""
    return await asyncio.to_thread(server.call, coro)


async def _flood(
    server: wslab.RunningServer,
) -> tuple[socket.socket, list[AsyncClientConnection], list[list[str]], list[asyncio.Task[None]]]:
    """A stalled client first, two fast readers, then a publisher sends COUNT messages."""
    slow = await asyncio.to_thread(stalled_client, server.url)
    fast = [
        await async_connect(server.url, proxy=None, compression=None, max_queue=None)
        for _ in range(2)
    ]
    received: list[list[str]] = [[], []]

    async def read(ws: AsyncClientConnection, into: list[str]) -> None:
        async for message in ws:
            into.append(json.loads(message)["text"])

    readers = [asyncio.create_task(read(ws, into)) for ws, into in zip(fast, received, strict=True)]
    publisher = await async_connect(server.url, proxy=None, compression=None)
    fast.append(publisher)

    async def publish() -> None:
        for n in range(COUNT):
            await publisher.send(f"{n:04d} " + "x" * SIZE)

    readers.append(asyncio.create_task(publish()))
    return slow, fast, received, readers


async def _cleanup(
    slow: socket.socket, conns: list[AsyncClientConnection], tasks: list[asyncio.Task[None]]
) -> None:
    reset(slow)
    for ws in conns:
        await ws.close()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_broadcast_does_not_wait_for_a_client_that_stopped_reading() -> None:
    server = wslab.serve("broadcast", write_limit=WRITE_LIMIT, send_buffer=4096)
    app: BroadcastServer = server.app  # type: ignore[assignment]
    slow, conns, received, tasks = await _flood(server)
    try:
        # Every message reaches both fast clients while the slow one is still
        # connected and has read nothing since its handshake.
        await async_wait_until(lambda: all(len(r) == COUNT for r in received), timeout=20)
        assert received[0] == received[1] == [f"{n:04d} " + "x" * SIZE for n in range(COUNT)]
        buffers = await _call(server, app.write_buffers())
        assert list(buffers) == ["#1", "#2", "#3", "#4"]
        # What the slow client could not take waits in its buffer, far over the
        # write limit: broadcast() never waits, so it never applies backpressure.
        assert buffers["#1"] > 10 * WRITE_LIMIT
        assert await _call(server, app.stalled()) == []
    finally:
        await _cleanup(slow, conns, tasks)


async def test_a_checked_loop_is_held_up_until_the_slow_client_is_dropped() -> None:
    server = wslab.serve("broadcast", delivery="checked", write_limit=WRITE_LIMIT, send_buffer=4096)
    app: BroadcastServer = server.app  # type: ignore[assignment]
    slow, conns, received, tasks = await _flood(server)
    try:

        async def stalled() -> list[str]:
            return list(await _call(server, app.stalled()))

        # The loop awaits its send to #1, whose buffer is over the limit: it
        # cannot go on until #1 reads, which it never does.
        for _ in range(2000):
            if await stalled() == ["#1"]:
                break
            await asyncio.sleep(0.005)
        assert await stalled() == ["#1"]
        held = [len(r) for r in received]
        assert max(held) < COUNT
        assert await stalled() == ["#1"]  # still waiting: nothing moved it on
        # Dropping the slow client (lesson 9's heartbeat would) releases the loop.
        assert await _call(server, app.drop("#1"))
        await async_wait_until(lambda: all(len(r) == COUNT for r in received), timeout=20)
        assert received[0] == received[1] == [f"{n:04d} " + "x" * SIZE for n in range(COUNT)]
        assert await _call(server, app.stalled()) == []
        assert not await _call(server, app.drop("#1"))  # gone already
    finally:
        await _cleanup(slow, conns, tasks)
    await async_wait_until(lambda: len(server.log.entries("close")) == 4)
    dropped = server.log.entries("dropped")
    assert len(dropped) == 1 and dropped[0].text.startswith("#1 dropped with ")
    assert server.log.entries("close")[0].text == "#1 closed: 1006"


def test_send_buffer_sets_the_kernel_buffer() -> None:
    server = wslab.serve("broadcast", send_buffer=8192)

    async def sizes() -> list[int]:
        app: BroadcastServer = server.app  # type: ignore[assignment]
        return [
            ws.transport.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
            for ws in app.peers
        ]

    with sync_connect(server.url):
        # Linux doubles the value for its bookkeeping; other systems keep it.
        assert server.call(sizes())[0] in (8192, 16384)


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (b"\x00\x01", "binary-not-supported"),
        ("", "empty-message"),
        ("  \n ", "empty-message"),
        ("x" * 2001, "text-too-long"),
    ],
)
def test_bad_input_gets_an_error_to_the_sender_only(message: str | bytes, code: str) -> None:
    server = wslab.serve("broadcast", mode="all")
    with clients(server.url, 3) as (mallory, ada, bob):
        mallory.send(message)
        reply = recv_json(mallory)
        assert reply["type"] == "error" and reply["error"] == code
        assert set(reply) == {"type", "error", "message"}
        # Still connected, and nothing reached the others: their next message
        # is the one Ada sends now, and Mallory gets it too.
        ada.send("still here")
        for ws in (ada, bob, mallory):
            assert recv_json(ws) == relayed("still here")
    wait_until(lambda: len(server.log.entries("close")) == 3)
    assert [e.peer for e in server.log.entries("refused")] == ["#1"]


def test_exactly_2000_characters_are_relayed() -> None:
    server = wslab.serve("broadcast")
    with clients(server.url, 2) as (ada, bob):
        ada.send("y" * 2000)
        assert recv_json(bob) == relayed("y" * 2000)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"caf\xc3", 1007),  # a text frame that is not valid UTF-8
        (b"\xff\xfe", 1007),
        ("x" * TOO_BIG, 1009),
    ],
)
def test_the_protocol_closes_the_offender_and_everyone_else_carries_on(
    payload: str | bytes, code: int
) -> None:
    server = wslab.serve("broadcast")
    with clients(server.url, 2) as (ada, bob), sync_connect(server.url) as mallory:
        mallory.send(payload, text=True)
        with pytest.raises(ConnectionClosed) as info:
            mallory.recv(timeout=5)
        assert info.value.rcvd is not None and info.value.rcvd.code == code
        wait_until(lambda: server.log.entries("close"))
        assert server.log.entries("close")[0].code == code
        ada.send("carry on")
        assert recv_json(bob) == relayed("carry on")
        assert error_is_next(ada) == "empty-message"  # nothing from Mallory reached Ada
    assert [e.direction for e in server.log.entries("message")].count("out") == 2


# --- the exercises' references are what the server does -----------------------------------


def test_exercise_6_1_reference_matches_the_server() -> None:
    server = wslab.serve("broadcast")
    ex = wslab.exercise("6.1")
    with clients(server.url, 4) as (ada, bob, cy, dee):
        dee.close()
        wait_until(lambda: server.log.entries("close"))
        bob.send("lunch?")
        got = {
            name for name, ws in (("Ada", ada), ("Cy", cy)) if recv_json(ws) == relayed("lunch?")
        }
        assert error_is_next(bob) == "empty-message"  # Bob, the sender, got nothing
    assert got == ex.reference == {"Ada", "Cy"}
    assert ex.check(got, quiet=True)
    assert not ex.check({"Ada", "Bob", "Cy"}, quiet=True)
    assert not ex.check({"Ada", "Cy", "Dee"}, quiet=True)


def test_exercise_6_2_reference_matches_the_server() -> None:
    server = wslab.serve("broadcast")
    app: BroadcastServer = server.app  # type: ignore[assignment]
    ex = wslab.exercise("6.2")
    with clients(server.url, 3) as (cy, bob, ada):
        listed = server.call(app.snapshot())  # Cy, Bob, Ada
        bob.close()
        wait_until(lambda: server.log.entries("close"))
        with pytest.raises(ConnectionClosed):
            server.call(app.deliver(listed, "ping", how="naive"))
        server.call(app.deliver(listed, "pong", how="checked"))
        # Each reads "pong" next unless "ping" came first.
        got = {name for name, ws in (("Cy", cy), ("Ada", ada)) if recv_json(ws)["text"] == "ping"}
        assert recv_json(cy)["text"] == "pong"
    assert got == ex.reference == {"Cy"}
    assert not ex.check({"Cy", "Ada"}, quiet=True)
