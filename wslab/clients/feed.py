"""Python clients for the two HTTP ways of receiving a live stream.

:class:`EventSource` is the browser's ``EventSource`` (Server-Sent Events)::

    source = EventSource(f"{http_url}/events")    // const source = new EventSource('/events')
    source.onmessage = lambda event: ...           // source.onmessage = (e) => ...
    source.add_event_listener("tick", fn)          // source.addEventListener('tick', fn)
    source.close()                                 // source.close()

Like the browser's, it reconnects by itself when the stream ends or the
network fails: ``readyState`` goes back to CONNECTING, an ``error`` event
fires, it waits the reconnection time (the server's ``retry:``, in nominal
milliseconds like every duration in the course), and asks again with a
``Last-Event-ID`` header, so the server can resume right after the last
event received. A response that is not ``200`` with ``text/event-stream``
*fails* the connection instead: CLOSED, no more attempts.

:class:`LongPollClient` is what a page without either does: ask
``/poll?after=<last id>``, wait for the answer, dispatch its events, ask
again, forever; the loop, the cursor and the retry are all the client's.

Both dispatch their events on the event loop they were made on (in a
notebook, the kernel's), and record what they do to an
:class:`~wslab.core.eventlog.EventLog`. Built on aiohttp's client. Not
thread-safe, except :meth:`close`.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import time
import weakref
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from wslab.clients.listeners import EventTargetBase
from wslab.core.events import ErrorEvent, Event
from wslab.core.messages import dumps
from wslab.core.sse import SSEParser
from wslab.core.timescale import real_seconds
from wslab.runtime.loopthread import call_on_loop
from wslab.state.eventlog import EventLog
from wslab.state.observable import Observers

__all__ = [
    "DEFAULT_RETRY_MS",
    "EventSource",
    "FeedMessage",
    "LongPollClient",
    "StreamState",
    "live_feed_clients",
]

#: The reconnection time before a server says otherwise, in nominal ms. The
#: standard leaves it to the browser ("a few seconds"); Chrome uses 3000.
DEFAULT_RETRY_MS = 3000

_live: weakref.WeakSet[_FeedClient] = weakref.WeakSet()


def live_feed_clients() -> list[EventSource | LongPollClient]:
    """The clients of this module not CLOSED yet: to check nothing is left behind."""
    return [
        c
        for c in list(_live)
        if isinstance(c, EventSource | LongPollClient) and c.ready_state != StreamState.CLOSED
    ]


class StreamState(IntEnum):
    """``source.readyState``: an ``EventSource`` has three states, not four."""

    CONNECTING = 0
    OPEN = 1
    CLOSED = 2


@dataclass(frozen=True)
class FeedMessage:
    """A message from the stream, like the browser's ``MessageEvent``.

    Attributes:
        type: ``"message"``, or the SSE ``event:`` name.
        data: the text of the event (JSON, for the lesson 12 feed).
        last_event_id: the stream's last event id when it arrived
            (``event.lastEventId``).
        origin: ``scheme://host:port`` of the server.
        time: when it arrived (``time.time()``), for measuring latency.
    """

    type: str
    data: str
    last_event_id: str = ""
    origin: str = ""
    target: Any = field(default=None, repr=False, compare=False)
    time: float = field(default_factory=time.time, compare=False)

    @property
    def lastEventId(self) -> str:  # the browser's name
        return self.last_event_id


class _FeedClient(EventTargetBase[str, Any]):
    """``readyState``, the messages and the task, shared by both clients.

    Listeners, the ``onopen``, ``onmessage`` and ``onerror`` handlers and
    waiting come from :class:`~wslab.clients.listeners.EventTargetBase`: an
    event type is ``"open"``, ``"message"``, ``"error"``, or a named SSE event.
    """

    CONNECTING = StreamState.CONNECTING
    OPEN = StreamState.OPEN
    CLOSED = StreamState.CLOSED

    def __init__(self, url: str, name: str, log: EventLog | None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http:// or https:// URL")
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                f"{type(self).__name__}() needs a running event loop: create it in a "
                "notebook cell (the kernel's loop is running there) or inside async code"
            ) from None
        super().__init__()
        self.url = url
        self.name = name
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.log = log if log is not None else EventLog()
        #: Told the new state on every change (for widgets).
        self.state_changed: Observers[StreamState] = Observers()
        #: Every message received, in order.
        self.messages: list[FeedMessage] = []
        self._ready_state = StreamState.CONNECTING
        self._last_open: Event | None = None
        self._history: list[str] = []
        self._task: asyncio.Task[None] | None = None
        _live.add(self)

    def _start(self) -> None:
        # An empty context, as in wslab.clients.websocket: a listener's print() goes to
        # the cell running when the event arrives, not to this one.
        self._task = contextvars.Context().run(
            self._loop.create_task, self._run(), name=f"wslab-{self.name}"
        )

    async def _run(self) -> None:
        raise NotImplementedError

    # --- the browser API ----------------------------------------------------------

    @property
    def ready_state(self) -> StreamState:
        """0 CONNECTING, 1 OPEN, 2 CLOSED (``source.readyState``)."""
        return self._ready_state

    readyState = ready_state

    def close(self) -> None:
        """Stop for good: CLOSED, the request aborted, no reconnection. Idempotent.

        Thread-safe. No event fires, as in the browser.
        """
        if self._ready_state == StreamState.CLOSED:
            return

        def stop() -> None:
            if self._ready_state != StreamState.CLOSED:
                self._set_state(StreamState.CLOSED)
                self.log.record("close", "closed by the client", peer=self.name)
            if self._task is not None:
                self._task.cancel()

        if not call_on_loop(self._loop, stop):
            self._ready_state = StreamState.CLOSED

    # --- Python conveniences ---------------------------------------------------------

    async def wait_for(self, kind: str, timeout: float | None = 10.0) -> Any:
        """Wait for the next ``kind`` event and return it (``"open"``: now, if OPEN).

        ``kind`` is ``"open"``, ``"message"``, ``"error"``, or a named SSE event type.

        Raises:
            TimeoutError: after ``timeout`` real seconds.
            ConnectionError: the client is CLOSED (or closes meanwhile).
        """
        if kind == "open" and self._ready_state == StreamState.OPEN and self._last_open:
            return self._last_open
        if self._ready_state == StreamState.CLOSED:
            raise ConnectionError(f"{self.name} is closed")
        return await super().wait_for(kind, timeout)

    async def wait_for_messages(
        self, count: int, timeout: float | None = 10.0
    ) -> list[FeedMessage]:
        """Wait until ``count`` messages in all have arrived; return them all.

        Raises:
            TimeoutError: after ``timeout`` real seconds.
        """

        async def enough() -> None:
            while len(self.messages) < count:
                await self.wait_for("message", None)

        await asyncio.wait_for(enough(), timeout)
        return list(self.messages)

    async def closed(self, timeout: float | None = 10.0) -> None:
        """Wait until the client has stopped (after :meth:`close`, or a failure)."""
        if self._task is not None:
            await asyncio.wait_for(asyncio.gather(self._task, return_exceptions=True), timeout)

    @property
    def events(self) -> list[str]:
        """The types of the events dispatched so far, in order."""
        return list(self._history)

    # --- internals -------------------------------------------------------------------

    def _is_closed(self) -> bool:
        return self._ready_state == StreamState.CLOSED

    def _set_state(self, state: StreamState) -> None:
        if state != self._ready_state:
            self._ready_state = state
            self.state_changed.notify(state)

    def _dispatch(self, event: Any) -> None:
        kind: str = event.type
        self._history.append(kind)
        if kind == "open":
            self._last_open = event
        self._dispatch_as(kind, event)

    def _message(self, kind: str, data: str, last_event_id: str) -> None:
        message = FeedMessage(kind, data, last_event_id, self.origin, self)
        self.messages.append(message)
        self.log.message("in", data, self.name)
        self._dispatch(message)

    def _error(self, text: str) -> None:
        self.log.record("error", text, peer=self.name)
        self._dispatch(ErrorEvent("error", self, message=text))

    def _finish(self) -> None:
        # However the task ended, the client is CLOSED and nobody waits forever.
        self._set_state(StreamState.CLOSED)
        self._fail_waiters(f"{self.name} closed")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url} {self._ready_state.name}>"


def _session() -> aiohttp.ClientSession:
    # No overall time limit: a stream lasts as long as it lasts, and a long
    # poll is held on purpose. Connecting still has one.
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=None)
    )


_NETWORK_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError)


class EventSource(_FeedClient):
    """A Server-Sent Events client with the browser's API and behaviour.

    Args:
        url: the stream's ``http://`` or ``https://`` URL.
        name: how it appears in its log.
        log: where to record what it does; a new :class:`EventLog` by default.
        retry_ms: the reconnection time until the server sends ``retry:``
            (nominal milliseconds).

    Attributes:
        last_event_id: the last event id received, sent back on reconnection.
        retry_ms: the current reconnection time (nominal ms).
        connections: how many times a stream was opened.
        reconnections: how many times it reconnected after losing the stream.

    Raises:
        ValueError: not an http(s) URL (the browser's ``SyntaxError``).
        RuntimeError: no event loop is running.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = "sse",
        log: EventLog | None = None,
        retry_ms: int = DEFAULT_RETRY_MS,
    ) -> None:
        super().__init__(url, name, log)
        self.last_event_id = ""
        self.retry_ms = retry_ms
        self.connections = 0
        self.reconnections = 0
        self.log.record("connecting", f"connecting to {url}", peer=name)
        self._start()

    async def _run(self) -> None:
        try:
            async with _session() as session:
                while self._ready_state != StreamState.CLOSED:
                    if not await self._stream(session):
                        return  # failed: no reconnection
                    if self._is_closed():  # a listener called close()
                        return
                    # "Reestablish the connection": CONNECTING, error, wait, retry.
                    self._set_state(StreamState.CONNECTING)
                    self._error(f"stream lost; reconnecting in {self.retry_ms} ms")
                    await asyncio.sleep(real_seconds(self.retry_ms / 1000))
                    self.reconnections += 1
        finally:
            self._finish()

    async def _stream(self, session: aiohttp.ClientSession) -> bool:
        """Read one response to its end; return False if the connection failed for good."""
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        resumed = f" with Last-Event-ID {self.last_event_id}" if self.last_event_id else ""
        self.log.record("request", f"GET {self.url}{resumed}", peer=self.name)
        try:
            async with session.get(self.url, headers=headers) as response:
                if response.status != 200 or response.content_type != "text/event-stream":
                    self._set_state(StreamState.CLOSED)
                    self._error(
                        f"HTTP {response.status} {response.content_type}: not an event "
                        "stream, so no reconnection"
                    )
                    return False
                self.connections += 1
                self._set_state(StreamState.OPEN)
                self.log.record("open", f"open: {self.url}", peer=self.name)
                self._dispatch(Event("open", self))
                parser = SSEParser(self.last_event_id)
                async for chunk in response.content.iter_any():
                    for event in parser.feed(chunk):
                        self.last_event_id = event.last_event_id
                        self._message(event.type, event.data, event.last_event_id)
                    # An id-only block moves the position without an event.
                    self.last_event_id = parser.last_event_id
                    if parser.retry is not None:
                        self.retry_ms = parser.retry
                parser.close()
        except _NETWORK_ERRORS as exc:
            self.log.record("error", f"{type(exc).__name__}: {exc}", peer=self.name)
        return True


