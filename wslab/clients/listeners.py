"""Event listeners the way a browser has them, for the browser-shaped clients.

:func:`call_listeners` calls listeners as a browser does: in order; a
listener that is a coroutine function is scheduled as a task (and kept,
since the loop holds tasks only weakly); one that raises is reported and the
others still run. The ``EventSource`` of lesson 12 uses it.

:class:`EventTarget` is the rest of the plumbing for a WebSocket-shaped
client, written once for :class:`~wslab.clients.websocket.WebSocket` and
:class:`~wslab.clients.reconnect.ReconnectingWebSocket`: ``addEventListener``
and ``removeEventListener``, the ``on<kind>`` handler slots, dispatching, and
waiting for the next event.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from wslab.core.events import EVENT_TYPES, Event, EventType
from wslab.state.eventlog import EventLog

__all__ = ["EventTarget", "Listener", "call_listeners", "check_kind"]

Listener = Callable[[Any], object]


def call_listeners(
    listeners: Iterable[Listener],
    event: object,
    *,
    tasks: set[asyncio.Future[Any]],
    errors: list[BaseException],
    log: EventLog,
    name: str,
) -> None:
    """Call each listener with ``event``; keep async ones in ``tasks``, failures in ``errors``."""
    for listener in list(listeners):
        try:
            result = listener(event)
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        except Exception as exc:
            # As in a browser: report it (the console), and go on with the others.
            errors.append(exc)
            log.record("listener-error", f"{type(exc).__name__}: {exc}", peer=name)
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


def check_kind(kind: str) -> EventType:
    """Return ``kind`` if it is a WebSocket event type.

    Raises:
        ValueError: it is not ``"open"``, ``"message"``, ``"error"`` or ``"close"``.
    """
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown event type {kind!r}; use one of {', '.join(EVENT_TYPES)}")
    return kind


class _Handler:
    """The listener slot an ``onmessage``-style property occupies.

    As in the browser, the slot keeps the position where the handler was first
    set; assigning again replaces the function in place, ``None`` removes it.
    """

    __slots__ = ("fn",)

    def __init__(self, fn: Listener) -> None:
        self.fn = fn

    def __call__(self, event: Event) -> object:
        return self.fn(event)


def _handler_property(kind: EventType) -> property:
    def get(self: EventTarget) -> Listener | None:
        slot = self._handlers.get(kind)
        return None if slot is None else slot.fn

    def set_(self: EventTarget, fn: Listener | None) -> None:
        slot = self._handlers.get(kind)
        if fn is None:
            if slot is not None:
                self._listeners[kind].remove(slot)
                del self._handlers[kind]
        elif slot is None:
            slot = self._handlers[kind] = _Handler(fn)
            self._listeners[kind].append(slot)
        else:
            slot.fn = fn

    return property(get, set_, doc=f"The single ``on{kind}`` handler; assigning replaces it.")


class EventTarget:
    """Listeners, ``on<kind>`` handlers and waiting for events, as a browser's WebSocket has them.

    A subclass sets :attr:`name`, :attr:`log` and ``_loop`` (the loop it
    dispatches on) and calls :meth:`_dispatch_event` for each event, on that
    loop. Not thread-safe.

    Attributes:
        listener_errors: exceptions raised by listeners (the browser reports
            them to the console).
    """

    #: How the client appears in its log.
    name: str
    #: Where listener errors are recorded.
    log: EventLog
    _loop: asyncio.AbstractEventLoop

    onopen = _handler_property("open")
    onmessage = _handler_property("message")
    onerror = _handler_property("error")
    onclose = _handler_property("close")

    def __init__(self) -> None:
        self.listener_errors: list[BaseException] = []
        self._listeners: dict[EventType, list[Listener]] = {kind: [] for kind in EVENT_TYPES}
        self._handlers: dict[EventType, _Handler] = {}
        self._waiters: dict[EventType, list[asyncio.Future[Event]]] = {k: [] for k in EVENT_TYPES}
        self._listener_tasks: set[asyncio.Future[Any]] = set()

    def add_event_listener(self, kind: EventType, listener: Listener) -> None:
        """Call ``listener(event)`` on each ``kind`` event (``addEventListener``).

        Several listeners may listen to one event; they run in the order they
        were added. Adding the same function twice has no effect, as in the
        browser. A listener may be a coroutine function: it is scheduled as a
        task.
        """
        listeners = self._listeners[check_kind(kind)]
        if listener not in listeners:
            listeners.append(listener)

    def remove_event_listener(self, kind: EventType, listener: Listener) -> None:
        """Stop calling ``listener`` (``removeEventListener``); unknown ones are ignored."""
        listeners = self._listeners[check_kind(kind)]
        if listener in listeners:
            listeners.remove(listener)

    addEventListener = add_event_listener
    removeEventListener = remove_event_listener

    async def wait_for(self, kind: EventType, timeout: float | None = 10.0) -> Event:
        """Wait for the next ``kind`` event and return it.

        Only events dispatched after the call count: to collect several
        messages, add a listener before sending.

        Raises:
            TimeoutError: after ``timeout`` real seconds.
        """
        future: asyncio.Future[Event] = self._loop.create_future()
        self._waiters[check_kind(kind)].append(future)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            if future in self._waiters[kind]:
                self._waiters[kind].remove(future)

    def _dispatch_event(self, event: Event) -> None:
        """Call the listeners of ``event``, then wake whoever waits for one of its kind."""
        call_listeners(
            self._listeners[event.type],
            event,
            tasks=self._listener_tasks,
            errors=self.listener_errors,
            log=self.log,
            name=self.name,
        )
        for future in self._waiters[event.type]:
            if not future.done():
                future.set_result(event)
        self._waiters[event.type].clear()

    def _fail_waiters(self, message: str) -> None:
        """Wake everyone still waiting with a ``ConnectionError(message)``: no event will come."""
        for futures in self._waiters.values():
            for future in futures:
                if not future.done():
                    future.set_exception(ConnectionError(message))
            futures.clear()
