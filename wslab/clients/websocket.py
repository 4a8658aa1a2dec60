"""A Python client shaped like the browser's ``WebSocket``.

The seed teaches the browser API; this class gives it the same shape, so a
lesson can put the JavaScript and the Python side by side::

    ws = WebSocket(get_ws_url(port))              # const ws = new WebSocket(url)
    ws.add_event_listener("open", on_open)        # ws.addEventListener('open', fn)
    ws.onmessage = lambda event: ...              # ws.onmessage = (event) => ...
    ws.send("Hello!")                             # ws.send('Hello!')
    ws.close()                                    # ws.close()

Like the browser, the constructor starts connecting at once and returns
immediately; events are dispatched on the event loop the client was made on
(in a notebook, the kernel's), after the current cell's code, in the order the
standard gives: ``open``, then ``message`` events, then ``close``; an
``error`` event always comes right before its ``close``.

Built on websockets' asyncio client. Not thread-safe except :meth:`send` and
:meth:`close`, which may be called from any thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from wslab.clients.listeners import EventTarget, check_kind
from wslab.core.events import (
    Blob,
    CloseEvent,
    ErrorEvent,
    Event,
    EventType,
    MessageEvent,
    ReadyState,
)
from wslab.runtime.loopthread import call_on_loop
from wslab.state.eventlog import EventLog
from wslab.state.observable import Observers

__all__ = ["InvalidAccessError", "InvalidStateError", "WebSocket", "live_clients"]

BinaryType = Literal["bytes", "blob"]

#: A client accepts larger messages than a lesson server does (lesson 10
#: receives files), but not unlimited ones.
CLIENT_MAX_SIZE = 16 * (1 << 20)
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}

_live: weakref.WeakSet[WebSocket] = weakref.WeakSet()


def live_clients() -> list[WebSocket]:
    """Clients that are not CLOSED yet: for checking that nothing was left behind."""
    return [ws for ws in list(_live) if ws.ready_state != ReadyState.CLOSED]


class InvalidStateError(RuntimeError):
    """Like the browser's ``InvalidStateError``: ``send`` while still CONNECTING."""


class InvalidAccessError(ValueError):
    """Like the browser's ``InvalidAccessError``: a close code the API does not allow."""


