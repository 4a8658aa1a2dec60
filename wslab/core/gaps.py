"""Telling clients what they missed: notices for a gap in delivery.

When a cluster server loses its Redis subscription (lesson 11), it keeps
serving its own clients, but whatever is published through the *other*
servers meanwhile never reaches it: pub/sub delivers only to who listens
now, and keeps nothing for later. Losing messages quietly is the worst way
to lose them, so the server says so, twice::

    ← {"type": "notice", "event": "redis-down", "server": "A", "since": 1764100000.0,
       "text": "this server lost Redis: until it is back, you get messages from ..."}
    ← {"type": "notice", "event": "redis-back", "server": "A", "since": ..., "until": ...,
       "missed_seconds": 1.2, "text": "Redis is back after 1.2 s: messages sent ..."}

A client can show the notice, reload the recent history, or both.

Pure: no sockets, asyncio or widgets.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NOTICE_EVENTS", "redis_back_notice", "redis_down_notice"]

#: The events a notice can be about.
NOTICE_EVENTS = ("redis-down", "redis-back")


def redis_down_notice(server: str, since: float) -> dict[str, Any]:
    """The notice for a server's clients when it loses Redis.

    Args:
        server: the server's name (``"A"``).
        since: when it noticed (``time.time()``).

    Returns:
        A ``{"type": "notice", "event": "redis-down", ...}`` message.
    """
    return {
        "type": "notice",
        "event": "redis-down",
        "server": server,
        "since": round(since, 3),
        "text": (
            f"server {server} lost its connection to Redis: until it is back you get "
            "messages from this server's own clients only; messages sent through other "
            "servers meanwhile will be missed"
        ),
    }


def redis_back_notice(server: str, since: float, until: float) -> dict[str, Any]:
    """The notice for a server's clients when Redis is back: how long the gap was.

    Args:
        server: the server's name.
        since: when the gap began (``time.time()``).
        until: when it ended.

    Returns:
        A ``{"type": "notice", "event": "redis-back", ...}`` message.

    Raises:
        ValueError: ``until`` is before ``since``.
    """
    if until < since:
        raise ValueError(f"a gap cannot end ({until}) before it began ({since})")
    seconds = round(until - since, 3)
    return {
        "type": "notice",
        "event": "redis-back",
        "server": server,
        "since": round(since, 3),
        "until": round(until, 3),
        "missed_seconds": seconds,
        "text": (
            f"server {server} reached Redis again after {seconds:g} s: messages sent "
            "through other servers in that time were missed"
        ),
    }
