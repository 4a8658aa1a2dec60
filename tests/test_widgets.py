"""wslab.widgets: thin views over plain objects (ipywidgets work without a kernel)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
import traitlets
from helpers import async_wait_until

import wslab
from wslab.clients.chat import ChatSession
from wslab.core.events import ReadyState
from wslab.state.eventlog import EventLog
from wslab.widgets import ChatBox, MessageLog, ReadyStateBadge
from wslab.widgets._kernel import OnKernelThread

Make = Callable[..., wslab.WebSocket]

# --- ReadyStateBadge ------------------------------------------------------------------


def test_badge_shows_a_state() -> None:
    badge = ReadyStateBadge()
    assert badge.ready_state == 0
    assert badge.states_seen == [ReadyState.CONNECTING]
    assert "0 CONNECTING" in badge.value
    assert "#b7791f" in badge.value
    badge.ready_state = 1
    assert "1 OPEN" in badge.value
    assert "#2f855a" in badge.value
    badge.ready_state = 1  # no change, no new entry
    badge.ready_state = 3
    assert badge.states_seen == [ReadyState.CONNECTING, ReadyState.OPEN, ReadyState.CLOSED]
    badge.close()


@pytest.mark.parametrize("bad", [7, -1, 4])
def test_badge_rejects_an_impossible_ready_state(bad: int) -> None:
    badge = ReadyStateBadge()
    badge.ready_state = 2
    with pytest.raises(traitlets.TraitError, match=f"readyState is 0-3, not {bad}"):
        badge.ready_state = bad
    assert badge.ready_state == 2
    assert "2 CLOSING" in badge.value
    assert badge.states_seen == [ReadyState.CONNECTING, ReadyState.CLOSING]
    badge.close()


def test_badge_label_is_escaped() -> None:
    badge = ReadyStateBadge(label="<img src=x onerror=alert(1)>")
    assert "&lt;img src=x onerror=alert(1)&gt; readyState" in badge.value
    assert "<img" not in badge.value
    badge.label = "Ada"
    assert "Ada readyState" in badge.value
    badge.close()


async def test_badge_follows_a_client(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = make_ws(echo.url)
    badge = ReadyStateBadge(ws, label="alice")
    await ws.wait_for("open")
    assert badge.ready_state == 1
    ws.close()
    assert badge.ready_state == 2
    await ws.closed()
    assert badge.ready_state == 3
    assert badge.states_seen == [
        ReadyState.CONNECTING,
        ReadyState.OPEN,
        ReadyState.CLOSING,
        ReadyState.CLOSED,
    ]
    assert "alice readyState" in badge.value
    assert "3 CLOSED" in badge.value
    badge.close()


async def test_badge_watch_replaces_the_client(echo: wslab.RunningServer, make_ws: Make) -> None:
    first = make_ws(echo.url)
    await first.wait_for("open")
    badge = ReadyStateBadge(first)
    assert badge.states_seen == [ReadyState.OPEN]
    second = make_ws(echo.url)
    badge.watch(second)
    assert badge.states_seen == [ReadyState.CONNECTING]
    first.close()
    await first.closed()
    await second.wait_for("open")
    # Only the second client's states: the first is no longer followed.
    assert badge.states_seen == [ReadyState.CONNECTING, ReadyState.OPEN]
    assert badge.ready_state == 1
    assert len(first.state_changed) == 0
    badge.close()


async def test_badge_updates_from_another_thread_on_the_loop(
    echo: wslab.RunningServer, make_ws: Make
) -> None:
    ws = await _opened(make_ws, echo.url)
    badge = ReadyStateBadge(ws)
    seen_on: list[str] = []
    badge.observe(lambda change: seen_on.append(threading.current_thread().name), "ready_state")
    # A state change notified from another thread is applied on this one.
    await asyncio.to_thread(ws.state_changed.notify, ReadyState.CLOSING)
    await async_wait_until(lambda: badge.ready_state == 2)
    assert seen_on == [threading.current_thread().name]
    badge.close()


async def _opened(make_ws: Make, url: str) -> wslab.WebSocket:
    ws = make_ws(url)
    await ws.wait_for("open")
    return ws


# --- MessageLog ---------------------------------------------------------------------------


def test_message_log_rows_and_escaping() -> None:
    log = EventLog()
    view = MessageLog(log, title="<b>Server</b>")
    assert view.rows == 0
    assert "nothing yet" in view.value
    log.record("connect", "#1 connected", peer="#1")
    log.message("in", "<script>alert('x')</script>", peer="<#1>")
    log.message("out", b"\x00\x01")
    assert view.rows == 3
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in view.value
    assert "<script>" not in view.value
    assert "&lt;#1&gt;" in view.value
    assert "&lt;b&gt;Server&lt;/b&gt;" in view.value
    assert "⬅ in" in view.value
    assert "➡ out" in view.value
    assert "27 B" in view.value  # the size of the text message in bytes
    assert "binary" in view.value
    assert "2 B" in view.value
    assert [e.kind for e in view.shown()] == ["connect", "message", "message"]
    view.close()


def test_message_log_kinds_and_max_rows() -> None:
    log = EventLog()
    for n in range(5):
        log.record("connect", f"c{n}")
        log.message("in", f"m{n}")
    view = MessageLog(log, kinds=["message"], max_rows=3)
    assert view.rows == 3
    assert [e.text for e in view.shown()] == ["m2", "m3", "m4"]
    assert "c4" not in view.value
    view.max_rows = 1
    assert view.rows == 1
    assert [e.text for e in view.shown()] == ["m4"]
    with pytest.raises(traitlets.TraitError, match="max_rows must be at least 1"):
        view.max_rows = 0
    assert view.max_rows == 1
    view.close()


def test_message_log_close_unsubscribes() -> None:
    log = EventLog()
    view = MessageLog(log)
    log.record("a")
    assert view.rows == 1
    view.close()
    assert len(log.observers) == 0
    log.record("b")
    assert view.rows == 1


async def test_message_log_updates_from_a_server_thread(echo: wslab.RunningServer) -> None:
    view = MessageLog(echo.log, kinds=["connect"])
    assert view.rows == 0
    applied_on: list[str] = []
    view.observe(lambda change: applied_on.append(threading.current_thread().name), "rows")
    await asyncio.to_thread(echo.log.record, "connect", "#9 from a thread")
    await async_wait_until(lambda: view.rows == 1)
    assert applied_on == [threading.current_thread().name]
    view.close()


def test_on_kernel_thread_without_a_loop_calls_directly() -> None:
    calls: list[tuple[object, ...]] = []
    wrap = OnKernelThread()
    wrapped = wrap(lambda *args: calls.append(args))
    thread = threading.Thread(target=wrapped, args=(1, 2))
    thread.start()
    thread.join()
    assert calls == [(1, 2)]


# --- ChatBox -----------------------------------------------------------------------------


async def test_chat_box_follows_the_session(chat: wslab.RunningServer) -> None:
    ada = ChatSession(chat.url, "Ada")
    box = ChatBox(ada, max_lines=3)
    eve = None
    try:
        assert "no messages yet" in box.conversation.value
        assert "Online (0)" in box.who.value
        await async_wait_until(lambda: ada.joined)
        assert "you joined as Ada" in box.conversation.value
        assert "<li>Ada</li>" in box.who.value
        assert "Online (1)" in box.who.value
        assert box.badge.ready_state == 1
        assert "Ada readyState" in box.badge.value

        eve = ChatSession(chat.url, "<b>Eve</b>")
        await async_wait_until(lambda: eve.joined)
        await async_wait_until(lambda: "Online (2)" in box.who.value)
        assert "<li>&lt;b&gt;Eve&lt;/b&gt;</li>" in box.who.value
        assert "<b>Eve</b>" not in box.who.value
        assert "&lt;b&gt;Eve&lt;/b&gt; joined" in box.conversation.value

        eve.say("<script>alert(1)</script>")
        await async_wait_until(lambda: ada.messages_from("<b>Eve</b>"))
        assert "<b>&lt;b&gt;Eve&lt;/b&gt;:</b> &lt;script&gt;alert(1)&lt;/script&gt;" in (
            box.conversation.value
        )
        assert "<script>" not in box.conversation.value

        # Typing and Send.
        box.input.value = ""
        assert box.send("") is False
        assert box.send("hello Eve") is True
        assert "hello Eve" in box.conversation.value
        box.input.value = "typed and submitted"  # Enter: the value is submitted
        assert box.input.value == ""
        assert ada.lines[-1].text == "typed and submitted"
        assert ada.lines[-1].kind == "mine"
        await async_wait_until(
            lambda: eve.messages_from("Ada") == ["hello Eve", "typed and submitted"]
        )

        # Only the newest max_lines lines are shown.
        assert "you joined as Ada" not in box.conversation.value
        assert box.conversation.value.count("<div style='color") == 3

        # The widget's badge and Send button.
        assert box.send_button.description == "Send"
        eve.leave()
        await eve.ws.closed()
        await async_wait_until(lambda: "Online (1)" in box.who.value)
    finally:
        box.close()
        ada.leave()
        await ada.ws.closed()
        await ada.ws._task
        if eve is not None:
            await eve.ws.closed()
            await eve.ws._task
    # Closed: the box no longer follows the session.
    assert len(ada.changed) == 0
    assert "disconnected" not in box.conversation.value