class WebSocket(EventTarget):
    """A WebSocket client with the browser's API.

    Listeners, the ``on<kind>`` handlers and waiting for events come from
    :class:`~wslab.clients.listeners.EventTarget`.

    Args:
        url: ``ws://`` or ``wss://`` URL.
        protocols: subprotocols to offer, like the browser's second argument.
        binary_type: ``"bytes"`` (the ``ArrayBuffer`` analogue) or ``"blob"``
            (:class:`~wslab.core.events.Blob`) for binary messages.
        name: how this client appears in its log.
        log: where to record what it does; a new :class:`EventLog` by default.
        origin: an ``Origin`` header to send, as a browser page would.
        ssl: an ``ssl.SSLContext`` for ``wss://`` URLs with a local certificate.
        open_timeout: seconds to wait for the opening handshake.
        close_timeout: real seconds to wait for the other side's close frame
            (and then the end of TCP) before dropping the connection; a dead
            peer (lesson 9) is only noticed after it.

    Raises:
        ValueError: the URL is not a ``ws://`` or ``wss://`` URL (the
            browser's ``SyntaxError``).
        RuntimeError: no event loop is running (create it in a notebook cell
            or inside ``async`` code).
    """

    CONNECTING = ReadyState.CONNECTING
    OPEN = ReadyState.OPEN
    CLOSING = ReadyState.CLOSING
    CLOSED = ReadyState.CLOSED

    def __init__(
        self,
        url: str,
        protocols: str | Sequence[str] | None = None,
        *,
        binary_type: BinaryType = "bytes",
        name: str = "client",
        log: EventLog | None = None,
        origin: str | None = None,
        ssl: Any = None,
        open_timeout: float = 10.0,
        close_timeout: float = 10.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"{url!r} is not a WebSocket URL: it must start with ws:// or wss://")
        if parts.fragment:
            raise ValueError("a WebSocket URL must not contain a #fragment")
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "WebSocket() needs a running event loop: create it in a notebook cell "
                "(the kernel's loop is running there) or inside async code"
            ) from None
        super().__init__()
        self.url = url
        self.name = name
        self.binary_type = binary_type
        self.log = log if log is not None else EventLog()
        #: Told the new :class:`ReadyState` on every change (for widgets).
        self.state_changed: Observers[ReadyState] = Observers()
        #: The subprotocol the server chose, or "" (like ``ws.protocol``).
        self.protocol = ""
        self._protocols = [protocols] if isinstance(protocols, str) else list(protocols or [])
        self._origin = origin
        self._ssl = ssl
        self._open_timeout = open_timeout
        self._close_timeout = close_timeout
        self._ready_state = ReadyState.CONNECTING
        self._last: dict[EventType, Event] = {}
        self._conn: ClientConnection | None = None
        self._outbox: asyncio.Queue[str | bytes | tuple[int | None, str]] = asyncio.Queue()
        self._buffered = 0
        self._abort_open = False
        self._history: list[str] = []
        self.log.record("connecting", f"connecting to {url}", peer=name)
        # An empty context: a task copies the creating cell's context, where
        # ipykernel keeps the output's parent, so a listener's print() in a
        # later cell would go to this (finished) cell and be lost. Without it,
        # output goes to the cell running when the event is dispatched.
        self._task = contextvars.Context().run(
            self._loop.create_task, self._run(), name=f"wslab-client-{name}"
        )
        _live.add(self)

    # --- the browser API ----------------------------------------------------

    @property
    def ready_state(self) -> ReadyState:
        """0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED (``ws.readyState``)."""
        return self._ready_state

    readyState = ready_state

    @property
    def buffered_amount(self) -> int:
        """Bytes passed to :meth:`send` and not yet written (``ws.bufferedAmount``)."""
        return self._buffered

    def send(self, data: str | bytes | bytearray | memoryview | Blob) -> None:
        """Queue a message: ``str`` as a text frame, bytes or :class:`Blob` as binary.

        Raises:
            InvalidStateError: while CONNECTING, as in the browser.
            TypeError: for other types of data.

        When CLOSING or CLOSED the data is discarded, as in the browser (the log
        records it). Thread-safe.
        """
        if isinstance(data, Blob):
            data = data.data
        elif isinstance(data, bytearray | memoryview):
            data = bytes(data)
        if not isinstance(data, str | bytes):
            raise TypeError(f"send() takes str, bytes or Blob, not {type(data).__name__}")
        if self._ready_state == ReadyState.CONNECTING:
            raise InvalidStateError(
                "send() while still CONNECTING: wait for the 'open' event first"
            )
        if self._ready_state != ReadyState.OPEN:
            self.log.record("discarded", "send() after close(): message discarded", peer=self.name)
            return
        self._buffered += len(data.encode()) if isinstance(data, str) else len(data)
        self._call_on_loop(lambda: self._outbox.put_nowait(data))

    def close(self, code: int | None = None, reason: str = "") -> None:
        """Start the closing handshake (``ws.close(code, reason)``).

        Without a code the close frame carries none, and the server's reply
        shows as 1005, exactly as in a browser. Messages already passed to
        :meth:`send` are sent first. Idempotent. Thread-safe.

        Raises:
            InvalidAccessError: ``code`` is neither 1000 nor 3000-4999.
            ValueError: ``reason`` is longer than 123 bytes of UTF-8.
        """
        if code is not None and code != 1000 and not 3000 <= code <= 4999:
            raise InvalidAccessError(
                f"close code {code} is not allowed: use 1000, or 3000-4999 for your own codes "
                "(the others are reserved for the protocol)"
            )
        if len(reason.encode("utf-8")) > 123:
            raise ValueError("the close reason must be at most 123 bytes of UTF-8")
        if reason and code is None:
            code = 1000
        if self._ready_state in (ReadyState.CLOSING, ReadyState.CLOSED):
            return
        if self._ready_state == ReadyState.CONNECTING:
            # The browser "fails the connection": error, then close with 1006.
            self._abort_open = True
            self._set_state(ReadyState.CLOSING)
            return
        self._set_state(ReadyState.CLOSING)
        self._call_on_loop(lambda: self._outbox.put_nowait((code, reason)))

    # --- Python conveniences ----------------------------------------------------

    async def wait_for(self, kind: EventType, timeout: float | None = 10.0) -> Event:
        """Wait for the next ``kind`` event and return it.

        ``open`` and ``close`` happen once: if already dispatched, that event
        is returned at once. Only events dispatched after the call count: to
        collect several messages, add a listener before sending.

        Raises:
            TimeoutError: after ``timeout`` real seconds.
        """
        if check_kind(kind) in ("open", "close") and kind in self._last:
            return self._last[kind]
        if kind == "open" and "close" in self._last:
            raise ConnectionError(f"{self.name} closed before it opened")
        return await super().wait_for(kind, timeout)

    async def closed(self, timeout: float | None = 10.0) -> CloseEvent:
        """Wait until the connection is CLOSED; return the close event."""
        event = await self.wait_for("close", timeout)
        assert isinstance(event, CloseEvent)
        return event

    @property
    def events(self) -> list[str]:
        """The event types dispatched so far, in order (``message`` once per message)."""
        return list(self._history)

    def __repr__(self) -> str:
        return f"<WebSocket {self.url} {self._ready_state.name}>"

    # --- internals --------------------------------------------------------------

    def _call_on_loop(self, callback: Callable[[], object]) -> None:
        call_on_loop(self._loop, callback)

    def _set_state(self, state: ReadyState) -> None:
        if state != self._ready_state:
            self._ready_state = state
            self.state_changed.notify(state)

    def _dispatch(self, event: Event) -> None:
        self._history.append(event.type)
        if event.type in ("open", "close"):
            self._last[event.type] = event
        self._dispatch_event(event)
        if event.type == "close":
            self._fail_waiters(f"{self.name} closed")

    def _fail(self, message: str) -> None:
        self._set_state(ReadyState.CLOSED)
        self.log.record("error", message, peer=self.name)
        self._dispatch(ErrorEvent("error", self, message=message))
        self.log.record("close", f"closed: 1006 {message}", peer=self.name, code=1006)
        self._dispatch(CloseEvent("close", self, code=1006, reason="", was_clean=False))

    async def _run(self) -> None:
        host = urlsplit(self.url).hostname or ""
        try:
            conn = await connect(
                self.url,
                subprotocols=[Subprotocol(p) for p in self._protocols] or None,
                origin=self._origin,  # type: ignore[arg-type]
                # Omitted when None: websockets then uses the system's trusted
                # CAs for wss:// (as a browser does); ssl=None it would refuse.
                **({"ssl": self._ssl} if self._ssl is not None else {}),
                open_timeout=self._open_timeout,
                close_timeout=self._close_timeout,
                # A browser answers Ping frames but never sends any: no
                # client-side keepalive, or a dead connection would be noticed
                # here when a page would not (lesson 9).
                ping_interval=None,
                max_size=CLIENT_MAX_SIZE,
                compression=None,
                # A system proxy must not capture connections to this machine.
                proxy=None if host in _LOOPBACK else True,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._fail(f"could not connect to {self.url}: {type(exc).__name__}: {exc}")
            return
        if self._abort_open:
            await conn.close()
            self._fail("close() was called before the connection opened")
            return
        self._conn = conn
        self.protocol = conn.subprotocol or ""
        self._set_state(ReadyState.OPEN)
        self.log.record("open", f"open: {self.url}", peer=self.name)
        self._dispatch(Event("open", self))
        sender = asyncio.create_task(self._send_loop(conn))
        try:
            async for message in conn:
                self.log.message("in", message, self.name)
                data: str | bytes | Blob = message
                if isinstance(message, bytes) and self.binary_type == "blob":
                    data = Blob(message)
                self._dispatch(MessageEvent("message", self, data=data))
        except ConnectionClosed:
            pass
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        if conn.protocol.close_rcvd is not None:
            # The other side started the closing handshake: CLOSING until TCP
            # ends, as in a browser (we set it already if we started it).
            self._set_state(ReadyState.CLOSING)
        await conn.wait_closed()
        self._finish(conn)

    async def _send_loop(self, conn: ClientConnection) -> None:
        while True:
            item = await self._outbox.get()
            if isinstance(item, tuple):
                code, reason = item
                # code=None sends a close frame without a status, as a browser does.
                await conn.close(code, reason)  # type: ignore[arg-type]
                return
            try:
                await conn.send(item)
            except ConnectionClosed:
                return
            finally:
                self._buffered -= len(item.encode()) if isinstance(item, str) else len(item)
            self.log.message("out", item, self.name)

    def _finish(self, conn: ClientConnection) -> None:
        received = conn.protocol.close_rcvd
        code = int(received.code) if received is not None else 1006
        reason = received.reason if received is not None else ""
        was_clean = received is not None and conn.protocol.close_sent is not None
        self._set_state(ReadyState.CLOSED)
        if not was_clean:
            message = "the connection dropped without a closing handshake"
            self.log.record("error", message, peer=self.name)
            self._dispatch(ErrorEvent("error", self, message=message))
        self.log.record("close", f"closed: {code} {reason}".rstrip(), peer=self.name, code=code)
        self._dispatch(CloseEvent("close", self, code=code, reason=reason, was_clean=was_clean))
