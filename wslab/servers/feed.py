"""``feed``: lesson 12. One stream of events, published three ways on one port.

Every :data:`PUBLISH_INTERVAL` nominal seconds (the seed's ``setInterval(...,
1000)``) the server publishes a tick, numbered 1, 2, 3, ...::

    {"type": "tick", "seq": 7, "t": 1767225600123.456}

``t`` is the publish time in milliseconds since the epoch, like the seed's
``{t: Date.now()}``, so a client on the same machine can measure latency.
The same tick, byte for byte, goes out three ways:

``GET /ws`` (or ``/``) — **WebSocket**
    Each tick is a text message. Two-way: the client may send
    ``{"type": "ping", "id": 1}`` and gets ``{"type": "pong", "id": 1, "t": ...}``
    on the same connection; a binary message is echoed back as binary.
    ``/ws?after=<id>`` resumes after an id, if the client remembers one (the
    protocol has no built-in way). Larger than 1 MiB: close 1009.

``GET /events`` — **Server-Sent Events**
    ``Content-Type: text/event-stream``, ``Cache-Control: no-cache``. The
    stream starts with ``retry: <ms>``, then each tick is ``id: 7`` +
    ``data: {...}``; an idle stream gets a ``: keep-alive`` comment every
    :data:`KEEPALIVE` seconds. A ``Last-Event-ID`` header resumes right after
    that id, from the feed's history (:class:`~wslab.state.feed.FeedLog`).

``GET /poll?after=<id>`` — **long polling**
    Answers at once if there are ticks after ``id``, else holds the request
    until one is published or ``timeout`` (default :data:`POLL_TIMEOUT`
    nominal seconds, at most 60) passes: ``{"events": [{"id": 7, "data":
    {...}}], "last": 7}``. Without ``after``: the next tick from now on.

:meth:`FeedServer.kick` drops connections as a restarting server would: the
lesson's demonstration that an ``EventSource`` reconnects by itself and a
WebSocket does not.

``GET /`` without an upgrade lists these endpoints. A bad ``after``,
``timeout`` or ``Last-Event-ID`` gets ``400`` with ``{"type": "error", ...}``;
an unknown path ``404``, in the same JSON shape.

Built on aiohttp (websockets' server only answers WebSocket upgrades, and
SSE and long polling are plain HTTP), so :meth:`FeedServer.listen` and
:meth:`FeedServer.close` replace the base class's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from ssl import SSLContext
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from wslab.core.messages import (
    POLICY_VIOLATION,
    MessageError,
    dumps,
    error_payload,
    parse_message,
)
from wslab.core.sse import encode_comment, encode_event, parse_event_id
from wslab.core.timescale import real_seconds
from wslab.servers.base import HttpLessonServer, start_aiohttp
from wslab.state.feed import DEFAULT_HISTORY, FeedEntry, FeedLog

__all__ = [
    "KEEPALIVE",
    "MAX_POLL_TIMEOUT",
    "POLL_TIMEOUT",
    "PUBLISH_INTERVAL",
    "RETRY_MS",
    "SERVICE_RESTART",
    "FeedServer",
]

#: Nominal seconds between ticks: the seed's ``setInterval(..., 1000)``.
PUBLISH_INTERVAL = 1.0
#: The ``retry:`` the SSE stream announces, in nominal milliseconds.
RETRY_MS = 1000
#: Nominal seconds of silence after which an SSE stream gets a comment.
KEEPALIVE = 15.0
#: Nominal seconds a long-polling request is held when nothing happens.
POLL_TIMEOUT = 30.0
#: The longest hold a client may ask for with ``?timeout=``.
MAX_POLL_TIMEOUT = 60.0
#: WebSocket close code 1012, "service restart": what :meth:`FeedServer.kick` sends.
SERVICE_RESTART = 1012
#: Real seconds aiohttp gives handlers still running when the server stops.
SHUTDOWN_TIMEOUT = 0.5

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Ended = Callable[[], bool]


class FeedServer(HttpLessonServer):
    """Publishes numbered ticks over WebSocket, SSE and long polling at once.

    Args:
        interval: nominal seconds between ticks; None publishes only when
            :meth:`publish` is called (for tests and demos).
        retry_ms: the reconnection time announced to SSE clients (nominal ms).
        history: how many ticks to keep for clients that resume.
        keepalive: nominal seconds of silence before an SSE keep-alive comment.
        poll_timeout: nominal seconds a long-polling request is held by default.

    Attributes:
        feed: the history of ticks.
        connections: the open WebSocket and SSE connections, ``"#3" → "sse"``.
        counts: requests served per transport (``"ws"``, ``"sse"``, ``"poll"``).
    """

    name = "feed"
    lessons = (12,)
    summary = "one stream of ticks three ways: WebSocket /ws, SSE /events, long polling /poll"
    types = ("ping",)

    def __init__(
        self,
        *args: Any,
        interval: float | None = PUBLISH_INTERVAL,
        retry_ms: int = RETRY_MS,
        history: int = DEFAULT_HISTORY,
        keepalive: float = KEEPALIVE,
        poll_timeout: float = POLL_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if interval is not None and interval <= 0:
            raise ValueError("interval must be a positive number of seconds, or None")
        self.interval = interval
        self.retry_ms = retry_ms
        self.keepalive = keepalive
        self.poll_timeout = poll_timeout
        self.feed = FeedLog(history)
        self.connections: dict[str, str] = {}
        self.counts: dict[str, int] = {"ws": 0, "sse": 0, "poll": 0}
        self.polls_waiting = 0
        self._runner: web.AppRunner | None = None
        self._publisher: asyncio.Task[None] | None = None
        self._sockets: dict[str, web.WebSocketResponse] = {}
        self._news = asyncio.Event()  # replaced on every publish: see _announce()
        # Bumped by kick(): the SSE streams or held polls of an older epoch end.
        self._epochs = {"sse": 0, "poll": 0}
        self._closing = False
        self._chores: set[asyncio.Task[Any]] = set()

    # --- listening: aiohttp instead of websockets -----------------------------------

    async def listen(self, host: str, port: int, ssl: SSLContext | None = None) -> int:
        """Serve the three endpoints on one port; return the port."""
        self._news = asyncio.Event()  # made on the server's own loop
        self._closing = False
        app = web.Application(
            logger=self.logger, client_max_size=self.max_size, middlewares=[self._errors_as_json]
        )
        app.router.add_get("/", self._index)
        app.router.add_get("/ws", self._websocket)
        app.router.add_get("/events", self._events)
        app.router.add_get("/poll", self._poll)
        # handler_cancellation: a client that hangs up ends its held poll at once.
        self._runner, self.port = await start_aiohttp(
            app,
            host,
            port,
            ssl,
            logger=self.logger,
            handle_signals=False,
            handler_cancellation=True,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
        )
        self.host = host
        self.secure = ssl is not None
        return self.port

    async def started(self) -> None:
        self.log.record(
            "endpoints",
            f"WebSocket ws://…:{self.port}/ws, SSE {self.http_url}/events, "
            f"long polling {self.http_url}/poll?after=<id>",
        )
        if self.interval is not None:
            self._publisher = asyncio.create_task(self._publish_forever())

    async def close(self, grace: float) -> None:
        """Stop publishing, end every stream and poll, close WebSockets with 1001.

        Clients get ``grace`` seconds to answer the close frame (a client on a
        blocked kernel loop cannot); then their connections are dropped.
        Idempotent.
        """
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing = True
        if self._publisher is not None:
            self._publisher.cancel()
            await asyncio.gather(self._publisher, return_exceptions=True)
            self._publisher = None
        for site in list(runner.sites):
            await site.stop()  # no new connections from here on
        self._announce()  # wakes SSE streams and held polls: they see _closing and end
        closing = [ws.close(code=1001, message=b"going away") for ws in self._sockets.values()]
        if closing:
            # The close frames go out at once; wait_for drops the silent clients.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), grace)
        for task in list(self._chores):
            task.cancel()
        await runner.cleanup()

    # --- publishing ----------------------------------------------------------------

    async def publish(self, **extra: Any) -> int:
        """Publish one tick now (on the server's loop); return its id.

        From a notebook cell: ``server.call(server.app.publish())``.
        """
        seq = self.feed.next_id
        tick = {"type": "tick", "seq": seq, "t": round(time.time() * 1000, 3), **extra}
        entry = self.feed.publish(dumps(tick))
        self.log.record("publish", entry.data, size=len(entry.data.encode()))
        self._announce()
        return entry.id

    async def _publish_forever(self) -> None:
        while True:
            interval = self.interval
            if interval is None:  # switched off while running
                return
            await asyncio.sleep(real_seconds(interval))
            await self.publish()

    def _announce(self) -> None:
        # Everyone waiting holds the current Event; set it and hand out a new
        # one. Waiters then read the feed from their own cursor, so a slow
        # client never holds up the publisher or the other clients.
        news, self._news = self._news, asyncio.Event()
        news.set()

    async def _wait_for_news(self, cursor: int, timeout: float, ended: Ended) -> bool:
        """Wait until there is a tick after ``cursor``; False on timeout, kick or stop."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not ended():
            if self.feed.last_id > cursor:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            news = self._news
            try:
                await asyncio.wait_for(news.wait(), remaining)
            except TimeoutError:
                return False
        return False

    def _ender(self, kind: str) -> Ended:
        """A test of whether a stream or poll of ``kind`` started now must end."""
        epoch = self._epochs[kind]
        return lambda: self._closing or self._epochs[kind] != epoch

    async def kick(self, transports: Iterable[str] = ("sse",)) -> dict[str, int]:
        """Drop connections as a restarting server would; return how many per transport.

        Args:
            transports: ``"sse"`` ends every SSE stream (an ``EventSource``
                reconnects by itself after ``retry``), ``"ws"`` closes every
                WebSocket with 1012 "service restart" (a WebSocket does not
                reconnect by itself), ``"poll"`` answers every held poll now.

        Returns immediately: the WebSocket closing handshakes finish in the
        background (their clients may be on a loop that is busy right now).
        """
        wanted = set(transports)
        unknown = wanted - {"sse", "ws", "poll"}
        if unknown:
            raise ValueError(f"unknown transports {sorted(unknown)}; use sse, ws or poll")
        dropped = {
            "sse": sum(1 for kind in self.connections.values() if kind == "sse"),
            "ws": len(self._sockets),
            "poll": self.polls_waiting,
        }
        if wanted & {"sse", "poll"}:
            # Streams and polls of the old epoch end as soon as they are woken.
            for kind in wanted & {"sse", "poll"}:
                self._epochs[kind] += 1
            self._announce()
        if "ws" in wanted:
            for ws in list(self._sockets.values()):
                self._chore(ws.close(code=SERVICE_RESTART, message=b"service restart"))
        self.log.record(
            "kick", ", ".join(f"{dropped[t]} {t}" for t in ("sse", "ws", "poll") if t in wanted)
        )
        return {t: dropped[t] for t in ("sse", "ws", "poll") if t in wanted}

    def _chore(self, coro: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    # --- HTTP plumbing ---------------------------------------------------------------

    @web.middleware
    async def _errors_as_json(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        # aiohttp answers unknown paths and methods in plain text; the lesson's
        # servers answer every refusal in one JSON shape.
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status, "http-error")
            message = (
                f"no such path {request.path!r}; this server has /ws, /events and /poll"
                if exc.status == 404
                else exc.reason
            )
            self.log.record("refused", f"{request.method} {request.path_qs}: {exc.status}")
            return _json_error(exc.status, code, message)

    async def _index(self, request: web.Request) -> web.StreamResponse:
        if web.WebSocketResponse().can_prepare(request).ok:
            return await self._websocket(request)
        return web.json_response(
            {
                "type": "index",
                "endpoints": {
                    "/ws": "WebSocket: each tick as a text message; send {'type': 'ping'}",
                    "/events": "Server-Sent Events: text/event-stream, resumes from Last-Event-ID",
                    "/poll?after=<id>": "long polling: the ticks after <id>, as JSON",
                },
                "last": self.feed.last_id,
            },
            dumps=dumps,
        )

    def _new_peer(self, transport: str) -> str:
        self._next_peer += 1
        peer = f"#{self._next_peer}"
        self.connections[peer] = transport
        self.counts[transport] += 1
        return peer

    # --- WebSocket -----------------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        try:
            after = parse_event_id(request.query.get("after"), what="after")
        except ValueError as exc:
            return self._refuse(request, "invalid-id", str(exc))
        # WebSockets have no CORS: without this, any site could open /ws.
        refused = self.refused_origin(request.headers.get("Origin"))
        if refused is not None:
            return _json_error(403, "forbidden-origin", refused)
        # One byte more than the limit: aiohttp refuses a message of exactly
        # max_msg_size bytes, websockets (and so the other lessons) accepts it.
        ws = web.WebSocketResponse(
            max_msg_size=self.max_size + 1, compress=False, autoping=True, timeout=5.0
        )
        if not ws.can_prepare(request).ok:
            return self._refuse(
                request, "upgrade-required", "this endpoint speaks WebSocket only", status=426
            )
        await ws.prepare(request)
        peer = self._new_peer("ws")
        self._sockets[peer] = ws
        self.log.record(
            "connect", f"{peer} connected over WebSocket from {request.remote}", peer=peer
        )
        sender = asyncio.create_task(self._ws_ticks(ws, self.feed.cursor(after)))
        sent: int | None = None  # a close code we sent because of an error
        limit, within = self.rate_limit, self.rate_check()
        try:
            async for msg in ws:
                if limit is not None and within is not None and not within():
                    sent = POLICY_VIOLATION
                    await ws.close(code=sent, message=self.flooded(peer, limit).encode())
                    break
                if msg.type is WSMsgType.TEXT:
                    await self._ws_text(ws, peer, msg.data)
                elif msg.type is WSMsgType.BINARY:
                    # Two-way and binary: bytes come back as bytes, untouched.
                    self.log.message("in", msg.data, peer)
                    self.log.message("out", msg.data, peer)
                    await ws.send_bytes(msg.data)
                elif msg.type is WSMsgType.ERROR:
                    sent = self._ws_error(ws, peer)
        finally:
            # Nothing awaited here: aiohttp cancels this handler when the
            # client's TCP connection goes, and the bookkeeping must happen.
            sender.cancel()
            self._sockets.pop(peer, None)
            self.connections.pop(peer, None)
            # After an error, aiohttp reports 1006 once the client hangs up;
            # the code that matters is the one we sent (1009).
            code = sent if sent is not None else ws.close_code
            if code == 0:
                code = 1005  # a close frame without a code (aiohttp says 0)
            elif code is None:
                code = 1006  # the connection dropped
            self.log.record("close", f"{peer} closed: {code}", peer=peer, code=code)
        return ws

    def _ws_error(self, ws: web.WebSocketResponse, peer: str) -> int | None:
        """Record a protocol error; return the close code aiohttp sent for it."""
        exc = ws.exception()
        code = getattr(exc, "code", None)
        if code == WSCloseCode.MESSAGE_TOO_BIG:
            text = f"{peer}: a message over {self.max_size:,} bytes: closed with 1009"
        else:
            text = f"{peer}: {type(exc).__name__}: {exc}"
        self.log.record("error", text, peer=peer)
        return int(code) if isinstance(code, int) else None

    async def _ws_text(self, ws: web.WebSocketResponse, peer: str, text: str) -> None:
        self.log.message("in", text, peer)
        try:
            request = parse_message(text, self.types)
        except MessageError as error:
            self.log.record("refused", f"{peer}: {error.code}: {error.message}", peer=peer)
            await self._ws_send(ws, peer, dumps(error.payload()))
            return
        # The only request: "ping". The answer travels back on the same
        # connection, which neither SSE nor long polling can do.
        reply = {"type": "pong", "id": request.get("id"), "t": round(time.time() * 1000, 3)}
        await self._ws_send(ws, peer, dumps(reply))

    async def _ws_send(self, ws: web.WebSocketResponse, peer: str, text: str) -> None:
        self.log.message("out", text, peer)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(text)

    async def _ws_ticks(self, ws: web.WebSocketResponse, cursor: int) -> None:
        # The WebSocket's own consumer of the feed: it forwards each tick after
        # `cursor`; a kick of SSE streams does not concern it.
        while not ws.closed and not self._closing:
            for entry in self.feed.after(cursor):
                try:
                    await ws.send_str(entry.data)
                except (ConnectionError, RuntimeError):
                    return  # closed meanwhile: the handler records it
                cursor = entry.id
            news = self._news
            if self.feed.last_id <= cursor:
                await news.wait()

    # --- Server-Sent Events ------------------------------------------------------------

    async def _events(self, request: web.Request) -> web.StreamResponse:
        try:
            after = parse_event_id(request.headers.get("Last-Event-ID"))
        except ValueError as exc:
            return self._refuse(request, "invalid-id", str(exc))
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                # nginx and friends would otherwise buffer the stream.
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        peer = self._new_peer("sse")
        resumed = "" if after is None else f", Last-Event-ID {after}"
        self.log.record(
            "connect", f"{peer} connected over SSE from {request.remote}{resumed}", peer=peer
        )
        if after is not None:
            missed = self.feed.missed(after)
            self.log.record(
                "resume",
                f"{peer} resumes after id {after}"
                + (f" ({missed} too old to replay)" if missed else ""),
                peer=peer,
            )
        cursor = self.feed.cursor(after)
        ended = self._ender("sse")
        why = "the client left"
        try:
            # First thing: how long to wait before reconnecting.
            await response.write(encode_event(retry=self.retry_ms).encode())
            while True:
                for entry in self.feed.after(cursor):
                    await response.write(_sse_block(entry))
                    cursor = entry.id
                if ended():
                    why = "server stopping" if self._closing else "kicked"
                    break
                news = await self._wait_for_news(cursor, real_seconds(self.keepalive), ended)
                if not news and not ended():
                    await response.write(encode_comment("keep-alive").encode())
        except ConnectionError:
            why = "the client left"
        except asyncio.CancelledError:
            why = "the client left"
            raise
        finally:
            self.connections.pop(peer, None)
            self.log.record("close", f"{peer} SSE stream ended: {why}", peer=peer)
        return response

    # --- long polling ------------------------------------------------------------------

    async def _poll(self, request: web.Request) -> web.StreamResponse:
        try:
            after = parse_event_id(request.query.get("after"), what="after")
            timeout = _parse_timeout(request.query.get("timeout"), self.poll_timeout)
        except ValueError as exc:
            return self._refuse(request, "invalid-query", str(exc))
        self.counts["poll"] += 1
        cursor = self.feed.cursor(after)
        if not self.feed.after(cursor):
            self.polls_waiting += 1
            try:
                # Hold the request until there is news: this makes polling "long".
                await self._wait_for_news(cursor, real_seconds(timeout), self._ender("poll"))
            finally:
                self.polls_waiting -= 1
        entries = self.feed.after(cursor)
        body = {
            "events": [{"id": e.id, "data": json.loads(e.data)} for e in entries],
            "last": entries[-1].id if entries else cursor,
        }
        return web.json_response(body, dumps=dumps, headers={"Cache-Control": "no-cache"})

    # --- refusals ----------------------------------------------------------------------

    def _refuse(
        self, request: web.Request, code: str, message: str, status: int = 400
    ) -> web.Response:
        self.log.record("refused", f"{request.method} {request.path_qs}: {code}: {message}")
        return _json_error(status, code, message)


def _sse_block(entry: FeedEntry) -> bytes:
    return encode_event(entry.data, id=entry.id).encode()


def _json_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(error_payload(code, message), status=status, dumps=dumps)


def _parse_timeout(value: str | None, default: float) -> float:
    """Read ``?timeout=`` (nominal seconds, 0 to 60)."""
    if value is None or value == "":
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"timeout must be a number of seconds, not {value[:20]!r}") from None
    if not 0 <= seconds <= MAX_POLL_TIMEOUT:
        raise ValueError(f"timeout must be between 0 and {MAX_POLL_TIMEOUT:g} seconds")
    return seconds
