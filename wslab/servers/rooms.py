"""``rooms``: lesson 7. Rooms and channels: join, leave and talk in named rooms.

Protocol (JSON text messages)::

    → {"type": "hello", "name": "Ada"}                     optional, before any join
    ← {"type": "welcome", "name": "Ada"}
    → {"type": "join", "room": "general"}
    ← {"type": "joined", "room": "general", "members": ["Grace", "Ada"]}        to Ada
    ← {"type": "member-joined", "room": "general", "name": "Ada", "members": [...]}
                                                              to the room's other members
    → {"type": "message", "room": "general", "text": "Hello!"}
    ← {"type": "message", "room": "general", "from": "Ada", "text": "Hello!"}
                                                              to the room's other members
    ← {"type": "delivered", "room": "general", "to": 1}                        to Ada
    → {"type": "leave", "room": "general"}
    ← {"type": "left", "room": "general"}                                      to Ada
    ← {"type": "member-left", "room": "general", "name": "Ada", "members": [...]}
                                                   to the others, also when Ada closes
    → {"type": "rooms"}
    ← {"type": "rooms", "rooms": {"general": 2, "random": 1}, "yours": ["general"]}

A client without a ``hello`` is known by its connection id (``"#3"``). A room
message reaches the room's other members: not the sender ("others only"), and
no one outside the room. Room names follow :func:`wslab.state.rooms.validate_room_name`
(1-32 ASCII letters, digits, ``-``, ``_``; lowercased). Bad input gets
``{"type": "error", ...}`` and the connection stays open.

This module also has the lesson's bots: :func:`start_room_bots` starts a crew
that joins rooms, talks and leaves, on a thread of its own.
"""

from __future__ import annotations

from typing import Any

from websockets.asyncio.server import ServerConnection

from wslab.core.chat import NameTaken, Roster
from wslab.core.messages import MessageError, parse_message, require_text, validate_name
from wslab.core.rooms import MAX_ROOMS, MAX_ROOMS_PER_MEMBER, RoomLimitError, validate_room_name
from wslab.servers.base import LessonServer
from wslab.state.rooms import Rooms

__all__ = [
    "RoomsServer",
]


