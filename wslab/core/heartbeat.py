"""The heartbeat of lesson 9, as pure data and a timing state machine.

Theory of operation: the study notes' production pattern is two timers::

    pingTimer = setInterval(() => {                            // every `interval`
      ws.send('ping');
      pongTimer = setTimeout(() => ws.close(), 10000);         // `timeout` to answer
    }, 30000);
    ws.addEventListener('message', (e) => {
      if (e.data === 'pong') clearTimeout(pongTimer);          // answered in time
    });
    ws.addEventListener('close', () => {
      clearInterval(pingTimer); clearTimeout(pongTimer);       // no ghost timers
    });

:class:`HeartbeatMachine` is those two timers without the timers: the caller
tells it what time it is (:meth:`~HeartbeatMachine.advance`), that a pong
arrived (:meth:`~HeartbeatMachine.pong`) or that the connection closed
(:meth:`~HeartbeatMachine.stop`), and it answers with what to do now
(``"ping"`` or ``"close"``) and when it next needs to be asked
(:attr:`~HeartbeatMachine.next_deadline`). It keeps the round-trip times and
counts the missed pongs. Its phases and the moves between them are the table
:data:`TRANSITIONS`. Times are plain numbers in whatever unit the caller uses
(the client feeds it its event loop's clock, in real seconds; the tests feed
it literal numbers).

Two choices the JavaScript leaves open, made explicit here:

- at most one ping is in flight: if the interval comes round while a pong is
  still awaited (only possible when the caller was late), that beat is
  skipped instead of overwriting ``pongTimer`` (which would leak it);
- a pong that arrives when none is awaited (late, or unasked) is counted in
  :attr:`~HeartbeatMachine.unexpected_pongs` and changes nothing: a text
  ``pong`` carries no number, so it cannot say which ping it answers.

The seed's timing guide is :data:`PRESETS`, and rule 3 ("don't log ping/pong in
production") is :class:`~wslab.state.heartbeat.HeartbeatLog` (for wslab's event logs) and
:class:`HeartbeatLogFilter` (for Python's :mod:`logging`, such as websockets'
own debug log).

Pure: no sockets, no asyncio, no widgets.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Literal

__all__ = [
    "DEFAULT_PRESET",
    "MAX_BEATS",
    "PING",
    "PONG",
    "PRESETS",
    "TRANSITIONS",
    "Action",
    "Beat",
    "HeartbeatLogFilter",
    "HeartbeatMachine",
    "Phase",
    "Preset",
    "is_heartbeat",
    "preset",
    "worst_case_detection",
]

#: What the client sends, exactly as in the study notes: a text frame ``ping``.
PING = "ping"
#: What the server answers: a text frame ``pong``.
PONG = "pong"

#: A machine keeps this many of its newest beats: a page open for a week
#: sends 20,000 pings, and memory must not grow with them.
MAX_BEATS = 1000

Action = Literal["ping", "close"]


# --- the timing guide --------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """One row of the study notes' timing guide.

    Attributes:
        name: the key in :data:`PRESETS`.
        label: the environment, as the guide names it.
        interval: nominal seconds between pings.
        timeout: nominal seconds a pong may take before the client gives up.
        why: why these numbers, in one line.
    """

    name: str
    label: str
    interval: float
    timeout: float
    why: str

    @property
    def seconds(self) -> tuple[float, float]:
        """``(interval, timeout)``, in nominal seconds."""
        return (self.interval, self.timeout)

    @property
    def worst_case(self) -> float:
        """The longest a dead connection can go unnoticed: interval + timeout."""
        return worst_case_detection(self.interval, self.timeout)


#: The study notes' timing guide, as data: the client, the widget's drop-down
#: and the lesson's table all read it.
PRESETS: dict[str, Preset] = {
    "default": Preset(
        "default", "Default", 30.0, 10.0, "well inside every common idle limit (60 s and up)"
    ),
    "mobile": Preset(
        "mobile",
        "Mobile",
        15.0,
        5.0,
        "mobile networks and phone NATs drop quiet connections sooner; notice faster",
    ),
    "aws-alb": Preset(
        "aws-alb",
        "Behind AWS ALB",
        55.0,
        10.0,
        "the ALB closes connections idle for 60 s: a ping every 55 s keeps it from ever seeing 60",
    ),
}
#: The preset a client uses unless told otherwise.
DEFAULT_PRESET = "default"


def preset(name: str) -> Preset:
    """Look a preset up by name.

    Raises:
        KeyError: for an unknown name; the message lists the known ones.
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(
            f"no heartbeat preset called {name!r}; the presets are: {', '.join(PRESETS)}"
        ) from None


