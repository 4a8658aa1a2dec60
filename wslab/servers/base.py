"""What every lesson server shares: peers, the event log, errors, limits.

A lesson server is a plain object with an ``async handler(connection)`` for
websockets' ``serve``. It never prints: it records to ``self.log``
(:class:`~wslab.eventlog.EventLog`), which cells read and widgets show.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import sys
from collections.abc import Awaitable, Callable
from ssl import SSLContext
from typing import Any, ClassVar

from websockets.asyncio.server import Server, ServerConnection, broadcast
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed

from ..eventlog import EventLog
from ..messages import MAX_MESSAGE_BYTES, MessageError, dumps

__all__ = ["LessonServer", "start_aiohttp"]


class _LogHandler(logging.Handler):
    """Sends websockets' own warnings and errors to the event log, not stderr."""

    def __init__(self, log: EventLog) -> None:
        super().__init__(logging.WARNING)
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text = f"{text}: {type(exc).__name__}: {exc}"
        self._log.record("error", text)


class LessonServer:
    """Base class of the course's servers.

    Subclasses set ``name``, ``lessons`` and ``summary`` and override
    :meth:`on_message` (or :meth:`session` for full control).

    Attributes:
        log: everything the server did, for cells and widgets.
        peers: the open connections and their ids (``"#1"``, ``"#2"``, ...).
    """

    name: ClassVar[str] = ""
    lessons: ClassVar[tuple[int, ...]] = ()
    summary: ClassVar[str] = ""
    #: Messages larger than this close the connection with 1009.
    max_size: int = MAX_MESSAGE_BYTES

    def __init__(self, log: EventLog | None = None) -> None:
        self.log = log if log is not None else EventLog()
        self.peers: dict[ServerConnection, str] = {}
        self._server: Server | None = None
        self._next_peer = 0
        # A logger of our own, outside logging's registry, so that websockets'
        # messages go to the event log and never to the kernel's stderr.
        self.logger = logging.Logger(f"wslab.{self.name or 'server'}")
        self.logger.propagate = False
        # A logger outside the registry has no parent to inherit a level from:
        # left at NOTSET, websockets sees DEBUG enabled and formats a log
        # record for every frame (a third of the server's time, measured).
        self.logger.setLevel(logging.WARNING)
        self.logger.addHandler(_LogHandler(self.log))

    # --- options for websockets.serve -----------------------------------

    def serve_options(self) -> dict[str, Any]:
        """Keyword arguments for ``websockets.asyncio.server.serve``."""
        return {
            "max_size": self.max_size,
            "logger": self.logger,
            # Off so that frames on the wire are readable in the lessons and
            # the servers cost the same as raw websockets; a browser simply
            # does not get the extension.
            "compression": None,
        }

    # --- listening: websockets' server (an HTTP-library server overrides) ---

    async def listen(self, host: str, port: int, ssl: SSLContext | None = None) -> int:
        """Start listening; return the port (the chosen one when ``port`` is 0)."""
        _steady_malloc()
        self._server = await ws_serve(self.handler, host, port, ssl=ssl, **self.serve_options())
        port_: int = self._server.sockets[0].getsockname()[1]
        return port_

    async def close(self, grace: float) -> None:
        """Stop listening and close every connection with 1001 "going away".

        Clients get ``grace`` seconds to answer the close frame; then their TCP
        connections are dropped. A client on the kernel's own loop cannot
        answer while the cell that stops the server blocks that loop, and it
        has the 1001 frame already: no reason to hold the cell for websockets'
        10 s close timeout.
        """
        server = self._server
        if server is None:
            return
        server.close()
        try:
            await asyncio.wait_for(server.wait_closed(), grace)
        except TimeoutError:
            for connection in list(self.peers):
                connection.transport.abort()
            await asyncio.sleep(0)

    # --- lifecycle hooks, run on the server's loop -----------------------

    async def started(self) -> None:
        """Called once the server listens."""

    async def stopping(self) -> None:
        """Called before the server closes its connections."""

    # --- connections -------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        """websockets' connection handler: register, run the session, clean up."""
        self._next_peer += 1
        peer = f"#{self._next_peer}"
        self.peers[ws] = peer
        self.log.record("connect", f"{peer} connected from {_address(ws)}", peer=peer)
        try:
            await self.on_connect(ws, peer)
            await self.session(ws, peer)
        except ConnectionClosed:
            pass
        finally:
            del self.peers[ws]
            try:
                await self.on_disconnect(ws, peer)
            finally:
                # The session ends when the connection closes; record why.
                await ws.wait_closed()
                code = ws.close_code
                reason = ws.close_reason or ""
                sent = ws.protocol.close_sent
                if ws.protocol.close_rcvd is None and sent is not None:
                    # We closed and the client never answered (a message too
                    # big, or a stop that dropped a blocked client): record the
                    # code we sent (1009, 1001), not a bare 1006.
                    code, reason = sent.code, sent.reason
                self.log.record(
                    "close", f"{peer} closed: {code} {reason}".rstrip(), peer=peer, code=code
                )

    async def session(self, ws: ServerConnection, peer: str) -> None:
        """Read messages until the connection closes, handing each to :meth:`on_message`."""
        async for message in ws:
            self.log.message("in", message, peer)
            await self.on_message(ws, peer, message)

    async def on_connect(self, ws: ServerConnection, peer: str) -> None:
        """Called when a client connects, before its first message."""

    async def on_message(self, ws: ServerConnection, peer: str, message: str | bytes) -> None:
        """Handle one message. The default does nothing."""

    async def on_disconnect(self, ws: ServerConnection, peer: str) -> None:
        """Called once the session ends, however it ended."""

    # --- sending -------------------------------------------------------------

    async def send(self, ws: ServerConnection, data: str | bytes) -> None:
        """Send and record one message; a connection already closed is skipped."""
        peer = self.peers.get(ws, "?")
        # Record first: the client may read the message before send() returns,
        # and a log that shows the answer after the client saw it would mislead.
        self.log.message("out", data, peer)
        try:
            await ws.send(data)
        except ConnectionClosed:
            self.log.record("discarded", f"{peer} closed before the message was sent", peer=peer)

    async def send_json(self, ws: ServerConnection, obj: dict[str, Any]) -> None:
        await self.send(ws, dumps(obj))

    def broadcast(self, connections: list[ServerConnection], obj: dict[str, Any]) -> int:
        """Send ``obj`` to every OPEN connection in ``connections``; return how many.

        websockets' ``broadcast()`` writes to each connection without waiting,
        and skips connections that are not OPEN: the seed's
        ``readyState === OPEN`` check, done for us.
        """
        from websockets.protocol import State

        targets = [ws for ws in connections if ws.state is State.OPEN]
        if targets:
            message = dumps(obj)
            broadcast(targets, message)
            preview = f"{message} → {', '.join(self.peers.get(ws, '?') for ws in targets)}"
            self.log.message("out", preview if len(preview) < 200 else message)
        return len(targets)

    async def send_error(self, ws: ServerConnection, error: MessageError) -> None:
        """Answer a bad message: an error object to that client only."""
        peer = self.peers.get(ws, "?")
        self.log.record("refused", f"{peer}: {error.code}: {error.message}", peer=peer)
        await self.send_json(ws, error.payload())

    async def guarded(self, ws: ServerConnection, action: Callable[[], Awaitable[None]]) -> None:
        """Run ``action``; turn a :class:`MessageError` into an error reply."""
        try:
            await action()
        except MessageError as error:
            await self.send_error(ws, error)


