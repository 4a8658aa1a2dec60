"""Lesson 11's pure logic: round-robin, Redis key names, rooms, memory estimates.

The cluster server, the balancer and the lesson's measurements all build on
these small pieces, which import no sockets, asyncio or widgets, so they test
without a network:

- :class:`RoundRobin`: which backend the next connection goes to;
- :func:`validate_client_id` and :func:`validate_room`: what a client may
  call itself and its rooms (they become parts of Redis keys);
- :class:`Keys`: every Redis key and channel of one namespace;
- :class:`MemoryRooms`: the seed's ``Map<room, Set>`` in process memory, the
  design lesson 11 shows breaking once there are two servers;
- :func:`bytes_per_connection` and :func:`connections_that_fit`: from measured
  memory to an estimate of how many connections a server holds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from wslab.core.messages import MessageError

__all__ = [
    "CLIENT_ID_PATTERN",
    "GIB",
    "KIB",
    "MAX_ROOMS_PER_CLIENT",
    "MIB",
    "MODES",
    "MODE_ENV",
    "NODE_ENV",
    "PREFIX_ENV",
    "ROOM_PATTERN",
    "Keys",
    "MemoryRooms",
    "Mode",
    "RoundRobin",
    "bytes_per_connection",
    "connections_that_fit",
    "round_robin_order",
    "server_label",
    "validate_client_id",
    "validate_room",
]

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

#: Client ids and room names end up inside Redis keys (``room:general:members``),
#: so they are kept to characters that cannot break a key apart (no ``:``, no
#: spaces, no glob characters such as ``*``).
CLIENT_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
ROOM_PATTERN = CLIENT_ID_PATTERN
#: One client may not fill Redis with rooms.
MAX_ROOMS_PER_CLIENT = 20


# --- round-robin ----------------------------------------------------------------


class RoundRobin:
    """Hands out backend indexes in turn: 0, 1, ..., n-1, 0, 1, ...

    Plain round-robin looks at nothing but the order: not how busy a backend
    is, nor whether a connection closed since. Not thread-safe (the balancer
    uses it from its own loop only).

    Args:
        backends: how many backends there are (at least one).
        start: the index the first connection goes to.

    Raises:
        ValueError: for fewer than one backend or a start out of range.
    """

    def __init__(self, backends: int, start: int = 0) -> None:
        if backends < 1:
            raise ValueError("round-robin needs at least one backend")
        if not 0 <= start < backends:
            raise ValueError(f"start must be 0-{backends - 1}, not {start}")
        self.backends = backends
        self._next = start
        #: How many indexes were handed out so far.
        self.handed_out = 0

    @property
    def peek(self) -> int:
        """The index the next connection will get (without taking it)."""
        return self._next

    def next(self) -> int:
        """Take the next index."""
        index = self._next
        self._next = (index + 1) % self.backends
        self.handed_out += 1
        return index


def round_robin_order(backends: int, connections: int, start: int = 0) -> list[int]:
    """The backend index of each of ``connections`` new connections, in order.

    >>> round_robin_order(3, 5)
    [0, 1, 2, 0, 1]
    """
    picker = RoundRobin(backends, start)
    return [picker.next() for _ in range(connections)]


def server_label(index: int) -> str:
    """The course's name for server ``index``: ``"A"``, ``"B"``, ... ``"Z"``, ``"S26"``, ..."""
    if index < 0:
        raise ValueError("a server index is 0 or more")
    return chr(ord("A") + index) if index < 26 else f"S{index}"


# --- names that become parts of Redis keys ----------------------------------------


def _validate(value: object, what: str, code: str) -> str:
    if not isinstance(value, str):
        raise MessageError(code, f"a {what} must be a string")
    if not CLIENT_ID_PATTERN.fullmatch(value):
        shown = value if len(value) <= 40 else value[:39] + "…"
        raise MessageError(
            code,
            f"{shown!r} is not a valid {what}: use 1-32 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
        )
    return value


def validate_client_id(value: object) -> str:
    """Return ``value`` if it is a usable client id, such as ``"alice"``.

    Raises:
        MessageError: ``invalid-client``.
    """
    return _validate(value, "client id", "invalid-client")


def validate_room(value: object) -> str:
    """Return ``value`` if it is a usable room name, such as ``"general"``.

    Raises:
        MessageError: ``invalid-room``.
    """
    return _validate(value, "room name", "invalid-room")


