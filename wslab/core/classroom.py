"""Classroom mode, the pure part: rates, the dashboard's snapshot, URLs, instructions.

An instructor serves a lesson server on the classroom network and students
connect from their own notebooks. This module holds what can be decided
without a socket:

- :class:`RateMeter`: messages per second over a sliding window of nominal
  seconds, with totals and a short history for a sparkline;
- :class:`ClassroomSnapshot`: who is connected, which rooms, the rate — the
  one value the dashboard draws, built by :func:`build_snapshot`;
- :func:`student_urls`: the URL(s) to give students, from the host the server
  listens on and this machine's interface addresses (passed in, so it tests
  without a network; ``wslab.clients.classroom.lan_addresses`` looks them up);
- :func:`exposure_warning` and :func:`join_instructions`: the words.

Pure: no sockets, asyncio or widgets.
"""

from __future__ import annotations

import ipaddress
import random
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "ClassroomSnapshot",
    "RateMeter",
    "StudentPlan",
    "StudentRow",
    "build_snapshot",
    "exposure_warning",
    "is_exposed",
    "is_lan_address",
    "join_instructions",
    "plan_students",
    "sparkline",
    "student_urls",
]

#: Nominal seconds the rate is averaged over.
RATE_WINDOW = 10.0
#: The sparkline: this many buckets of ``RATE_WINDOW / 5`` nominal seconds each.
HISTORY_BUCKETS = 30

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
_WILDCARDS = frozenset({"0.0.0.0", "::", ""})


# --- the message rate -----------------------------------------------------------------


class RateMeter:
    """Counts events and tells their rate over a sliding window.

    Times are nominal seconds on any monotonic clock (the caller converts real
    time with :func:`wslab.core.timescale.nominal_seconds`), so a class run at
    ``WSLAB_TIME_SCALE=0.05`` shows the same messages/s as one run in real time.

    Args:
        window: nominal seconds the rate is averaged over.
        buckets: how many history buckets :meth:`history` returns.
        start: the time counting starts; before a full window has passed, the
            rate is averaged over the time since ``start`` (else the first
            seconds of a lesson would show a rate too low).

    Not thread-safe: feed it from one thread (the server's).
    """

    def __init__(
        self, window: float = RATE_WINDOW, buckets: int = HISTORY_BUCKETS, start: float = 0.0
    ) -> None:
        if not window > 0:
            raise ValueError(f"the window must be positive, got {window!r}")
        if buckets < 1:
            raise ValueError(f"buckets must be at least 1, got {buckets!r}")
        self.window = float(window)
        self.buckets = buckets
        self.bucket_width = self.window / 5
        self.start = start
        self.total = 0
        # Event times within the longest span anyone asks about: the rate's
        # window or the history's. Bounded by the rate, not by the total.
        self._times: deque[float] = deque()
        self._span = max(self.window, self.bucket_width * buckets)

    def add(self, now: float, count: int = 1) -> None:
        """Count ``count`` events at time ``now`` (times never go backwards)."""
        if count < 0:
            raise ValueError("count must be 0 or more")
        self.total += count
        self._times.extend([now] * count)
        self._prune(now)

    def _prune(self, now: float) -> None:
        horizon = now - self._span
        while self._times and self._times[0] <= horizon:
            self._times.popleft()

    def count(self, now: float, seconds: float | None = None) -> int:
        """Events in the last ``seconds`` (the window by default) up to ``now``."""
        span = self.window if seconds is None else seconds
        self._prune(now)
        horizon = now - span
        return sum(1 for t in self._times if horizon < t <= now)

    def rate(self, now: float) -> float:
        """Events per nominal second over the window (or since ``start``, if shorter)."""
        elapsed = min(self.window, now - self.start)
        if elapsed <= 0:
            return 0.0
        return self.count(now, elapsed) / elapsed

    def history(self, now: float) -> tuple[float, ...]:
        """The rate in each of the last :attr:`buckets` buckets, oldest first."""
        self._prune(now)
        counts = [0] * self.buckets
        oldest = now - self.bucket_width * self.buckets
        for t in self._times:
            if oldest < t <= now:
                index = min(int((t - oldest) / self.bucket_width), self.buckets - 1)
                counts[index] += 1
        return tuple(c / self.bucket_width for c in counts)


_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    """A text sparkline, one bar per value, scaled to the largest (``""`` if empty)."""
    if not values:
        return ""
    top = max(values)
    if top <= 0:
        return _BARS[0] * len(values)
    return "".join(
        _BARS[min(int(v / top * (len(_BARS) - 1) + 0.5), len(_BARS) - 1)] for v in values
    )


