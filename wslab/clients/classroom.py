"""Classroom mode, the live part: this machine's addresses, the monitor, simulated students.

:mod:`wslab.core.classroom` decides what to show; this module gathers it:

- :func:`lan_addresses` asks the operating system for this machine's
  interface addresses (psutil), keeping those students could reach;
- :func:`classroom_urls`: the URL(s) students use for a running server;
- :class:`ClassroomMonitor` watches a running lesson server — its event log
  for connections and messages, its registry for names and rooms — and
  publishes a :class:`~wslab.core.classroom.ClassroomSnapshot` at most
  ``1 / interval`` times a second;
- :func:`start_students` starts a crew of simulated students (real
  WebSocket clients on a thread of their own) that say hello, join rooms,
  chat at a pace, and sometimes leave.

Everything that reads the server's state runs on the server's own loop, so
a snapshot never catches the registry half-changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import ServerConnection

from wslab.clients import bots as _bots
from wslab.clients.bots import Bot, RoomBot, RoomBotCrew, stop_bots
from wslab.core.classroom import (
    RATE_WINDOW,
    ClassroomSnapshot,
    RateMeter,
    StudentPlan,
    build_snapshot,
    exposure_warning,
    student_urls,
)
from wslab.core.eventlog import LogEntry, peer_address
from wslab.core.timescale import nominal_seconds
from wslab.runtime.keeper import Keeper
from wslab.runtime.runner import RunningServer
from wslab.servers.base import LessonServer
from wslab.state.observable import Observers
from wslab.state.rooms import Rooms

__all__ = [
    "ClassroomMonitor",
    "Student",
    "StudentCrew",
    "classroom_urls",
    "classroom_warning",
    "lan_addresses",
    "start_students",
]

#: Real seconds between two snapshots at most: 4 redraws a second, however
#: many students type (a redraw per message would flood the front-end).
SNAPSHOT_INTERVAL = 0.25


def lan_addresses() -> list[str]:
    """This machine's IPv4 and IPv6 addresses that others on a network could reach.

    Loopback and link-local addresses are left out (see
    :func:`wslab.core.classroom.is_lan_address`). The order is the interfaces'.
    """
    import socket

    import psutil

    from wslab.core.classroom import is_lan_address

    found = []
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family in (socket.AF_INET, socket.AF_INET6) and is_lan_address(
                address.address
            ):
                found.append(address.address.split("%", 1)[0])
    return found


def classroom_urls(server: RunningServer) -> list[str]:
    """The URL(s) students use for ``server`` (its own URL when it is loopback only)."""
    return student_urls(
        server.host, server.port, lan_addresses(), secure=server.ssl is not None
    ) or [server.url]


def classroom_warning(server: RunningServer, stop: str | None = None) -> str:
    """Who can connect to ``server`` and how to stop it; ``""`` when loopback only."""
    stop = stop or f'stop_server("{server.name}")'
    return exposure_warning(server.host, server.port, classroom_urls(server), stop=stop)


# --- the monitor ---------------------------------------------------------------------------


def _now() -> float:
    # Nominal seconds on the monotonic clock. The scale is read on every call:
    # a dashboard's rate jumps if set_time_scale() changes it while it runs.
    return nominal_seconds(time.monotonic())


_monitors: Keeper[ClassroomMonitor] = Keeper()


class ClassroomMonitor:
    """Watches a running lesson server and publishes what a classroom dashboard shows.

    Works with any lesson server: names come from its ``name_of`` (the rooms
    server) or ``roster`` (the chat server), rooms from its ``rooms``
    registry; a server without them shows connection ids and no rooms.

    Args:
        server: the running server to watch.
        window: nominal seconds the message rate is averaged over.
        interval: real seconds between snapshots at most.

    Attributes:
        snapshot: the latest :class:`~wslab.core.classroom.ClassroomSnapshot`.
        changed: told each new snapshot, on the server's thread.

    One monitor per server name: making another stops the earlier one (a
    dashboard cell run again does not leave two ticking).
    """

    def __init__(
        self,
        server: RunningServer,
        *,
        window: float = RATE_WINDOW,
        interval: float = SNAPSHOT_INTERVAL,
    ) -> None:
        self.server = server
        self.interval = interval
        self.snapshot = ClassroomSnapshot()
        self.changed: Observers[ClassroomSnapshot] = Observers()
        self._meter = RateMeter(window, start=_now())
        self._sent: dict[str, int] = {}
        self._joined = 0
        self._left = 0
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] = lambda: None
        if server.running:
            server.call(self._begin())
        _monitors.replace(server.name, lambda: self)

    async def _begin(self) -> None:
        # On the server's loop: count who is here already, then follow the log.
        self._joined = len(_lesson_app(self.server).peers)
        self._unsubscribe = self.server.log.subscribe(self._on_entry)
        self._publish()
        self._task = asyncio.create_task(self._tick())

    def _on_entry(self, entry: LogEntry) -> None:
        # Called on the recording thread; the server records on its own,
        # except "stopped", which counts nothing.
        if entry.kind == "message" and entry.direction == "in":
            self._sent[entry.peer] = self._sent.get(entry.peer, 0) + 1
            self._meter.add(_now())
        elif entry.kind == "connect":
            self._joined += 1
        elif entry.kind == "close":
            self._left += 1
            self._sent.pop(entry.peer, None)

    async def _tick(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.interval)
            self._publish()

    def _collect(self) -> ClassroomSnapshot:
        app = _lesson_app(self.server)
        registry = getattr(app, "rooms", None)
        rooms: Rooms[Any] | None = registry if isinstance(registry, Rooms) else None
        name_of = _namer(app)
        students = [
            (
                peer,
                name_of(ws, peer),
                peer_address(ws.remote_address),
                rooms.rooms_of(ws) if rooms else [],
            )
            for ws, peer in list(app.peers.items())
        ]
        by_room = {}
        if rooms is not None:
            by_room = {
                room: [name_of(ws, app.peers.get(ws, "?")) for ws in members]
                for room, members in rooms.snapshot().items()
            }
        return build_snapshot(
            students, by_room, self._sent, self._meter, _now(), joined=self._joined, left=self._left
        )

    def _publish(self) -> ClassroomSnapshot:
        snapshot = self._collect()
        if snapshot != self.snapshot:
            self.snapshot = snapshot
            self.changed.notify(snapshot)
        return snapshot

    async def _refresh(self) -> ClassroomSnapshot:
        return self._publish()

    def refresh(self, timeout: float = 5.0) -> ClassroomSnapshot:
        """Take a snapshot now (on the server's loop) and return it.

        For a cell that checks what the dashboard shows; the dashboard itself
        is updated by the monitor's own tick. Call it from the kernel's thread.
        """
        if self._closed or not self.server.running:
            return self.snapshot
        snapshot: ClassroomSnapshot = self.server.call(self._refresh(), timeout)
        return snapshot

    def stop(self) -> None:
        """Stop watching (the server keeps running). Idempotent; any thread."""
        if self._closed:
            return
        self._closed = True
        self._unsubscribe()
        task = self._task
        if task is not None and self.server.running:
            # The server's loop may close meanwhile: the task is gone with it.
            with contextlib.suppress(RuntimeError):
                task.get_loop().call_soon_threadsafe(task.cancel)
        _monitors.forget(self.server.name, self)

    @property
    def running(self) -> bool:
        return not self._closed and self.server.running


def _lesson_app(server: RunningServer) -> LessonServer:
    app = server.app
    if not isinstance(app, LessonServer):
        raise TypeError(f"a classroom monitor watches a lesson server, not {type(app).__name__}")
    return app


def _namer(app: Any) -> Callable[[ServerConnection, str], str]:
    """How a server shows a connection: its ``name_of``, its roster, or the peer id."""
    name_of = getattr(app, "name_of", None)
    if callable(name_of):
        return lambda ws, peer: str(name_of(ws))
    roster = getattr(app, "roster", None)
    if roster is not None:
        return lambda ws, peer: roster.name_of(ws) or peer
    return lambda ws, peer: peer


# --- simulated students -------------------------------------------------------------------


@dataclass(frozen=True)
class Student(RoomBot):
    """A simulated student: a room bot that may leave after ``leave_after`` messages.

    Its ``lines`` are ``say`` steps in its rooms, in turn.
    """

    @classmethod
    def from_plan(cls, plan: StudentPlan) -> Student:
        """The student :func:`wslab.core.classroom.plan_students` planned."""
        lines = tuple(
            f"say {room} {plan.name} here, message {n} in {room}"
            for n in range(1, 3)
            for room in plan.rooms
        )
        return cls(
            plan.name,
            lines,
            every=plan.every,
            first=plan.first,
            rooms=plan.rooms,
            leave_after=plan.leave_after,
        )


class StudentCrew(RoomBotCrew):
    """Simulated students on one rooms server, on a thread and loop of their own.

    A :class:`~wslab.clients.bots.RoomBotCrew` whose members do not answer
    mentions. Kept with the bots (:func:`wslab.stop_bots` stops them too).
    Each student connects, says hello, joins its rooms, then says its lines
    at its pace; a student with ``leave_after`` closes its connection after
    that many.

    Attributes:
        said: messages the students sent so far (read from any thread).
        gone: names of the students who left.
    """

    async def _hear(self, bot: Bot, ws: ClientConnection, rooms: set[str]) -> None:
        # Students chat, they do not play bot; reading what the rooms send
        # keeps the server's buffers from filling up.
        async for _ in ws:
            pass


def start_students(
    url: str, plans: Sequence[StudentPlan], *, key: str = "students", timeout: float = 20.0
) -> StudentCrew:
    """Start simulated students on the rooms server at ``url``.

    Replaces any crew under ``key``; returns once every student has said
    hello and joined its rooms. Stop them with ``crew.stop()`` or
    :func:`wslab.stop_bots`.
    """
    stop_bots(key)
    crew = StudentCrew(key, url, [Student.from_plan(plan) for plan in plans])
    try:
        crew.start(timeout)
    except BaseException:
        crew.stop()  # a class that could not arrive in time leaves no thread behind
        raise
    return _bots.register_crew(crew)
