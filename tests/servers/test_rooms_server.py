"""The ``rooms`` server's contract over real sockets, its bots, and the rooms view.

As in test_servers.py, "nothing else arrived" is checked by ordering, not by
waiting: the server handles one connection's messages in order, so if the
answer to a later ``rooms`` request is the next thing a client reads, nothing
was sent to it in between.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from helpers import (
    TOO_BIG,
    async_wait_until,
    free_port,
    recv_json,
    send_json,
    sync_connect,
    wait_until,
)
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

import wslab
from wslab.clients import bots
from wslab.clients.bots import DEFAULT_ROOM_BOTS, RoomBot, RoomBotCrew, parse_step, start_room_bots
from wslab.servers import SERVERS, create_server
from wslab.servers.rooms import RoomsServer
from wslab.state.rooms import Rooms
from wslab.widgets import RoomsView


@pytest.fixture
def rooms() -> wslab.RunningServer:
    return wslab.serve("rooms")


@contextmanager
def client(url: str, name: str | None = None) -> Iterator[ClientConnection]:
    """Connect, and say hello as ``name`` if one is given."""
    with sync_connect(url) as ws:
        if name is not None:
            assert ask(ws, {"type": "hello", "name": name}) == {"type": "welcome", "name": name}
        yield ws


def ask(ws: ClientConnection, obj: dict[str, Any]) -> Any:
    send_json(ws, obj)
    return recv_json(ws)


def join(ws: ClientConnection, room: str) -> Any:
    reply = ask(ws, {"type": "join", "room": room})
    assert reply["type"] == "joined", reply
    return reply


def rooms_is_next(ws: ClientConnection) -> dict[str, Any]:
    """Ask for the rooms; the reply must be the next message (nothing else came)."""
    reply = recv_after(ws, {"type": "rooms"})
    assert reply["type"] == "rooms", reply
    return dict(reply)


def recv_after(ws: ClientConnection, obj: dict[str, Any]) -> Any:
    send_json(ws, obj)
    return recv_json(ws)


def app(server: wslab.RunningServer) -> RoomsServer:
    assert isinstance(server.app, RoomsServer)
    return server.app


# --- the server itself ---------------------------------------------------------------------


def test_the_server_is_found_by_name() -> None:
    assert SERVERS["rooms"] is RoomsServer
    server = create_server("rooms", max_rooms_per_client=3, max_rooms=7)
    assert isinstance(server, RoomsServer)
    assert (server.rooms.max_rooms_per_member, server.rooms.max_rooms) == (3, 7)
    assert RoomsServer.lessons == (7,)
    assert RoomsServer.types == ("hello", "join", "leave", "message", "rooms")
    assert RoomsServer().rooms.snapshot() == {}
    assert (RoomsServer().rooms.max_rooms_per_member, RoomsServer().rooms.max_rooms) == (20, 100)


def test_hello_join_and_the_notices(rooms: wslab.RunningServer) -> None:
    with client(rooms.url, "Ada") as ada, client(rooms.url, "Grace") as grace:
        assert join(ada, "general") == {"type": "joined", "room": "general", "members": ["Ada"]}
        assert join(grace, "general") == {
            "type": "joined",
            "room": "general",
            "members": ["Ada", "Grace"],
        }
        assert recv_json(ada) == {
            "type": "member-joined",
            "room": "general",
            "name": "Grace",
            "members": ["Ada", "Grace"],
        }
        assert rooms_is_next(grace) == {
            "type": "rooms",
            "rooms": {"general": 2},
            "yours": ["general"],
        }
        assert app(rooms).snapshot() == {"general": ["Ada", "Grace"]}
    wait_until(lambda: app(rooms).snapshot() == {})
    joins = [e.text for e in rooms.log.entries("join")]
    assert joins == ["Ada joined general", "Grace joined general"]
    assert sorted(e.text for e in rooms.log.entries("leave")) == [
        "Ada left general",
        "Grace left general",
    ]


def test_a_client_without_hello_is_known_by_its_peer_id(rooms: wslab.RunningServer) -> None:
    with client(rooms.url, "Ada") as ada, client(rooms.url) as anon:
        join(ada, "general")
        assert join(anon, "general")["members"] == ["Ada", "#2"]
        assert recv_json(ada)["name"] == "#2"
        send_json(anon, {"type": "message", "room": "general", "text": "hi"})
        assert recv_json(ada)["from"] == "#2"


def test_a_message_reaches_the_other_members_of_that_room_only(
    rooms: wslab.RunningServer,
) -> None:
    with ExitStack() as stack:
        ada, grace, linus, lurker = (
            stack.enter_context(client(rooms.url, name)) for name in ("Ada", "Grace", "Linus", "Lu")
        )
        join(ada, "general")
        join(grace, "general")
        join(linus, "random")
        recv_json(ada)  # Grace joined
        message = {"type": "message", "room": "general", "text": "Hello!"}
        assert ask(ada, message) == {"type": "delivered", "room": "general", "to": 1}
        assert recv_json(grace) == {
            "type": "message",
            "room": "general",
            "from": "Ada",
            "text": "Hello!",
        }
        # Not to the sender, not to another room, not to someone in no room.
        for ws in (ada, grace, linus, lurker):
            rooms_is_next(ws)
    wait_until(lambda: len(rooms.log.entries("close")) == 4)


def test_one_client_in_many_rooms(rooms: wslab.RunningServer) -> None:
    with (
        client(rooms.url, "Ada") as ada,
        client(rooms.url, "Grace") as grace,
        client(rooms.url, "Linus") as linus,
    ):
        join(ada, "general")
        join(ada, "random")
        join(ada, "Help")
        join(grace, "general")
        join(linus, "random")
        assert [recv_json(ada)["name"] for _ in range(2)] == ["Grace", "Linus"]
        assert rooms_is_next(ada) == {
            "type": "rooms",
            "rooms": {"general": 2, "random": 2, "help": 1},
            "yours": ["general", "random", "help"],
        }
        send_json(grace, {"type": "message", "room": "general", "text": "in general"})
        send_json(linus, {"type": "message", "room": "random", "text": "in random"})
        got = [recv_json(ada) for _ in range(2)]
        assert sorted((m["room"], m["from"], m["text"]) for m in got) == [
            ("general", "Grace", "in general"),
            ("random", "Linus", "in random"),
        ]
        assert recv_json(grace)["type"] == "delivered"
        assert recv_json(linus)["type"] == "delivered"
        # Each heard only its own room.
        rooms_is_next(grace)
        rooms_is_next(linus)
        # Alone in help: a message there reaches no one.
        assert ask(ada, {"type": "message", "room": "help", "text": "anyone?"})["to"] == 0


def test_room_names_are_case_insensitive(rooms: wslab.RunningServer) -> None:
    with client(rooms.url, "Ada") as ada, client(rooms.url, "Grace") as grace:
        join(ada, "General")
        assert join(grace, "GENERAL") == {
            "type": "joined",
            "room": "general",
            "members": ["Ada", "Grace"],
        }
        assert recv_json(ada)["room"] == "general"
        assert ask(grace, {"type": "message", "room": "gEnErAl", "text": "x"})["to"] == 1
        assert recv_json(ada)["room"] == "general"


def test_joining_again_answers_but_tells_no_one(rooms: wslab.RunningServer) -> None:
    with client(rooms.url, "Ada") as ada, client(rooms.url, "Grace") as grace:
        join(ada, "general")
        join(grace, "general")
        recv_json(ada)
        assert join(grace, "general")["members"] == ["Ada", "Grace"]
        rooms_is_next(ada)
        assert [e.text for e in rooms.log.entries("join")] == [
            "Ada joined general",
            "Grace joined general",
        ]


def test_leave(rooms: wslab.RunningServer) -> None:
    with client(rooms.url, "Ada") as ada, client(rooms.url, "Grace") as grace:
        join(ada, "general")
        join(ada, "random")
        join(grace, "general")
        recv_json(ada)
        assert ask(grace, {"type": "leave", "room": "general"}) == {
            "type": "left",
            "room": "general",
        }
        assert recv_json(ada) == {
            "type": "member-left",
            "room": "general",
            "name": "Grace",
            "members": ["Ada"],
        }
        # Grace no longer hears general.
        assert ask(ada, {"type": "message", "room": "general", "text": "x"})["to"] == 0
        assert rooms_is_next(grace)["yours"] == []
        # The last one out: the room disappears; no one is told, no one is left.
        assert ask(ada, {"type": "leave", "room": "random"}) == {"type": "left", "room": "random"}
        assert app(rooms).snapshot() == {"general": ["Ada"]}
        assert rooms_is_next(ada) == {
            "type": "rooms",
            "rooms": {"general": 1},
            "yours": ["general"],
        }


def test_closing_leaves_every_room(rooms: wslab.RunningServer) -> None:
    with client(rooms.url, "Ada") as ada, client(rooms.url, "Linus") as linus:
        join(ada, "general")
        join(linus, "random")
        with client(rooms.url, "Grace") as grace:
            for room in ("general", "random", "help"):
                join(grace, room)
            assert app(rooms).snapshot() == {
                "general": ["Ada", "Grace"],
                "random": ["Linus", "Grace"],
                "help": ["Grace"],
            }
        assert recv_json(ada) == {
            "type": "member-joined",
            "room": "general",
            "name": "Grace",
            "members": ["Ada", "Grace"],
        }
        assert recv_json(ada) == {
            "type": "member-left",
            "room": "general",
            "name": "Grace",
            "members": ["Ada"],
        }
        assert recv_json(linus)["type"] == "member-joined"
        assert recv_json(linus) == {
            "type": "member-left",
            "room": "random",
            "name": "Grace",
            "members": ["Linus"],
        }
        # "help" was Grace's alone: it is gone.
        assert app(rooms).snapshot() == {"general": ["Ada"], "random": ["Linus"]}
        assert app(rooms).roster.names() == ["Ada", "Linus"]
        # Grace's name is free again.
        with client(rooms.url, "grace") as again:
            assert join(again, "general")["members"] == ["Ada", "grace"]


def test_a_dropped_connection_is_cleaned_up_too(rooms: wslab.RunningServer) -> None:
    with client(rooms.url, "Ada") as ada:
        join(ada, "general")
        grace = sync_connect(rooms.url).__enter__()
        send_json(grace, {"type": "join", "room": "general"})
        assert recv_json(grace)["type"] == "joined"
        recv_json(ada)
        grace.socket.close()  # no closing handshake: the TCP connection just ends
        assert recv_json(ada)["type"] == "member-left"
        assert app(rooms).snapshot() == {"general": ["Ada"]}


# --- never trust the client ---------------------------------------------------------------------


ALLOWED = " is not allowed in a room name (only a-z, A-Z, 0-9, '-' and '_')"

BAD_INPUT: list[tuple[str, str | bytes, str, str | None]] = [
    ("invalid-json", "not json", "invalid-json", None),
    ("array", "[1, 2]", "invalid-shape", "expected a JSON object, got list"),
    ("no-type", '{"room": "general"}', "missing-type", 'a message needs a "type" string'),
    (
        "unknown-type",
        '{"type": "dance"}',
        "unknown-type",
        "unknown message type 'dance'; this server knows: hello, join, leave, message, rooms",
    ),
    ("binary", b"\x00\x01", "binary-not-supported", None),
    ("join-no-room", '{"type": "join"}', "invalid-room", 'a "join" message needs a "room"'),
    (
        "message-no-room",
        '{"type": "message", "text": "hi"}',
        "invalid-room",
        'a "message" message needs a "room"',
    ),
    ("room-number", '{"type": "join", "room": 7}', "invalid-room", "a room name must be a string"),
    ("room-null", '{"type": "join", "room": null}', "invalid-room", "a room name must be a string"),
    ("room-empty", '{"type": "join", "room": ""}', "invalid-room", "a room name must not be empty"),
    (
        "room-spaces",
        '{"type": "join", "room": "  general"}',
        "invalid-room",
        "U+0020 (SPACE)" + ALLOWED,
    ),
    (
        "room-rlo",
        json.dumps({"type": "join", "room": "gen\u202eral"}),
        "invalid-room",
        "U+202E (RIGHT-TO-LEFT OVERRIDE)" + ALLOWED,
    ),
    (
        "room-zero-width",
        json.dumps({"type": "leave", "room": "general\u200b"}),
        "invalid-room",
        "U+200B (ZERO WIDTH SPACE)" + ALLOWED,
    ),
    (
        "room-1000",
        json.dumps({"type": "join", "room": "x" * 1000}),
        "invalid-room",
        "a room name must be at most 32 characters",
    ),
    (
        "message-not-joined",
        '{"type": "message", "room": "random", "text": "hi"}',
        "not-in-room",
        'join the room "random" before you send to it: {"type": "join", "room": "random"}',
    ),
    (
        "leave-not-joined",
        '{"type": "leave", "room": "random"}',
        "not-in-room",
        'you are not in the room "random"',
    ),
    (
        "no-text",
        '{"type": "message", "room": "general"}',
        "invalid-field",
        '"text" must be a string',
    ),
    (
        "blank-text",
        '{"type": "message", "room": "general", "text": "  "}',
        "invalid-field",
        '"text" must not be empty',
    ),
    (
        "long-text",
        json.dumps({"type": "message", "room": "general", "text": "x" * 2001}),
        "invalid-field",
        '"text" is longer than 2000 characters',
    ),
    (
        "hello-again",
        '{"type": "hello", "name": "Eve"}',
        "already-named",
        'you are known as "Ada" already: say hello once, before joining a room',
    ),
]


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
def test_bad_input_gets_an_error_and_the_connection_stays_usable(
    rooms: wslab.RunningServer, raw: str | bytes, code: str, message: str | None
) -> None:
    with client(rooms.url, "Ada") as ada, client(rooms.url, "Grace") as grace:
        join(ada, "general")
        join(grace, "general")
        recv_json(ada)
        ada.send(raw)
        reply = recv_json(ada)
        assert set(reply) == {"type", "error", "message"}
        assert (reply["type"], reply["error"]) == ("error", code)
        if message is not None:
            assert reply["message"] == message
        # Nothing changed; the other member saw nothing; both still work.
        assert app(rooms).snapshot() == {"general": ["Ada", "Grace"]}
        assert rooms_is_next(grace)["yours"] == ["general"]
        assert ask(ada, {"type": "message", "room": "general", "text": "still here"})["to"] == 1
        assert recv_json(grace)["text"] == "still here"
    assert rooms.log.entries("refused")[0].text.startswith(f"#1: {code}: ")


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("ada", "name-taken", "the name 'ada' is already taken"),
        ("#1", "invalid-name", 'names starting with "#" are connection ids'),
        ("#99", "invalid-name", 'names starting with "#" are connection ids'),
        ("", "invalid-name", "a name must not be empty"),
        (None, "invalid-name", "a name must be a string"),
        ("x" * 1000, "invalid-name", "a name must be at most 32 characters"),
        (
            "Ada\u202e",
            "invalid-name",
            "a name must not contain the character U+202E (RIGHT-TO-LEFT OVERRIDE)",
        ),
    ],
)
def test_hello_refuses_a_name(
    rooms: wslab.RunningServer, name: object, code: str, message: str
) -> None:
    with client(rooms.url, "Ada") as ada, client(rooms.url) as other:
        join(ada, "general")
        assert ask(other, {"type": "hello", "name": name}) == {
            "type": "error",
            "error": code,
            "message": message,
        }
        # Still unnamed, still connected, and free to try again.
        assert ask(other, {"type": "hello", "name": "Grace"}) == {
            "type": "welcome",
            "name": "Grace",
        }
        assert join(other, "general")["members"] == ["Ada", "Grace"]


def test_hello_after_joining_is_refused(rooms: wslab.RunningServer) -> None:
    with client(rooms.url) as ws:
        join(ws, "general")
        assert ask(ws, {"type": "hello", "name": "Ada"}) == {
            "type": "error",
            "error": "already-named",
            "message": 'you are known as "#1" already: say hello once, before joining a room',
        }
        # Leaving every room does not reopen it: the others have seen "#1".
        ask(ws, {"type": "leave", "room": "general"})
        assert ask(ws, {"type": "hello", "name": "Ada"})["error"] == "already-named"


def test_cap_on_rooms_per_client(rooms: wslab.RunningServer) -> None:
    with client(rooms.url, "Ada") as ada, client(rooms.url, "Grace") as grace:
        for n in range(20):
            join(ada, f"room-{n}")
        assert ask(ada, {"type": "join", "room": "one-more"}) == {
            "type": "error",
            "error": "too-many-rooms",
            "message": "you are in 20 rooms already, the most allowed: leave one first",
        }
        assert "one-more" not in app(rooms).rooms
        # Others are not affected, and a room one is in already is fine.
        join(grace, "one-more")
        join(ada, "room-0")
        ask(ada, {"type": "leave", "room": "room-0"})
        assert join(ada, "one-more")["members"] == ["Grace", "Ada"]


def test_cap_on_rooms_in_all() -> None:
    server = wslab.serve("rooms", max_rooms=2)
    with client(server.url, "Ada") as ada, client(server.url, "Grace") as grace:
        join(ada, "a")
        join(ada, "b")
        assert ask(grace, {"type": "join", "room": "c"}) == {
            "type": "error",
            "error": "no-more-rooms",
            "message": "there are 2 rooms already, the most allowed: join one of them",
        }
        assert join(grace, "a")["members"] == ["Ada", "Grace"]
        ask(ada, {"type": "leave", "room": "b"})
        assert join(grace, "c")["members"] == ["Grace"]


def test_more_than_one_mebibyte_closes_1009_and_cleans_up(rooms: wslab.RunningServer) -> None:
    with client(rooms.url, "Ada") as ada:
        join(ada, "general")
        with client(rooms.url, "Big") as big:
            join(big, "general")
            join(big, "loud")
            recv_json(ada)
            big.send("x" * TOO_BIG)
            with pytest.raises(ConnectionClosed) as info:
                big.recv(timeout=5)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1009
        assert recv_json(ada)["type"] == "member-left"
        assert app(rooms).snapshot() == {"general": ["Ada"]}
        assert ask(ada, {"type": "message", "room": "general", "text": "ok"})["to"] == 0
    wait_until(lambda: len(rooms.log.entries("close")) == 2)
    # Either close may be recorded first (Ada's does not wait for Big's TCP end).
    assert sorted(entry.code or 0 for entry in rooms.log.entries("close")) == [1000, 1009]


def test_exactly_one_mebibyte_is_read(rooms: wslab.RunningServer) -> None:
    with sync_connect(rooms.url, max_size=None) as ws:
        ws.send("x" * (1 << 20))
        assert recv_json(ws)["error"] == "invalid-json"
        assert rooms_is_next(ws)["rooms"] == {}


# --- bots ----------------------------------------------------------------------------------------


QUICK = (
    RoomBot("Bo", ("say general hi from Bo", "join random", "leave random"), every=0.5, first=0.1,
            rooms=("general",)),
    RoomBot("Cy", ("say random hello Bo",), every=0.5, first=0.2, rooms=("random",)),
)  # fmt: skip


def test_parse_step() -> None:
    assert parse_step("join general") == ("join", "general", "")
    assert parse_step("leave general") == ("leave", "general", "")
    assert parse_step("say general Hi all! How are you?") == (
        "say",
        "general",
        "Hi all! How are you?",
    )
    for bad in ("dance general", "join", "say general", "join general now", ""):
        with pytest.raises(ValueError):
            parse_step(bad)
    with pytest.raises(ValueError, match="only 'say' takes a text"):
        RoomBot("X", ("say general",))


def test_default_room_bots() -> None:
    assert [b.name for b in DEFAULT_ROOM_BOTS] == ["Ada", "Grace", "Linus"]
    for bot in DEFAULT_ROOM_BOTS:
        assert bot.rooms
        assert all(parse_step(step) for step in bot.lines)


def test_room_bots_join_their_rooms(rooms: wslab.RunningServer, fast: float) -> None:
    crew = start_room_bots(rooms.url)
    assert isinstance(crew, RoomBotCrew)
    assert crew.running and crew.key == "room-bots"
    assert bots.running_crews() == {"room-bots": crew}
    assert [t.name for t in threading.enumerate()].count("wslab-room-bots") == 1
    # start_room_bots returns once every bot is in its first rooms.
    # (The bots join side by side: the order within a room may vary.)
    assert {room: sorted(names) for room, names in app(rooms).snapshot().items()} == {
        "general": ["Ada", "Grace"],
        "help": ["Grace"],
        "random": ["Linus"],
    }
    assert sorted(e.text for e in crew.log.entries("join")) == [
        "Ada joined general",
        "Grace joined general",
        "Grace joined help",
        "Linus joined random",
    ]


def test_room_bots_talk_in_their_rooms_and_answer_mentions(
    rooms: wslab.RunningServer, fast: float
) -> None:
    with client(rooms.url, "Student") as me:
        join(me, "general")
        crew = start_room_bots(rooms.url, QUICK, key="quick")
        heard: list[tuple[str, str, str]] = []
        while len(heard) < 2:
            msg = recv_json(me)
            if msg["type"] == "message":
                heard.append((msg["room"], msg["from"], msg["text"]))
        # Only general: Cy talks in random, where the student is not.
        assert set(heard) == {("general", "Bo", "hi from Bo")}
        send_json(me, {"type": "message", "room": "general", "text": "are you there, bo?"})
        while True:
            msg = recv_json(me)
            if msg["type"] == "message" and msg["text"].startswith("@"):
                break
    assert (msg["room"], msg["from"]) == ("general", "Bo")
    assert msg["text"].startswith("@Student you called? I heard you in general; I'm in general")
    says = [e.text for e in crew.log.entries("say")]
    assert "random: hello Bo" in says
    # Cy's "hello Bo" made Bo answer no one: bots ignore each other.
    assert not [s for s in says if "@Cy" in s or "@Bo" in s]
    steps = [e.text for e in crew.log.entries(("join", "leave"))]
    assert "Bo joins random" in steps and "Bo leaves random" in steps


def test_starting_room_bots_again_replaces_the_crew(
    rooms: wslab.RunningServer, fast: float
) -> None:
    first = start_room_bots(rooms.url)
    first_thread = [t for t in threading.enumerate() if t.name == "wslab-room-bots"]
    second = start_room_bots(rooms.url)
    assert not first.running
    assert not any(t.is_alive() for t in first_thread)
    assert second.running
    assert bots.running_crews() == {"room-bots": second}
    assert [t.name for t in threading.enumerate()].count("wslab-room-bots") == 1
    # Each bot is in the rooms once: the old crew has left, the new one came.
    wait_until(lambda: len(rooms.log.entries("close")) == 3)
    names = app(rooms).roster.names()
    assert sorted(names) == ["Ada", "Grace", "Linus"]
    for members in app(rooms).snapshot().values():
        assert len(members) == len(set(members))
    assert second.log.entries("error") == []


def test_replacing_many_times(rooms: wslab.RunningServer, fast: float) -> None:
    for _ in range(4):
        crew = start_room_bots(rooms.url)
    wait_until(lambda: len(rooms.log.entries("close")) == 9)
    assert sorted(app(rooms).roster.names()) == ["Ada", "Grace", "Linus"]
    assert crew.log.entries("error") == []


def test_stop_bots_stops_room_bots_too(rooms: wslab.RunningServer, fast: float) -> None:
    crew = start_room_bots(rooms.url)
    chat_crew = bots.start_bots(wslab.serve("chat").url)
    assert sorted(bots.running_crews()) == ["bots", "room-bots"]
    wslab.stop_bots()
    assert not crew.running and not chat_crew.running
    assert bots.running_crews() == {}
    wait_until(lambda: app(rooms).snapshot() == {})


def test_room_bots_against_no_server_record_errors(fast: float) -> None:
    crew = start_room_bots(f"ws://127.0.0.1:{free_port()}/", QUICK)
    assert sorted(e.peer for e in crew.log.entries("error")) == ["Bo", "Cy"]
    crew.stop()


# --- the rooms view -----------------------------------------------------------------------------


def test_view_of_a_plain_registry() -> None:
    registry: Rooms[str] = Rooms()
    view = RoomsView(registry, title="<b>rooms</b>")
    assert view.shown == {} and view.rooms_shown == 0
    assert "no rooms" in view.value
    assert "&lt;b&gt;rooms&lt;/b&gt;" in view.value
    registry.join("Ada", "general")
    registry.join("<img src=x>", "general")
    registry.join("Ada", "random")
    assert view.shown == {"general": ["Ada", "<img src=x>"], "random": ["Ada"]}
    assert view.rooms_shown == 2
    assert "&lt;img src=x&gt;" in view.value and "<img" not in view.value
    registry.leave_all("Ada")
    assert view.shown == {"general": ["<img src=x>"]}
    assert view.activity == [
        "Ada joined general (new room)",
        "<img src=x> joined general",
        "Ada joined random (new room)",
        "Ada left general",
        "Ada left random (room gone)",
    ]
    view.max_events = 2
    assert view.value.count("<li>") == 2
    view.max_events = 0
    assert "<li>" not in view.value
    with pytest.raises(Exception, match="max_events must be 0 or more"):
        view.max_events = -1
    view.close()
    registry.join("Grace", "help")
    assert "help" not in view.shown  # closed: no longer following
    assert len(registry.changed) == 0


def test_view_labels_members() -> None:
    registry: Rooms[int] = Rooms()
    registry.join(1, "general")
    view = RoomsView(registry, label=lambda n: f"user{n}")
    assert view.shown == {"general": ["user1"]}
    view.close()


async def test_view_follows_the_server_live(rooms: wslab.RunningServer, fast: float) -> None:
    server = app(rooms)
    view = RoomsView(server.rooms, label=server.name_of)
    try:
        crew = await asyncio.to_thread(start_room_bots, rooms.url, QUICK)
        await async_wait_until(lambda: view.shown == server.snapshot() and view.shown)
        assert view.shown["general"] == ["Bo"]
        # Bo's script takes him into random and out again: the view saw both.
        await async_wait_until(lambda: "Bo left random" in view.activity)
        assert "Bo joined random" in view.activity
        await asyncio.to_thread(crew.stop)
        await async_wait_until(lambda: view.shown == {})
        assert view.activity[-1].endswith("(room gone)")
        assert view.rooms_shown == 0
    finally:
        view.close()
