"""wslab.clients.bots: scripted chat participants on their own loop thread."""

from __future__ import annotations

import asyncio
import threading

import pytest
from helpers import async_wait_until, free_port, recv_json, send_json, sync_connect, wait_until

import wslab
from wslab.clients import bots
from wslab.clients.bots import DEFAULT_BOTS, Bot, start_bots, stop_bots
from wslab.clients.chat import ChatSession

QUICK = (
    Bot("Bo", ("first line", "second line"), every=0.5, first=0.1),
    Bot("Cy", ("hello Bo",), every=0.5, first=0.2),
)


def online(server: wslab.RunningServer) -> list[str]:
    return list(server.app.online())  # type: ignore[attr-defined]


def test_bot_defaults() -> None:
    bot = Bot("X", ("a",))
    assert (bot.every, bot.first) == (4.0, 1.0)
    assert [b.name for b in DEFAULT_BOTS] == ["Ada", "Grace"]
    assert all(len(b.lines) == 3 for b in DEFAULT_BOTS)


def test_start_bots_joins_every_bot(chat: wslab.RunningServer, fast: float) -> None:
    crew = start_bots(chat.url)
    assert crew.running
    assert crew.key == "bots"
    assert crew.url == chat.url
    assert bots.running_crews() == {"bots": crew}
    assert [t.name for t in threading.enumerate()].count("wslab-bots") == 1
    assert [e.peer for e in crew.log.entries("join")] == ["Ada", "Grace"]
    wait_until(lambda: sorted(online(chat)) == ["Ada", "Grace"])


def test_bots_talk_and_answer_mentions(chat: wslab.RunningServer, fast: float) -> None:
    with sync_connect(chat.url) as ws:
        send_json(ws, {"type": "join", "name": "Student"})
        assert recv_json(ws)["type"] == "welcome"
        crew = start_bots(chat.url, QUICK, key="quick")
        heard: list[tuple[str, str]] = []
        while len(heard) < 3:
            message = recv_json(ws)
            if message["type"] == "chat":
                heard.append((message["from"], message["text"]))
        # Cy's "hello Bo" does not make Bo answer: bots ignore each other.
        assert sorted(heard) == [("Bo", "first line"), ("Bo", "second line"), ("Cy", "hello Bo")]
        send_json(ws, {"type": "chat", "text": "are you there, bo?"})
        while True:  # the bots keep talking: look for the answer
            message = recv_json(ws)
            if message["type"] == "chat" and message["text"].startswith("@"):
                break
    assert (message["from"], message["text"]) == (
        "Bo",
        "@Student you called? I'm a bot, but I'm listening.",
    )
    says = [(e.peer, e.text) for e in crew.log.entries("say")]
    assert says.count(("Bo", "@Student you called? I'm a bot, but I'm listening.")) == 1
    assert not [s for s in says if s[1].startswith("@Cy") or s[1].startswith("@Bo")]


def test_start_bots_twice_replaces_the_crew(chat: wslab.RunningServer, fast: float) -> None:
    first = start_bots(chat.url)
    first_thread = [t for t in threading.enumerate() if t.name == "wslab-bots"]
    second = start_bots(chat.url)
    assert not first.running
    assert not any(t.is_alive() for t in first_thread)
    assert second.running
    assert bots.running_crews() == {"bots": second}
    assert [t.name for t in threading.enumerate()].count("wslab-bots") == 1
    wait_until(lambda: sorted(online(chat)) == ["Ada", "Grace"])
    # The new crew joined under the same names: none was refused as taken.
    wait_until(lambda: len(chat.log.entries("close")) == 2)
    assert chat.log.entries("refused") == []


def test_replacing_many_times_never_leaves_a_name_taken(
    chat: wslab.RunningServer, fast: float
) -> None:
    for _ in range(5):
        start_bots(chat.url)
    wait_until(lambda: sorted(online(chat)) == ["Ada", "Grace"])
    assert [e.text for e in chat.log.entries("refused")] == []


def test_stop_is_idempotent(chat: wslab.RunningServer, fast: float) -> None:
    crew = start_bots(chat.url)
    crew.stop()
    crew.stop()
    stop_bots("bots")
    stop_bots()
    assert not crew.running
    assert bots.running_crews() == {}
    wait_until(lambda: online(chat) == [])


def test_stop_bots_by_key(chat: wslab.RunningServer, fast: float) -> None:
    a = start_bots(chat.url, (Bot("A1", ("x",), first=100),), key="a")
    b = start_bots(chat.url, (Bot("B1", ("y",), first=100),), key="b")
    assert sorted(bots.running_crews()) == ["a", "b"]
    stop_bots("a")
    assert not a.running
    assert b.running
    assert bots.running_crews() == {"b": b}
    wait_until(lambda: online(chat) == ["B1"])
    stop_bots()
    assert not b.running
    assert bots.running_crews() == {}


def test_bots_against_no_server_record_errors(fast: float) -> None:
    crew = start_bots(f"ws://127.0.0.1:{free_port()}/", QUICK)
    errors = crew.log.entries("error")
    assert sorted(e.peer for e in errors) == ["Bo", "Cy"]
    assert crew.log.entries("join") == []


def test_bots_stop_when_the_server_stops(chat: wslab.RunningServer, fast: float) -> None:
    crew = start_bots(chat.url, QUICK)
    chat.stop()
    # The bots' connections end; the crew itself is stopped by stop_bots.
    crew.stop()
    assert not crew.running


async def test_a_chat_session_sees_bots_and_their_messages(
    chat: wslab.RunningServer, fast: float
) -> None:
    session = ChatSession(chat.url, "Student")
    late = None
    try:
        await async_wait_until(lambda: session.joined)
        await asyncio.to_thread(start_bots, chat.url, QUICK)
        await async_wait_until(lambda: sorted(session.online) == ["Bo", "Cy", "Student"])
        assert {"Bo joined", "Cy joined"} <= {line.text for line in session.lines}
        # Someone joining later gets the bots in the welcome's roster.
        late = ChatSession(chat.url, "Late")
        await async_wait_until(lambda: late.joined)
        assert sorted(late.online) == ["Bo", "Cy", "Late", "Student"]
        await async_wait_until(lambda: len(session.messages_from("Bo")) >= 3)
        # Bots say their lines over and over.
        assert session.messages_from("Bo")[:3] == ["first line", "second line", "first line"]
        assert session.messages_from("Cy")[0] == "hello Bo"
        assert set(session.messages_from("Cy")) == {"hello Bo"}
        assert session.say("Cy, say something")
        reply = "@Student you called? I'm a bot, but I'm listening."
        await async_wait_until(lambda: reply in session.messages_from("Cy"))
        assert reply not in session.messages_from("Bo")
        await asyncio.to_thread(stop_bots)
        await async_wait_until(lambda: session.online == ["Student", "Late"])
        assert [line.text for line in session.lines if line.text.endswith(" left")] in (
            ["Bo left", "Cy left"],
            ["Cy left", "Bo left"],
        )
    finally:
        for each in (session, late):
            if each is not None:
                each.leave()
                await each.ws.closed()
                await each.ws._task


@pytest.mark.parametrize("key", ["bots", "lesson4"])
def test_crew_thread_is_named_after_its_key(chat: wslab.RunningServer, key: str) -> None:
    crew = start_bots(chat.url, (Bot("Z", ("z",), first=100),), key=key)
    assert crew.key == key
    assert f"wslab-{key}" in [t.name for t in threading.enumerate()]
