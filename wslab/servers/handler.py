"""Your own server: a handler you wrote, run like a lesson server (``serve(handler)``).

The study notes' author wrote ``server.js`` himself; here a student writes the
Python twin, websockets' own handler::

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    server = serve(echo)        # its own thread and loop; returns once listening

:class:`HandlerServer` runs it exactly as the course's servers run: the same
options (host, port, origins, max_size, ...), kept by the handler's name (run
the cell again and the new function replaces the old server), stopped at
kernel shutdown. Every connection, message in and out (``ws.send``,
``async for``, ``ws.recv``, websockets' ``broadcast``) and close is recorded
in ``server.log``, so the widgets work on it too.

When the handler raises, that connection is closed with 1011 and a reason
naming the exception, the log gets an ``"error"`` entry with the exception
and the traceback lines from the student's code
(:func:`~wslab.core.handler.describe_error`), :attr:`HandlerServer.errors`
keeps it for a cell to read or raise (``server.app.raise_errors()``), and
every other connection is still served.
"""

from __future__ import annotations

import asyncio
import sysconfig
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

import websockets
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from wslab.core.handler import HandlerError, check_handler, close_reason, describe_error
from wslab.servers.base import LessonServer
from wslab.state.eventlog import EventLog

__all__ = [
    "Handler",
    "HandlerServer",
    "HandlerServerError",
    "RecordingConnection",
    "is_library_file",
]

_Bytes = bytes | bytearray | memoryview

#: What ``serve`` runs: ``async def handler(ws)``.
Handler = Callable[[ServerConnection], Awaitable[Any]]

# Frames from these folders are not the student's: the traceback of an error
# shows the lines of the handler (a notebook cell), not the machinery under it.
_LIBRARY_DIRS = tuple(
    str(Path(p).resolve())
    for p in {
        sysconfig.get_paths()["stdlib"],
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
        str(Path(websockets.__file__).parent),
        str(Path(__file__).resolve().parents[1]),  # wslab itself
    }
)


def is_library_file(filename: str) -> bool:
    """Whether a traceback's file is the stdlib's, a library's or wslab's, not the student's."""
    try:
        resolved = str(Path(filename).resolve())
    except (OSError, ValueError):
        return False
    return resolved.startswith(_LIBRARY_DIRS)


class HandlerServerError(RuntimeError):
    """A student's handler raised; the message has what and where (see :class:`HandlerError`)."""


class RecordingConnection(ServerConnection):
    """websockets' server connection, recording each whole message in and out.

    In: every message :meth:`recv` returns (``async for`` calls it too). Out:
    every message handed to the protocol, whether by :meth:`send` or by
    websockets' ``broadcast()``, which writes to the protocol directly.
    Recording starts with :meth:`record_to`, once the connection has its peer id.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._log: EventLog | None = None
        self._peer = "?"
        protocol = self.protocol
        send_text, send_binary = protocol.send_text, protocol.send_binary
        fragmented = False

        # Instance attributes on our own protocol object: the one place both
        # send() and broadcast() go through. A fragmented message is recorded
        # once, at its first frame.
        def recording_text(data: _Bytes, fin: bool = True) -> None:
            nonlocal fragmented
            if self._log is not None and not fragmented:
                self._log.message("out", bytes(data).decode("utf-8", "replace"), self._peer)
            fragmented = not fin
            send_text(data, fin)

        def recording_binary(data: _Bytes, fin: bool = True) -> None:
            nonlocal fragmented
            if self._log is not None and not fragmented:
                self._log.message("out", bytes(data), self._peer)
            fragmented = not fin
            send_binary(data, fin)

        send_continuation = protocol.send_continuation

        def continuation(data: _Bytes, fin: bool) -> None:
            nonlocal fragmented
            fragmented = not fin
            send_continuation(data, fin)

        protocol.send_text = recording_text  # type: ignore[method-assign]
        protocol.send_binary = recording_binary  # type: ignore[method-assign]
        protocol.send_continuation = continuation  # type: ignore[method-assign]

    def record_to(self, log: EventLog, peer: str) -> None:
        """Record this connection's messages to ``log`` as ``peer``."""
        self._log, self._peer = log, peer

    async def recv(self, decode: bool | None = None) -> Any:
        message = await super().recv(decode)
        if self._log is not None:
            self._log.message("in", message, self._peer)
        return message


class HandlerServer(LessonServer):
    """Runs a student's ``async def handler(ws)`` as a kernel-side server.

    Make one with :meth:`for_handler` (``serve(handler)`` does): the class is
    named after the handler, so the server is kept, shown and replaced under
    that name.

    Attributes:
        user_handler: the student's function (``handler`` is websockets' entry
            point, as on every lesson server: it records, then calls this).
        errors: what the handler raised, one :class:`HandlerError` per connection
            it failed on, oldest first (the last 100).
    """

    #: The handler's name; set per handler by :meth:`for_handler`.
    name: ClassVar[str] = ""
    summary = "your own handler"
    #: Errors kept for a cell to read; older ones are in the log only.
    max_errors = 100
    # The handler reads its own messages: no per-message rate limit under it.
    rate_limit = None

    def __init__(self, handler: Handler, *, max_size: int | None = None, **options: Any) -> None:
        """Args:
        handler: the student's function (checked by :func:`check_handler`).
        max_size: the largest message accepted (bytes); bigger ones close
            the connection with 1009. The lesson servers' limit by default.
        **options: as for every lesson server (``origins``, ``log``).
        """
        check_handler(handler)
        if options.get("rate_limit", "default") not in ("default", None):
            raise TypeError(
                "rate_limit applies to the course's servers; your handler reads its own "
                "messages, so it decides how many to take"
            )
        options.pop("rate_limit", None)
        super().__init__(**options)
        self.user_handler = handler
        if max_size is not None:
            self.max_size = max_size
        self.errors: list[HandlerError] = []

    @classmethod
    def for_handler(cls, handler: object, **options: Any) -> HandlerServer:
        """A server for ``handler``, its class named after it.

        Raises:
            TypeError: the handler cannot be run (see :func:`check_handler`).
        """
        name = check_handler(handler)
        named = type(f"{name}_server", (cls,), {"name": name, "__module__": cls.__module__})
        server: HandlerServer = named(handler, **options)
        return server

    def serve_options(self) -> dict[str, Any]:
        return {**super().serve_options(), "create_connection": RecordingConnection}

    async def session(self, ws: ServerConnection, peer: str) -> None:
        """Run the student's handler on this connection; an exception closes it with 1011."""
        if isinstance(ws, RecordingConnection):
            ws.record_to(self.log, peer)
        try:
            await self.user_handler(ws)
        except (ConnectionClosed, asyncio.CancelledError):
            raise
        except Exception as exc:
            error = describe_error(exc, peer, skip=is_library_file)
            self.errors.append(error)
            del self.errors[: -self.max_errors]
            self.log.record("error", str(error), peer=peer, code=CloseCode.INTERNAL_ERROR)
            await ws.close(CloseCode.INTERNAL_ERROR, close_reason(exc))

    def raise_errors(self) -> None:
        """Raise :class:`HandlerServerError` if the handler raised: call it in a cell.

        The error a background thread caught is then shown where the student
        looks, with the handler's own lines. Does nothing if all went well.
        """
        if self.errors:
            count = len(self.errors)
            more = f" (and {count - 1} more, in server.log)" if count > 1 else ""
            raise HandlerServerError(f"your handler raised{more}:\n{self.errors[-1]}")
