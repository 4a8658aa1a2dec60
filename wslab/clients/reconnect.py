"""A client that reconnects by the study notes' six golden rules.

:class:`ReconnectingWebSocket` makes one browser-shaped
:class:`~wslab.clients.websocket.WebSocket` per attempt, on the loop it was made on (the
kernel's), and follows the seed's lesson 5 to the letter:

1. exponential backoff, never an instant retry: the delays come from
   :func:`wslab.core.reconnect.backoff`, 1, 2, 4, 8, 16, 30, 30, 30 nominal seconds;
2. at most 8 retries, then the state ``"gave up"``: "please refresh";
3. the retry counter goes back to 0 when ``open`` fires;
4. no reconnect after close code 1000 (nor after lesson 8's 4001-4003):
   :func:`wslab.core.reconnect.should_reconnect`;
5. a visible state: ``connecting``, ``open``, ``reconnecting`` (with the
   delay), ``gave up``, ``closed``, told to :attr:`~ReconnectingWebSocket.changed`
   observers (the timeline widget shows them);
6. :meth:`~ReconnectingWebSocket.close` cancels a pending retry timer: no
   ghost timers (:func:`pending_retry_timers` counts them).

:class:`ReliableSession` adds lesson 5's "nothing lost": numbered messages,
queued while reconnecting and resent after the server's welcome says what it
already has (:mod:`wslab.core.outbox`, the ``flaky`` server's protocol).

Not thread-safe, like the browser's WebSocket: use a client from the loop it
was made on (in a notebook, any cell).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from wslab.clients.listeners import EventTarget, Listener
from wslab.clients.websocket import InvalidAccessError, WebSocket
from wslab.core.events import EVENT_TYPES, CloseEvent, ErrorEvent, Event, ReadyState
from wslab.core.reconnect import (
    BACKOFF_FACTOR,
    BACKOFF_INITIAL_DELAY,
    BACKOFF_MAX_DELAY,
    BACKOFF_MAX_RETRIES,
    ClientState,
    Jitter,
    backoff,
    can_move,
    should_reconnect,
)
from wslab.core.timescale import real_seconds
from wslab.state.eventlog import EventLog
from wslab.state.observable import Observers

__all__ = [
    "MAX_HISTORY",
    "Attempt",
    "ReconnectingWebSocket",
    "pending_retry_timers",
    "reconnecting_clients",
    "short_reason",
]

#: A client keeps this many of its newest attempts and event types: a client
#: that lives for days must not grow without end.
MAX_HISTORY = 1000

_clients: weakref.WeakSet[ReconnectingWebSocket] = weakref.WeakSet()


def reconnecting_clients() -> list[ReconnectingWebSocket]:
    """Clients still connecting, open or waiting to retry: what a tidy-up must close."""
    return [
        c
        for c in list(_clients)
        if c.state in (ClientState.CONNECTING, ClientState.OPEN, ClientState.RECONNECTING)
    ]


def pending_retry_timers() -> int:
    """How many retry timers are pending, over every client: 0 means no ghosts."""
    return sum(c.pending_timers for c in list(_clients))


def short_reason(message: str) -> str:
    """Say in a few words why a connection attempt failed, from an error message.

    A browser only ever says 1006; wslab's error events keep the cause, and
    the timeline shows it: ``"connection refused"`` (nothing listens),
    ``"HTTP 503"`` (the handshake was answered with an error status), ...
    """
    lowered = message.lower()
    if "connectionrefused" in lowered or "connect call failed" in lowered:
        return "connection refused"
    if "http " in lowered and "rejected" in lowered:
        status = lowered.rsplit("http ", 1)[1].split()[0].strip(".,:;")
        return f"HTTP {status}"
    if "timeout" in lowered or "timed out" in lowered:
        return "timed out"
    if "without a closing handshake" in lowered:
        return "dropped"
    if "before the connection opened" in lowered:
        return "cancelled"
    return message if len(message) <= 60 else message[:59] + "…"


@dataclass(frozen=True)
class Attempt:
    """One connection attempt, as the timeline shows it.

    Attributes:
        number: 1 for the client's first attempt, then 2, 3, ... for its life.
        retry: 0 for a first connection, n for the n-th retry since the last
            ``open`` (the seed's ``retries``, after its ``retries++``).
        delay: the nominal seconds waited before it (0 for a first connection).
        started: wall-clock time when it started (``time.time()``).
        opened: whether ``open`` fired.
        code: the close code once it ended, else None.
        was_clean: the close event's ``wasClean``, once it ended.
        reason: why it ended, in a few words (``"connection refused"``,
            ``"HTTP 503"``, the close reason, ...).
    """

    number: int
    retry: int
    delay: float
    started: float
    opened: bool = False
    code: int | None = None
    was_clean: bool | None = None
    reason: str = ""

    @property
    def outcome(self) -> str:
        """``"connecting"``, ``"open"``, ``"refused"`` (never opened) or ``"closed"``."""
        if self.code is None:
            return "open" if self.opened else "connecting"
        return "closed" if self.opened else "refused"

    def describe(self) -> str:
        """The outcome in words: ``"refused (HTTP 503)"``, ``"opened, closed 1006"``."""
        if self.code is None:
            return "open" if self.opened else "connecting…"
        why = f" ({self.reason})" if self.reason else ""
        if self.opened:
            return f"opened, closed {self.code}{why}"
        return f"refused{why}"


class ReconnectingWebSocket(EventTarget):
    """A WebSocket client that reconnects with exponential backoff.

    Like the browser's ``WebSocket``, it starts connecting as soon as it is
    made. Listeners added with :meth:`add_event_listener` (or an ``on<kind>``
    handler, :class:`~wslab.clients.listeners.EventTarget`) hear the ``open``,
    ``message``, ``error`` and ``close`` events of every connection it makes,
    in order; a ``close`` listener runs after the client has decided whether
    to retry, so it can read :attr:`state`. :meth:`wait_for` waits for the
    next event of whichever connection.

    Args:
        url: the ``ws://`` or ``wss://`` URL.
        name: how it appears in its log and widgets.
        max_retries: retries without an ``open`` before giving up (8).
        initial_delay, factor, max_delay: the backoff schedule
            (:func:`wslab.core.reconnect.backoff`), in nominal seconds.
        jitter: ``"full"`` to wait a random part of each delay.
        rand: randomness for jitter (``random.Random(seed).random``).
        log: where to record what it does; one log for every attempt.
        protocols, open_timeout, close_timeout: passed to each
            :class:`~wslab.clients.websocket.WebSocket` (``close_timeout`` in real seconds:
            how long a close waits for a dead peer, lesson 9).

    Attributes:
        ws: the current connection (a new one per attempt), or None.
        state: a :class:`~wslab.core.reconnect.ClientState`.
        retries: retries since the last ``open``.
        attempts: every attempt, oldest first (the newest 1000).
        next_delay: while ``reconnecting``, the nominal seconds until the next try.
        last_close: the close event of the newest connection.
        changed: observers told ``self`` on every change (state, attempts).
        ready_state_changed: observers told the current connection's readyState.
        listener_errors: exceptions raised by listeners, over every connection.

    Raises:
        RuntimeError: no event loop is running (make it in a cell or async code).
        ValueError: bad backoff parameters.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = "client",
        max_retries: int = BACKOFF_MAX_RETRIES,
        initial_delay: float = BACKOFF_INITIAL_DELAY,
        factor: float = BACKOFF_FACTOR,
        max_delay: float = BACKOFF_MAX_DELAY,
        jitter: Jitter = None,
        rand: Callable[[], float] | None = None,
        log: EventLog | None = None,
        protocols: str | Sequence[str] | None = None,
        open_timeout: float = 10.0,
        close_timeout: float = 10.0,
    ) -> None:
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "ReconnectingWebSocket() needs a running event loop: create it in a notebook "
                "cell or inside async code"
            ) from None
        super().__init__()
        options: dict[str, Any] = {
            "initial_delay": initial_delay,
            "factor": factor,
            "max_delay": max_delay,
            "max_retries": max_retries,
            "jitter": jitter,
        }
        if rand is not None:
            options["rand"] = rand
        backoff(**options)  # check the parameters now, not at the first drop
        self.backoff_options: dict[str, Any] = options
        self.url = url
        self.name = name
        self.max_retries = max_retries
        self.log = log if log is not None else EventLog()
        self.ws: WebSocket | None = None
        self.state = ClientState.CONNECTING
        self.retries = 0
        self.attempts: list[Attempt] = []
        self.next_delay: float | None = None
        self.last_close: CloseEvent | None = None
        self.changed: Observers[ReconnectingWebSocket] = Observers()
        self.ready_state_changed: Observers[ReadyState] = Observers()
        self._events: deque[str] = deque(maxlen=MAX_HISTORY)
        self._attempt_count = 0
        self._protocols = protocols
        self._open_timeout = open_timeout
        self._close_timeout = close_timeout
        self._delays: Iterator[float] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._closing = False
        self._unsubscribe: Callable[[], None] = lambda: None
        self._state_waiters: list[tuple[frozenset[ClientState], asyncio.Future[ClientState]]] = []
        _clients.add(self)
        self._connect(delay=0.0)

    # --- the public API ------------------------------------------------------------

    @property
    def ready_state(self) -> ReadyState:
        """The current connection's readyState; CLOSED between attempts."""
        return ReadyState.CLOSED if self.ws is None else self.ws.ready_state

    @property
    def events(self) -> list[str]:
        """The event types dispatched to listeners, over every connection (the newest 1000)."""
        return list(self._events)

    @property
    def closed_by_user(self) -> bool:
        """True once :meth:`close` was called (until :meth:`refresh`): no more retries."""
        return self._closing

    @property
    def pending_timers(self) -> int:
        """1 while a retry timer is pending, else 0."""
        return 0 if self._timer is None else 1

    def schedule(self) -> list[float]:
        """The nominal delays this client waits before each retry (the caps, with jitter)."""
        return list(backoff(**{**self.backoff_options, "jitter": None}))

    def send(self, data: str | bytes) -> bool:
        """Send on the current connection if it is OPEN; return whether it was.

        While connecting or reconnecting the message is dropped (and the log
        says so): a plain reconnecting client loses it. :class:`ReliableSession`
        queues instead.
        """
        ws = self.ws
        if ws is None or ws.ready_state != ReadyState.OPEN:
            self.log.record("discarded", f"not open ({self.state.value}): message dropped")
            return False
        ws.send(data)
        return True

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close for good: no more retries, and a pending retry timer is cancelled.

        Golden rule 6. An open connection is closed with ``code`` (1000, a
        normal closure, by default); the state becomes ``closed`` when its
        close event arrives, or at once when there is no connection.
        Idempotent.

        Raises:
            wslab.clients.websocket.InvalidAccessError: ``code`` is neither 1000 nor 3000-4999.
        """
        if code != 1000 and not 3000 <= code <= 4999:
            raise InvalidAccessError(
                f"close code {code} is not allowed: use 1000, or 3000-4999 for your own codes"
            )
        self._closing = True
        self._cancel_timer()
        ws = self.ws
        if ws is not None and ws.ready_state in (ReadyState.CONNECTING, ReadyState.OPEN):
            ws.close(code, reason)
        elif ws is None or ws.ready_state == ReadyState.CLOSED:
            self._set_state(ClientState.CLOSED)

    def reconnect(self, code: int = 4000, reason: str = "reconnect") -> None:
        """Close the current connection on purpose, and reconnect by the usual rules.

        For lesson 9: a heartbeat that gets no pong calls this. ``code`` must
        be one that :func:`~wslab.core.reconnect.should_reconnect` retries.

        Raises:
            ValueError: ``code`` is one after which the client would not reconnect.
        """
        if not should_reconnect(code):
            raise ValueError(f"after code {code} the client would not reconnect; use 4000")
        ws = self.ws
        if ws is not None and ws.ready_state == ReadyState.OPEN:
            ws.close(code, reason)

    def refresh(self) -> None:
        """Start again with a fresh retry counter, as a page reload would.

        For ``gave up`` or ``closed``; while ``reconnecting`` it retries at
        once (with the counter kept); otherwise it does nothing.
        """
        if self.state in (ClientState.OPEN, ClientState.CONNECTING):
            return
        self._cancel_timer()
        if self.state != ClientState.RECONNECTING:
            self._closing = False
            self.retries = 0
            self._delays = None
        self._connect(delay=0.0)

    async def wait_for_state(
        self, *states: ClientState | str, timeout: float | None = 10.0
    ) -> ClientState:
        """Wait until :attr:`state` is one of ``states``; return it.

        Raises:
            TimeoutError: after ``timeout`` real seconds.
        """
        wanted = frozenset(ClientState(s) for s in states)
        if self.state in wanted:
            return self.state
        future: asyncio.Future[ClientState] = self._loop.create_future()
        entry = (wanted, future)
        self._state_waiters.append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            if entry in self._state_waiters:
                self._state_waiters.remove(entry)

    def __repr__(self) -> str:
        return f"<ReconnectingWebSocket {self.name} {self.url} {self.state.value}>"

    # --- one attempt -------------------------------------------------------------------

    def _connect(self, delay: float) -> None:
        self._timer = None
        self.next_delay = None
        self._unsubscribe()
        ws = WebSocket(
            self.url,
            self._protocols,
            name=self.name,
            log=self.log,
            open_timeout=self._open_timeout,
            close_timeout=self._close_timeout,
        )
        self.ws = ws
        for kind in EVENT_TYPES:
            ws.add_event_listener(kind, self._make_relay(ws))
        self._unsubscribe = ws.state_changed.subscribe(self.ready_state_changed.notify)
        self._attempt_count += 1
        self.attempts.append(Attempt(self._attempt_count, self.retries, delay, time.time()))
        if len(self.attempts) > MAX_HISTORY:
            del self.attempts[0]
        self._set_state(ClientState.CONNECTING)
        self.ready_state_changed.notify(ws.ready_state)

    def _make_relay(self, ws: WebSocket) -> Listener:
        def relay(event: Event) -> None:
            if ws is self.ws:  # an earlier connection has nothing more to say
                self._on_event(event)

        return relay

    def _update_attempt(self, **changes: Any) -> None:
        self.attempts[-1] = replace(self.attempts[-1], **changes)

    def _on_event(self, event: Event) -> None:
        if event.type == "open":
            # Golden rule 3: a success resets the counter (and the schedule).
            self.retries = 0
            self._delays = None
            self._update_attempt(opened=True)
            self._set_state(ClientState.OPEN)
        elif event.type == "error":
            assert isinstance(event, ErrorEvent)
            self._update_attempt(reason=short_reason(event.message))
        elif event.type == "close":
            assert isinstance(event, CloseEvent)
            self.last_close = event
            reason = self.attempts[-1].reason or event.reason
            self._update_attempt(code=event.code, was_clean=event.was_clean, reason=reason)
            self._after_close(event)
        self._dispatch(event)

    def _after_close(self, event: CloseEvent) -> None:
        if self._closing:
            self._set_state(ClientState.CLOSED)
            return
        if not should_reconnect(event.code):
            # Golden rule 4: 1000 means someone meant it; 4001-4003 mean "log in".
            self.log.record(
                "no-retry", f"closed with {event.code}: not reconnecting", code=event.code
            )
            self._set_state(ClientState.CLOSED)
            return
        if self._delays is None:
            self._delays = backoff(**self.backoff_options)
        delay = next(self._delays, None)
        if delay is None:
            # Golden rule 2: stop, and tell the user.
            self.log.record(
                "gave-up", f"gave up after {self.retries} retries: please refresh the page"
            )
            self._set_state(ClientState.GAVE_UP)
            return
        self.retries += 1
        self.next_delay = delay
        self.log.record(
            "retry",
            f"reconnecting in {delay:.3g} s (retry {self.retries} of {self.max_retries})",
        )
        # Golden rule 1: wait before retrying. The delay is nominal; the timer real.
        self._timer = self._loop.call_later(real_seconds(delay), self._connect, delay)
        self._set_state(ClientState.RECONNECTING)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self.next_delay = None
            self.log.record("timer", "pending retry timer cancelled")

    # --- telling listeners and observers ----------------------------------------

    def _dispatch(self, event: Event) -> None:
        self._events.append(event.type)
        self._dispatch_event(event)
        self.changed.notify(self)

    def _set_state(self, state: ClientState) -> None:
        if state == self.state and state != ClientState.CONNECTING:
            return
        if state != self.state and not can_move(self.state, state):
            raise RuntimeError(f"{self.name}: no move from {self.state.value} to {state.value}")
        self.state = state
        for wanted, future in list(self._state_waiters):
            if state in wanted and not future.done():
                future.set_result(state)
        self.changed.notify(self)
