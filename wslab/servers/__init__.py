"""The lesson servers, by name.

``python -m wslab list`` and :func:`wslab.serve` look names up here. Every
module in this package is searched for :class:`LessonServer` subclasses with
a ``name``, so a lesson adds its server by adding its module, nothing more.

The search is lazy: later lessons' servers pull in aiohttp, PyJWT and redis,
and a notebook that serves ``echo`` should not wait for them. A server whose
module has its name (``echo`` in ``echo.py``) is found by importing that one
module; :data:`SERVERS` imports them all the first time it is read.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any

from wslab.servers.base import LessonServer
from wslab.servers.chat import ChatServer
from wslab.servers.echo import EchoServer
from wslab.servers.slow import SlowServer

__all__ = ["SERVERS", "ChatServer", "EchoServer", "LessonServer", "SlowServer", "create_server"]


def _servers_in(module: ModuleType) -> dict[str, type[LessonServer]]:
    return {
        cls.name: cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, LessonServer) and cls.name and cls.__module__ == module.__name__
    }


class _LazyServers(Mapping[str, type[LessonServer]]):
    """Name → server class, discovered from this package's modules on first use."""

    def __init__(self) -> None:
        self._found: dict[str, type[LessonServer]] | None = None

    def _all(self) -> dict[str, type[LessonServer]]:
        if self._found is None:
            found: dict[str, type[LessonServer]] = {}
            for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
                found.update(_servers_in(importlib.import_module(f"{__name__}.{info.name}")))
            # In course order: by first lesson, then by name.
            self._found = dict(
                sorted(found.items(), key=lambda kv: (kv[1].lessons or (99,), kv[0]))
            )
        return self._found

    def lookup(self, name: str) -> type[LessonServer] | None:
        """The class for ``name``, importing as little as possible."""
        if self._found is None and name.isidentifier():
            try:
                module = importlib.import_module(f"{__name__}.{name}")
            except ModuleNotFoundError:
                module = None
            if module is not None and name in (servers := _servers_in(module)):
                return servers[name]
        return self._all().get(name)

    def __getitem__(self, name: str) -> type[LessonServer]:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __repr__(self) -> str:
        return f"SERVERS({list(self)})"


SERVERS = _LazyServers()


def create_server(name: str, **options: Any) -> LessonServer:
    """Make a lesson server by name.

    Raises:
        KeyError: for an unknown name; the message lists the known ones.
    """
    cls = SERVERS.lookup(name)
    if cls is None:
        known = ", ".join(sorted(SERVERS))
        raise KeyError(f"no lesson server called {name!r}; the servers are: {known}")
    return cls(**options)