class RoomsServer(LessonServer):
    """Named rooms: members get the messages of the rooms they are in, and only those.

    Args:
        max_rooms_per_client: how many rooms one connection may be in.
        max_rooms: how many rooms may exist at once.

    Attributes:
        rooms: the registry, keyed by connection (read it from any thread).
        roster: every connection's display name (its peer id until ``hello``).
    """

    name = "rooms"
    lessons = (7,)
    summary = "rooms and channels: join, leave and talk in named rooms"
    types = ("hello", "join", "leave", "message", "rooms")

    def __init__(
        self,
        *args: Any,
        max_rooms_per_client: int = MAX_ROOMS_PER_MEMBER,
        max_rooms: int = MAX_ROOMS,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.rooms: Rooms[ServerConnection] = Rooms(
            max_rooms_per_member=max_rooms_per_client, max_rooms=max_rooms
        )
        self.roster: Roster[ServerConnection] = Roster()
        # Connections whose name is fixed: said hello, or joined a room (where
        # others saw it). A rename then would make one person look like two.
        self._named: set[ServerConnection] = set()

    # --- what a cell or a widget asks ---------------------------------------------

    def name_of(self, ws: ServerConnection) -> str:
        """How ``ws`` is shown to others: its ``hello`` name, else its peer id."""
        return self.roster.name_of(ws) or self.peers.get(ws, "?")

    def snapshot(self) -> dict[str, list[str]]:
        """Every room and the names of its members, in joining order. Thread-safe."""
        return {
            room: [self.name_of(ws) for ws in members]
            for room, members in self.rooms.snapshot().items()
        }

    # --- the protocol ------------------------------------------------------------------

    async def on_connect(self, ws: ServerConnection, peer: str) -> None:
        # Every connection has a name from the start: its peer id. Names
        # starting with "#" are refused in hello, so no one can take it.
        self.roster.join(ws, peer)

    async def on_message(self, ws: ServerConnection, peer: str, message: str | bytes) -> None:
        try:
            request = parse_message(message, self.types)
            kind = request["type"]
            if kind == "hello":
                self._hello(ws, request)
            elif kind == "join":
                self._join(ws, peer, request)
            elif kind == "leave":
                self._leave(ws, peer, request)
            elif kind == "message":
                self._message(ws, request)
            else:
                counts = {room: len(members) for room, members in self.rooms.snapshot().items()}
                self._reply(
                    ws, {"type": "rooms", "rooms": counts, "yours": self.rooms.rooms_of(ws)}
                )
        except MessageError as error:
            await self.send_error(ws, error)

    def _reply(self, ws: ServerConnection, obj: dict[str, Any]) -> None:
        # broadcast() to one connection writes without awaiting, like the
        # notices to the others: answers and notices keep the order they were made in.
        self.broadcast([ws], obj)

    def _hello(self, ws: ServerConnection, request: dict[str, Any]) -> None:
        if ws in self._named:
            raise MessageError(
                "already-named",
                f'you are known as "{self.name_of(ws)}" already: say hello once, '
                "before joining a room",
            )
        name = validate_name(request.get("name"))
        if name.startswith("#"):
            raise MessageError("invalid-name", 'names starting with "#" are connection ids')
        try:
            self.roster.join(ws, name)
        except NameTaken as exc:
            raise MessageError("name-taken", str(exc)) from None
        self._named.add(ws)
        self._reply(ws, {"type": "welcome", "name": name})

    def _room(self, request: dict[str, Any]) -> str:
        if "room" not in request:
            raise MessageError("invalid-room", f'a "{request["type"]}" message needs a "room"')
        return validate_room_name(request["room"])

    def _others(self, ws: ServerConnection, room: str) -> list[ServerConnection]:
        return [c for c in self.rooms.members(room) if c is not ws]

    def _join(self, ws: ServerConnection, peer: str, request: dict[str, Any]) -> None:
        room = self._room(request)
        try:
            new = self.rooms.join(ws, room)
        except RoomLimitError as exc:
            raise MessageError(exc.code, str(exc)) from None
        self._named.add(ws)
        members = [self.name_of(c) for c in self.rooms.members(room)]
        self._reply(ws, {"type": "joined", "room": room, "members": members})
        if new:  # joining again is harmless, and tells no one
            name = self.name_of(ws)
            self.log.record("join", f"{name} joined {room}", peer=peer)
            self.broadcast(
                self._others(ws, room),
                {"type": "member-joined", "room": room, "name": name, "members": members},
            )

    def _leave(self, ws: ServerConnection, peer: str, request: dict[str, Any]) -> None:
        room = self._room(request)
        if not self.rooms.leave(ws, room):
            raise MessageError("not-in-room", f'you are not in the room "{room}"')
        self._reply(ws, {"type": "left", "room": room})
        self._left(peer, self.name_of(ws), room)

    def _left(self, peer: str, name: str, room: str) -> None:
        """Tell the members still in ``room`` that ``name`` left it."""
        self.log.record("leave", f"{name} left {room}", peer=peer)
        others = self.rooms.members(room)
        self.broadcast(
            others,
            {
                "type": "member-left",
                "room": room,
                "name": name,
                "members": [self.name_of(c) for c in others],
            },
        )

    def _message(self, ws: ServerConnection, request: dict[str, Any]) -> None:
        room = self._room(request)
        if not self.rooms.is_member(ws, room):
            raise MessageError(
                "not-in-room",
                f'join the room "{room}" before you send to it: '
                f'{{"type": "join", "room": "{room}"}}',
            )
        text = require_text(request, "text")
        message = {"type": "message", "room": room, "from": self.name_of(ws), "text": text}
        # The seed's broadcastRoom(name, msg, exclude=ws): the others, if OPEN.
        delivered = self.broadcast(self._others(ws, room), message)
        self._reply(ws, {"type": "delivered", "room": room, "to": delivered})

    async def on_disconnect(self, ws: ServerConnection, peer: str) -> None:
        # The seed's `ws.on('close', () => rooms.forEach(r => r.delete(ws)))`:
        # out of every room (the rooms left empty disappear), then forget the
        # name, then tell the others: whoever hears "member-left" may take the
        # name at once.
        name = self.name_of(ws)
        rooms = self.rooms.leave_all(ws)
        self.roster.leave(ws)
        self._named.discard(ws)
        for room in rooms:
            self._left(peer, name, room)


# --- bots ------------------------------------------------------------------------------
