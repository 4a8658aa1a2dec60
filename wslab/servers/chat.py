"""``chat``: lesson 4. A live chat room with a roster of who is online.

Protocol (JSON text messages)::

    → {"type": "join", "name": "Ada"}
    ← {"type": "welcome", "name": "Ada", "online": ["Grace", "Ada"]}      to Ada
    ← {"type": "joined", "name": "Ada", "online": [...]}                  to the others
    → {"type": "chat", "text": "Hello!"}
    ← {"type": "chat", "from": "Ada", "text": "Hello!", "t": 1764090000.0}  to the others
    → {"type": "who"}
    ← {"type": "roster", "online": [...]}
    ← {"type": "left", "name": "Ada", "online": [...]}                    when Ada closes

The sender is not sent its own message back: the seed's "others only"
broadcast (a chat UI shows your own message at once). Bad input gets
``{"type": "error", ...}`` and the connection stays open.
"""

from __future__ import annotations

import time
from typing import Any

from websockets.asyncio.server import ServerConnection

from wslab.core.chat import NameTaken, Roster
from wslab.core.messages import MessageError, parse_message, require_text, validate_name
from wslab.servers.base import LessonServer
from wslab.state.observable import Observers

__all__ = ["ChatServer"]


class ChatServer(LessonServer):
    """JSON chat: messages reach every other joined client; join/leave notices."""

    name = "chat"
    lessons = (4,)
    summary = "JSON chat room with join/leave notices and a roster"
    types = ("join", "chat", "who")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.roster: Roster[ServerConnection] = Roster()
        #: Told the list of names each time someone joins or leaves.
        self.roster_changed: Observers[list[str]] = Observers()

    def online(self) -> list[str]:
        return self.roster.names()

    async def on_message(self, ws: ServerConnection, peer: str, message: str | bytes) -> None:
        try:
            request = parse_message(message, self.types)
            kind = request["type"]
            if kind == "join":
                self._join(ws, request)
            elif kind == "chat":
                self._chat(ws, request)
            else:
                await self.send_json(ws, {"type": "roster", "online": self.online()})
        except MessageError as error:
            await self.send_error(ws, error)

    def _others(self, ws: ServerConnection) -> list[ServerConnection]:
        return [c for c in self.roster.members() if c is not ws]

    def _join(self, ws: ServerConnection, request: dict[str, Any]) -> None:
        if ws in self.roster:
            raise MessageError("already-joined", "you have already joined")
        name = validate_name(request.get("name"))
        try:
            self.roster.join(ws, name)
        except NameTaken as exc:
            raise MessageError("name-taken", str(exc)) from None
        online = self.online()
        self.broadcast([ws], {"type": "welcome", "name": name, "online": online})
        self.broadcast(self._others(ws), {"type": "joined", "name": name, "online": online})
        self.roster_changed.notify(online)

    def _chat(self, ws: ServerConnection, request: dict[str, Any]) -> None:
        name = self.roster.name_of(ws)
        if name is None:
            raise MessageError("not-joined", 'send {"type": "join", "name": ...} first')
        text = require_text(request, "text")
        self.broadcast(
            self._others(ws), {"type": "chat", "from": name, "text": text, "t": time.time()}
        )

    async def on_disconnect(self, ws: ServerConnection, peer: str) -> None:
        name = self.roster.leave(ws)
        if name is not None:
            online = self.online()
            self.broadcast(self.roster.members(), {"type": "left", "name": name, "online": online})
            self.roster_changed.notify(online)
