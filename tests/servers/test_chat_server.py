"""The ``chat`` server's contract (lesson 4), over real sockets.

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
from helpers import recv_json, send_json, sync_connect, wait_until
from websockets.sync.client import ClientConnection

import wslab
from wslab.servers import ChatServer


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
