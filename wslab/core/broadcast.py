"""Who gets a broadcast, and what a client may ask to broadcast.

The study notes' core loop, as data::

    wss.clients.forEach((client) => {
      if (client !== ws && client.readyState === WebSocket.OPEN) {   // "others only"
        client.send(JSON.stringify({ type: 'broadcast', text: msg }));
      }
    });

:func:`recipients` is that ``forEach`` with its two checks: the *mode* (``"all"``
clients, the sender included, or ``"others"`` only) and the OPEN check. It takes
the clients in any type and asks a callback whether each is open, so it tests
without sockets. :func:`check_text` is what the ``broadcast`` server accepts
from a client before it relays anything. Pure: no sockets, asyncio or widgets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar

from wslab.core.messages import MAX_TEXT_CHARS, MessageError

__all__ = [
    "DELIVERIES",
    "MODES",
    "Delivery",
    "Mode",
    "broadcast_message",
    "check_delivery",
    "check_mode",
    "check_text",
    "recipients",
    "split_by_backlog",
]

T = TypeVar("T")

#: Who gets a client's message: "all" (announcements, dashboards: the sender
#: too) or "others" (chat: the sender shows its own message at once).
Mode = Literal["all", "others"]
MODES: tuple[Mode, ...] = ("all", "others")

#: How a server sends to the recipients: "broadcast" is websockets'
#: ``broadcast()`` (writes to every buffer, waits for none); "checked" is the
#: seed's loop in Python, ``await client.send(...)`` for each OPEN client in turn.
Delivery = Literal["broadcast", "checked"]
DELIVERIES: tuple[Delivery, ...] = ("broadcast", "checked")


def check_mode(mode: object) -> Mode:
    """Return ``mode`` if it is one of :data:`MODES`.

    Raises:
        ValueError: naming the modes there are.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}, not {mode!r}")
    return mode


def check_delivery(delivery: object) -> Delivery:
    """Return ``delivery`` if it is one of :data:`DELIVERIES`.

    Raises:
        ValueError: naming the deliveries there are.
    """
    if delivery not in DELIVERIES:
        raise ValueError(
            f"delivery must be one of {', '.join(map(repr, DELIVERIES))}, not {delivery!r}"
        )
    return delivery


def recipients(
    clients: Iterable[T], sender: T | None, mode: Mode, is_open: Callable[[T], bool]
) -> list[T]:
    """The clients a message from ``sender`` goes to, in the order of ``clients``.

    Args:
        clients: everyone connected (the server's live set, like ``wss.clients``).
        sender: who sent the message; ``None`` for a message from the server
            itself (then "others" means everyone).
        mode: ``"all"`` keeps the sender, ``"others"`` skips it.
        is_open: whether a client is OPEN. A client that is CONNECTING, CLOSING
            or CLOSED is skipped, whatever the mode: sending to it fails.

    Returns:
        A new list; ``clients`` is not changed.

    Raises:
        ValueError: for an unknown ``mode``.
    """
    mode = check_mode(mode)
    return [
        client for client in clients if (mode == "all" or client is not sender) and is_open(client)
    ]


def split_by_backlog(
    clients: Iterable[T], backlog: Callable[[T], int], limit: int | None
) -> tuple[list[T], list[T]]:
    """Split ``clients`` into those to send to and those too far behind to keep.

    ``broadcast()`` waits for nobody, so what a client that stopped reading
    cannot take piles up in the server's memory. A server that never lets one
    client's backlog pass ``limit`` keeps its memory bounded: such a client
    gets nothing more, and is dropped.

    Args:
        clients: the recipients, in order.
        backlog: bytes already waiting to be sent to a client.
        limit: the most bytes a client may have waiting; None for no limit.

    Returns:
        ``(keep, too_slow)``, each in the order of ``clients``.

    Raises:
        ValueError: for a limit below 1.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"the backlog limit must be a positive number of bytes, not {limit}")
    keep: list[T] = []
    too_slow: list[T] = []
    for client in clients:
        (too_slow if limit is not None and backlog(client) > limit else keep).append(client)
    return keep, too_slow


def check_text(message: str | bytes, *, max_chars: int = MAX_TEXT_CHARS) -> str:
    """Return a client's message if the ``broadcast`` server may relay it.

    The server relays plain text: a text frame with something in it. Invalid
    UTF-8 never gets here (websockets closes the connection with 1007 while
    reading the frame), nor does a message over 1 MiB (1009).

    Args:
        message: as received: ``str`` for a text frame, ``bytes`` for binary.
        max_chars: the longest text relayed to everyone.

    Returns:
        The text, unchanged (spaces included: it is the sender's message).

    Raises:
        MessageError: ``binary-not-supported``, ``empty-message`` (nothing, or
            only white space) or ``text-too-long``.
    """
    if not isinstance(message, str):
        raise MessageError(
            "binary-not-supported",
            "this server relays text messages; send a string, not bytes",
        )
    if not message.strip():
        raise MessageError("empty-message", "an empty message is not relayed to anyone")
    if len(message) > max_chars:
        raise MessageError(
            "text-too-long",
            f"a message is relayed only up to {max_chars} characters; this one has {len(message)}",
        )
    return message


def broadcast_message(text: str) -> dict[str, Any]:
    """The object every recipient gets: the study notes' ``{type: 'broadcast', text: msg}``."""
    return {"type": "broadcast", "text": text}
