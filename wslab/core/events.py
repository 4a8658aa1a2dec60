"""The browser WebSocket API's events and states, as plain Python values.

Mirrors the WHATWG WebSockets standard the seed teaches: ``readyState`` 0-3
and the ``open``, ``message``, ``error`` and ``close`` events. Pure: no
sockets, asyncio or widgets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Literal

__all__ = [
    "EVENT_TYPES",
    "Blob",
    "CloseEvent",
    "ErrorEvent",
    "Event",
    "EventType",
    "MessageEvent",
    "ReadyState",
]

EventType = Literal["open", "message", "error", "close"]
EVENT_TYPES: tuple[EventType, ...] = ("open", "message", "error", "close")


class ReadyState(IntEnum):
    """``ws.readyState``: where a connection is in its life."""

    CONNECTING = 0
    OPEN = 1
    CLOSING = 2
    CLOSED = 3


@dataclass(frozen=True)
class Blob:
    """A stand-in for the browser's ``Blob``: immutable bytes with a MIME type.

    A message arrives as a :class:`Blob` when the client's ``binary_type`` is
    ``"blob"``, and as ``bytes`` (the ``ArrayBuffer`` analogue) otherwise.
    """

    data: bytes
    type: str = ""

    @property
    def size(self) -> int:
        return len(self.data)

    def bytes(self) -> bytes:
        """The contents, like ``await blob.arrayBuffer()``."""
        return self.data

    def text(self) -> str:
        """The contents decoded as UTF-8, like ``await blob.text()``."""
        return self.data.decode("utf-8", "replace")


@dataclass(frozen=True)
class Event:
    """Base event: its ``type``, the client it came from, and when."""

    type: EventType
    target: Any = field(default=None, repr=False, compare=False)
    time: float = field(default_factory=time.time, compare=False)


@dataclass(frozen=True)
class MessageEvent(Event):
    """A message arrived: ``data`` is ``str`` for text, ``bytes`` or :class:`Blob` for binary."""

    data: str | bytes | Blob = ""


@dataclass(frozen=True)
class ErrorEvent(Event):
    """Something failed. The browser says nothing more; we keep the message for learning."""

    message: str = ""


@dataclass(frozen=True)
class CloseEvent(Event):
    """The connection closed.

    Attributes:
        code: the close code (RFC 6455 §7.4): 1000 normal, 1001 going away,
            1006 abnormal (no close frame: the connection just dropped),
            1009 too big, 4000-4999 for applications.
        reason: the text the closing side gave, possibly empty.
        was_clean: True if both sides exchanged close frames.
    """

    code: int = 1005
    reason: str = ""
    was_clean: bool = False
