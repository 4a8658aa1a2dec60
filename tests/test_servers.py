"""The lesson servers' contracts, over real sockets: echo, slow and chat.

Clients here are websockets' own synchronous client, so each check reads the
wire exactly as any other client would. "Nothing else arrived" is checked
by ordering, not by waiting: a server handles one connection's messages in
order, so if the reply to a later ``who`` is the next thing a client reads,
nothing was sent to it in between.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from helpers import TOO_BIG, recv_json, send_json, sync_connect, wait_until
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

import wslab
from wslab.core.slow import DETAILS, ORDERS, PROCESSING_DELAY, USERS, answer
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


# --- echo ------------------------------------------------------------------------------


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


# --- slow -------------------------------------------------------------------------------


def ask(ws: ClientConnection, request: dict[str, Any]) -> Any:
    send_json(ws, request)
    return recv_json(ws)


def test_slow_constants() -> None:
    assert PROCESSING_DELAY == 0.6
    assert SlowServer().delay == 0.6


def test_slow_process_answers_with_the_request_id(slow: wslab.RunningServer) -> None:
    with sync_connect(slow.url) as ws:
        reply = ask(ws, {"id": 7, "type": "process", "data": "hello"})
    assert reply == {
        "id": 7,
        "type": "result",
        "request": "process",
        "result": {"result": "hello"},
        "took": 0.6,
    }


def test_slow_callback_chain(slow: wslab.RunningServer) -> None:
    with sync_connect(slow.url) as ws:
        user = ask(ws, {"id": 1, "type": "getUser", "name": "Alice"})
        orders = ask(ws, {"id": 2, "type": "getOrders", "userId": user["result"]["id"]})
        details = ask(ws, {"id": 3, "type": "getDetails", "orderId": orders["result"][0]})
    assert user == {
        "id": 1,
        "type": "result",
        "request": "getUser",
        "result": {"id": 1, "name": "Alice"},
        "took": 0.6,
    }
    assert (orders["id"], orders["request"], orders["result"]) == (2, "getOrders", [101, 102])
    assert (details["id"], details["request"], details["result"]) == (
        3,
        "getDetails",
        {"order": 101, "item": "mechanical keyboard", "price": 89},
    )


def test_slow_works_on_requests_concurrently(fast: float) -> None:
    # 5 nominal seconds per request: long enough that all three requests are
    # in before the first answer, if (and only if) they are worked on together.
    server = wslab.serve("slow", delay=5.0)
    with sync_connect(server.url) as ws:
        for ident in (1, 2, 3):
            send_json(ws, {"id": ident, "type": "process", "data": ident * 10})
        replies = [recv_json(ws) for _ in range(3)]
    assert sorted(r["id"] for r in replies) == [1, 2, 3]
    assert all(r["result"] == {"result": r["id"] * 10} for r in replies)
    assert all(r["took"] == 5.0 for r in replies)
    directions = [e.direction for e in server.log.entries("message")]
    assert directions == ["in", "in", "in", "out", "out", "out"]


def test_slow_answers_a_bad_message_at_once_and_stays_open(slow: wslab.RunningServer) -> None:
    with sync_connect(slow.url) as ws:
        for raw, code in [
            ("not json", "invalid-json"),
            ("[1]", "invalid-shape"),
            ('{"id": 1}', "missing-type"),
            ('{"id": 1, "type": "sleep"}', "unknown-type"),
            (b"\x00", "binary-not-supported"),
        ]:
            ws.send(raw)
            reply = recv_json(ws)
            assert reply["type"] == "error"
            assert reply["error"] == code
            assert "id" not in reply
        ws.send('{"type": "sleep"}')
        assert recv_json(ws)["message"] == (
            "unknown message type 'sleep'; this server knows: "
            "getDetails, getOrders, getUser, process"
        )
        assert ask(ws, {"id": 9, "type": "process", "data": 1})["type"] == "result"


@pytest.mark.parametrize(
    ("request_", "error", "message"),
    [
        ({"type": "getUser", "name": "Eve"}, "not-found", "no user called 'Eve'"),
        ({"type": "getUser"}, "invalid-field", '"name" must be a string'),
        ({"type": "getUser", "name": ""}, "invalid-field", '"name" must not be empty'),
        ({"type": "getOrders", "userId": 99}, "not-found", "no orders for user 99"),
        ({"type": "getOrders", "userId": "1"}, "invalid-field", '"userId" must be an integer'),
        ({"type": "getOrders", "userId": True}, "invalid-field", '"userId" must be an integer'),
        ({"type": "getOrders", "userId": 1.0}, "invalid-field", '"userId" must be an integer'),
        ({"type": "getDetails", "orderId": 999}, "not-found", "no order 999"),
        ({"type": "getDetails"}, "invalid-field", '"orderId" must be an integer'),
        (
            {"type": "process", "fail": True},
            "processing-failed",
            "processing failed, as you asked",
        ),
    ],
)
def test_slow_error_path_carries_the_id(
    slow: wslab.RunningServer, request_: dict[str, Any], error: str, message: str
) -> None:
    with sync_connect(slow.url) as ws:
        reply = ask(ws, {"id": 42, **request_})
        assert reply == {"type": "error", "error": error, "message": message, "id": 42}
        # The connection stays open.
        assert ask(ws, {"id": 43, "type": "process", "data": "ok"})["id"] == 43
    wait_until(lambda: slow.log.entries("close"))
    assert [e.text for e in slow.log.entries("refused")] == [f"#1: {error}: {message}"]


def test_slow_process_fail_must_be_true_exactly(slow: wslab.RunningServer) -> None:
    with sync_connect(slow.url) as ws:
        reply = ask(ws, {"id": 1, "type": "process", "fail": "yes", "data": 2})
    assert reply["type"] == "result"
    assert reply["result"] == {"result": 2}


def test_slow_request_without_an_id(slow: wslab.RunningServer) -> None:
    with sync_connect(slow.url) as ws:
        reply = ask(ws, {"type": "getUser", "name": "Bob"})
    assert reply["id"] is None
    assert reply["result"] == {"id": 2, "name": "Bob"}


def test_slow_cancels_pending_work_when_the_client_leaves(fast: float) -> None:
    server = wslab.serve("slow", delay=50.0)  # one real second: never reached
    with sync_connect(server.url) as ws:
        send_json(ws, {"id": 1, "type": "process"})
        wait_until(lambda: server.log.entries("message"))
    wait_until(lambda: server.log.entries("close"))

    async def pending() -> int:
        return len(server.app._work)  # type: ignore[attr-defined]

    assert server.call(pending()) == 0
    assert [e.direction for e in server.log.entries("message")] == ["in"]
    assert server.log.entries("error") == []


def test_slow_answer_is_pure() -> None:
    assert answer({"type": "process", "data": [1]}) == {"result": [1]}
    assert answer({"type": "getUser", "name": "Bob"}) == USERS["Bob"]
    assert answer({"type": "getOrders", "userId": 2}) == ORDERS[2] == [201]
    assert answer({"type": "getDetails", "orderId": 201}) == DETAILS[201]


# --- chat ----------------------------------------------------------------------------------


@contextmanager
def join(url: str, name: str) -> Iterator[tuple[ClientConnection, Any]]:
    """Connect, join as ``name``; yield the connection and the server's reply."""
    with sync_connect(url) as ws:
        send_json(ws, {"type": "join", "name": name})
        yield ws, recv_json(ws)