# --- what the dashboard shows -----------------------------------------------------------


@dataclass(frozen=True)
class StudentRow:
    """One connected student as the dashboard shows them.

    Attributes:
        peer: the server's connection id (``"#3"``).
        name: their ``hello`` name, or the connection id until they say it.
        address: where they connect from (``"192.168.1.23:50123"``).
        rooms: the rooms they are in, in joining order.
        sent: how many messages they sent to the server (every frame:
            ``hello`` and ``join`` count as well as what they say).
    """

    peer: str
    name: str
    address: str
    rooms: tuple[str, ...] = ()
    sent: int = 0


@dataclass(frozen=True)
class ClassroomSnapshot:
    """Who is connected, which rooms, and how busy it is, at one moment.

    Attributes:
        students: every connection, in connecting order.
        rooms: every room and its members' names, by room name.
        rate: messages received per nominal second over the rate window.
        total: messages received since the dashboard started watching.
        history: the rate per sparkline bucket, oldest first.
        joined: connections ever seen; ``left``: how many of them closed.
    """

    students: tuple[StudentRow, ...] = ()
    rooms: tuple[tuple[str, tuple[str, ...]], ...] = ()
    rate: float = 0.0
    total: int = 0
    history: tuple[float, ...] = ()
    joined: int = 0
    left: int = 0

    @property
    def names(self) -> list[str]:
        """The connected students' names, in connecting order."""
        return [s.name for s in self.students]

    @property
    def room_members(self) -> dict[str, list[str]]:
        """Each room's member names: handy for assertions."""
        return {room: list(members) for room, members in self.rooms}

    def student(self, name: str) -> StudentRow:
        """The row of the student called ``name``.

        Raises:
            KeyError: nobody connected has that name.
        """
        for row in self.students:
            if row.name == name:
                return row
        raise KeyError(f"no student called {name!r} is connected")


def build_snapshot(
    students: Iterable[tuple[str, str, str, Sequence[str]]],
    rooms: Mapping[str, Sequence[str]],
    sent: Mapping[str, int],
    meter: RateMeter,
    now: float,
    *,
    joined: int = 0,
    left: int = 0,
) -> ClassroomSnapshot:
    """Put together what the dashboard shows.

    Args:
        students: ``(peer, name, address, rooms)`` for each open connection,
            in connecting order.
        rooms: each room's member names, as the server's registry has them.
        sent: messages received per peer id (peers not listed sent none).
        meter: the server's message rate meter.
        now: the nominal time of the snapshot (the meter's clock).
        joined, left: connections ever seen, and how many of them closed.

    Returns:
        A :class:`ClassroomSnapshot`; rooms sorted by name, so a redraw does
        not reshuffle them.
    """
    rows = tuple(
        StudentRow(peer, name, address, tuple(in_rooms), sent.get(peer, 0))
        for peer, name, address, in_rooms in students
    )
    return ClassroomSnapshot(
        students=rows,
        rooms=tuple((room, tuple(rooms[room])) for room in sorted(rooms)),
        rate=meter.rate(now),
        total=meter.total,
        history=meter.history(now),
        joined=joined,
        left=left,
    )


# --- where students connect ---------------------------------------------------------------


def is_exposed(host: str) -> bool:
    """Whether a server listening on ``host`` can be reached from other machines.

    Loopback (``127.0.0.1``, ``::1``, ``localhost``) is this machine only;
    anything else — a wildcard like ``0.0.0.0`` or a LAN address — is not.
    """
    if host.lower() in _LOOPBACK_NAMES:
        return False
    try:
        return not ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return True  # a host name: it may resolve to anything