async def start_aiohttp(
    app: Any, host: str, port: int, ssl: SSLContext | None, **runner_options: Any
) -> tuple[Any, int]:
    """Serve an aiohttp ``web.Application``; return its runner and the bound port.

    For the lessons that need HTTP routes beside the WebSocket (8 and 12). No
    access log: it would print every URL, tokens included, to the kernel's
    stderr; pass ``logger=`` so aiohttp's own errors reach the event log.
    """
    from aiohttp import web  # only the lessons that use it pay for the import

    runner = web.AppRunner(app, access_log=None, **runner_options)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, ssl_context=ssl).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, int(runner.addresses[0][1])


_MALLOC_TUNED = False


def _steady_malloc() -> None:
    # asyncio reads each socket into a fresh 256 KiB buffer and shrinks it.
    # With glibc's default, sliding thresholds, freeing that buffer can give
    # the top of the heap back to the OS, only to fault it in again on the
    # next read: measured, it doubled a server's CPU per message once the
    # process had imported a little more than websockets (wslab, a kernel).
    # Fixed thresholds of 4 MiB keep that memory; other C libraries: no-op.
    global _MALLOC_TUNED
    if _MALLOC_TUNED or sys.platform != "linux":
        return
    _MALLOC_TUNED = True
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return  # not glibc (musl has no mallopt)
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_trim_threshold, 4 * 2**20)
    mallopt(m_mmap_threshold, 4 * 2**20)


def _address(ws: ServerConnection) -> str:
    try:
        host, port = ws.remote_address[:2]
    except (TypeError, ValueError):
        return "?"
    return f"{host}:{port}"