def roster_is_next(ws: ClientConnection) -> list[str]:
    """Ask who is online; the reply must be the next message (nothing else came)."""
    send_json(ws, {"type": "who"})
    reply = recv_json(ws)
    assert reply["type"] == "roster", reply
    return list(reply["online"])


def test_chat_join_welcome_joined(chat: wslab.RunningServer) -> None:
    with join(chat.url, "Ada") as (ada, welcome):
        assert welcome == {"type": "welcome", "name": "Ada", "online": ["Ada"]}
        with join(chat.url, "Grace") as (grace, welcome):
            assert welcome == {"type": "welcome", "name": "Grace", "online": ["Ada", "Grace"]}
            assert recv_json(ada) == {
                "type": "joined",
                "name": "Grace",
                "online": ["Ada", "Grace"],
            }
            assert roster_is_next(grace) == ["Ada", "Grace"]


def test_chat_name_is_normalized(chat: wslab.RunningServer) -> None:
    with join(chat.url, "  Jose\u0301  ") as (_, welcome):
        assert welcome["name"] == "José"
        assert welcome["online"] == ["José"]
    with join(chat.url, "李雷") as (_, welcome):
        assert welcome["name"] == "李雷"


def test_chat_reaches_the_others_but_not_the_sender(chat: wslab.RunningServer) -> None:
    with (
        join(chat.url, "Ada") as (ada, _),
        join(chat.url, "Grace") as (grace, _),
        join(chat.url, "Linus") as (linus, _),
        sync_connect(chat.url) as lurker,
    ):
        assert recv_json(ada)["name"] == "Grace"
        assert recv_json(ada)["name"] == "Linus"
        assert recv_json(grace)["name"] == "Linus"
        send_json(ada, {"type": "chat", "text": "Hello!"})
        for other in (grace, linus):
            message = recv_json(other)
            assert set(message) == {"type", "from", "text", "t"}
            assert (message["type"], message["from"], message["text"]) == (
                "chat",
                "Ada",
                "Hello!",
            )
            assert isinstance(message["t"], float)
        # Not to the sender, and not to a connection that has not joined.
        assert roster_is_next(ada) == ["Ada", "Grace", "Linus"]
        assert roster_is_next(lurker) == ["Ada", "Grace", "Linus"]


def test_chat_who_before_joining(chat: wslab.RunningServer) -> None:
    with sync_connect(chat.url) as ws:
        assert roster_is_next(ws) == []


