"""Servers in the background of the kernel: each on a thread and loop of its own.

:func:`run_server` starts a server application on a thread and loop of its
own and returns once it is listening (:func:`wslab.serve` looks the lesson
server up by name, then calls it). Servers are kept by name: running the same
name again (re-running the cell, or Run All twice) first stops the earlier
one, so there is never "address already in use" and never a second server
left running. :func:`stop_all` runs at interpreter exit.

Why a thread: the kernel's own loop stops while a cell blocks
(``time.sleep(3)``); a server on it would stop answering too.
"""

from __future__ import annotations

import errno
import threading
import time
from ssl import SSLContext
from typing import Any, Protocol

from wslab.runtime.keeper import Keeper
from wslab.runtime.loopthread import LoopThread
from wslab.state.eventlog import EventLog

__all__ = [
    "DEFAULT_HOST",
    "RunningServer",
    "ServerApp",
    "ServerStartError",
    "get_ws_url",
    "run_server",
    "running_servers",
    "stop_all",
    "stop_server",
]

#: Loopback only, unless asked: a lesson server is not for the whole network.
#: An address rather than "localhost", which some systems resolve to ::1 first.
DEFAULT_HOST = "127.0.0.1"
START_TIMEOUT = 10.0
#: Seconds clients get to answer the server's close frame when it stops.
STOP_GRACE = 0.25

_kept: Keeper[RunningServer] = Keeper("servers")


class ServerApp(Protocol):
    """What :class:`RunningServer` needs of a server: a name, a log, and its lifecycle.

    :class:`wslab.servers.LessonServer` is one; the runtime does not import it,
    so that the servers sit on the runtime and not the other way round.
    """

    @property
    def name(self) -> str:
        """The server's name (``"echo"``, ``"chat"``, ...)."""

    @property
    def log(self) -> EventLog:
        """Where it records what happens."""

    async def listen(self, host: str, port: int, *, ssl: SSLContext | None = None) -> int:
        """Start listening; return the port."""

    async def started(self) -> None:
        """Called once listening (start background tasks here)."""

    async def stopping(self) -> None:
        """Called before :meth:`close` (stop background tasks here)."""

    async def close(self, grace: float) -> None:
        """Close every connection and stop listening."""


class ServerStartError(OSError):
    """A server could not start listening (for example, the port is in use)."""


def get_ws_url(
    port: int, host: str = DEFAULT_HOST, path: str = "/", *, secure: bool = False
) -> str:
    """Return the WebSocket URL of a server on this machine.

    The Python twin of the seed's ``getWsUrl(8082)``::

        >>> get_ws_url(8082)
        'ws://127.0.0.1:8082/'
    """
    scheme = "wss" if secure else "ws"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address in a URL goes in brackets
    if not path.startswith("/"):
        path = "/" + path
    return f"{scheme}://{host}:{port}{path}"


class RunningServer:
    """A lesson server listening on its own thread.

    Attributes:
        name: the key it is registered under (usually the server's name).
        app: the lesson server object (its state, such as the chat roster).
        log: the server's event log.
        host, port, url: where it listens.
        ready_seconds: how long :func:`serve` took until it was listening.
    """

    def __init__(
        self, name: str, app: ServerApp, host: str, port: int, ssl: SSLContext | None = None
    ) -> None:
        self.name = name
        self.app = app
        self.log: EventLog = app.log
        self.host = host
        self.requested_port = port
        self.ssl = ssl
        self.port = 0
        self.ready_seconds = 0.0
        self._listening = False
        self._thread = LoopThread(f"wslab-{name}", on_exception=self._record_exception)
        self._stopped = False

    def _record_exception(self, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        text = str(context.get("message", "error"))
        if exc is not None:
            text = f"{text}: {type(exc).__name__}: {exc}"
        self.log.record("error", text)

    # --- lifecycle ------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT) -> RunningServer:
        started = time.perf_counter()
        self._thread.start()
        try:
            self._thread.run(self._listen(), timeout)
        except OSError as exc:
            self._thread.stop()
            raise _start_error(exc, self.host, self.requested_port) from exc
        except BaseException:
            self._thread.stop()
            raise
        self.ready_seconds = time.perf_counter() - started
        return self

    async def _listen(self) -> None:
        self.port = await self.app.listen(self.host, self.requested_port, ssl=self.ssl)
        self._listening = True
        self.log.record("listening", f"{self.app.name} listening on {self.url}")
        await self.app.started()

    async def _close(self, grace: float) -> None:
        if not self._listening:
            return
        await self.app.stopping()
        await self.app.close(grace)

    def stop(self, timeout: float = 5.0, grace: float = STOP_GRACE) -> None:
        """Close every connection (1001), stop listening, end the thread. Idempotent.

        Args:
            timeout: the longest to wait for the thread to end.
            grace: how long clients have to complete the closing handshake
                before their connections are dropped.
        """
        if self._stopped:
            return
        self._stopped = True
        if self._thread.alive:
            try:
                self._thread.run(self._close(grace), timeout)
            except Exception as exc:  # a failed close still ends the thread
                self.log.record("error", f"while stopping: {type(exc).__name__}: {exc}")
            self._thread.stop(timeout)
        self.log.record("stopped", f"{self.app.name} stopped")
        _kept.forget(self.name, self)

    # --- what it is -----------------------------------------------------------

    @property
    def url(self) -> str:
        """The WebSocket URL (``wss://`` when serving TLS)."""
        return get_ws_url(self.port, self.host, secure=self.ssl is not None)

    @property
    def running(self) -> bool:
        return not self._stopped and self._thread.alive

    @property
    def thread(self) -> threading.Thread:
        return self._thread.thread

    def call(self, coro: Any, timeout: float | None = START_TIMEOUT) -> Any:
        """Run a coroutine on the server's loop (to inspect or poke its state)."""
        return self._thread.run(coro, timeout)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<RunningServer {self.name!r} {state} at {self.url}>"

    def _repr_html_(self) -> str:
        state = "running" if self.running else "stopped"
        return (
            f"<b>{self.app.name}</b> server {state} at <code>{self.url}</code> "
            f"(ready in {self.ready_seconds * 1000:.0f} ms)"
        )


def _start_error(exc: OSError, host: str, port: int) -> ServerStartError:
    if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
        message = (
            f"port {port} on {host} is already in use by another program; "
            "choose another port, or port 0 for any free one"
        )
    elif exc.errno in (errno.EACCES, getattr(errno, "WSAEACCES", -1)):
        message = f"not allowed to listen on {host}:{port} (ports below 1024 need privileges)"
    else:
        message = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return ServerStartError(exc.errno or 0, message)


def run_server(
    app: ServerApp,
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
    name: str | None = None,
    register: bool = True,
    ssl: SSLContext | None = None,
) -> RunningServer:
    """Run ``app`` on a thread and loop of its own; return once it listens.

    Args:
        app: the server application (a :class:`~wslab.servers.LessonServer`).
        host, port, ssl: where and how to listen (port 0: any free port).
        name: the key to keep it under; defaults to ``app.name``.
        register: keep it, so that running the same name again replaces it
            and :func:`stop_all` stops it.

    Raises:
        ServerStartError: if it cannot listen (port in use, no permission).

    Idempotent per ``name``: the earlier server of that name is stopped first.
    Thread-safe.
    """
    key = name or app.name
    if not register:
        return RunningServer(key, app, host, port, ssl).start()
    return _kept.replace(key, lambda: RunningServer(key, app, host, port, ssl).start())


# The keeper's own methods, under the names the notebooks use.
stop_server = _kept.stop
running_servers = _kept.items
stop_all = _kept.stop_all
