"""wslab.clients.chat: the lesson 4 chat client as a plain object."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from helpers import async_wait_until

import wslab
from wslab.clients.chat import ChatLine, ChatSession

Join = Callable[[str, str], ChatSession]


@pytest.fixture
async def join() -> AsyncIterator[Join]:
    """Make chat sessions; leave and wait for every one afterwards."""
    made: list[ChatSession] = []

    def factory(url: str, name: str) -> ChatSession:
        session = ChatSession(url, name)
        made.append(session)
        return session

    yield factory
    for session in made:
        if session.ws.ready_state == wslab.WebSocket.OPEN:
            session.leave()
    for session in made:
        if session.ws.ready_state != wslab.WebSocket.CONNECTING:
            await session.ws.closed(timeout=5)
        else:
            await session.ws.wait_for("open")
            session.leave()
            await session.ws.closed(timeout=5)
    await asyncio.gather(*(s.ws._task for s in made), return_exceptions=True)


async def joined(join: Join, url: str, name: str) -> ChatSession:
    session = join(url, name)
    await async_wait_until(lambda: session.joined)
    return session


async def test_session_joins_when_the_connection_opens(
    chat: wslab.RunningServer, join: Join
) -> None:
    changes: list[int] = []
    session = join(chat.url, "Ada")
    session.changed.subscribe(lambda s: changes.append(len(s.lines)))
    assert session.joined is False
    assert session.online == []
    await async_wait_until(lambda: session.joined)
    assert session.online == ["Ada"]
    assert [(line.kind, line.text, line.sender) for line in session.lines] == [
        ("notice", "you joined as Ada", "")
    ]
    assert changes == [1]
    assert session.ws.name == "Ada"
    assert chat.app.online() == ["Ada"]  # type: ignore[attr-defined]


async def test_say_before_joining_is_refused_politely(
    chat: wslab.RunningServer, join: Join
) -> None:
    session = join(chat.url, "Ada")
    assert session.say("too early") is False
    assert session.say("   ") is False
    assert [(line.kind, line.text) for line in session.lines] == [
        ("error", "not connected yet: wait for the welcome")
    ]
    await async_wait_until(lambda: session.joined)


async def test_two_sessions_talk(chat: wslab.RunningServer, join: Join) -> None:
    ada = await joined(join, chat.url, "Ada")
    grace = await joined(join, chat.url, "Grace")
    await async_wait_until(lambda: ada.online == ["Ada", "Grace"])
    assert grace.online == ["Ada", "Grace"]
    assert ada.lines[-1].text == "Grace joined"

    assert ada.say("  Hello, Grace!  ") is True
    assert ada.lines[-1].kind == "mine"
    assert (ada.lines[-1].text, ada.lines[-1].sender) == ("Hello, Grace!", "Ada")
    await async_wait_until(lambda: grace.messages_from("Ada"))
    assert grace.messages_from("Ada") == ["Hello, Grace!"]
    line = grace.lines[-1]
    assert (line.kind, line.sender, line.text) == ("chat", "Ada", "Hello, Grace!")
    assert line.time > 0
    # Our own message is shown as "mine", never as a chat line from the server.
    assert ada.messages_from("Ada") == []

    grace.leave()
    await grace.ws.closed()
    await async_wait_until(lambda: ada.online == ["Ada"])
    assert ada.lines[-1].text == "Grace left"
    assert grace.joined is False
    assert grace.online == []
    assert grace.lines[-1] == ChatLine("notice", "disconnected (1000)", time=grace.lines[-1].time)
    assert grace.say("anyone?") is False


async def test_taken_name_shows_an_error(chat: wslab.RunningServer, join: Join) -> None:
    await joined(join, chat.url, "Ada")
    other = join(chat.url, "ada")
    await async_wait_until(lambda: other.lines)
    assert [(line.kind, line.text) for line in other.lines] == [
        ("error", "the name 'ada' is already taken")
    ]
    assert other.joined is False


async def test_server_stop_disconnects_the_session(chat: wslab.RunningServer, join: Join) -> None:
    session = await joined(join, chat.url, "Ada")
    await asyncio.to_thread(chat.stop)
    await session.ws.closed()
    assert session.lines[-1].text == "disconnected (1001)"
    assert session.joined is False


async def test_unreadable_message_becomes_an_error_line(
    echo: wslab.RunningServer, join: Join
) -> None:
    # The echo server sends our join back: a message of an unknown type is
    # ignored, but a binary one cannot be read as JSON.
    session = join(echo.url, "Ada")
    await session.ws.wait_for("message")
    assert session.lines == []
    assert session.joined is False
    waiting = asyncio.ensure_future(session.ws.wait_for("message"))
    session.ws.send(b"\x00")
    await waiting
    assert [(line.kind, line.text) for line in session.lines] == [
        ("error", "unreadable message: b'\\x00'")
    ]