def test_chat_left_on_close(chat: wslab.RunningServer) -> None:
    changes: list[list[str]] = []
    chat.app.roster_changed.subscribe(changes.append)  # type: ignore[attr-defined]
    with join(chat.url, "Ada") as (ada, _):
        with join(chat.url, "Grace"):
            recv_json(ada)  # joined
        assert recv_json(ada) == {"type": "left", "name": "Grace", "online": ["Ada"]}
        assert roster_is_next(ada) == ["Ada"]
        # The name is free again.
        with join(chat.url, "grace") as (_, welcome):
            assert welcome["online"] == ["Ada", "grace"]
    wait_until(lambda: len(changes) == 6)
    assert changes == [["Ada"], ["Ada", "Grace"], ["Ada"], ["Ada", "grace"], ["Ada"], []]


def test_chat_unjoined_close_sends_no_left(chat: wslab.RunningServer) -> None:
    with join(chat.url, "Ada") as (ada, _):
        with sync_connect(chat.url) as lurker:
            roster_is_next(lurker)
        wait_until(lambda: chat.log.entries("close"))
        assert roster_is_next(ada) == ["Ada"]


BAD_INPUT = [
    ("not json", "invalid-json"),
    ("[1, 2]", "invalid-shape"),
    ("null", "invalid-shape"),
    ('{"text": "hi"}', "missing-type"),
    ('{"type": "dance"}', "unknown-type"),
    (b"\x00\x01", "binary-not-supported"),
    ('{"type": "join", "name": "Ada"}', "already-joined"),
    ('{"type": "chat"}', "invalid-field"),
    ('{"type": "chat", "text": "   "}', "invalid-field"),
    ('{"type": "chat", "text": 42}', "invalid-field"),
    (json.dumps({"type": "chat", "text": "x" * 2001}), "invalid-field"),
]


@pytest.mark.parametrize(("raw", "code"), BAD_INPUT, ids=[code for _, code in BAD_INPUT])
def test_chat_errors_go_to_the_sender_only(
    chat: wslab.RunningServer, raw: str | bytes, code: str
) -> None:
    with join(chat.url, "Ada") as (ada, _), join(chat.url, "Grace") as (grace, _):
        recv_json(ada)  # Grace joined
        ada.send(raw)
        reply = recv_json(ada)
        assert reply["type"] == "error"
        assert reply["error"] == code
        assert set(reply) == {"type", "error", "message"}
        # The sender stays connected and joined; the other client saw nothing.
        assert roster_is_next(ada) == ["Ada", "Grace"]
        assert roster_is_next(grace) == ["Ada", "Grace"]
        send_json(ada, {"type": "chat", "text": "still here"})
        assert recv_json(grace)["text"] == "still here"
    assert chat.log.entries("refused")[0].text.startswith(f"#1: {code}: ")


def test_chat_error_messages(chat: wslab.RunningServer) -> None:
    with sync_connect(chat.url) as ws:
        send_json(ws, {"type": "chat", "text": "hi"})
        assert recv_json(ws) == {
            "type": "error",
            "error": "not-joined",
            "message": 'send {"type": "join", "name": ...} first',
        }
        send_json(ws, {"type": "dance"})
        assert recv_json(ws)["message"] == (
            "unknown message type 'dance'; this server knows: chat, join, who"
        )


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("ada", "name-taken", "the name 'ada' is already taken"),
        ("ADA", "name-taken", "the name 'ADA' is already taken"),
        ("", "invalid-name", "a name must not be empty"),
        (None, "invalid-name", "a name must be a string"),
        ("x" * 33, "invalid-name", "a name must be at most 32 characters"),
        (
            "Ada\u202e",
            "invalid-name",
            "a name must not contain the character U+202E (RIGHT-TO-LEFT OVERRIDE)",
        ),
        (
            "A\u200dda",
            "invalid-name",
            "a name must not contain the character U+200D (ZERO WIDTH JOINER)",
        ),
        ("A\nda", "invalid-name", "a name must not contain the character U+000A (unnamed)"),
    ],
)
def test_chat_refuses_a_name(
    chat: wslab.RunningServer, name: object, code: str, message: str
) -> None:
    with join(chat.url, "Ada") as (ada, _), sync_connect(chat.url) as other:
        send_json(other, {"type": "join", "name": name})
        assert recv_json(other) == {"type": "error", "error": code, "message": message}
        # Not joined, still connected; Ada saw nothing and is alone.
        assert roster_is_next(other) == ["Ada"]
        assert roster_is_next(ada) == ["Ada"]
        send_json(other, {"type": "join", "name": "Grace"})
        assert recv_json(other)["type"] == "welcome"
        assert recv_json(ada)["type"] == "joined"


def test_chat_server_state() -> None:
    server = ChatServer()
    assert server.types == ("join", "chat", "who")
    assert server.online() == []
    assert len(server.roster) == 0
