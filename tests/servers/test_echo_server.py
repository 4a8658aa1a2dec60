"""The ``echo`` server's contract (lessons 1 and 2), over real sockets."""

from __future__ import annotations

import pytest
from helpers import sync_connect, wait_until

import wslab


@pytest.mark.parametrize(
    "message", ["hello", "", "李雷 José 🙂", b"\x00\x01\xff", b"", bytes(range(256)) * 100]
)
def test_echo_returns_messages_unchanged(echo: wslab.RunningServer, message: str | bytes) -> None:
    with sync_connect(echo.url) as ws:
        ws.send(message)
        reply = ws.recv(timeout=5)
    assert reply == message
    assert type(reply) is type(message)  # bytes stay bytes, text stays text


def test_echo_keeps_the_order_and_the_frame_type(echo: wslab.RunningServer) -> None:
    sent: list[str | bytes] = [f"m{n}" if n % 2 else bytes([n]) for n in range(20)]
    with sync_connect(echo.url) as ws:
        for message in sent:
            ws.send(message)
        got = [ws.recv(timeout=5) for _ in sent]
    assert got == sent
    wait_until(lambda: echo.log.entries("close"))
    frames = [e.binary for e in echo.log.entries("message") if e.direction == "out"]
    assert frames == [isinstance(m, bytes) for m in sent]


def test_echo_serves_clients_independently(echo: wslab.RunningServer) -> None:
    with sync_connect(echo.url) as a, sync_connect(echo.url) as b:
        a.send("for a")
        b.send("for b")
        assert b.recv(timeout=5) == "for b"
        assert a.recv(timeout=5) == "for a"
    wait_until(lambda: len(echo.log.entries("close")) == 2)
    assert sorted(e.peer for e in echo.log.entries("connect")) == ["#1", "#2"]
