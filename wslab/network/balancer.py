"""A round-robin TCP load balancer, on a thread and loop of its own.

The study notes' architecture puts a load balancer in front of the servers::

    Load Balancer
      ↙         ↘
    Server A   Server B

This one works at the TCP level ("layer 4"), like a plain nginx ``stream``
block or an AWS Network Load Balancer: it accepts a connection, picks the next
backend in turn (:class:`~wslab.core.cluster.RoundRobin`), opens a connection to
it, and pipes bytes both ways until either side closes. It never parses the
WebSocket protocol, so the upgrade handshake and every frame pass through
untouched. For the lesson it keeps a :class:`Route` per connection: which
backend it went to, and the first line the client sent (for a WebSocket, the
``GET /?client=alice HTTP/1.1`` of the upgrade request).

:meth:`Balancer.pause` drops every piped connection and refuses new ones
until :meth:`Balancer.resume`: with a single backend, a balancer is a cable
the lesson can unplug (it puts one between the servers and Redis).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from wslab.core.cluster import RoundRobin
from wslab.network.tcpservice import TcpService
from wslab.state.eventlog import EventLog
from wslab.state.observable import Observers

__all__ = ["Balancer", "Route"]

#: Bytes read at a time from either side.
CHUNK = 64 * 1024
#: Seconds to wait for a backend to accept before trying the next one.
CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Route:
    """One connection the balancer passed on (a snapshot).

    Attributes:
        id: 1, 2, 3, ... in the order connections arrived.
        client: the connecting side's ``(host, port)``.
        backend: the index of the backend it went to; -1 if none answered or
            the balancer was paused.
        request_line: the first line the client sent, for a WebSocket the
            HTTP upgrade request (``GET /?client=alice HTTP/1.1``); "" until
            the client has sent something.
        opened, closed: wall-clock times; ``closed`` is None while open.
        bytes_up, bytes_down: bytes piped client → backend and back.
    """

    id: int
    client: tuple[str, int]
    backend: int
    request_line: str = ""
    opened: float = 0.0
    closed: float | None = None
    bytes_up: int = 0
    bytes_down: int = 0

    @property
    def open(self) -> bool:
        return self.closed is None

    @property
    def path(self) -> str:
        """The request path of an HTTP request line, or ""."""
        parts = self.request_line.split(" ")
        return parts[1] if len(parts) == 3 and parts[2].startswith("HTTP/") else ""

    @property
    def client_id(self) -> str:
        """The ``client=`` query parameter of the request path, or ""."""
        values = parse_qs(urlsplit(self.path).query).get("client", [])
        return values[0] if values else ""


class Balancer(TcpService):
    """Accepts TCP connections on one port and spreads them over backends in turn.

    Args:
        backends: ``(host, port)`` pairs, or ``ws://host:port/`` URLs.
        host: the address to listen on (loopback by default).
        port: the port; 0 picks a free one.
        name: shown in thread names (``wslab-<name>``) and the log.

    Use :meth:`start` and :meth:`stop`, or ``with Balancer(...) as lb:``.
    ``routes()``, ``pause()``, ``resume()`` and ``drop()`` are thread-safe.
    """

    def __init__(
        self,
        backends: Sequence[tuple[str, int] | str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "balancer",
    ) -> None:
        self.backends = [_address(b) for b in backends]
        if not self.backends:
            raise ValueError("a balancer needs at least one backend")
        super().__init__(thread_name=f"wslab-{name}", name=name, host=host, port=port)
        self.log = EventLog()
        #: Told each :class:`Route` snapshot when a route opens, changes or closes.
        self.changed: Observers[Route] = Observers()
        self._picker = RoundRobin(len(self.backends))
        self._routes: dict[int, Route] = {}
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._paused = False

    # --- lifecycle (the rest is TcpService's) ---------------------------------

    def __enter__(self) -> Balancer:
        return self.start()

    def _on_listening(self) -> None:
        where = ", ".join(f"{h}:{p}" for h, p in self.backends)
        self.log.record("listening", f"{self.name} on {self.host}:{self.port} → {where}")

    def _after_stop(self) -> None:
        self.log.record("stopped", f"{self.name} stopped")

    async def _close_connections(self) -> None:
        tasks = list(self._tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)

    def _on_exception(self, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        text = str(context.get("message", "error"))
        if exc is not None:
            text = f"{text}: {type(exc).__name__}: {exc}"
        self.log.record("error", text)

    # --- what it is ------------------------------------------------------------

    def url(self, path: str = "/") -> str:
        """A ``ws://`` URL through the balancer, such as ``url("/?client=alice")``."""
        if not path.startswith("/"):
            path = "/" + path
        return f"ws://{self.host}:{self.port}{path}"

    @property
    def next_backend(self) -> int:
        """The backend index the next connection will go to. Not locked: a hint."""
        return self._picker.peek

    @property
    def paused(self) -> bool:
        return self._paused

    def routes(self) -> list[Route]:
        """Every connection so far, oldest first (snapshots). Thread-safe."""
        with self._lock:
            return list(self._routes.values())

    def open_routes(self) -> list[Route]:
        """The connections still being piped."""
        return [r for r in self.routes() if r.open]

    def counts(self) -> list[int]:
        """How many open connections each backend has, by backend index."""
        counts = [0] * len(self.backends)
        for route in self.open_routes():
            if route.backend >= 0:
                counts[route.backend] += 1
        return counts

    def __repr__(self) -> str:
        state = "paused" if self._paused else ("running" if self.running else "stopped")
        where = f"{self.host}:{self.port}"
        return f"<Balancer {self.name!r} {state} on {where}, {len(self.backends)} backends>"

    # --- control -----------------------------------------------------------------

    def pause(self) -> None:
        """Drop every piped connection and refuse new ones until :meth:`resume`.

        Refused connections are accepted and closed at once, so a client sees
        the connection end rather than hang. Idempotent. Thread-safe.
        """
        self._paused = True
        self.log.record("paused", f"{self.name}: dropping connections, refusing new ones")
        if self._thread.alive:
            self._thread.call_soon(self._abort_writers)

    def resume(self) -> None:
        """Accept and pass on connections again. Idempotent. Thread-safe."""
        self._paused = False
        self.log.record("resumed", f"{self.name}: passing connections on again")

    def drop(self) -> None:
        """Close every piped connection now (both sides), but keep accepting. Thread-safe."""
        if self._thread.alive:
            self._thread.call_soon(self._abort_writers)

    # --- piping ---------------------------------------------------------------------

    def _update(self, route_id: int, **changes: Any) -> None:
        with self._lock:
            route = dataclasses.replace(self._routes[route_id], **changes)
            self._routes[route_id] = route
        self.changed.notify(route)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._pipe(reader, writer)
        finally:
            self._tasks.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        with self._lock:
            route_id = len(self._routes) + 1
            self._routes[route_id] = Route(
                route_id, (str(peer[0]), int(peer[1])), -1, opened=time.time()
            )
        if self._paused:
            self.log.record("refused", f"#{route_id}: paused, connection refused")
            writer.transport.abort()
            self._update(route_id, closed=time.time())
            return
        backend, upstream = await self._connect_backend(route_id)
        if upstream is None:
            writer.transport.abort()
            self._update(route_id, closed=time.time())
            return
        up_reader, up_writer = upstream
        self._track(writer, up_writer)
        port = self.backends[backend][1]
        self.log.record("route", f"#{route_id} from port {peer[1]} → backend {backend} ({port})")
        self._update(route_id, backend=backend)
        try:
            await asyncio.gather(
                self._pump(route_id, reader, up_writer, "bytes_up"),
                self._pump(route_id, up_reader, writer, "bytes_down"),
            )
        finally:
            self._untrack(writer, up_writer)
            for side in (writer, up_writer):
                side.close()
            self._update(route_id, closed=time.time())

    async def _connect_backend(
        self, route_id: int
    ) -> tuple[int, tuple[asyncio.StreamReader, asyncio.StreamWriter] | None]:
        # Round-robin picks where to start; a backend that does not answer is
        # skipped for the next one, as nginx does.
        first = self._picker.next()
        for step in range(len(self.backends)):
            index = (first + step) % len(self.backends)
            host, port = self.backends[index]
            try:
                upstream = await asyncio.wait_for(
                    asyncio.open_connection(host, port), CONNECT_TIMEOUT
                )
            except (TimeoutError, OSError) as exc:
                self.log.record("error", f"#{route_id}: backend {index} ({port}) failed: {exc}")
                continue
            return index, upstream
        self.log.record("error", f"#{route_id}: no backend answered; connection closed")
        return -1, None

    async def _pump(
        self,
        route_id: int,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        counter: str,
    ) -> None:
        total = 0
        try:
            while data := await source.read(CHUNK):
                if counter == "bytes_up" and total == 0:
                    self._update(route_id, request_line=_first_line(data))
                total += len(data)
                sink.write(data)
                await sink.drain()
                self._update(route_id, **{counter: total})
            # End of stream: pass the half-close on, as TCP would.
            if sink.can_write_eof() and not sink.transport.is_closing():
                sink.write_eof()
        except (ConnectionError, OSError):
            # One side went away: end the other one too.
            sink.transport.abort()


def _first_line(data: bytes) -> str:
    line = data.split(b"\r\n", 1)[0][:200]
    return line.decode("latin-1") if line.isascii() else ""


def _address(backend: tuple[str, int] | str) -> tuple[str, int]:
    if isinstance(backend, str):
        parts = urlsplit(backend)
        if not parts.hostname or parts.port is None:
            raise ValueError(f"{backend!r}: a backend URL needs a host and a port")
        return parts.hostname, parts.port
    host, port = backend
    return str(host), int(port)
