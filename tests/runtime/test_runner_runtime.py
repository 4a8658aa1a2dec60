"""wslab.runtime.runner: lesson servers on their own thread, kept by name."""

from __future__ import annotations

import errno
import socket
import threading
import time

import pytest
from helpers import free_port, sync_connect, wait_until
from websockets.exceptions import ConnectionClosed

from wslab.runtime.runner import (
    DEFAULT_HOST,
    RunningServer,
    ServerStartError,
    get_ws_url,
    running_servers,
    stop_all,
    stop_server,
)
from wslab.servers import SERVERS, EchoServer, serve


def roundtrip(url: str, message: str = "ping") -> str | bytes:
    with sync_connect(url) as ws:
        ws.send(message)
        return ws.recv(timeout=5)


# --- get_ws_url -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "url"),
    [
        ((8082,), {}, "ws://127.0.0.1:8082/"),
        ((8082, "localhost"), {}, "ws://localhost:8082/"),
        ((8082, "::1"), {}, "ws://[::1]:8082/"),
        ((8082, "[::1]"), {}, "ws://[::1]:8082/"),
        ((8082, "fe80::1"), {}, "ws://[fe80::1]:8082/"),
        ((443, "example.org"), {"secure": True}, "wss://example.org:443/"),
        ((8082,), {"path": "chat"}, "ws://127.0.0.1:8082/chat"),
        ((8082,), {"path": "/room/1"}, "ws://127.0.0.1:8082/room/1"),
        ((9000, "::1", "/x"), {"secure": True}, "wss://[::1]:9000/x"),
    ],
)
def test_get_ws_url(args: tuple[object, ...], kwargs: dict[str, object], url: str) -> None:
    assert get_ws_url(*args, **kwargs) == url  # type: ignore[arg-type]


def test_default_host_is_loopback() -> None:
    assert DEFAULT_HOST == "127.0.0.1"


# --- serve ------------------------------------------------------------------------


def test_serve_returns_once_listening() -> None:
    server = serve("echo")
    # No waiting: the server listens by the time serve() returns.
    assert roundtrip(server.url, "hello") == "hello"
    assert server.running
    assert server.ready_seconds > 0


def test_url_port_and_registry() -> None:
    server = serve("echo")
    assert isinstance(server, RunningServer)
    assert server.name == "echo"
    assert server.host == "127.0.0.1"
    assert 0 < server.port < 65536
    assert server.url == f"ws://127.0.0.1:{server.port}/"
    assert server.log is server.app.log
    assert isinstance(server.app, EchoServer)
    assert running_servers() == {"echo": server}
    assert server.thread.name == "wslab-echo"
    assert server.thread.daemon
    assert repr(server) == f"<RunningServer 'echo' running at {server.url}>"
    assert f"<code>{server.url}</code>" in server._repr_html_()
    assert "running" in server._repr_html_()
    assert server.log.kinds()[0] == "listening"
    assert server.log.entries("listening")[0].text == f"echo listening on {server.url}"


def test_serve_under_another_name_and_with_options() -> None:
    a = serve("slow", name="slow-a", delay=0.1)
    b = serve("slow", name="slow-b")
    assert running_servers() == {"slow-a": a, "slow-b": b}
    assert a.app.delay == 0.1  # type: ignore[attr-defined]
    assert b.app.delay == 0.6  # type: ignore[attr-defined]
    assert a.thread.name == "wslab-slow-a"
    assert a.port != b.port


def test_serve_an_instance() -> None:
    app = EchoServer()
    server = serve(app)
    assert server.app is app
    assert running_servers() == {"echo": server}


def test_serve_unregistered_is_not_kept() -> None:
    server = serve("echo", register=False)
    try:
        assert running_servers() == {}
        assert roundtrip(server.url) == "ping"
        other = serve("echo")
        # Serving the name again does not touch an unregistered server.
        assert server.running
        assert running_servers() == {"echo": other}
    finally:
        server.stop()
    assert not server.running


def test_reserving_the_same_name_replaces_the_earlier_server() -> None:
    first = serve("echo")
    first_thread = first.thread
    with sync_connect(first.url) as old_client:
        second = serve("echo")
        # The old server's client got "going away".
        with pytest.raises(ConnectionClosed) as info:
            old_client.recv(timeout=5)
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == 1001
    assert not first.running
    assert not first_thread.is_alive()
    assert second.running
    assert running_servers() == {"echo": second}
    assert [t.name for t in threading.enumerate()].count("wslab-echo") == 1
    assert roundtrip(second.url) == "ping"
    assert first.log.kinds()[-1] == "stopped"


def test_serving_a_fixed_port_twice_in_a_row() -> None:
    port = free_port()
    first = serve("echo", port=port)
    assert first.port == port
    assert roundtrip(first.url) == "ping"
    second = serve("echo", port=port)  # no "address already in use"
    assert second.port == port
    assert not first.running
    assert roundtrip(second.url, "again") == "again"
    second.stop()
    third = serve("echo", port=port)
    assert roundtrip(third.url, "third") == "third"


