"""The lesson servers, by name.

``python -m wslab list`` and :func:`wslab.serve` look names up here; a later
lesson adds its server by adding it to :data:`SERVERS`.
"""

from __future__ import annotations

from typing import Any

from .base import LessonServer
from .chat import ChatServer
from .echo import EchoServer
from .slow import SlowServer

__all__ = ["SERVERS", "ChatServer", "EchoServer", "LessonServer", "SlowServer", "create_server"]

SERVERS: dict[str, type[LessonServer]] = {
    cls.name: cls for cls in (EchoServer, SlowServer, ChatServer)
}


def create_server(name: str, **options: Any) -> LessonServer:
    """Make a lesson server by name.

    Raises:
        KeyError: for an unknown name; the message lists the known ones.
    """
    try:
        cls = SERVERS[name]
    except KeyError:
        known = ", ".join(sorted(SERVERS))
        raise KeyError(f"no lesson server called {name!r}; the servers are: {known}") from None
    return cls(**options)
