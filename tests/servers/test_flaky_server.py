"""The ``flaky`` server's contract, over real sockets: faults, the message-id protocol, bad input.

Clients here are websockets' own synchronous client, so each check reads the
wire as any other client would: a crash is a connection that ends without a
close frame (1006), a refusal is an HTTP 503 or a refused TCP connection.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from helpers import TOO_BIG, recv_json, send_json, sync_connect, wait_until
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection

import wslab
from wslab.servers import SERVERS, create_server
from wslab.servers.flaky import CLOSE_CODES_ALLOWED, FlakyServer


@pytest.fixture
def flaky() -> wslab.RunningServer:
    return wslab.serve("flaky")


def app_of(running: wslab.RunningServer) -> FlakyServer:
    assert isinstance(running.app, FlakyServer)
    return running.app


def closed_code(ws: ClientConnection) -> int | None:
    """Read until the connection ends; return the close code received (None: no frame)."""
    with pytest.raises(ConnectionClosed) as info:
        while True:
            ws.recv(timeout=5)
    return None if info.value.rcvd is None else int(info.value.rcvd.code)


def hello(ws: ClientConnection, client: str) -> Any:
    send_json(ws, {"type": "hello", "client": client})
    return recv_json(ws)


def msg(ws: ClientConnection, ident: Any, text: Any = "hi") -> Any:
    send_json(ws, {"type": "msg", "id": ident, "text": text})
    return recv_json(ws)


# --- registry --------------------------------------------------------------------------


def test_flaky_is_a_lesson_server() -> None:
    assert SERVERS["flaky"] is FlakyServer
    assert FlakyServer.lessons == (5,)
    assert FlakyServer.summary
    assert isinstance(create_server("flaky"), FlakyServer)


def test_status_before_serving() -> None:
    app = FlakyServer()
    assert app.status == "down"
    with pytest.raises(RuntimeError, match=r"not running: start it with serve\('flaky'\)"):
        app.crash()


# --- crash -------------------------------------------------------------------------


def test_crash_drops_every_client_without_a_close_frame(flaky: wslab.RunningServer) -> None:
    app = app_of(flaky)
    assert app.status == "up"
    with sync_connect(flaky.url) as a, sync_connect(flaky.url) as b:
        wait_until(lambda: len(app.peers) == 2)
        assert app.crash() == 2
        assert closed_code(a) is None  # no close frame: the client reports 1006
        assert closed_code(b) is None
        assert a.close_code == 1006 and b.close_code == 1006
    assert app.status == "down"
    wait_until(lambda: len(flaky.log.entries("close")) == 2)
    assert {e.code for e in flaky.log.entries("close")} == {1006}
    assert "dropped 2 connections without a close frame" in flaky.log.entries("crash")[0].text


def test_after_a_crash_connections_are_refused(flaky: wslab.RunningServer) -> None:
    app_of(flaky).crash()
    with pytest.raises(ConnectionRefusedError):
        sync_connect(flaky.url)
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", flaky.port))


def test_crash_is_idempotent(flaky: wslab.RunningServer) -> None:
    app = app_of(flaky)
    assert app.crash() == 0
    assert app.crash() == 0
    assert len(flaky.log.entries("crash")) == 1


def test_restart_listens_on_the_same_port(flaky: wslab.RunningServer) -> None:
    app = app_of(flaky)
    port, url = flaky.port, flaky.url
    with sync_connect(url) as ws:
        app.crash()
        assert closed_code(ws) is None
    app.restart()
    assert app.status == "up"
    assert (flaky.port, flaky.url, app.port) == (port, url, port)
    with sync_connect(url) as ws:
        assert hello(ws, "alice")["type"] == "welcome"
    assert flaky.log.entries("restart")[0].text == f"listening again on port {port}"


def test_crash_and_restart_many_times(flaky: wslab.RunningServer) -> None:
    app = app_of(flaky)
    for _ in range(5):
        with sync_connect(flaky.url) as ws:
            wait_until(lambda: app.peers)
            app.crash()
            assert closed_code(ws) is None
        app.restart()
    assert len(flaky.log.entries("crash")) == 5


def test_restart_is_idempotent_and_keeps_clients(flaky: wslab.RunningServer) -> None:
    app = app_of(flaky)
    with sync_connect(flaky.url) as ws:
        hello(ws, "alice")
        app.restart()
        app.restart()
        assert msg(ws, 1)["type"] == "ack"
    assert flaky.log.entries("restart") == []


def test_restart_fails_clearly_when_the_port_was_taken(flaky: wslab.RunningServer) -> None:
    app = app_of(flaky)
    app.crash()
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", flaky.port))
        squatter.listen()
        with pytest.raises(OSError):
            app.restart()
        assert app.status == "down"
        assert "could not listen on port" in flaky.log.entries("error")[-1].text
    app.restart()
    assert app.status == "up"


def test_stop_after_a_crash_cleans_up(flaky: wslab.RunningServer) -> None:
    app_of(flaky).crash()
    flaky.stop()
    assert not flaky.running
    assert not flaky.thread.is_alive()
    with pytest.raises(RuntimeError, match="not running"):
        app_of(flaky).restart()


def test_stop_while_refusing_with_clients_cleans_up(flaky: wslab.RunningServer) -> None:
    app = app_of(flaky)
    with sync_connect(flaky.url) as ws:
        app.refuse()
        flaky.stop()
        assert closed_code(ws) == 1001
    assert not flaky.thread.is_alive()


def test_fault_methods_refuse_to_run_on_the_servers_own_thread(
    flaky: wslab.RunningServer,
) -> None:
    app = app_of(flaky)

    async def from_inside() -> None:
        app.crash()

    with pytest.raises(RuntimeError, match="on the server's own thread"):
        flaky.call(from_inside())
    assert app.status == "up"


# --- refuse ---------------------------------------------------------------------------


def test_refuse_answers_handshakes_with_503(flaky: wslab.RunningServer) -> None:
    app = app_of(flaky)
    with sync_connect(flaky.url) as old:
        app.refuse()
        assert app.status == "refusing"
        with pytest.raises(InvalidStatus) as info:
            sync_connect(flaky.url)
        assert info.value.response.status_code == 503
        assert hello(old, "alice")["type"] == "welcome"  # open connections stay
        app.accept()
        assert app.status == "up"
        with sync_connect(flaky.url) as new:
            assert hello(new, "bob")["type"] == "welcome"
    assert [h.status for h in app.handshakes()] == [101, 503, 101]
    assert [h.accepted for h in app.handshakes()] == [True, False, True]
    assert len(flaky.log.entries("rejected")) == 1


def test_restart_refusing(flaky: wslab.RunningServer) -> None:
    app = app_of(flaky)
    app.crash()
    app.restart(refusing=True)
    assert app.status == "refusing"
    with pytest.raises(InvalidStatus):
        sync_connect(flaky.url)
    app.restart()  # back up, and accepting
    assert app.status == "up"
    with sync_connect(flaky.url):
        pass


def test_handshakes_keep_the_path(flaky: wslab.RunningServer) -> None:
    with sync_connect(flaky.url + "?client=7"):
        pass
    assert app_of(flaky).handshakes()[-1].path == "/?client=7"


def test_handshakes_since(flaky: wslab.RunningServer) -> None:
    app = app_of(flaky)
    with sync_connect(flaky.url):
        pass
    later = app.handshakes()[-1].time + 1e-6
    with sync_connect(flaky.url):
        pass
    assert len(app.handshakes()) == 2
    assert len(app.handshakes(since=later)) == 1


def test_status_observers(flaky: wslab.RunningServer) -> None:
    app = app_of(flaky)
    seen: list[str] = []
    app.status_changed.subscribe(seen.append)
    app.refuse()
    app.accept()
    app.crash()
    app.restart(refusing=True)
    app.accept()
    assert seen == ["refusing", "up", "down", "refusing", "up"]


# --- clean closes -------------------------------------------------------------------


@pytest.mark.parametrize(("code", "reason"), [(1000, "normal closure"), (1001, ""), (4001, "x")])
def test_close_clients_sends_a_close_frame(
    flaky: wslab.RunningServer, code: int, reason: str
) -> None:
    app = app_of(flaky)
    with sync_connect(flaky.url) as a, sync_connect(flaky.url) as b:
        wait_until(lambda: len(app.peers) == 2)
        assert app.close_clients(code, reason) == 2
        for ws in (a, b):
            assert closed_code(ws) == code
            assert ws.close_reason == reason
    assert app.status == "up"  # still listening
    wait_until(lambda: len(flaky.log.entries("close")) == 2)
    assert {e.code for e in flaky.log.entries("close")} == {code}


@pytest.mark.parametrize("code", [999, 1004, 1005, 1006, 1015, 2999, 5000])
def test_close_clients_refuses_reserved_codes(flaky: wslab.RunningServer, code: int) -> None:
    with pytest.raises(ValueError, match=f"close code {code} is not for closing clients"):
        app_of(flaky).close_clients(code)


def test_close_codes_allowed() -> None:
    assert {1000, 1001, 1012, 3000, 4001, 4999} <= CLOSE_CODES_ALLOWED
    assert not {1005, 1006, 1015, 5000} & CLOSE_CODES_ALLOWED


def test_close_clients_reason_too_long(flaky: wslab.RunningServer) -> None:
    with pytest.raises(ValueError, match="123 bytes"):
        app_of(flaky).close_clients(1000, "é" * 62)


# --- message ids --------------------------------------------------------------------------


def test_hello_msg_ack(flaky: wslab.RunningServer) -> None:
    with sync_connect(flaky.url) as ws:
        assert hello(ws, "alice") == {"type": "welcome", "client": "alice", "last_id": 0}
        assert msg(ws, 1, "one") == {"type": "ack", "id": 1, "last_id": 1, "duplicate": False}
        assert msg(ws, 2, "two") == {"type": "ack", "id": 2, "last_id": 2, "duplicate": False}
    assert [(e.id, e.text) for e in app_of(flaky).received("alice")] == [(1, "one"), (2, "two")]


def test_a_resend_is_acknowledged_but_kept_once(flaky: wslab.RunningServer) -> None:
    with sync_connect(flaky.url) as ws:
        hello(ws, "alice")
        msg(ws, 1)
        msg(ws, 2)
        assert msg(ws, 1) == {"type": "ack", "id": 1, "last_id": 2, "duplicate": True}
        assert msg(ws, 2)["duplicate"] is True
    assert [e.id for e in app_of(flaky).received("alice")] == [1, 2]
    assert app_of(flaky).inbox.duplicates("alice") == 2


def test_last_id_survives_a_crash_and_restart(flaky: wslab.RunningServer) -> None:
    app = app_of(flaky)
    with sync_connect(flaky.url) as ws:
        hello(ws, "alice")
        for n in (1, 2, 3):
            msg(ws, n, f"m{n}")
        app.crash()
        assert closed_code(ws) is None
    app.restart()
    with sync_connect(flaky.url) as ws:
        assert hello(ws, "alice") == {"type": "welcome", "client": "alice", "last_id": 3}
        assert msg(ws, 3, "m3")["duplicate"] is True
        assert msg(ws, 4, "m4")["duplicate"] is False
        assert hello(ws, "x") == {  # one hello per connection
            "type": "error",
            "error": "already-introduced",
            "message": "this connection is already 'alice'",
        }
    assert [e.text for e in app.received("alice")] == ["m1", "m2", "m3", "m4"]


def test_clients_are_kept_apart(flaky: wslab.RunningServer) -> None:
    with sync_connect(flaky.url) as a, sync_connect(flaky.url) as b:
        hello(a, "alice")
        assert hello(b, "bob")["last_id"] == 0
        msg(a, 1, "from alice")
        msg(b, 1, "from bob")
    assert [e.text for e in app_of(flaky).received("alice")] == ["from alice"]
    assert [e.text for e in app_of(flaky).received("bob")] == ["from bob"]


def test_two_connections_of_one_client_share_its_record(flaky: wslab.RunningServer) -> None:
    with sync_connect(flaky.url) as a, sync_connect(flaky.url) as b:
        hello(a, "alice")
        hello(b, "alice")
        assert msg(a, 1)["duplicate"] is False
        assert msg(b, 1)["duplicate"] is True


# --- bad input -------------------------------------------------------------------------


BAD = [
    ("not json", "invalid-json"),
    (json.dumps([1, 2]), "invalid-shape"),
    (json.dumps({"type": "dance"}), "unknown-type"),
    (json.dumps({"text": "no type"}), "missing-type"),
    (json.dumps({"type": "msg", "id": 1, "text": "before hello"}), "hello-first"),
    (json.dumps({"type": "hello", "client": "<script>alert(1)</script>"}), "invalid-client-id"),
    (json.dumps({"type": "hello", "client": "x" * 65}), "invalid-client-id"),
    (json.dumps({"type": "hello", "client": "ali\u202ece"}), "invalid-client-id"),
    (json.dumps({"type": "hello", "client": 7}), "invalid-client-id"),
    (json.dumps({"type": "hello"}), "invalid-client-id"),
]


@pytest.mark.parametrize(("message", "code"), BAD)
def test_bad_messages_get_an_error_and_the_connection_stays(
    flaky: wslab.RunningServer, message: str, code: str
) -> None:
    with sync_connect(flaky.url) as ws:
        ws.send(message)
        reply = recv_json(ws)
        assert reply["type"] == "error"
        assert reply["error"] == code
        assert reply["message"]
        assert hello(ws, "alice")["type"] == "welcome"  # still open, still serving


def test_binary_is_refused(flaky: wslab.RunningServer) -> None:
    with sync_connect(flaky.url) as ws:
        ws.send(b"\x00\x01")
        assert recv_json(ws)["error"] == "binary-not-supported"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"id": True}, "invalid-field"),
        ({"id": 0}, "invalid-field"),
        ({"id": -3}, "invalid-field"),
        ({"id": "1"}, "invalid-field"),
        ({"id": 1.5}, "invalid-field"),
        ({"id": 1 << 53}, "invalid-field"),
        ({}, "invalid-field"),
        ({"id": 1, "text": 5}, "invalid-field"),
        ({"id": 1, "text": ""}, "invalid-field"),
        ({"id": 1, "text": "x" * 2001}, "invalid-field"),
    ],
)
def test_bad_msg_fields(flaky: wslab.RunningServer, fields: dict[str, Any], code: str) -> None:
    with sync_connect(flaky.url) as ws:
        hello(ws, "alice")
        request = {"type": "msg", "text": "hi", **fields}
        send_json(ws, request)
        assert recv_json(ws)["error"] == code
        assert msg(ws, 1)["type"] == "ack"
    assert [e.id for e in app_of(flaky).received("alice")] == [1]


def test_oversized_message_closes_1009_and_others_keep_going(flaky: wslab.RunningServer) -> None:
    with sync_connect(flaky.url) as bystander:
        hello(bystander, "bystander")
        with sync_connect(flaky.url) as ws:
            ws.send("x" * TOO_BIG)
            assert closed_code(ws) == 1009
        assert msg(bystander, 1)["type"] == "ack"


def test_the_server_never_prints(
    flaky: wslab.RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_of(flaky)
    with sync_connect(flaky.url) as ws:
        ws.send("not json")
        recv_json(ws)
        app.refuse()
        with pytest.raises(InvalidStatus):
            sync_connect(flaky.url)
        app.crash()
    app.restart()
    flaky.stop()
    assert capsys.readouterr() == ("", "")
