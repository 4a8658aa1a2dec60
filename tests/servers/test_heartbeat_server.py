"""The ``heartbeat`` server's contract: ping → pong, echo, keepalive 1011, quiet logs, stall.

Clients are websockets' synchronous client, and for the keepalive a raw
socket that completes the opening handshake and then never answers anything:
the peer that a dead network (or a frozen device) looks like.
"""

from __future__ import annotations

import base64
import os
import socket
import time

import pytest
from helpers import TOO_BIG, sync_connect, wait_until
from websockets.exceptions import ConnectionClosed

import wslab
from wslab.core.timescale import real_seconds
from wslab.servers import SERVERS, create_server
from wslab.servers.heartbeat import CLOSE_TIMEOUT, HeartbeatServer
from wslab.state.heartbeat import HeartbeatLog


@pytest.fixture
def server(fast: float) -> wslab.RunningServer:
    return wslab.serve("heartbeat")


def app_of(running: wslab.RunningServer) -> HeartbeatServer:
    assert isinstance(running.app, HeartbeatServer)
    return running.app


# --- registry and options -----------------------------------------------------------


def test_heartbeat_is_a_lesson_server() -> None:
    assert SERVERS["heartbeat"] is HeartbeatServer
    assert HeartbeatServer.lessons == (9,)
    assert HeartbeatServer.summary
    app = create_server("heartbeat")
    assert isinstance(app, HeartbeatServer)
    assert isinstance(app.log, HeartbeatLog) and app.log.heartbeats
    assert not app.keepalive


def test_keepalive_is_off_by_default_and_scaled_when_on(fast: float) -> None:
    options = HeartbeatServer().serve_options()
    assert options["ping_interval"] is None and options["ping_timeout"] is None
    assert options["close_timeout"] == real_seconds(CLOSE_TIMEOUT)
    assert options["max_size"] == 1 << 20 and options["compression"] is None
    on = HeartbeatServer(ping_interval=20, ping_timeout=10)
    assert on.keepalive
    options = on.serve_options()
    assert (options["ping_interval"], options["ping_timeout"]) == (20 * fast, 10 * fast)


@pytest.mark.parametrize("option", ["ping_interval", "ping_timeout"])
@pytest.mark.parametrize("value", [0, -1])
def test_bad_keepalive_options(option: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"{option} must be a positive number"):
        HeartbeatServer(**{option: value})


# --- ping → pong, and echo --------------------------------------------------------------


def test_ping_gets_pong_and_the_rest_is_echoed(server: wslab.RunningServer) -> None:
    sent: list[str | bytes] = ["ping", "hello", "PING", " ping", "ping\n", "", b"ping", "ping"]
    with sync_connect(server.url) as ws:
        got = []
        for message in sent:
            ws.send(message)
            got.append(ws.recv(timeout=5))
    assert got == ["pong", "hello", "PING", " ping", "ping\n", "", b"ping", "pong"]
    assert app_of(server).pings_answered == 2
    wait_until(lambda: server.log.entries("close"))
    assert server.log.kinds() == ["listening", "connect", *["message"] * 16, "close"]
    outs = [e.text for e in server.log.entries("message") if e.direction == "out"]
    assert outs[:2] == ["pong", "hello"]


def test_clients_are_served_independently(server: wslab.RunningServer) -> None:
    with sync_connect(server.url) as a, sync_connect(server.url) as b:
        a.send("ping")
        b.send("for b")
        assert b.recv(timeout=5) == "for b"
        assert a.recv(timeout=5) == "pong"


def test_a_message_over_one_mebibyte_closes_1009_only_that_client(
    server: wslab.RunningServer,
) -> None:
    with sync_connect(server.url) as bystander:
        with sync_connect(server.url) as ws:
            ws.send("x" * TOO_BIG)
            with pytest.raises(ConnectionClosed) as info:
                ws.recv(timeout=5)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1009
        bystander.send("ping")
        assert bystander.recv(timeout=5) == "pong"
    wait_until(lambda: len(server.log.entries("close")) == 2)
    # Either close may be recorded first: the bystander's 1000 does not wait
    # for the oversized client's TCP connection to end.
    assert sorted(entry.code or 0 for entry in server.log.entries("close")) == [1000, 1009]