@dataclass(frozen=True)
class Keys:
    """Every Redis key and channel the cluster uses, under one ``prefix``.

    With no prefix the names are the study notes' own (channel ``messages``).
    The notebook and the tests use a prefix per run, such as
    ``"wslab:1a2b3c4d:"``, so that two runs sharing one Redis never hear each
    other's messages, and so that one ``SCAN MATCH prefix*`` finds every key a
    run left, to delete.
    """

    prefix: str = ""

    @property
    def channel(self) -> str:
        """The pub/sub channel every server publishes to and listens on."""
        return f"{self.prefix}messages"

    def client_rooms(self, client: str) -> str:
        """A SET: the rooms ``client`` is in."""
        return f"{self.prefix}client:{client}:rooms"

    def room_members(self, room: str) -> str:
        """A SET: the client ids in ``room``."""
        return f"{self.prefix}room:{room}:members"

    def last_id(self, client: str) -> str:
        """A STRING: the highest chat id the cluster accepted from ``client``."""
        return f"{self.prefix}client:{client}:last-id"

    @property
    def history(self) -> str:
        """A LIST: the newest numbered chats, oldest first, for a client that was away."""
        return f"{self.prefix}history"

    @property
    def presence(self) -> str:
        """A HASH: client id → the server it is connected to now."""
        return f"{self.prefix}presence"

    @property
    def pattern(self) -> str:
        """A ``SCAN MATCH`` pattern for every key of this namespace."""
        return f"{self.prefix}*"

    def room_of_key(self, key: str) -> str | None:
        """The room a ``room_members`` key is for, or None for another key."""
        head, tail = f"{self.prefix}room:", ":members"
        if key.startswith(head) and key.endswith(tail) and len(key) > len(head) + len(tail):
            return key[len(head) : -len(tail)]
        return None


# --- rooms in process memory: the design that does not scale ------------------------


class MemoryRooms:
    """The seed's ``Map<room, Set<client>>``, kept in one process's memory.

    Fine for one server. With two, each server has its own map: a client that
    reconnects and lands on the other server finds its rooms gone. That is
    why the seed says "never store room state in process memory — use Redis".
    """

    def __init__(self, max_rooms: int = MAX_ROOMS_PER_CLIENT) -> None:
        self.max_rooms = max_rooms
        self._rooms: dict[str, set[str]] = {}

    def join(self, client: str, room: str) -> list[str]:
        """Put ``client`` in ``room``; return its rooms. Joining twice is harmless.

        Raises:
            MessageError: ``too-many-rooms``.
        """
        if client not in self._rooms.get(room, set()) and len(self.rooms_of(client)) >= (
            self.max_rooms
        ):
            raise MessageError("too-many-rooms", f"a client may be in at most {self.max_rooms}")
        self._rooms.setdefault(room, set()).add(client)
        return self.rooms_of(client)

    def leave(self, client: str, room: str) -> list[str]:
        """Take ``client`` out of ``room``; return its rooms. Empty rooms are dropped."""
        members = self._rooms.get(room)
        if members is not None:
            members.discard(client)
            if not members:
                del self._rooms[room]
        return self.rooms_of(client)

    def rooms_of(self, client: str) -> list[str]:
        """The rooms ``client`` is in, sorted."""
        return sorted(room for room, members in self._rooms.items() if client in members)

    def members(self, room: str) -> set[str]:
        """The client ids in ``room`` (a copy)."""
        return set(self._rooms.get(room, set()))

    def snapshot(self) -> dict[str, list[str]]:
        """Every room and its members, sorted: for display and tests."""
        return {room: sorted(m) for room, m in sorted(self._rooms.items())}


# --- memory per connection ----------------------------------------------------------


def bytes_per_connection(counts: Sequence[int], rss: Sequence[int]) -> float:
    """The slope of memory against connections: bytes each connection adds.

    A least-squares line through the points ``(counts[i], rss[i])``, so one
    noisy sample moves the estimate less than it would a plain
    ``(last - first) / n``.

    Raises:
        ValueError: with fewer than two points, or if all counts are equal.
    """
    if len(counts) != len(rss):
        raise ValueError("counts and rss must have the same length")
    if len(counts) < 2:
        raise ValueError("a slope needs at least two measurements")
    n = len(counts)
    mean_x = sum(counts) / n
    mean_y = sum(rss) / n
    sxx = sum((x - mean_x) ** 2 for x in counts)
    if sxx == 0:
        raise ValueError("measure at two or more different connection counts")
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(counts, rss, strict=True))
    return sxy / sxx


def connections_that_fit(budget: float, per_connection: float, baseline: float = 0.0) -> int:
    """How many connections fit in ``budget`` bytes: ``(budget - baseline) // per_connection``.

    An estimate, and an optimistic one: it counts memory only, for idle
    connections; real clients send messages (buffers grow), and CPU, file
    descriptors and the network set limits of their own.

    Args:
        budget: the memory the server may use, in bytes (``GIB`` for 1 GiB).
        per_connection: bytes each connection adds (see :func:`bytes_per_connection`).
        baseline: the server's memory with no connections.

    Raises:
        ValueError: if ``per_connection`` is not positive.
    """
    if per_connection <= 0:
        raise ValueError("per_connection must be positive")
    return max(0, int((budget - baseline) // per_connection))


Mode = Literal["local", "redis"]


MODES: tuple[Mode, ...] = ("local", "redis")


MODE_ENV = "WSLAB_CLUSTER_MODE"


PREFIX_ENV = "WSLAB_REDIS_PREFIX"


NODE_ENV = "WSLAB_CLUSTER_NODE"
