"""The lesson servers, by name, and :func:`serve`, which starts one in the background.

``python -m wslab list`` and :func:`serve` look names up here. Every
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
from ssl import SSLContext
from types import ModuleType
from typing import Any

from wslab.runtime.runner import DEFAULT_HOST, RunningServer, run_server
from wslab.servers.base import LessonServer
from wslab.servers.chat import ChatServer
from wslab.servers.echo import EchoServer
from wslab.servers.handler import Handler, HandlerServer
from wslab.servers.slow import SlowServer

__all__ = [
    "SERVERS",
    "ChatServer",
    "EchoServer",
    "HandlerServer",
    "LessonServer",
    "SlowServer",
    "create_server",
    "serve",
]


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


def serve(
    server: str | LessonServer | Handler,
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
    name: str | None = None,
    register: bool = True,
    ssl: SSLContext | None = None,
    **options: Any,
) -> RunningServer:
    """Start a lesson server, or your own handler, in the background; return once it listens.

    Args:
        server: a lesson server's name (``"echo"``, ``"chat"``, ...), an
            instance of :class:`~wslab.servers.LessonServer`, or your own
            ``async def handler(ws)`` (:mod:`wslab.servers.handler`), kept
            under ``"handler()"``, its name with parentheses, so it never
            replaces the lesson's own server.
        host: the address to listen on; loopback by default.
        port: the port; 0 (the default) picks a free one, so notebooks can run
            side by side.
        name: the key to keep it under; defaults to the server's name
            (``"name()"`` for a handler).
        register: keep it in the registry, so that serving the same name again
            replaces it and :func:`~wslab.runtime.runner.stop_all` stops it.
        ssl: a server-side ``ssl.SSLContext`` to serve ``wss://`` (lesson 8).
        **options: passed to the server class (for example ``delay=`` for
            ``slow``; ``max_size=`` or ``origins=`` for a handler).

    Returns:
        The :class:`~wslab.runtime.runner.RunningServer`, with its ``url``,
        ``port`` and ``log``.

    Raises:
        KeyError: for an unknown server name (the message lists the names).
        TypeError: a handler that cannot be run: a plain ``def`` (it must be
            ``async def``), one that does not take one argument, or
            ``handler(ws)`` already called.
        ServerStartError: if it cannot listen (port in use, no permission).

    Idempotent per ``name``: the earlier server of that name is stopped first.
    Thread-safe.
    """
    app: LessonServer
    if isinstance(server, str):
        app = create_server(server, **options)
    elif isinstance(server, LessonServer):
        app = server
    else:
        app = HandlerServer.for_handler(server, **options)
        name = name or f"{app.name}()"
    return run_server(app, host=host, port=port, name=name, register=register, ssl=ssl)