def is_lan_address(address: str) -> bool:
    """Whether students on the network could reach this interface address.

    Loopback, link-local (``169.254.*``, ``fe80::``), unspecified and
    multicast addresses are not; private and public ones are.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # fe80::1%eth0
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast)


def _url(host: str, port: int, secure: bool) -> str:
    scheme = "wss" if secure else "ws"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}/"


def student_urls(
    host: str, port: int, addresses: Iterable[str], *, secure: bool = False
) -> list[str]:
    """The URL(s) students should use to reach a server on ``host:port``.

    Args:
        host: what the server listens on.
        port: its port.
        addresses: this machine's interface addresses (see
            ``wslab.clients.classroom.lan_addresses``); only used for a
            wildcard host, which listens on all of them.
        secure: ``wss://`` instead of ``ws://``.

    Returns:
        For a wildcard host (``0.0.0.0``: IPv4 only; ``::``: both), one URL per
        LAN address, IPv4 first; for any other host, its own URL (a loopback
        URL reaches this machine only: see :func:`is_exposed`).
    """
    if host not in _WILDCARDS:
        return [_url(host, port, secure)]
    seen: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for address in addresses:
        if not is_lan_address(address):
            continue
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if host == "0.0.0.0" and ip.version != 4:
            continue  # 0.0.0.0 listens on IPv4 only
        if ip not in seen:
            seen.append(ip)
    seen.sort(key=lambda ip: ip.version)  # stable: the interfaces' order within a family
    return [_url(str(ip), port, secure) for ip in seen]


def exposure_warning(host: str, port: int, urls: Sequence[str], *, stop: str) -> str:
    """What to tell the instructor about who can connect; ``""`` when loopback.

    Args:
        host, port: where the server listens.
        urls: the URLs students use (:func:`student_urls`).
        stop: how to stop it (``"Ctrl-C"``, ``'stop_server("classroom")'``).
    """
    if not is_exposed(host):
        return ""
    where = ", ".join(urls) if urls else f"port {port} on every address of this machine"
    return (
        f"Listening on {host}:{port}: anyone on this network can connect ({where}), "
        "not just your students. Use it on a network you trust, for the length of the "
        f"class; stop it with {stop}."
    )


def join_instructions(url: str, *, room: str = "general") -> str:
    """What a student types in their own notebook to join the class at ``url``."""
    return (
        "from wslab import WebSocket\n"
        "import json\n\n"
        f'ws = WebSocket("{url}")\n'
        'await ws.wait_for("open")\n'
        'ws.send(json.dumps({"type": "hello", "name": "YOUR NAME"}))\n'
        f'ws.send(json.dumps({{"type": "join", "room": "{room}"}}))\n'
        f'ws.send(json.dumps({{"type": "message", "room": "{room}", "text": "Hi all!"}}))'
    )


# --- simulated students -------------------------------------------------------------------


@dataclass(frozen=True)
class StudentPlan:
    """What one simulated student does.

    Attributes:
        name: the name they say hello with.
        rooms: the rooms they join, in order.
        every: nominal seconds between their messages.
        first: nominal seconds before their first message.
        leave_after: how many messages they send before they close the
            connection (0: they stay until the crew stops).
    """

    name: str
    rooms: tuple[str, ...]
    every: float = 5.0
    first: float = 1.0
    leave_after: int = 0


_FIRST = (
    "Ada", "Alan", "Barbara", "Claude", "Donald", "Edsger", "Frances", "Grace", "Hedy",
    "John", "Katherine", "Ken", "Linus", "Margaret", "Niklaus", "Radia", "Shafi", "Tim",
)  # fmt: skip


def plan_students(
    count: int,
    rooms: Sequence[str] = ("general", "help", "random"),
    *,
    every: float = 5.0,
    leavers: float = 0.0,
    seed: int = 0,
) -> list[StudentPlan]:
    """Plans for ``count`` simulated students: unique names, one or two rooms each.

    Student ``i`` joins ``rooms[i % len(rooms)]`` and every third one the
    next room too; their pace is ``every`` nominal seconds give or take a
    quarter, and a share ``leavers`` of them leave after a few messages.
    Deterministic for a given ``seed``.

    Raises:
        ValueError: for a negative count, no rooms, or ``leavers`` outside 0..1.
    """
    if count < 0:
        raise ValueError("count must be 0 or more")
    if not rooms:
        raise ValueError("students need at least one room")
    if not 0.0 <= leavers <= 1.0:
        raise ValueError("leavers is a share, between 0 and 1")
    rng = random.Random(seed)
    leaving = set(rng.sample(range(count), round(count * leavers)))
    plans = []
    for i in range(count):
        name = f"{_FIRST[i % len(_FIRST)]}-{i + 1:03d}"
        # Spread out, so a room's fan-out stays that of a class, not of everyone.
        joined: tuple[str, ...] = (rooms[i % len(rooms)],)
        if i % 3 == 0 and len(rooms) > 1:
            joined += (rooms[(i + 1) % len(rooms)],)
        plans.append(
            StudentPlan(
                name,
                joined,
                every=every * rng.uniform(0.75, 1.25),
                first=rng.uniform(0.0, every),
                leave_after=rng.randint(1, 3) if i in leaving else 0,
            )
        )
    return plans
