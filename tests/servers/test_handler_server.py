"""``serve(handler)``: a student's own ``async def handler(ws)`` as a kernel-side server.

Its contract: it starts like a lesson server (own thread and loop, url/port/log),
records connections and messages, replaces an earlier server of the same
name, answers a handler that raises with 1011 and an "error" entry naming the
student's line while other connections go on, refuses a plain ``def`` with a
TypeError that says why, and stops even when the handler never returns.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

import pytest
from helpers import TOO_BIG, sync_connect, wait_until, wslab_threads
from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed, InvalidStatus

import wslab
from wslab.core.handler import MAX_REASON_BYTES, check_handler, close_reason
from wslab.servers.handler import HandlerServer, HandlerServerError


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


def test_a_handler_serves_like_a_lesson_server() -> None:
    server = wslab.serve(echo)
    assert server.name == "echo()" and server.port > 0
    assert server.url == f"ws://127.0.0.1:{server.port}/"
    assert wslab.running_servers()["echo()"] is server
    assert any(t.startswith("wslab-echo") for t in wslab_threads())
    with sync_connect(server.url) as ws:
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
        ws.send(b"\x00\x01")
        assert ws.recv(timeout=5) == b"\x00\x01"
    wait_until(lambda: "close" in server.log.kinds())
    assert server.log.kinds()[:1] == ["listening"]
    messages = [(e.direction, e.text, e.binary) for e in server.log.entries("message")]
    assert messages[0] == ("in", "hello", False)
    assert messages[1] == ("out", "hello", False)
    assert [m[:1] + m[2:] for m in messages[2:]] == [("in", True), ("out", True)]
    assert server.log.entries("close")[0].code == 1000


def test_serving_the_same_name_again_replaces_the_server() -> None:
    first = wslab.serve(echo)

    async def echo_again(ws: ServerConnection) -> None:  # re-running the cell: same name
        async for message in ws:
            await ws.send(message.upper() if isinstance(message, str) else message)

    echo_again.__name__ = "echo"
    second = wslab.serve(echo_again)
    assert not first.running and second.running
    assert list(wslab.running_servers()) == ["echo()"]
    with sync_connect(second.url) as ws:
        ws.send("hi")
        assert ws.recv(timeout=5) == "HI"


def test_an_exception_closes_that_connection_with_1011_and_names_the_students_line() -> None:
    async def divide(ws: ServerConnection) -> None:
        async for message in ws:
            await ws.send(str(100 // int(message)))

    server = wslab.serve(divide)
    with sync_connect(server.url) as bystander, sync_connect(server.url) as ws:
        ws.send("0")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1011
        assert (
            closed.value.rcvd.reason
            == "ZeroDivisionError in the handler: integer division or modulo by zero"
        )
        # Everyone else is still served.
        bystander.send("4")
        assert bystander.recv(timeout=5) == "25"
    [entry] = server.log.entries("error")
    assert entry.code == 1011 and entry.peer == "#2"
    assert entry.text.startswith("#2: ZeroDivisionError: integer division or modulo by zero")
    assert "in divide" in entry.text
    assert "await ws.send(str(100 // int(message)))" in entry.text
    assert (
        "websockets" not in entry.text and "asyncio" not in entry.text
    )  # only the student's lines
    app = server.app
    assert isinstance(app, HandlerServer)
    with pytest.raises(HandlerServerError, match="your handler raised:\n#2: ZeroDivisionError"):
        app.raise_errors()


def test_a_plain_def_is_refused_with_a_reason() -> None:
    def plain(ws: Any) -> None:
        pass

    with pytest.raises(
        TypeError, match=r"plain must be `async def plain\(ws\):`, not a plain `def`"
    ):
        wslab.serve(plain)
    assert wslab.running_servers() == {}


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (lambda: None, "must be `async def"),
        (42, "needs a lesson server's name or a handler"),
    ],
)
def test_what_cannot_be_a_handler(handler: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        wslab.serve(handler)  # type: ignore[arg-type]


def test_a_handler_with_the_wrong_arguments_or_already_called() -> None:
    async def two(ws: Any, path: str) -> None:
        pass

    async def none() -> None:
        pass

    with pytest.raises(
        TypeError, match=r"two takes \(ws, path\); a handler is `async def handler\(ws\):`"
    ):
        check_handler(two)
    with pytest.raises(TypeError, match=r"none takes \(nothing\)"):
        check_handler(none)
    coroutine = echo(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"pass the function itself, serve\(handler\)"):
        wslab.serve(coroutine)  # type: ignore[arg-type]

    # A partial with the connection left open is a handler too.
    async def tagged(tag: str, ws: ServerConnection) -> None:
        async for message in ws:
            await ws.send(f"{tag}{message}")

    server = wslab.serve(functools.partial(tagged, "> "), name="tagged")
    with sync_connect(server.url) as ws:
        ws.send("x")
        assert ws.recv(timeout=5) == "> x"


def test_a_handler_that_never_returns_does_not_hold_stop() -> None:
    async def stubborn(ws: ServerConnection) -> None:
        while True:  # ignores the connection entirely, even its close
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                return

    server = wslab.serve(stubborn)
    with sync_connect(server.url):
        wait_until(lambda: len(server.log.entries("connect")) == 1)
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 5
        assert not server.running
    wait_until(lambda: not [t for t in wslab_threads() if "stubborn" in t])


def test_broadcast_and_recv_are_recorded() -> None:
    clients: set[ServerConnection] = set()

    async def relay(ws: ServerConnection) -> None:
        clients.add(ws)
        try:
            while True:
                message = await ws.recv()
                broadcast(clients - {ws}, message)
        finally:
            clients.discard(ws)

    server = wslab.serve(relay)
    with sync_connect(server.url) as a, sync_connect(server.url) as b:
        wait_until(lambda: len(clients) == 2)
        a.send("to everyone else")
        assert b.recv(timeout=5) == "to everyone else"
    wait_until(lambda: len(server.log.entries("close")) == 2)
    assert [(e.direction, e.peer, e.text) for e in server.log.entries("message")] == [
        ("in", "#1", "to everyone else"),
        ("out", "#2", "to everyone else"),
    ]


def test_the_lesson_options_apply() -> None:
    server = wslab.serve(echo, max_size=1000)
    with sync_connect(server.url) as ws:
        ws.send("x" * 1001)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    with pytest.raises(InvalidStatus):
        sync_connect(server.url, origin="https://elsewhere.example")  # type: ignore[arg-type]
    allowed = wslab.serve(echo, origins=["https://elsewhere.example"])
    with sync_connect(allowed.url, origin="https://elsewhere.example") as ws:  # type: ignore[arg-type]
        ws.send("ok")
        assert ws.recv(timeout=5) == "ok"
    with pytest.raises(TypeError, match="rate_limit applies to the course's servers"):
        wslab.serve(echo, rate_limit=wslab.RateLimit(10, 10))


def test_the_default_limit_is_the_lesson_servers() -> None:
    server = wslab.serve(echo)
    with sync_connect(server.url) as ws:
        ws.send("x" * TOO_BIG)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_close_reason_fits_a_close_frame() -> None:
    reason = close_reason(ValueError("é" * 200))
    assert len(reason.encode("utf-8")) <= MAX_REASON_BYTES
    assert reason.startswith("ValueError in the handler: é") and reason.endswith("…")
    assert close_reason(KeyError()) == "KeyError in the handler"
