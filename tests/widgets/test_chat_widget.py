"""wslab.widgets.ChatBox: the lesson 4 chat session as a view."""

from __future__ import annotations

from collections.abc import Callable

from helpers import async_wait_until

import wslab
from wslab.clients.chat import ChatSession
from wslab.widgets import ChatBox

Make = Callable[..., wslab.WebSocket]


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
