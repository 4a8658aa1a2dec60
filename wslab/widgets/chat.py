"""The lesson 4 chat box: conversation, who is online, an input and a Send button."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from wslab.clients.chat import ChatLine, ChatSession
from wslab.widgets._kernel import OnKernelThread, UnsubscribeOnClose
from wslab.widgets.websocket import ReadyStateBadge

__all__ = ["ChatBox"]

_STYLE = {
    "chat": "color:#1a202c",
    "mine": "color:#2b6cb0",
    "notice": "color:#718096;font-style:italic",
    "error": "color:#c53030",
}


class ChatBox(UnsubscribeOnClose, widgets.VBox):  # type: ignore[misc]
    """A view of a :class:`~wslab.clients.chat.ChatSession`; typing and Send call ``say``."""

    def __init__(self, session: ChatSession, max_lines: int = 30, **kwargs: Any) -> None:
        self.session = session
        self.max_lines = max_lines
        self.badge = ReadyStateBadge(session.ws, label=session.name)
        self.conversation = widgets.HTML(layout=widgets.Layout(width="70%", min_height="180px"))
        self.who = widgets.HTML(layout=widgets.Layout(width="30%"))
        self.input = widgets.Text(
            placeholder="Type a message and press Enter", layout=widgets.Layout(width="70%")
        )
        self.send_button = widgets.Button(description="Send", button_style="primary")
        self.send_button.on_click(lambda _button: self.send())
        # Text.on_submit is deprecated; observe `value` with continuous_update off.
        self.input.continuous_update = False
        self.input.observe(self._submitted, names="value")
        super().__init__(
            [
                self.badge,
                widgets.HBox([self.conversation, self.who]),
                widgets.HBox([self.input, self.send_button]),
            ],
            **kwargs,
        )
        on_kernel = OnKernelThread()
        self._until_close(session.changed.subscribe(on_kernel(lambda _s: self.refresh())))
        self.refresh()

    def send(self, text: str | None = None) -> bool:
        """Send ``text`` (or what is typed) and clear the input."""
        text = self.input.value if text is None else text
        sent = self.session.say(text)
        if sent and text == self.input.value:
            self.input.value = ""
        return sent

    def _submitted(self, change: Any) -> None:
        if change["new"]:
            self.send(change["new"])

    def refresh(self) -> None:
        lines = self.session.lines[-self.max_lines :]
        self.conversation.value = (
            "<div style='font-family:sans-serif;font-size:13px'>"
            + ("".join(_line(line) for line in lines) or "<i>no messages yet</i>")
            + "</div>"
        )
        names = "".join(f"<li>{html.escape(name)}</li>" for name in self.session.online)
        self.who.value = f"<b>Online ({len(self.session.online)})</b><ul>{names}</ul>"

    def close(self) -> None:
        self.badge.close()
        super().close()


def _line(line: ChatLine) -> str:
    who = f"<b>{html.escape(line.sender)}:</b> " if line.sender else ""
    return f"<div style='{_STYLE[line.kind]}'>{who}{html.escape(line.text)}</div>"
