"""Lesson 7's rules for rooms: valid names, limits, and what a change looks like.

Theory of the name rule: an *allowlist*, not a denylist. A room name is 1 to
32 characters, each an ASCII letter, digit, ``-`` or ``_``, and names are
compared lowercased (``General`` is ``general``). Whatever is not on that list
is refused: spaces (``"  general"`` would look like ``general``), control and
format characters (U+202E RIGHT-TO-LEFT OVERRIDE, zero-width spaces), and every
non-ASCII letter, since a Cyrillic ``\u0430`` looks exactly like a Latin ``a``. The
name is not stripped or repaired: a client that sends a bad name is told so.

Pure: the registry that servers change and widgets watch
(:class:`~wslab.state.rooms.Rooms`) is thread-safe and lives in
:mod:`wslab.state.rooms`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from wslab.core.messages import MessageError

__all__ = [
    "MAX_ROOMS",
    "MAX_ROOMS_PER_MEMBER",
    "MAX_ROOM_CHARS",
    "ROOM_CHARACTERS",
    "M",
    "RoomEvent",
    "RoomLimitError",
    "is_valid_room_name",
    "validate_room_name",
]


#: The longest room name, in characters.
MAX_ROOM_CHARS = 32


#: How many rooms one member may be in at once.
MAX_ROOMS_PER_MEMBER = 20


#: How many rooms may exist at once: without a cap, one client could create
#: rooms in a loop until the server runs out of memory.
MAX_ROOMS = 100


#: Every character a room name may contain.
ROOM_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


M = TypeVar("M", bound=Hashable)


def validate_room_name(name: object) -> str:
    """Return the room's canonical name (lowercased) if ``name`` follows the rule.

    The rule: a string of 1 to :data:`MAX_ROOM_CHARS` characters, each an
    ASCII letter, digit, ``-`` or ``_`` (see the module's docstring for why).
    Nothing is stripped: ``" general"`` is refused, not repaired.

    Args:
        name: whatever the client sent as the room name.

    Returns:
        The name in lowercase, so ``"General"`` and ``"general"`` are one room.

    Raises:
        MessageError: ``invalid-room``, saying what is wrong with the name.
    """
    if not isinstance(name, str):
        raise MessageError("invalid-room", "a room name must be a string")
    if not name:
        raise MessageError("invalid-room", "a room name must not be empty")
    # Length first: a 1000-character name is refused for its length, whatever it holds.
    if len(name) > MAX_ROOM_CHARS:
        raise MessageError(
            "invalid-room", f"a room name must be at most {MAX_ROOM_CHARS} characters"
        )
    for char in name:
        if char not in ROOM_CHARACTERS:
            raise MessageError(
                "invalid-room",
                f"{_describe(char)} is not allowed in a room name "
                "(only a-z, A-Z, 0-9, '-' and '_')",
            )
    return name.lower()


def is_valid_room_name(name: object) -> bool:
    """Return whether :func:`validate_room_name` accepts ``name``. Never raises."""
    try:
        validate_room_name(name)
    except MessageError:
        return False
    return True


def _describe(char: str) -> str:
    # Show invisible characters by code point: printing U+202E itself would
    # reverse the rest of the error message on the student's screen.
    label = f"U+{ord(char):04X} ({unicodedata.name(char, 'unnamed')})"
    if char.isprintable() and not char.isspace():
        return f"{char!r} {label}"
    return label


class RoomLimitError(ValueError):
    """A join refused because a cap is reached.

    Attributes:
        code: ``"too-many-rooms"`` (this member is in too many rooms) or
            ``"no-more-rooms"`` (the registry holds as many rooms as it may).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class RoomEvent(Generic[M]):
    """One change to the registry, told to :attr:`Rooms.changed`'s observers.

    Attributes:
        kind: ``"join"`` or ``"leave"``.
        room: the room's name.
        member: who joined or left.
        members: how many members the room has after the change: 1 after a
            join means the room was just created, 0 after a leave that it is gone.
    """

    kind: Literal["join", "leave"]
    room: str
    member: M
    members: int