def test_port_in_use_by_a_foreign_socket() -> None:
    with socket.socket() as foreign:
        foreign.bind(("127.0.0.1", 0))
        foreign.listen()
        port = foreign.getsockname()[1]
        with pytest.raises(ServerStartError) as info:
            serve("echo", port=port)
    error = info.value
    assert isinstance(error, OSError)
    assert error.errno == errno.EADDRINUSE
    assert error.strerror == (
        f"port {port} on 127.0.0.1 is already in use by another program; "
        "choose another port, or port 0 for any free one"
    )
    assert running_servers() == {}
    # The failed server's thread was stopped (the autouse fixture checks too).
    wait_until(lambda: "wslab-echo" not in [t.name for t in threading.enumerate()])


def test_unknown_server_name_lists_the_names() -> None:
    with pytest.raises(KeyError) as info:
        serve("nope")
    known = ", ".join(sorted(SERVERS))
    assert info.value.args[0] == f"no lesson server called 'nope'; the servers are: {known}"
    assert running_servers() == {}


# --- stopping ----------------------------------------------------------------------


def test_stop_is_idempotent() -> None:
    server = serve("echo")
    port = server.port
    server.stop()
    server.stop()
    assert not server.running
    assert not server.thread.is_alive()
    assert server.log.kinds().count("stopped") == 1
    assert running_servers() == {}
    assert repr(server) == f"<RunningServer 'echo' stopped at ws://127.0.0.1:{port}/>"
    with pytest.raises(OSError), sync_connect(server.url, open_timeout=2):
        pass  # pragma: no cover - refused


def test_stop_server_by_name() -> None:
    serve("echo")
    assert stop_server("echo") is True
    assert stop_server("echo") is False
    assert stop_server("never-started") is False
    assert running_servers() == {}


def test_stop_closes_clients_with_going_away() -> None:
    server = serve("echo")
    with sync_connect(server.url) as client:
        client.send("hi")
        assert client.recv(timeout=5) == "hi"
        server.stop()
        with pytest.raises(ConnectionClosed) as info:
            client.recv(timeout=5)
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 1001
    wait_until(lambda: "close" in server.log.kinds())
    assert server.log.kinds()[-1] == "stopped"


def test_stop_all() -> None:
    servers = [serve("echo"), serve("slow"), serve("chat"), serve("echo", name="echo-2")]
    assert sorted(running_servers()) == ["chat", "echo", "echo-2", "slow"]
    stop_all()
    assert running_servers() == {}
    assert [s.running for s in servers] == [False] * 4
    assert [s.thread.is_alive() for s in servers] == [False] * 4
    stop_all()  # nothing left: harmless


def test_call_runs_on_the_server_loop() -> None:
    server = serve("echo")

    async def where() -> str:
        return threading.current_thread().name

    assert server.call(where()) == "wslab-echo"


def test_loop_exceptions_go_to_the_log_not_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    server = serve("echo")

    async def fail_in_background() -> None:
        import asyncio

        def boom() -> None:
            raise RuntimeError("boom in a callback")

        asyncio.get_running_loop().call_soon(boom)
        await asyncio.sleep(0)

    server.call(fail_in_background())
    wait_until(lambda: server.log.entries("error"))
    assert "RuntimeError: boom in a callback" in server.log.entries("error")[0].text
    assert capfd.readouterr() == ("", "")


# --- threads -------------------------------------------------------------------------


async def test_server_answers_while_the_calling_thread_is_blocked() -> None:
    """A cell that blocks (time.sleep) does not stop a lesson server."""
    server = serve("echo")
    answers: list[str | bytes] = []

    def client() -> None:
        answers.append(roundtrip(server.url, "still there?"))

    thread = threading.Thread(target=client)
    thread.start()
    # Block this thread, and with it the test's event loop, like a cell would.
    deadline = time.monotonic() + 10
    while thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    thread.join()
    assert answers == ["still there?"]


def test_servers_never_print(capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    echo = serve("echo")
    chat = serve("chat")
    with sync_connect(echo.url) as ws:
        ws.send("hello")
        ws.recv(timeout=5)
        ws.send(b"\x00\x01")
        ws.recv(timeout=5)
    with sync_connect(chat.url) as ws:
        for bad in ("not json", "[]", '{"type": "nope"}', '{"type": "chat", "text": "x"}'):
            ws.send(bad)
            ws.recv(timeout=5)
        ws.send(b"\x00")
        ws.recv(timeout=5)
    with sync_connect(echo.url) as ws:
        ws.send("x" * ((1 << 20) + 1))
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    with sync_connect(chat.url):
        stop_all()
    assert capfd.readouterr() == ("", "")
    assert "refused" in chat.log.kinds()
    assert echo.log.kinds()[-1] == "stopped"
