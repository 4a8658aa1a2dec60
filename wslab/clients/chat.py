"""The lesson 4 chat client as a plain object (the chat widget only shows it).

:class:`ChatSession` speaks the ``chat`` server's protocol over the
browser-shaped :class:`~wslab.clients.websocket.WebSocket`: it joins when the connection
opens, keeps the conversation and the list of who is online, and tells its
observers on every change.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Literal

from wslab.clients.websocket import WebSocket
from wslab.core.events import CloseEvent, Event, MessageEvent
from wslab.core.messages import dumps
from wslab.state.eventlog import EventLog
from wslab.state.observable import Observers

__all__ = ["ChatLine", "ChatSession"]

LineKind = Literal["chat", "mine", "notice", "error"]


@dataclass(frozen=True)
class ChatLine:
    """One line of the conversation as the chat box shows it."""

    kind: LineKind
    text: str
    sender: str = ""
    time: float = 0.0


class ChatSession:
    """A chat client: join as ``name`` and talk.

    Args:
        url: the chat server's URL.
        name: the display name to join with.

    Attributes:
        ws: the underlying browser-shaped client.
        lines: the conversation so far.
        online: who is online, as the server last said.
        changed: observers told ``self`` after every change.
    """

    def __init__(self, url: str, name: str, *, log: EventLog | None = None) -> None:
        self.name = name
        self.lines: list[ChatLine] = []
        self.online: list[str] = []
        self.joined = False
        self.changed: Observers[ChatSession] = Observers()
        self.ws = WebSocket(url, name=name, log=log)
        self.ws.add_event_listener("open", self._on_open)
        self.ws.add_event_listener("message", self._on_message)
        self.ws.add_event_listener("close", self._on_close)

    def say(self, text: str) -> bool:
        """Send a chat message; return False (and say why) if it cannot be sent now."""
        text = text.strip()
        if not text:
            return False
        if not self.joined:
            self._add(
                ChatLine("error", "not connected yet: wait for the welcome", time=time.time())
            )
            return False
        self.ws.send(dumps({"type": "chat", "text": text}))
        # Others only: the server does not echo our message, so show it now.
        self._add(ChatLine("mine", text, self.name, time.time()))
        return True

    def leave(self) -> None:
        """Close the connection cleanly (1000); the others see "left"."""
        self.ws.close(1000, "bye")

    def messages_from(self, sender: str) -> list[str]:
        """The texts ``sender`` said, in order."""
        return [line.text for line in self.lines if line.sender == sender and line.kind == "chat"]

    # --- events ---------------------------------------------------------------

    def _add(self, line: ChatLine) -> None:
        self.lines.append(line)
        self.changed.notify(self)

    def _on_open(self, event: Event) -> None:
        self.ws.send(dumps({"type": "join", "name": self.name}))

    def _on_message(self, event: Event) -> None:
        assert isinstance(event, MessageEvent)
        try:
            msg: dict[str, Any] = json.loads(event.data)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            self._add(ChatLine("error", f"unreadable message: {event.data!r}", time=time.time()))
            return
        kind = msg.get("type")
        if "online" in msg:
            self.online = list(msg["online"])
        if kind == "welcome":
            self.joined = True
            self._add(ChatLine("notice", f"you joined as {msg['name']}", time=time.time()))
        elif kind == "joined":
            self._add(ChatLine("notice", f"{msg['name']} joined", time=time.time()))
        elif kind == "left":
            self._add(ChatLine("notice", f"{msg['name']} left", time=time.time()))
        elif kind == "chat":
            self._add(ChatLine("chat", str(msg["text"]), str(msg["from"]), float(msg["t"])))
        elif kind == "error":
            self._add(ChatLine("error", str(msg.get("message")), time=time.time()))
        else:
            self.changed.notify(self)

    def _on_close(self, event: Event) -> None:
        assert isinstance(event, CloseEvent)
        self.joined = False
        self.online = []
        self._add(ChatLine("notice", f"disconnected ({event.code})", time=time.time()))
