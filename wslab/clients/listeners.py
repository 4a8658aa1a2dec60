"""Event listeners the way a browser has them, for the browser-shaped clients.

:func:`call_listeners` calls listeners as a browser does: in order; a
listener that is a coroutine function is scheduled as a task (and kept,
since the loop holds tasks only weakly); one that raises is reported and the
others still run.

:class:`EventTargetBase` is the rest of the plumbing, written once:
``addEventListener`` and ``removeEventListener``, the ``on<kind>`` handler
slots, dispatching, and waiting for the next event. It takes any event type
(the ``EventSource`` of lesson 12 has named ones, such as ``"tick"``).
:class:`EventTarget` is the WebSocket-shaped one, for
:class:`~wslab.clients.websocket.WebSocket` and
:class:`~wslab.clients.reconnect.ReconnectingWebSocket`: only the four
WebSocket event types, and an ``onclose`` handler.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from wslab.core.events import EVENT_TYPES, Event, EventType
from wslab.state.eventlog import EventLog

__all__ = [
    "EventTarget",
    "EventTargetBase",
    "Listener",
    "call_listeners",
    "check_kind",
    "handler_property",
]

Listener = Callable[[Any], object]
#: The event types a target takes: ``str``, or a ``Literal`` of some.
K = TypeVar("K", bound=str)
#: What it dispatches, and :meth:`EventTargetBase.wait_for` returns.
E = TypeVar("E")


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

    def __call__(self, event: Any) -> object:
        return self.fn(event)


def handler_property(kind: str) -> property:
    """The ``on<kind>`` property of an :class:`EventTargetBase`: one handler, in a slot."""

    def get(self: EventTargetBase[Any, Any]) -> Listener | None:
        slot = self._handlers.get(kind)
        return None if slot is None else slot.fn

    def set_(self: EventTargetBase[Any, Any], fn: Listener | None) -> None:
        slot = self._handlers.get(kind)
        if fn is None:
            if slot is not None:
                self._listeners[kind].remove(slot)
                del self._handlers[kind]
        elif slot is None:
            slot = self._handlers[kind] = _Handler(fn)
            self._listeners.setdefault(kind, []).append(slot)
        else:
            slot.fn = fn

    return property(get, set_, doc=f"The single ``on{kind}`` handler; assigning replaces it.")


class EventTargetBase(Generic[K, E]):
    """Listeners, ``on<kind>`` handlers and waiting for events, as a browser has them.

    ``K`` is the event types it takes, ``E`` what it dispatches. It takes any
    non-empty event type; a subclass narrows that with :meth:`_check_kind`.
    A subclass sets :attr:`name`, :attr:`log` and ``_loop`` (the loop it
    dispatches on) and calls :meth:`_dispatch_as` for each event, on that
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

    onopen = handler_property("open")
    onmessage = handler_property("message")
    onerror = handler_property("error")

    def __init__(self) -> None:
        self.listener_errors: list[BaseException] = []
        # One list per event type, made when first needed.
        self._listeners: dict[K, list[Listener]] = {}
        self._handlers: dict[K, _Handler] = {}
        self._waiters: dict[K, list[asyncio.Future[E]]] = {}
        self._listener_tasks: set[asyncio.Future[Any]] = set()

    def _check_kind(self, kind: K) -> K:
        """Return ``kind`` if this target has such events.

        Raises:
            ValueError: it is not a non-empty string.
        """
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"an event type is a non-empty string, not {kind!r}")
        return kind

    def add_event_listener(self, kind: K, listener: Listener) -> None:
        """Call ``listener(event)`` on each ``kind`` event (``addEventListener``).

        Several listeners may listen to one event; they run in the order they
        were added. Adding the same function twice has no effect, as in the
        browser. A listener may be a coroutine function: it is scheduled as a
        task.
        """
        listeners = self._listeners.setdefault(self._check_kind(kind), [])
        if listener not in listeners:
            listeners.append(listener)

    def remove_event_listener(self, kind: K, listener: Listener) -> None:
        """Stop calling ``listener`` (``removeEventListener``); unknown ones are ignored."""
        listeners = self._listeners.get(self._check_kind(kind), [])
        if listener in listeners:
            listeners.remove(listener)

    addEventListener = add_event_listener
    removeEventListener = remove_event_listener

    async def wait_for(self, kind: K, timeout: float | None = 10.0) -> E:
        """Wait for the next ``kind`` event and return it.

        Only events dispatched after the call count: to collect several
        messages, add a listener before sending.

        Raises:
            TimeoutError: after ``timeout`` real seconds.
        """
        future: asyncio.Future[E] = self._loop.create_future()
        waiters = self._waiters.setdefault(self._check_kind(kind), [])
        waiters.append(future)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            if future in waiters:
                waiters.remove(future)

    def _dispatch_as(self, kind: K, event: E) -> None:
        """Call the ``kind`` listeners with ``event``, then wake whoever waits for one."""
        call_listeners(
            self._listeners.get(kind, []),
            event,
            tasks=self._listener_tasks,
            errors=self.listener_errors,
            log=self.log,
            name=self.name,
        )
        waiters = self._waiters.get(kind, [])
        for future in waiters:
            if not future.done():
                future.set_result(event)
        waiters.clear()

    def _fail_waiters(self, message: str) -> None:
        """Wake everyone still waiting with a ``ConnectionError(message)``: no event will come."""
        for futures in self._waiters.values():
            for future in futures:
                if not future.done():
                    future.set_exception(ConnectionError(message))
            futures.clear()


class EventTarget(EventTargetBase[EventType, Event]):
    """The :class:`EventTargetBase` of a WebSocket: ``open``, ``message``, ``error``, ``close``.

    Any other event type is a ``ValueError``. A subclass calls
    :meth:`_dispatch_event` for each event.
    """

    onclose = handler_property("close")

    def _check_kind(self, kind: EventType) -> EventType:
        return check_kind(kind)

    def _dispatch_event(self, event: Event) -> None:
        """Call the listeners of ``event``, then wake whoever waits for one of its kind."""
        self._dispatch_as(event.type, event)