def worst_case_detection(interval: float, timeout: float, max_missed: int = 1) -> float:
    """The longest a connection can be dead before the heartbeat notices.

    The worst moment to die is just after a pong arrived: the next ping goes
    out up to ``interval`` later, and only ``timeout`` after that is its
    pong declared missing. With ``max_missed`` misses allowed in a row, the
    last of them goes out ``max_missed`` intervals later.

    Args:
        interval: seconds between pings.
        timeout: seconds to wait for a pong.
        max_missed: missed pongs in a row before closing (1 in the notes).

    Returns:
        ``max_missed * interval + timeout``: ``interval + timeout`` for the notes.
    """
    return max_missed * interval + timeout


def is_heartbeat(data: object) -> bool:
    """Whether a message is a heartbeat: exactly the text ``ping`` or ``pong``.

    Binary frames and other spellings (``"PING"``, ``" ping"``) are ordinary
    messages: the server echoes them.
    """
    return isinstance(data, str) and data in (PING, PONG)


# --- the state machine ----------------------------------------------------------------


class Phase(str, Enum):
    """Where a heartbeat is."""

    #: Not started, or stopped because the connection closed: no timers.
    STOPPED = "stopped"
    #: The interval timer runs; no ping is in flight.
    WAITING = "waiting"
    #: A ping was sent; its pong timer runs (and the interval timer too).
    AWAITING_PONG = "awaiting pong"
    #: A pong was overdue: close the connection. No timers.
    DEAD = "dead"


#: The moves a heartbeat may make. ``WAITING`` → ``AWAITING_PONG`` when the
#: interval comes round; back when the pong arrives, or when it is missed but
#: more misses are allowed; ``DEAD`` when the last allowed miss happens.
#: ``stop()`` (the connection closed) leads from anywhere to ``STOPPED``, and
#: ``start()`` (it opened again) from there to ``WAITING``.
TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    Phase.STOPPED: frozenset({Phase.WAITING}),
    Phase.WAITING: frozenset({Phase.AWAITING_PONG, Phase.STOPPED, Phase.WAITING}),
    Phase.AWAITING_PONG: frozenset({Phase.WAITING, Phase.DEAD, Phase.STOPPED}),
    Phase.DEAD: frozenset({Phase.STOPPED}),
}


@dataclass(frozen=True)
class Beat:
    """One ping and what became of it.

    Attributes:
        number: 1 for the machine's first ping, then 2, 3, ...
        sent_at: when the ping was sent, on the caller's clock.
        rtt: seconds from ping to pong; None while awaited or when missed.
        missed: True once its pong was overdue.
    """

    number: int
    sent_at: float
    rtt: float | None = None
    missed: bool = False

    @property
    def outcome(self) -> str:
        """``"pong"``, ``"missed"`` or ``"waiting"``."""
        if self.missed:
            return "missed"
        return "waiting" if self.rtt is None else "pong"