class LongPollClient(_FeedClient):
    """Long polling: ask for the events after the last id, again and again.

    Args:
        url: the polling endpoint, such as ``http://127.0.0.1:8082/poll``.
        after: the last id already seen; None starts with the next event.
        name: how it appears in its log.
        log: where to record what it does.
        hold: nominal seconds the server may hold each request (``?timeout=``);
            None leaves it to the server.
        retry_ms: nominal milliseconds to wait after a failed request.

    Attributes:
        cursor: the last event id received (what the next request asks after).
        requests: how many requests were answered.

    ``ready_state`` is CONNECTING until the first answer (and again while
    retrying after an error), OPEN while answers come, CLOSED after
    :meth:`close` or an answer that says the request itself is wrong (4xx).
    """

    def __init__(
        self,
        url: str,
        *,
        after: int | None = None,
        name: str = "poll",
        log: EventLog | None = None,
        hold: float | None = None,
        retry_ms: int = 1000,
    ) -> None:
        super().__init__(url, name, log)
        self.cursor = after
        self.hold = hold
        self.retry_ms = retry_ms
        self.requests = 0
        self.log.record("connecting", f"polling {url}", peer=name)
        self._start()

    async def _run(self) -> None:
        try:
            async with _session() as session:
                while self._ready_state != StreamState.CLOSED:
                    if not await self._poll_once(session):
                        return
        finally:
            self._finish()

    async def _poll_once(self, session: aiohttp.ClientSession) -> bool:
        params: dict[str, str] = {}
        if self.cursor is not None:
            params["after"] = str(self.cursor)
        if self.hold is not None:
            params["timeout"] = f"{self.hold:g}"
        try:
            async with session.get(self.url, params=params) as response:
                body = await response.read()
            self.requests += 1
            if 400 <= response.status < 500:
                self._set_state(StreamState.CLOSED)
                self._error(f"HTTP {response.status}: {body[:200].decode(errors='replace')}")
                return False
            if response.status != 200:
                raise aiohttp.ClientResponseError(
                    response.request_info, (), status=response.status, message="server error"
                )
            answer = json.loads(body)
            items = answer["events"]
            last = int(answer["last"])
        except (*_NETWORK_ERRORS, ValueError, KeyError, TypeError) as exc:
            # The loop is ours, so is the retry: wait, then ask again.
            self._set_state(StreamState.CONNECTING)
            self._error(
                f"poll failed ({type(exc).__name__}: {exc}); retrying in {self.retry_ms} ms"
            )
            await asyncio.sleep(real_seconds(self.retry_ms / 1000))
            return True
        if self._ready_state == StreamState.CONNECTING:
            self._set_state(StreamState.OPEN)
            self.log.record("open", f"first answer from {self.url}", peer=self.name)
            self._dispatch(Event("open", self))
        for item in items:
            if self._ready_state == StreamState.CLOSED:
                break
            self.cursor = int(item["id"])
            self._message("message", dumps(item["data"]), str(item["id"]))
        self.cursor = last if self.cursor is None or last > self.cursor else self.cursor
        return True
