"""What every lesson server shares (servers/base.py), over real sockets: the registry, limits."""

from __future__ import annotations

import json

import pytest
from helpers import TOO_BIG, sync_connect, wait_until
from websockets.exceptions import ConnectionClosed

import wslab
from wslab.lessons import LESSONS
from wslab.servers import SERVERS, ChatServer, EchoServer, LessonServer, SlowServer, create_server

# --- the registry -----------------------------------------------------------------


def test_server_registry() -> None:
    # Servers are discovered from their modules; every lesson's server is there.
    assert {"echo": EchoServer, "slow": SlowServer, "chat": ChatServer}.items() <= SERVERS.items()
    assert {item.server for item in LESSONS if item.ready} <= set(SERVERS)
    assert set(SERVERS) <= {item.server for item in LESSONS}
    for name, cls in SERVERS.items():
        assert cls.name == name
        assert issubclass(cls, LessonServer)
        assert cls.summary
        assert cls.lessons
    assert EchoServer.lessons == (1, 2)
    assert SlowServer.lessons == (3,)
    assert ChatServer.lessons == (4,)


def test_create_server() -> None:
    slow = create_server("slow", delay=1.5)
    assert isinstance(slow, SlowServer)
    assert slow.delay == 1.5
    with pytest.raises(KeyError) as info:
        create_server("nope")
    known = ", ".join(sorted(SERVERS))
    assert info.value.args[0] == f"no lesson server called 'nope'; the servers are: {known}"


def test_serve_options() -> None:
    server = EchoServer()
    options = server.serve_options()
    assert options["max_size"] == 1 << 20
    assert options["compression"] is None
    assert options["logger"] is server.logger
    assert server.logger.propagate is False


# --- every server -------------------------------------------------------------------

GOOD_MESSAGE = {
    "echo": "hello",
    "slow": json.dumps({"id": 1, "type": "process", "data": "x"}),
    "chat": json.dumps({"type": "who"}),
}


@pytest.mark.parametrize("name", ["echo", "slow", "chat"])
def test_every_server_logs_connect_message_close(name: str, fast: float) -> None:
    server = wslab.serve(name)
    with sync_connect(server.url) as ws:
        ws.send(GOOD_MESSAGE[name])
        ws.recv(timeout=5)
    wait_until(lambda: server.log.entries("close"))
    assert server.log.kinds() == ["listening", "connect", "message", "message", "close"]
    connect, message_in, message_out, close = server.log.entries()[1:]
    assert connect.peer == "#1"
    assert connect.text.startswith("#1 connected from 127.0.0.1:")
    assert (message_in.direction, message_in.peer, message_in.text) == (
        "in",
        "#1",
        GOOD_MESSAGE[name],
    )
    assert message_out.direction == "out"
    assert (close.peer, close.code, close.text) == ("#1", 1000, "#1 closed: 1000")
    assert server.app.peers == {}


@pytest.mark.parametrize("name", ["echo", "slow", "chat"])
def test_every_server_closes_1009_on_a_message_over_one_mebibyte(name: str, fast: float) -> None:
    server = wslab.serve(name)
    with sync_connect(server.url) as bystander:
        with sync_connect(server.url) as ws:
            ws.send("x" * TOO_BIG)
            with pytest.raises(ConnectionClosed) as info:
                ws.recv(timeout=5)
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == 1009
        wait_until(lambda: server.log.entries("close"))
        closed = server.log.entries("close")[0]
        assert closed.code == 1009
        assert closed.text.startswith("#2 closed: 1009 ")
        # Only the sender is closed.
        bystander.send(GOOD_MESSAGE[name])
        assert bystander.recv(timeout=5)


@pytest.mark.parametrize("name", ["echo", "slow", "chat"])
def test_exactly_one_mebibyte_is_accepted(name: str, fast: float) -> None:
    server = wslab.serve(name)
    with sync_connect(server.url, max_size=None) as ws:
        ws.send("x" * (1 << 20))
        reply = ws.recv(timeout=5)
    if name == "echo":
        assert reply == "x" * (1 << 20)
    else:
        assert json.loads(reply)["error"] == "invalid-json"
