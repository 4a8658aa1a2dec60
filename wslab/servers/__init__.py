"""The lesson servers, by name.

``python -m wslab list`` and :func:`wslab.serve` look names up here. Every
module in this package is searched for :class:`LessonServer` subclasses with
a ``name``, so a lesson adds its server by adding its module, nothing more.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

from .base import LessonServer
from .chat import ChatServer
from .echo import EchoServer
from .slow import SlowServer

__all__ = ["SERVERS", "ChatServer", "EchoServer", "LessonServer", "SlowServer", "create_server"]


def _discover() -> dict[str, type[LessonServer]]:
    found: dict[str, type[LessonServer]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, LessonServer) and cls.name and cls.__module__ == module.__name__:
                found[cls.name] = cls
    # In course order: by first lesson, then by name.
    return dict(sorted(found.items(), key=lambda kv: (kv[1].lessons or (99,), kv[0])))


SERVERS: dict[str, type[LessonServer]] = _discover()


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