def test_quiet_log_leaves_ping_pong_out(fast: float) -> None:
    quiet = wslab.serve("heartbeat", log_heartbeats=False)
    with sync_connect(quiet.url) as ws:
        for message in ("ping", "hello", "ping"):
            ws.send(message)
            ws.recv(timeout=5)
    wait_until(lambda: quiet.log.entries("close"))
    assert [e.text for e in quiet.log.entries("message")] == ["hello", "hello"]
    log = quiet.log
    assert isinstance(log, HeartbeatLog)
    assert log.skipped == 4  # two pings in, two pongs out
    assert app_of(quiet).pings_answered == 2


# --- protocol-level keepalive ----------------------------------------------------------------


def raw_client(port: int) -> socket.socket:
    """Open a WebSocket by hand; after the handshake this peer answers nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101 ")
    return sock


def read_frames(sock: socket.socket) -> list[tuple[int, bytes]]:
    """Read the server's (unmasked, short) frames until a close frame or the end."""
    frames: list[tuple[int, bytes]] = []
    buffer = b""
    while True:
        while len(buffer) >= 2 and len(buffer) >= 2 + (buffer[1] & 0x7F):
            length = buffer[1] & 0x7F
            assert length < 126
            frames.append((buffer[0] & 0x0F, buffer[2 : 2 + length]))
            buffer = buffer[2 + length :]
            if frames[-1][0] == 0x8:
                return frames
        data = sock.recv(4096)
        if not data:
            return frames
        buffer += data


def test_keepalive_closes_a_peer_that_does_not_answer_pings_with_1011(fast: float) -> None:
    server = wslab.serve("heartbeat", ping_interval=5, ping_timeout=5)
    with raw_client(server.port) as sock:
        frames = read_frames(sock)
    opcodes = [opcode for opcode, _ in frames]
    assert opcodes == [0x9, 0x8]  # a Ping frame, unanswered; then Close
    close = frames[-1][1]
    assert int.from_bytes(close[:2], "big") == 1011
    assert close[2:] == b"keepalive ping timeout"
    wait_until(lambda: server.log.entries("close"))
    entry = server.log.entries("close")[0]
    assert (entry.code, entry.text) == (1011, "#1 closed: 1011 keepalive ping timeout")


def test_keepalive_keeps_a_peer_that_answers(fast: float) -> None:
    server = wslab.serve("heartbeat", ping_interval=2, ping_timeout=2)
    with sync_connect(server.url, ping_interval=None) as ws:
        time.sleep(real_seconds(8))  # about four Ping frames, answered by websockets itself
        ws.send("still here?")
        assert ws.recv(timeout=5) == "still here?"  # no message was a ping or pong
        latencies = app_of(server).latencies()
        assert list(latencies) == ["#1"] and latencies["#1"] > 0
    wait_until(lambda: server.log.entries("close"))
    assert server.log.entries("close")[0].code == 1000


# --- a hung application ------------------------------------------------------------------------


def test_a_stalled_app_still_answers_protocol_pings_but_not_text_pings(
    server: wslab.RunningServer,
) -> None:
    app = app_of(server)
    with sync_connect(server.url) as ws:
        app.stall()
        assert app.stalled
        assert ws.ping().wait(5)  # the library answers the Ping frame
        ws.send("ping")
        with pytest.raises(TimeoutError):
            ws.recv(timeout=real_seconds(10))  # the application does not
        app.resume()
        assert not app.stalled
        assert ws.recv(timeout=5) == "pong"  # held, then answered
    assert server.log.kinds()[2:5] == ["stalled", "message", "resumed"]


def test_stall_needs_a_running_server() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        HeartbeatServer().stall()


def test_stopping_a_stalled_server_is_prompt(fast: float) -> None:
    server = wslab.serve("heartbeat")
    with sync_connect(server.url) as ws:
        app_of(server).stall()
        ws.send("ping")
        started = time.perf_counter()
        server.stop()
        got = []
        with pytest.raises(ConnectionClosed) as info:
            while True:
                got.append(ws.recv(timeout=5))
    assert time.perf_counter() - started < 5
    assert got == ["pong"]  # the held message is answered on the way out
    assert info.value.rcvd is not None and info.value.rcvd.code == 1001