class HeartbeatMachine:
    """The heartbeat's timers as a pure state machine: what to do, and when.

    Args:
        interval: time between pings (in the caller's unit).
        timeout: how long a pong may take; shorter than ``interval``.
        max_missed: missed pongs in a row that mean "dead" (the notes: 1).

    Attributes:
        phase: a :class:`Phase`.
        next_ping_at: when the interval timer fires next (None without one).
        pong_deadline: when the pong timer fires (None without one).
        beats: the newest :data:`MAX_BEATS` pings, oldest first.
        pings_sent, pongs_received, missed: totals over the machine's life.
        missed_in_a_row: misses since the last pong (or start).
        unexpected_pongs: pongs that came when none was awaited.
        starts: how many times :meth:`start` ran.

    Raises:
        ValueError: a non-positive interval or timeout, a timeout not shorter
            than the interval (a new ping would go out while the last one is
            still unanswered), or ``max_missed`` below 1.

    Not thread-safe: drive it from one thread (the client's event loop).
    """

    def __init__(self, interval: float, timeout: float, *, max_missed: int = 1) -> None:
        if not interval > 0 or not timeout > 0:
            raise ValueError("the interval and the timeout must be positive")
        if timeout >= interval:
            raise ValueError(
                f"the pong timeout ({timeout:g}) must be shorter than the ping interval "
                f"({interval:g}), or a new ping would go out while the last is unanswered"
            )
        if max_missed < 1:
            raise ValueError("max_missed must be at least 1")
        self.interval = float(interval)
        self.timeout = float(timeout)
        self.max_missed = max_missed
        self.phase = Phase.STOPPED
        self.next_ping_at: float | None = None
        self.pong_deadline: float | None = None
        self.beats: deque[Beat] = deque(maxlen=MAX_BEATS)
        self.pings_sent = 0
        self.pongs_received = 0
        self.missed = 0
        self.missed_in_a_row = 0
        self.unexpected_pongs = 0
        self.starts = 0

    # --- what the caller asks --------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while it has timers (``WAITING`` or ``AWAITING_PONG``)."""
        return self.phase in (Phase.WAITING, Phase.AWAITING_PONG)

    @property
    def timers(self) -> int:
        """How many of the notes' timers are live: ``pingTimer`` and ``pongTimer``.

        2 while a pong is awaited, 1 while waiting for the next ping, 0 when
        stopped or dead: after a close there must be none (rule 1).
        """
        return (self.next_ping_at is not None) + (self.pong_deadline is not None)

    @property
    def next_deadline(self) -> float | None:
        """The earliest time :meth:`advance` has something to do; None if never."""
        times = [t for t in (self.next_ping_at, self.pong_deadline) if t is not None]
        return min(times) if times else None

    def overdue(self, now: float) -> bool:
        """Whether a pong is awaited and its deadline has passed at ``now``."""
        return self.pong_deadline is not None and now >= self.pong_deadline

    @property
    def rtts(self) -> list[float]:
        """The round-trip times of the kept beats that got their pong, oldest first."""
        return [b.rtt for b in self.beats if b.rtt is not None]

    def plan(self, start: float, count: int) -> list[tuple[float, float]]:
        """When the first ``count`` pings go out after ``start``, and their deadlines.

        What the two timers will do if every pong comes in time::

            >>> HeartbeatMachine(30, 10).plan(0, 3)
            [(30.0, 40.0), (60.0, 70.0), (90.0, 100.0)]
        """
        return [
            (start + n * self.interval, start + n * self.interval + self.timeout)
            for n in range(1, count + 1)
        ]

    # --- what the caller tells ---------------------------------------------------------

    def start(self, now: float) -> None:
        """The connection opened at ``now``: the first ping is due one interval later.

        ``setInterval`` starts counting here. Starting a running machine starts
        it again from ``now`` (a new preset, say). Idempotent otherwise.
        """
        self._move(Phase.WAITING)
        self.next_ping_at = now + self.interval
        self.pong_deadline = None
        self.missed_in_a_row = 0
        self.starts += 1

    def advance(self, now: float) -> list[Action]:
        """Let time pass until ``now``; return what to do, in order.

        ``"ping"``: send the text ``ping`` now. ``"close"``: the pong is
        overdue, close the connection now (then call :meth:`stop` when it has
        closed). A caller that was late (``now`` well past a deadline) gets the
        overdue pong handled first, as the timers would have fired in that order.
        """
        actions: list[Action] = []
        while True:
            if self.phase == Phase.AWAITING_PONG and self.overdue(now):
                self._record_miss()
                if self.missed_in_a_row >= self.max_missed:
                    self._move(Phase.DEAD)
                    self.next_ping_at = self.pong_deadline = None
                    actions.append("close")
                    return actions
                self._move(Phase.WAITING)
                self.pong_deadline = None
                continue
            due = self.next_ping_at
            if not self.running or due is None or now < due:
                return actions
            # The interval fired: its next tick stays on the original cadence
            # (as setInterval's does), skipping ticks a late caller missed.
            skipped = int((now - due) // self.interval)
            self.next_ping_at = due + (skipped + 1) * self.interval
            if self.phase == Phase.AWAITING_PONG:
                continue  # at most one ping in flight: skip this beat
            self._move(Phase.AWAITING_PONG)
            self.pong_deadline = now + self.timeout
            self.pings_sent += 1
            self.beats.append(Beat(self.pings_sent, now))
            actions.append("ping")

    def pong(self, now: float) -> float | None:
        """A ``pong`` arrived at ``now``; return its round-trip time.

        Returns None (and counts it in :attr:`unexpected_pongs`) when no pong
        was awaited or its deadline had already passed: it is too late to
        count, and :meth:`advance` will report the miss.
        """
        if self.phase != Phase.AWAITING_PONG or self.overdue(now):
            self.unexpected_pongs += 1
            return None
        beat = self.beats[-1]
        rtt = now - beat.sent_at
        self.beats[-1] = Beat(beat.number, beat.sent_at, rtt=rtt)
        self.pongs_received += 1
        self.missed_in_a_row = 0
        self._move(Phase.WAITING)
        self.pong_deadline = None  # clearTimeout(pongTimer)
        return rtt

    def retime(self, interval: float, timeout: float, now: float | None = None) -> None:
        """Use another interval and timeout (another preset), keeping the totals.

        A running machine starts again from ``now`` with the new timings.

        Raises:
            ValueError: as for the constructor.
        """
        HeartbeatMachine(interval, timeout, max_missed=self.max_missed)  # validate
        self.interval = float(interval)
        self.timeout = float(timeout)
        if self.running and now is not None:
            self.start(now)

    def stop(self) -> None:
        """The connection closed: clear both timers. Idempotent."""
        if self.phase == Phase.STOPPED:
            return
        self._move(Phase.STOPPED)
        self.next_ping_at = self.pong_deadline = None

    # --- internals ------------------------------------------------------------------------

    def _record_miss(self) -> None:
        beat = self.beats[-1]
        self.beats[-1] = Beat(beat.number, beat.sent_at, missed=True)
        self.missed += 1
        self.missed_in_a_row += 1

    def _move(self, phase: Phase) -> None:
        if phase == self.phase and phase != Phase.WAITING:
            return
        if phase not in TRANSITIONS[self.phase]:
            raise RuntimeError(f"no move from {self.phase.value} to {phase.value}")
        self.phase = phase

    def __repr__(self) -> str:
        return (
            f"<HeartbeatMachine {self.interval:g}/{self.timeout:g} {self.phase.value}: "
            f"{self.pings_sent} pings, {self.pongs_received} pongs, {self.missed} missed>"
        )


# --- rule 3: don't log ping/pong in production -----------------------------------------


#: websockets' debug lines about heartbeats: ``> PING 1a 2b [binary, 4 bytes]``,
#: ``< PONG ...``, ``> TEXT 'ping' [4 bytes]``, ``% sent keepalive ping``.
_HEARTBEAT_LINE = re.compile(
    r"^[<>] (PING|PONG) |^[<>] TEXT '(ping|pong)' |(sent|received) keepalive (ping|pong)"
)


class HeartbeatLogFilter(logging.Filter):
    """A :mod:`logging` filter that drops heartbeat lines (rule 3).

    Attach it to a logger or handler, for instance websockets' own logger in
    debug mode, and every Ping/Pong frame and text ``ping``/``pong`` line is
    left out, counted in :attr:`dropped`. Failures are still logged
    ("timed out waiting for keepalive pong", warnings, errors): only the
    routine lines match.
    """

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        """Return False for a heartbeat line at debug or info level."""
        if record.levelno <= logging.INFO and _HEARTBEAT_LINE.search(record.getMessage()):
            self.dropped += 1
            return False
        return True
