"""wslab.network.wire: a recording TCP proxy, over real sockets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from helpers import free_port, sync_connect, wait_until
from websockets.exceptions import ConnectionClosed

import wslab
from wslab.network.wire import (
    Chunk,
    Wiretap,
    hexdump,
    running_wiretaps,
    start_wiretap,
    stop_wiretap,
    stop_wiretaps,
)
from wslab.runtime.tls import local_tls


@pytest.fixture(autouse=True)
def _stop_taps() -> Iterator[None]:
    yield
    stop_wiretaps()
    assert running_wiretaps() == {}


def test_it_forwards_and_records_both_directions(echo: wslab.RunningServer) -> None:
    tap = start_wiretap(echo.port)
    with sync_connect(tap.url(echo.url)) as ws:
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
    wait_until(lambda: b"\x88" in tap.data("down"))  # the server's close frame
    up, down = tap.data("up"), tap.data("down")
    assert up.startswith(b"GET / HTTP/1.1\r\n")
    assert b"Upgrade: websocket" in up
    assert down.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    # A client masks its frames (RFC 6455 §5.3), a server does not: "hello"
    # is plain text going down only.
    assert b"hello" in down
    assert b"hello" not in up
    assert tap.saw("hello") and tap.saw(b"Switching Protocols")
    assert not tap.saw("goodbye")
    assert tap.connections == 1
    assert {c.direction for c in tap.chunks()} == {"up", "down"}
    assert all(c.connection == 1 for c in tap.chunks())
    assert tap.data() == b"".join(c.data for c in tap.chunks())
    # The echo server saw an ordinary client: the tap is invisible to it.
    wait_until(lambda: echo.log.entries("close"))
    assert echo.log.entries("close")[0].code == 1000


def test_connections_are_numbered(echo: wslab.RunningServer) -> None:
    tap = start_wiretap(echo.port)
    for text in ("one", "two"):
        with sync_connect(tap.url(echo.url)) as ws:
            ws.send(text)
            ws.recv(timeout=5)
    wait_until(lambda: b"two" in tap.data("down", connection=2))
    assert tap.connections == 2
    assert b"one" in tap.data("down", connection=1)
    assert b"one" not in tap.data("down", connection=2)


def test_tls_bytes_are_forwarded_unreadable() -> None:
    tls = local_tls()
    server = wslab.serve("auth", ssl=tls.server)
    token = server.app.issue("alice")
    tap = start_wiretap(server.port)
    with sync_connect(tap.url(f"{server.url}?token={token}"), ssl=tls.client) as ws:
        assert "alice" in ws.recv(timeout=5)
    wait_until(lambda: tap.data("down"))
    assert tap.data("up")[:1] == b"\x16"  # a TLS handshake record
    assert not tap.saw(token)
    assert not tap.saw("GET /") and not tap.saw("alice")


def test_url_keeps_scheme_path_and_query() -> None:
    tap = Wiretap(1234)
    tap.port = 5555
    assert tap.url("ws://127.0.0.1:1234/") == "ws://127.0.0.1:5555/"
    assert tap.url("wss://localhost:1/room?token=a.b.c") == "wss://127.0.0.1:5555/room?token=a.b.c"
    assert tap.url("http://127.0.0.1:1234/api/login") == "http://127.0.0.1:5555/api/login"


def test_observers_hear_every_chunk(echo: wslab.RunningServer) -> None:
    tap = start_wiretap(echo.port)
    heard: list[Chunk] = []
    tap.observers.subscribe(heard.append)
    with sync_connect(tap.url(echo.url)) as ws:
        ws.send("x")
        ws.recv(timeout=5)
    wait_until(lambda: len(heard) == len(tap.chunks()) and heard)
    assert heard == tap.chunks()
    assert all(c.time > 0 for c in heard)


def test_clear_and_the_recording_limit(echo: wslab.RunningServer) -> None:
    tap = start_wiretap(echo.port, max_recorded=10)
    with sync_connect(tap.url(echo.url)) as ws:
        ws.send("a long message, longer than ten bytes")
        assert ws.recv(timeout=5).startswith("a long")  # still forwarded
    assert len(tap.chunks()) == 1  # the first chunk, then nothing more
    tap.clear()
    assert tap.chunks() == [] and tap.data() == b""


def test_an_unreachable_target_is_reported_and_the_client_dropped() -> None:
    tap = start_wiretap(free_port())
    with socket.create_connection(("127.0.0.1", tap.port), timeout=5) as sock:
        assert sock.recv(10) == b""  # closed by the tap
    wait_until(lambda: tap.errors)
    assert "cannot reach the target" in tap.errors[0]


def test_start_replaces_a_tap_of_the_same_name(echo: wslab.RunningServer) -> None:
    first = start_wiretap(echo.port, name="mine")
    second = start_wiretap(echo.port, name="mine")
    assert not first.running and second.running
    assert running_wiretaps() == {"mine": second}
    assert second.thread.name == "wslab-wiretap-mine"
    assert stop_wiretap("mine") and not stop_wiretap("mine")
    second.stop()  # idempotent
    assert not second.running


def test_stop_drops_open_connections(echo: wslab.RunningServer) -> None:
    tap = start_wiretap(echo.port)
    with sync_connect(tap.url(echo.url)) as ws:
        tap.stop()
        assert not any(t.name == "wslab-wiretap-wiretap" for t in threading.enumerate())
        with pytest.raises(ConnectionClosed):  # the path is gone
            ws.send("anyone there?")
            ws.recv(timeout=2)


def test_a_plain_tap_works_as_a_context_manager(echo: wslab.RunningServer) -> None:
    with Wiretap(echo.port, name="ctx").start() as tap:
        assert tap.running and "127.0.0.1" in repr(tap)
    assert not tap.running
    assert "stopped" in repr(tap)


def test_hexdump() -> None:
    text = hexdump(b"GET / HTTP/1.1\r\n\x00\xff", limit=16)
    lines = text.splitlines()
    assert lines[0] == "000000  47 45 54 20 2f 20 48 54 54 50 2f 31 2e 31 0d 0a  GET / HTTP/1.1.."
    assert lines[1] == "... 2 more bytes"
    assert hexdump(b"") == ""
