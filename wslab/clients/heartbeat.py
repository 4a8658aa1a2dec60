"""The study notes' heartbeat, on a real client: ``ping`` every interval, ``pong`` in time.

:class:`HeartbeatClient` attaches to a browser-shaped
:class:`~wslab.clients.websocket.WebSocket` or to lesson 5's
:class:`~wslab.clients.reconnect.ReconnectingWebSocket`, on the event loop they run
on (in a notebook, the kernel's), and does what the notes' JavaScript does::

    hb = HeartbeatClient(client, preset="default")   # startHeartbeat()
    # every 30 s: client.send("ping"), and 10 s to get "pong" back;
    # no pong in time: close the connection. A ReconnectingWebSocket then
    # reconnects by lesson 5's rules, and the heartbeat starts again on open.

Its two timers are real ``asyncio`` timer handles, one per JavaScript timer
(``pingTimer`` and ``pongTimer``); when to set them and what to do when they
fire is decided by the pure :class:`~wslab.core.heartbeat.HeartbeatMachine`. Both
are cancelled when the connection closes: :attr:`HeartbeatClient.live_timers`
and :func:`pending_heartbeat_timers` count them, and after a close they are 0
(rule 1, no ghost timers).

The interval and timeout are nominal seconds; the time scale is read when the
heartbeat starts (on each ``open``), so a connection keeps one rhythm. Round
trips are measured on the loop's clock and kept in real seconds: a network's
round trip is not something the course's time scale compresses.

Not thread-safe, like the clients it attaches to: use it from their loop.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any

from wslab.clients.reconnect import ReconnectingWebSocket
from wslab.clients.websocket import WebSocket
from wslab.core.events import CloseEvent, Event, MessageEvent, ReadyState
from wslab.core.heartbeat import (
    DEFAULT_PRESET,
    PING,
    PONG,
    Action,
    Beat,
    HeartbeatMachine,
    Phase,
    Preset,
    preset,
    worst_case_detection,
)
from wslab.core.timescale import real_seconds
from wslab.state.eventlog import EventLog
from wslab.state.observable import Observers

__all__ = [
    "NO_PONG_CODE",
    "HeartbeatClient",
    "Target",
    "heartbeat_clients",
    "pending_heartbeat_timers",
]

#: The close code sent when a pong is overdue: 4000, an application code that
#: lesson 5's client reconnects after (a dead peer never answers it, so the
#: close event itself says 1006).
NO_PONG_CODE = 4000

Target = ReconnectingWebSocket | WebSocket

_clients: weakref.WeakSet[HeartbeatClient] = weakref.WeakSet()


def heartbeat_clients() -> list[HeartbeatClient]:
    """The heartbeats still attached to a client: what a tidy-up must detach."""
    return [hb for hb in list(_clients) if hb.attached]


def pending_heartbeat_timers() -> int:
    """Live heartbeat timers over every heartbeat: 0 means no ghosts."""
    return sum(hb.live_timers for hb in list(_clients))


class HeartbeatClient:
    """Send ``ping`` every interval on a client; close it when a ``pong`` is late.

    Args:
        target: the client: a :class:`~wslab.clients.websocket.WebSocket` (it is simply
            closed) or a :class:`~wslab.clients.reconnect.ReconnectingWebSocket` (it
            closes the connection and reconnects).
        preset: a name from :data:`~wslab.core.heartbeat.PRESETS` (``"default"``,
            ``"mobile"``, ``"aws-alb"``) or a :class:`~wslab.core.heartbeat.Preset`.
        interval, timeout: nominal seconds, instead of the preset's.
        max_missed: missed pongs in a row before closing (the notes: 1).
        close_code: the code of the close sent when a pong is overdue.

    Attributes:
        machine: the timing state machine (beats, round trips, counts).
        preset: the preset in use, or None for custom timings.
        connections: how many times the heartbeat started (``open`` events).
        dead: how many connections it closed for a missing pong.
        changed: observers told ``self`` on every beat, pong, miss and state change.

    Raises:
        RuntimeError: no event loop is running (make it in a cell or async code).
        KeyError: an unknown preset name.
        ValueError: a timeout not shorter than the interval, and the like.
    """

    def __init__(
        self,
        target: Target,
        *,
        preset: str | Preset = DEFAULT_PRESET,
        interval: float | None = None,
        timeout: float | None = None,
        max_missed: int = 1,
        close_code: int = NO_PONG_CODE,
    ) -> None:
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "HeartbeatClient() needs a running event loop: create it in a notebook cell "
                "or inside async code"
            ) from None
        self.target = target
        self.close_code = close_code
        self.preset, self.interval, self.timeout = _timings(preset, interval, timeout)
        self.machine = HeartbeatMachine(
            real_seconds(self.interval), real_seconds(self.timeout), max_missed=max_missed
        )
        self.connections = 0
        self.dead = 0
        self.changed: Observers[HeartbeatClient] = Observers()
        self._ping_timer: asyncio.TimerHandle | None = None
        self._pong_timer: asyncio.TimerHandle | None = None
        self._listeners: list[tuple[Any, Callable[[Any], object]]] = [
            ("open", self._on_open),
            ("message", self._on_message),
            ("close", self._on_close),
        ]
        for kind, listener in self._listeners:
            target.add_event_listener(kind, listener)
        self.attached = True
        _clients.add(self)
        if target.ready_state == ReadyState.OPEN:
            self._on_open(None)

    # --- what it is ------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def log(self) -> EventLog:
        """The client's log, where missed pongs are recorded."""
        return self.target.log

    @property
    def phase(self) -> Phase:
        return self.machine.phase

    @property
    def live_timers(self) -> int:
        """The heartbeat's asyncio timers still pending: ``pingTimer`` and ``pongTimer``."""
        return sum(
            timer is not None and not timer.cancelled()
            for timer in (self._ping_timer, self._pong_timer)
        )

    def live_tasks(self) -> int:
        """The client's connection tasks still running on its loop (0 once closed)."""
        wanted = f"wslab-client-{self.target.name}"
        return sum(
            task.get_name() == wanted and not task.done() for task in asyncio.all_tasks(self._loop)
        )

    def ghosts(self) -> dict[str, int]:
        """``{"timers": ..., "tasks": ...}``: what is still alive for this client."""
        return {"timers": self.live_timers, "tasks": self.live_tasks()}

    @property
    def beats(self) -> list[Beat]:
        """The newest pings and their fate, oldest first."""
        return list(self.machine.beats)

    @property
    def rtts_ms(self) -> list[float]:
        """The measured round trips, in real milliseconds, oldest first."""
        return [rtt * 1000 for rtt in self.machine.rtts]

    @property
    def worst_case(self) -> float:
        """Nominal seconds a dead connection can go unnoticed with these timings."""
        return worst_case_detection(self.interval, self.timeout, self.machine.max_missed)

    def describe(self) -> str:
        """The heartbeat in words, for a status line."""
        phase = self.machine.phase
        if phase == Phase.WAITING:
            return f"💓 beating: a ping every {self.interval:g} s"
        if phase == Phase.AWAITING_PONG:
            return f"🏓 ping sent: a pong is due within {self.timeout:g} s"
        if phase == Phase.DEAD:
            return "💀 no pong in time: closing the connection"
        return "⏸ stopped: no connection open"

    def __repr__(self) -> str:
        return (
            f"<HeartbeatClient {self.name} {self.interval:g}/{self.timeout:g} s "
            f"{self.machine.phase.value}: {self.machine.pings_sent} pings, "
            f"{self.machine.pongs_received} pongs, {self.machine.missed} missed>"
        )

    # --- changing it ---------------------------------------------------------------------

    def use(
        self,
        preset: str | Preset | None = None,
        *,
        interval: float | None = None,
        timeout: float | None = None,
    ) -> None:
        """Switch to another preset (or timings); a running heartbeat restarts from now.

        Raises:
            KeyError: an unknown preset name.
            ValueError: a timeout not shorter than the interval.
        """
        if preset is None and self.preset is None:
            # Custom timings stay custom: change only what is given.
            interval = self.interval if interval is None else interval
            timeout = self.timeout if timeout is None else timeout
        chosen, new_interval, new_timeout = _timings(
            preset if preset is not None else self.preset or DEFAULT_PRESET, interval, timeout
        )
        # Checks the timings before anything changes.
        self.machine.retime(real_seconds(new_interval), real_seconds(new_timeout))
        self.preset, self.interval, self.timeout = chosen, new_interval, new_timeout
        if self.machine.running:
            self.machine.start(self._loop.time())
            self._sync_timers()
        self.changed.notify(self)

    def detach(self) -> None:
        """Stop the heartbeat for good: cancel its timers, remove its listeners. Idempotent."""
        if not self.attached:
            return
        self.attached = False
        for kind, listener in self._listeners:
            self.target.remove_event_listener(kind, listener)
        self.machine.stop()
        self._sync_timers()
        self.changed.notify(self)

    # --- the client's events -----------------------------------------------------------------

    def _on_open(self, event: Event | None) -> None:
        # setInterval starts here; the scale is read now, once per connection.
        self.machine.retime(real_seconds(self.interval), real_seconds(self.timeout))
        self.machine.start(self._loop.time())
        self.connections += 1
        self._sync_timers()
        self.changed.notify(self)

    def _on_message(self, event: Event) -> None:
        assert isinstance(event, MessageEvent)
        if event.data == PONG:
            self.machine.pong(self._loop.time())  # clearTimeout(pongTimer)
            self._sync_timers()
            self.changed.notify(self)

    def _on_close(self, event: Event) -> None:
        assert isinstance(event, CloseEvent)
        # clearInterval(pingTimer); clearTimeout(pongTimer): rule 1.
        self.machine.stop()
        self._sync_timers()
        self.changed.notify(self)

    # --- the two timers --------------------------------------------------------------------

    def _sync_timers(self) -> None:
        """Make the asyncio timers match the machine's: set, move or cancel them."""
        self._ping_timer = self._set(self._ping_timer, self.machine.next_ping_at, self._ping_due)
        self._pong_timer = self._set(self._pong_timer, self.machine.pong_deadline, self._pong_due)

    def _set(
        self,
        timer: asyncio.TimerHandle | None,
        when: float | None,
        callback: Callable[[float], None],
    ) -> asyncio.TimerHandle | None:
        if timer is not None and not timer.cancelled() and when == timer.when():
            return timer
        if timer is not None:
            timer.cancel()
        if when is None:
            return None
        return self._loop.call_at(when, callback, when)

    def _ping_due(self, when: float) -> None:
        self._ping_timer = None
        self._advance(when)

    def _pong_due(self, when: float) -> None:
        self._pong_timer = None
        self._advance(when)

    def _advance(self, when: float) -> None:
        # A timer may run a hair before its time (the loop's clock resolution):
        # it is due, so tell the machine it is at least `when`.
        actions = self.machine.advance(max(self._loop.time(), when))
        for action in actions:
            self._act(action)
        self._sync_timers()
        self.changed.notify(self)

    def _act(self, action: Action) -> None:
        if action == "ping":
            self.target.send(PING)
            return
        self.dead += 1
        self.log.record(
            "missed-pong",
            f"no pong within {self.timeout:g} s: closing the connection ({self.close_code})",
            peer=self.name,
        )
        if isinstance(self.target, ReconnectingWebSocket):
            self.target.reconnect(self.close_code, "no pong")
        else:
            self.target.close(self.close_code, "no pong")


def _timings(
    chosen: str | Preset, interval: float | None, timeout: float | None
) -> tuple[Preset | None, float, float]:
    """The preset (None when custom timings override it), the interval and the timeout.

    Raises:
        KeyError: an unknown preset name.
        ValueError: timings the machine refuses.
    """
    picked = preset(chosen) if isinstance(chosen, str) else chosen
    new_interval = float(interval if interval is not None else picked.interval)
    new_timeout = float(timeout if timeout is not None else picked.timeout)
    HeartbeatMachine(new_interval, new_timeout)  # validate, in nominal seconds
    custom = interval is not None or timeout is not None
    return (None if custom else picked), new_interval, new_timeout
