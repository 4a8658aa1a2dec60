"""What every lesson server shares: peers, the event log, errors, limits.

A lesson server is a plain object with an ``async handler(connection)`` for
websockets' ``serve``. It never prints: it records to ``self.log``
(:class:`~wslab.core.eventlog.EventLog`), which cells read and widgets show.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import sys
import time
import weakref
from collections.abc import Awaitable, Callable, Collection, Iterable
from http import HTTPStatus
from ssl import SSLContext
from typing import Any, ClassVar

from websockets.asyncio.server import Server, ServerConnection, broadcast
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from wslab.core.eventlog import peer_address
from wslab.core.jssocket import browser_product
from wslab.core.messages import MAX_MESSAGE_BYTES, POLICY_VIOLATION, MessageError, dumps
from wslab.core.origins import OriginPolicy, origin_policy
from wslab.core.ratelimit import DEFAULT_RATE_LIMIT, RateLimit
from wslab.runtime.faults import ConnectionTracker, crash_server
from wslab.state.eventlog import EventLog

__all__ = [
    "DEFAULT_MAX_BACKLOG",
    "SLOW_CLOSE_TIMEOUT",
    "CrashableServer",
    "HttpLessonServer",
    "LessonServer",
    "start_aiohttp",
]

#: The most bytes that may wait for one client of a broadcast before it is
#: dropped as too slow: broadcast() never waits, so without a bound a client
#: that stopped reading would grow the server's memory for ever.
DEFAULT_MAX_BACKLOG = 1 << 20
#: Real seconds a too-slow client has to take its close frame before its TCP
#: connection is aborted (it may never read again).
SLOW_CLOSE_TIMEOUT = 2.0


_OPEN = State.OPEN


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
    #: Bytes that may wait for one client of a broadcast (:meth:`keep_up`); None: no bound.
    max_backlog: int | None = DEFAULT_MAX_BACKLOG
    #: Each connection's limit (real seconds); over it: close 1008. None: no limit.
    rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT

    def __init__(
        self,
        log: EventLog | None = None,
        *,
        rate_limit: RateLimit | str | None = "default",
        origins: str | Iterable[str] | None = (),
    ) -> None:
        """Make the server; nothing listens until :meth:`listen`.

        Args:
            log: where to record; a new :class:`EventLog` by default.
            rate_limit: a :class:`~wslab.core.ratelimit.RateLimit` for each connection,
                None for none, or ``"default"`` (the class's: 1000 messages/s,
                bursts of 2000).
            origins: web origins allowed to connect besides loopback pages and
                non-browser clients (:mod:`wslab.core.origins`); ``"*"`` allows all.

        Raises:
            TypeError: ``rate_limit`` is none of those.
            ValueError: an origin is not ``scheme://host[:port]``.
        """
        if rate_limit is None or isinstance(rate_limit, RateLimit):
            self.rate_limit = rate_limit
        elif rate_limit != "default":
            raise TypeError(
                f"rate_limit must be a RateLimit, None or 'default', not {rate_limit!r}"
            )
        self.origin_policy: OriginPolicy = origin_policy(origins)
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
        #: Clients dropped for falling over :attr:`max_backlog` behind.
        self.too_slow = 0
        # Too slow, being closed: OPEN a moment longer, but sent nothing more.
        self._dropping: weakref.WeakSet[ServerConnection] = weakref.WeakSet()
        self._slow_closes: set[asyncio.Task[None]] = set()

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
            "process_request": self.check_origin,
        }

    def check_origin(self, ws: ServerConnection, request: Request) -> Response | None:
        """Refuse a handshake from a foreign web page with HTTP 403 (:mod:`wslab.core.origins`).

        Before the upgrade: a page that may not connect never gets a WebSocket.
        """
        refused = self.refused_origin(request.headers.get("Origin"))
        if refused is None:
            return None
        return ws.respond(HTTPStatus.FORBIDDEN, f"{refused}\n")

    def refused_origin(
        self, origin: str | None, *, also: Collection[str] = (), where: str = ""
    ) -> str | None:
        """None if a page from ``origin`` may connect; else record why and say it in words.

        Every server's Origin check goes through here, websockets' and
        aiohttp's alike (they differ only in how they answer 403).

        Args:
            origin: the request's ``Origin`` header; None (not a browser) may connect.
            also: origins this server allows besides its policy.
            where: what was asked for, for the log (with any token masked).
        """
        if self.origin_policy.allows(origin) or origin in also:
            return None
        assert origin is not None  # no Origin is always allowed
        context = f" ({where})" if where else ""
        self.log.record(
            "refused",
            f"403 for Origin {origin[:80]!r}{context}: pages from there may not connect "
            f"(allowed: {self.origin_policy.describe()}; serve(..., origins=[...]) adds more)",
        )
        return f"pages from {origin[:80]} may not connect"

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
        for task in list(self._slow_closes):
            task.cancel()
        await asyncio.gather(*self._slow_closes, return_exceptions=True)

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
        # Our own 101 response is never read again, and its headers cost about
        # a kilobyte per connection for as long as it stays open (benchmarks/).
        ws.response = None
        where = f"{peer_address(ws.remote_address)}{_browser(ws)}"
        self.log.record("connect", f"{peer} connected from {where}", peer=peer)
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
        limit = self.rate_limit
        if limit is None:
            async for message in ws:
                self.log.message("in", message, peer)
                await self.on_message(ws, peer, message)
            return
        take = limit.bucket(time.monotonic()).take
        async for message in ws:
            if not take(time.monotonic()):
                await self.over_rate_limit(ws, peer, limit)
                return
            self.log.message("in", message, peer)
            await self.on_message(ws, peer, message)

    def rate_check(self) -> Callable[[], bool] | None:
        """A new connection's rate limit: call it for each message; False means over.

        None when this server has no limit. (:meth:`session` inlines the same
        bucket: it runs for every message of every connection.)
        """
        limit = self.rate_limit
        if limit is None:
            return None
        take = limit.bucket(time.monotonic()).take
        return lambda: take(time.monotonic())

    def flooded(self, peer: str, limit: RateLimit) -> str:
        """Record that ``peer`` went over ``limit``; return the close reason to send."""
        self.log.record(
            "refused",
            f"{peer}: {limit.reason}: closing with {POLICY_VIOLATION}",
            peer=peer,
            code=POLICY_VIOLATION,
        )
        return limit.reason

    async def over_rate_limit(self, ws: ServerConnection, peer: str, limit: RateLimit) -> None:
        """Close a flooding connection with 1008 and a reason that says why."""
        self.flooded(peer, limit)
        closing = asyncio.ensure_future(ws.close(POLICY_VIOLATION, limit.reason))
        # Keep reading, and dropping, what the flood queued: websockets stops
        # reading from the socket while its queue of unread messages is full,
        # and the client's answering close frame is behind them (without this
        # the close waits out its 10 s timeout).
        try:
            async for _ in ws:
                pass
        except ConnectionClosed:
            pass
        await closing

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
        targets = self.keep_up(connections)
        if targets:
            message = dumps(obj)
            broadcast(targets, message)
            preview = f"{message} → {', '.join(self.peers.get(ws, '?') for ws in targets)}"
            self.log.message("out", preview if len(preview) < 200 else message)
        return len(targets)

    def keep_up(self, connections: Iterable[ServerConnection]) -> list[ServerConnection]:
        """The OPEN connections to write to now; those too far behind are dropped.

        A connection with more than :attr:`max_backlog` bytes still waiting
        gets nothing more and is closed with :data:`POLICY_VIOLATION` (aborted
        if it does not take the close frame within :data:`SLOW_CLOSE_TIMEOUT`),
        so one client that stopped reading cannot grow the server's memory.
        """
        limit, dropping = self.max_backlog, self._dropping
        targets: list[ServerConnection] = []
        for ws in connections:
            if ws.state is not _OPEN or ws in dropping:
                continue
            if limit is not None:
                waiting = ws.transport.get_write_buffer_size()
                if waiting > limit:
                    self.drop_too_slow(ws, waiting)
                    continue
            targets.append(ws)
        return targets

    def drop_too_slow(self, ws: ServerConnection, waiting: int) -> None:
        """Close ``ws``, which has ``waiting`` bytes unread, as too slow (see :meth:`keep_up`)."""
        peer = self.peers.get(ws, "?")
        self.too_slow += 1
        self._dropping.add(ws)
        self.log.record(
            "too-slow",
            f"{peer} has {waiting:,} bytes unread, over the {self.max_backlog:,} allowed: "
            f"closing it with {POLICY_VIOLATION}",
            peer=peer,
            code=POLICY_VIOLATION,
        )
        task = asyncio.create_task(self._close_too_slow(ws, waiting))
        self._slow_closes.add(task)
        task.add_done_callback(self._slow_closes.discard)

    async def _close_too_slow(self, ws: ServerConnection, waiting: int) -> None:
        try:
            # The close frame goes behind what is waiting; a client that reads
            # again gets it all, then a clear code. One that never does is cut.
            await asyncio.wait_for(
                ws.close(POLICY_VIOLATION, f"too slow: {waiting} bytes unread"), SLOW_CLOSE_TIMEOUT
            )
        except TimeoutError:
            ws.transport.abort()

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


class CrashableServer(LessonServer):
    """A lesson server that can die like a process and come back on the same port.

    :meth:`crash` stops listening and drops every connection without a close
    frame (those still in their handshake too), as a killed process would;
    :meth:`restart` listens again on the same port. Run both on the server's
    loop (``running.call(server.app.crash())``). Subclasses add what a crash
    means for their own state in :meth:`before_crash`.

    Attributes:
        crashes: how many times :meth:`crash` crashed it.
    """

    def __init__(self, log: EventLog | None = None, **options: Any) -> None:
        super().__init__(log, **options)
        self.crashes = 0
        self._tracker = ConnectionTracker()
        self._address: tuple[str, int, SSLContext | None] = ("", 0, None)

    async def listen(self, host: str, port: int, ssl: SSLContext | None = None) -> int:
        port = await super().listen(host, port, ssl)
        self._address = (host, port, ssl)  # a restart listens here again
        return port

    def serve_options(self) -> dict[str, Any]:
        return {**super().serve_options(), "create_connection": self._tracker.connection_class()}

    def before_crash(self, server: Server) -> None:
        """Called as a crash begins, with the listener still open. Does nothing here."""

    async def crash(self) -> int:
        """Stop listening and drop every connection without a close frame. Idempotent.

        Returns:
            How many connections were dropped.
        """
        server = self._server
        if server is None or not server.is_serving():
            return 0
        self.before_crash(server)
        dropped = await crash_server(server, self._tracker)
        self.crashes += 1
        self.log.record("crash", f"crashed: dropped {dropped} connection(s) without a close frame")
        return dropped

    async def restart(self) -> None:
        """Listen again on the same port after :meth:`crash`. Idempotent."""
        if self._server is not None and self._server.is_serving():
            return
        host, port, ssl = self._address
        self._server = await ws_serve(self.handler, host, port, ssl=ssl, **self.serve_options())
        self.log.record("restart", f"listening again on port {port}")

    async def close(self, grace: float) -> None:
        await super().close(grace)
        # A connection still here never finished its handshake (one that
        # arrived as a crash began): it must not outlive the server.
        if self._tracker.abort_all():
            await asyncio.sleep(0)


class HttpLessonServer(LessonServer):
    """A lesson server with HTTP routes beside its WebSocket, on one port (aiohttp).

    Lesson 8's ``/login`` and lesson 12's ``/events`` and ``/poll``. A subclass
    serves with :func:`start_aiohttp` in its :meth:`listen`, which sets where.

    Attributes:
        host, port, secure: where it listens, and whether with TLS (``""``, 0
            and False until :meth:`listen` has returned).
    """

    # Class-level defaults: immutable, so an instance's own values shadow them
    # at listen() without an __init__ that would repeat LessonServer's options.
    host: str = ""
    port: int = 0
    secure: bool = False

    @property
    def http_url(self) -> str:
        """``http://host:port`` (``https`` with TLS): the server's origin, where its routes are."""
        scheme = "https" if self.secure else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"


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


def _browser(ws: ServerConnection) -> str:
    # A browser's connection says so in the log (its User-Agent), so that a
    # lesson can tell the page's JavaScript from the Python clients beside it.
    request = ws.request
    product = browser_product(request.headers.get("User-Agent") if request else None)
    return f" (browser: {product})" if product else ""


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
