"""A middlebox that kills idle connections: what lesson 9's heartbeat is for.

Between a browser and a server there is rarely just a cable: a NAT router at
home, a carrier-grade NAT on a phone network, a load balancer in front of the
server (AWS's Application Load Balancer closes connections idle for 60 s).
Each keeps a table of the connections passing through, and forgets the ones
that stayed quiet longer than its idle limit. Most forget **silently**: no
FIN, no RST to anyone. From then on, packets of that connection go nowhere,
and both ends still believe it is open.

:class:`Middlebox` is such a box, as a TCP proxy on a thread and event loop
of its own (named ``wslab-middlebox-<name>``, like the lesson servers)::

    box = start_middlebox(server.port, idle_limit=60)   # nominal seconds
    ws = WebSocket(box.url(server.url))                 # through the box
    ...                                                 # 60 s of silence later:
    box.routes()[0].state                               # "black-holed"
    box.stop()

A route idle past ``idle_limit`` is dropped in one of two ways:

- ``mode="silent"`` (the default, and the usual case): the box stops
  forwarding and forgets the route, but keeps both sockets open. Whatever
  either side sends is read and thrown away (:attr:`Route.swallowed_up`,
  :attr:`Route.swallowed_down`): the sender's TCP sees its bytes
  acknowledged, by the box, and suspects nothing;
- ``mode="reset"``: the box sends a TCP RST to both sides, as some
  firewalls and load balancers do: both notice at once.

:meth:`Middlebox.drop_all` does the same on demand, idle or not: a NAT box
that reboots, a phone that moves from Wi-Fi to 4G. "Idle" counts bytes in
either direction, as NAT and load-balancer timers do; the idle limit is
nominal seconds, read through :func:`~wslab.core.timescale.real_seconds` at every
check, so the course's time scale speeds the box up too.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from wslab.core.timescale import real_seconds
from wslab.network.tcpservice import TcpService
from wslab.runtime.keeper import Keeper
from wslab.state.eventlog import EventLog

__all__ = [
    "DropMode",
    "Middlebox",
    "Route",
    "RouteState",
    "running_middleboxes",
    "start_middlebox",
    "stop_middlebox",
    "stop_middleboxes",
]

#: ``"silent"``: forget the route and swallow its bytes; ``"reset"``: RST both sides.
DropMode = Literal["silent", "reset"]
#: Where a route through the box is.
RouteState = Literal["connecting", "forwarding", "black-holed", "reset", "closed"]

_READ_SIZE = 1 << 16
#: The idle check runs this many times per idle limit (and at least every 0.5 s).
_CHECKS_PER_LIMIT = 20
#: The longest (real seconds) a call from another thread waits for the box's loop.
CALL_TIMEOUT = 5.0

_kept: Keeper[Middlebox] = Keeper("middleboxes", default="middlebox")


@dataclass(frozen=True)
class Route:
    """One connection through the box, as it was when asked.

    Attributes:
        number: 1 for the first connection through the box, then 2, 3, ...
        state: ``"connecting"`` (to the server), ``"forwarding"``,
            ``"black-holed"`` (silently dropped), ``"reset"`` or ``"closed"``.
        forwarded_up, forwarded_down: bytes passed on, client → server and
            server → client.
        swallowed_up, swallowed_down: bytes read after a silent drop and
            thrown away.
        idle: real seconds since the last byte was forwarded.
        dropped_after: the nominal idle seconds that got it dropped (None if
            it was not dropped for idleness).
    """

    number: int
    state: RouteState
    forwarded_up: int
    forwarded_down: int
    swallowed_up: int
    swallowed_down: int
    idle: float
    dropped_after: float | None = None


@dataclass
class _Route:
    number: int
    client_w: asyncio.StreamWriter
    last_activity: float
    server_w: asyncio.StreamWriter | None = None
    state: RouteState = "connecting"
    dropped_after: float | None = None
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("forwarded_up", "forwarded_down", "swallowed_up", "swallowed_down"), 0
        )
    )


class Middlebox(TcpService):
    """A TCP proxy that drops connections idle past its limit, silently or with RST.

    Args:
        target_port: the server's port.
        target_host: the server's address.
        idle_limit: nominal seconds of silence before a route is dropped;
            None never drops for idleness (only :meth:`drop_all`).
        mode: how idle routes are dropped: ``"silent"`` or ``"reset"``.
        host: where the box listens (loopback).
        port: the box's port; 0 picks a free one.
        name: the thread is ``wslab-middlebox-<name>``.

    Attributes:
        log: what the box did: ``connect``, ``dropped``, ``reset``, ``closed``.

    Thread-safe: forwarding happens on the box's thread; :meth:`routes`,
    :meth:`drop_all` and :meth:`stop` may be called from any other.

    Raises:
        ValueError: a negative idle limit or an unknown mode.
    """

    def __init__(
        self,
        target_port: int,
        target_host: str = "127.0.0.1",
        *,
        idle_limit: float | None = 60.0,
        mode: DropMode = "silent",
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "middlebox",
    ) -> None:
        if idle_limit is not None and not idle_limit > 0:
            raise ValueError("the idle limit must be a positive number of seconds, or None")
        if mode not in ("silent", "reset"):
            raise ValueError(f'mode is "silent" or "reset", not {mode!r}')
        super().__init__(thread_name=f"wslab-middlebox-{name}", name=name, host=host, port=port)
        self.target_host = target_host
        self.target_port = target_port
        self.idle_limit = idle_limit
        self.mode: DropMode = mode
        self.log = EventLog()
        self._lock = threading.Lock()
        self._routes: dict[int, _Route] = {}
        self._count = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # --- lifecycle (the rest is TcpService's) -----------------------------------------

    def _on_listening(self) -> None:
        self._spawn(self._watch_idle())
        self.log.record("listening", f"{self.name}: {self.host}:{self.port} → {self._target}")

    def _after_stop(self) -> None:
        self.log.record("stopped", f"{self.name} stopped")
        _kept.forget(self.name, self)

    async def _close_connections(self) -> None:
        # Drop every connection abruptly.
        with self._lock:
            routes = list(self._routes.values())
        for route in routes:
            for writer in (route.client_w, route.server_w):
                if writer is not None:
                    writer.transport.abort()
            if route.state in ("connecting", "forwarding", "black-holed"):
                route.state = "closed"
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- addresses and state -----------------------------------------------------------

    def url(self, url: str) -> str:
        """``url`` with its host and port replaced by the box's: send a client here."""
        parts = urlsplit(url)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return urlunsplit(parts._replace(netloc=f"{host}:{self.port}"))

    @property
    def _target(self) -> str:
        return f"{self.target_host}:{self.target_port}"

    def routes(self) -> list[Route]:
        """Every connection through the box so far, oldest first. Thread-safe."""
        now = self._now()
        with self._lock:
            return [
                Route(
                    r.number,
                    r.state,
                    r.counts["forwarded_up"],
                    r.counts["forwarded_down"],
                    r.counts["swallowed_up"],
                    r.counts["swallowed_down"],
                    max(0.0, now - r.last_activity),
                    r.dropped_after,
                )
                for r in self._routes.values()
            ]

    def count(self, state: RouteState) -> int:
        """How many routes are in ``state`` now."""
        return sum(route.state == state for route in self.routes())

    def _now(self) -> float:
        # The box's loop clock (monotonic), readable from any thread.
        try:
            return self._thread.loop.time()
        except RuntimeError:
            return 0.0

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        limit = "no idle limit" if self.idle_limit is None else f"idle limit {self.idle_limit:g} s"
        return (
            f"<Middlebox {self.name!r} {state} {self.host}:{self.port} → {self._target}, "
            f"{limit}, {self.mode}>"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>#{r.number}</td><td>{r.state}</td>"
            f"<td>{r.forwarded_up} / {r.forwarded_down}</td>"
            f"<td>{r.swallowed_up} / {r.swallowed_down}</td></tr>"
            for r in self.routes()
        )
        limit = "none" if self.idle_limit is None else f"{self.idle_limit:g} s"
        return (
            f"<b>middlebox {self.name}</b> ({self.mode}, idle limit {limit}) at "
            f"<code>{self.host}:{self.port}</code> → <code>{self._target}</code>"
            "<table style='font-family:monospace;font-size:12px'><tr><th>route</th><th>state</th>"
            f"<th>forwarded ↑/↓ bytes</th><th>swallowed ↑/↓ bytes</th></tr>{rows}</table>"
        )

    # --- dropping ------------------------------------------------------------------------

    def drop_all(self, mode: DropMode | None = None) -> int:
        """Drop every forwarding route now, idle or not; return how many.

        The box rebooting, or the phone changing network: ``mode`` defaults to
        the box's own. Thread-safe (not from the box's own thread).
        """
        chosen: DropMode = self.mode if mode is None else mode
        if chosen not in ("silent", "reset"):
            raise ValueError(f'mode is "silent" or "reset", not {chosen!r}')
        if not self.running:
            return 0

        async def drop() -> int:
            with self._lock:
                routes = [r for r in self._routes.values() if r.state == "forwarding"]
            for route in routes:
                self._drop(route, chosen, None)
            return len(routes)

        return self._thread.run(drop(), CALL_TIMEOUT)

    def _drop(self, route: _Route, mode: DropMode, idle_for: float | None) -> None:
        why = "on demand" if idle_for is None else f"after {idle_for:g} s idle"
        with self._lock:
            route.dropped_after = idle_for
            route.state = "black-holed" if mode == "silent" else "reset"
        if mode == "silent":
            # Nothing is sent to anybody: that is the point.
            self.log.record("dropped", f"#{route.number} silently dropped {why}")
            return
        for writer in (route.client_w, route.server_w):
            if writer is not None:
                _reset(writer)
        self.log.record("reset", f"#{route.number} reset (RST to both sides) {why}")

    async def _watch_idle(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            limit = self.idle_limit
            real_limit = real_seconds(limit) if limit is not None else 1.0
            await asyncio.sleep(max(0.001, min(0.5, real_limit / _CHECKS_PER_LIMIT)))
            if limit is None:
                continue
            real_limit = real_seconds(limit)  # the scale may have changed meanwhile
            now = loop.time()
            with self._lock:
                idle = [
                    r
                    for r in self._routes.values()
                    if r.state == "forwarding" and now - r.last_activity >= real_limit
                ]
            for route in idle:
                self._drop(route, self.mode, limit)

    # --- forwarding, on the box's loop ------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_exception(self, context: dict[str, Any]) -> None:
        self.log.record("error", str(context.get("message", "error")))

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        current = asyncio.current_task()
        if current is not None:  # stop() cancels the routes' tasks too
            self._tasks.add(current)
            current.add_done_callback(self._tasks.discard)
        loop = asyncio.get_running_loop()
        with self._lock:
            self._count += 1
            route = _Route(self._count, client_w, loop.time())
            self._routes[route.number] = route
        self.log.record("connect", f"#{route.number} connected; forwarding to {self._target}")
        try:
            try:
                server_r, server_w = await asyncio.open_connection(
                    self.target_host, self.target_port
                )
            except OSError as exc:
                self.log.record("error", f"#{route.number}: cannot reach {self._target}: {exc}")
                return
            with self._lock:
                route.server_w = server_w
                if route.state == "connecting":
                    route.state = "forwarding"
                route.last_activity = loop.time()
            try:
                await asyncio.gather(
                    self._pump(client_r, server_w, route, "up"),
                    self._pump(server_r, client_w, route, "down"),
                )
            finally:
                if route.state == "reset":
                    server_w.transport.abort()
                else:
                    server_w.close()
        finally:
            if route.state == "reset":
                client_w.transport.abort()
            else:
                client_w.close()
            with self._lock:
                if route.state in ("connecting", "forwarding"):
                    route.state = "closed"
            if route.state == "closed":
                self.log.record("closed", f"#{route.number} closed")

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        route: _Route,
        direction: Literal["up", "down"],
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            while data := await reader.read(_READ_SIZE):
                with self._lock:
                    forwarding = route.state == "forwarding"
                    key = "forwarded_" if forwarding else "swallowed_"
                    route.counts[key + direction] += len(data)
                    if forwarding:
                        route.last_activity = loop.time()
                if forwarding:
                    writer.write(data)
                    await writer.drain()
            # The end of this side's stream.
            if route.state == "forwarding":
                # Pass the half-close on, as a plain path would.
                if writer.can_write_eof():
                    writer.write_eof()
            else:
                # Black-holed: the box tells the other side nothing. It closes
                # only its own end toward the side that left.
                _sender_of(route, direction).close()
        except (ConnectionError, OSError):
            if route.state == "forwarding":
                # One side dropped: drop the other too, as a broken path would.
                writer.transport.abort()
            else:
                _sender_of(route, direction).transport.abort()


def _sender_of(route: _Route, direction: Literal["up", "down"]) -> asyncio.StreamWriter:
    """The writer of the socket that ``direction``'s bytes come from."""
    if direction == "up" or route.server_w is None:
        return route.client_w
    return route.server_w


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close a connection with a TCP RST instead of a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        # SO_LINGER on, with a zero timeout: close() discards unsent data and
        # sends RST. That is how a box "resets" a connection.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def start_middlebox(
    target_port: int,
    target_host: str = "127.0.0.1",
    *,
    name: str = "middlebox",
    **options: Any,
) -> Middlebox:
    """Start a :class:`Middlebox` kept under ``name``, stopping an older one of that name.

    Re-running a cell that starts a box therefore never leaves two behind.
    ``options`` are the box's (``idle_limit``, ``mode``, ...).
    """
    return _kept.replace(
        name, lambda: Middlebox(target_port, target_host, name=name, **options).start()
    )


# The keeper's own methods, under the names the notebooks use.
stop_middlebox = _kept.stop
running_middleboxes = _kept.items
stop_middleboxes = _kept.stop_all
