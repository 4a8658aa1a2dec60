"""Rooms and channels: the thread-safe registry that servers change and views watch.

The study notes keep rooms in a ``Map<string, Set<WebSocket>>``::

    const rooms = new Map();
    function joinRoom(ws, name) {
      if (!rooms.has(name)) rooms.set(name, new Set());
      rooms.get(name).add(ws);
    }
    ws.on('close', () => rooms.forEach(r => r.delete(ws)));   // cleanup!

:class:`Rooms` is that map, generic over the member type (the ``rooms``
server uses its connections; a test or a notebook can use plain names), with
the cleanup the seed does by hand built in: leaving the last member removes a
room, and :meth:`Rooms.leave_all` is the ``close`` handler's one call.

Room names come from clients, so the server checks them with
:func:`~wslab.core.rooms.validate_room_name` (pure, in :mod:`wslab.core.rooms`)
before they reach the registry.

No sockets, asyncio or widgets. Thread-safe: a server changes it on its
thread while a notebook reads it on the kernel's.
"""

from __future__ import annotations

import threading
from typing import Generic

from wslab.core.rooms import (
    MAX_ROOMS,
    MAX_ROOMS_PER_MEMBER,
    M,
    RoomEvent,
    RoomLimitError,
)
from wslab.state.observable import Observers

__all__ = [
    "Rooms",
]


# --- room names -------------------------------------------------------------------


# --- the registry ---------------------------------------------------------------------


class Rooms(Generic[M]):
    """Named rooms of members: the seed's ``Map<string, Set<WebSocket>>``.

    Rooms exist while they have members: the first join creates one, the
    last leave removes it. Members and rooms are kept in the order they
    came. Room names are used as given; validate them first
    (:func:`validate_room_name`).

    Args:
        max_rooms_per_member: how many rooms one member may be in; None for no cap.
        max_rooms: how many rooms may exist at once; None for no cap.

    Attributes:
        changed: observers told a :class:`RoomEvent` after every join and
            leave, on the thread that made the change, outside the lock.

    Thread-safe: a server changes it on its own thread while a notebook
    reads :meth:`snapshot` on the kernel's.
    """

    def __init__(
        self,
        *,
        max_rooms_per_member: int | None = MAX_ROOMS_PER_MEMBER,
        max_rooms: int | None = MAX_ROOMS,
    ) -> None:
        self.max_rooms_per_member = max_rooms_per_member
        self.max_rooms = max_rooms
        self.changed: Observers[RoomEvent[M]] = Observers()
        self._lock = threading.Lock()
        # Dicts as ordered sets: a Set with a stable order, so that lists of
        # members and rooms come out in the order they joined.
        self._rooms: dict[str, dict[M, None]] = {}
        self._joined: dict[M, dict[str, None]] = {}

    # --- changes ---------------------------------------------------------------

    def join(self, member: M, room: str) -> bool:
        """Add ``member`` to ``room``, creating the room if needed (``joinRoom``).

        Idempotent: joining a room again changes nothing and tells no one.

        Returns:
            True if ``member`` was not in ``room`` before.

        Raises:
            RoomLimitError: ``too-many-rooms`` if ``member`` is in
                ``max_rooms_per_member`` rooms already; ``no-more-rooms`` if the
                room is new and ``max_rooms`` rooms exist.
        """
        with self._lock:
            members = self._rooms.get(room)
            if members is not None and member in members:
                return False
            mine = self._joined.get(member, {})
            if self.max_rooms_per_member is not None and len(mine) >= self.max_rooms_per_member:
                raise RoomLimitError(
                    "too-many-rooms",
                    f"you are in {len(mine)} rooms already, the most allowed: leave one first",
                )
            if members is None:
                if self.max_rooms is not None and len(self._rooms) >= self.max_rooms:
                    raise RoomLimitError(
                        "no-more-rooms",
                        f"there are {len(self._rooms)} rooms already, the most allowed: "
                        "join one of them",
                    )
                members = self._rooms[room] = {}
            members[member] = None
            self._joined.setdefault(member, {})[room] = None
            event = RoomEvent("join", room, member, len(members))
        self.changed.notify(event)
        return True

    def leave(self, member: M, room: str) -> bool:
        """Take ``member`` out of ``room``; a room left empty disappears.

        Returns:
            True if ``member`` was in ``room``; False (and no change) if not.
        """
        with self._lock:
            event = self._remove(member, room)
        if event is None:
            return False
        self.changed.notify(event)
        return True

    def leave_all(self, member: M) -> list[str]:
        """Take ``member`` out of every room: the seed's cleanup on ``close``.

        Returns:
            The rooms it left, in the order it had joined them; empty if none.
        """
        with self._lock:
            rooms = list(self._joined.get(member, ()))
            events = [self._remove(member, room) for room in rooms]
        for event in events:
            if event is not None:
                self.changed.notify(event)
        return rooms

    def _remove(self, member: M, room: str) -> RoomEvent[M] | None:
        # Called with the lock held.
        members = self._rooms.get(room)
        if members is None or member not in members:
            return None
        del members[member]
        if not members:
            del self._rooms[room]  # the seed's Map keeps empty Sets; we do not
        mine = self._joined[member]
        del mine[room]
        if not mine:
            del self._joined[member]
        return RoomEvent("leave", room, member, len(members))

    # --- questions ---------------------------------------------------------------

    def members(self, room: str) -> list[M]:
        """The members of ``room`` in joining order; empty for a room that does not exist."""
        with self._lock:
            return list(self._rooms.get(room, ()))

    def rooms_of(self, member: M) -> list[str]:
        """The rooms ``member`` is in, in the order it joined them."""
        with self._lock:
            return list(self._joined.get(member, ()))

    def rooms(self) -> list[str]:
        """The rooms that exist (that have members), oldest first."""
        with self._lock:
            return list(self._rooms)

    def is_member(self, member: M, room: str) -> bool:
        with self._lock:
            return member in self._rooms.get(room, ())

    def snapshot(self) -> dict[str, list[M]]:
        """Every room and its members, as a new dict: safe to keep and read later."""
        with self._lock:
            return {room: list(members) for room, members in self._rooms.items()}

    def __contains__(self, room: object) -> bool:
        with self._lock:
            return room in self._rooms

    def __len__(self) -> int:
        """How many rooms exist."""
        with self._lock:
            return len(self._rooms)

    def __repr__(self) -> str:
        return f"<Rooms {self.snapshot()!r}>"
