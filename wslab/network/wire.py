"""A recording TCP proxy: what anyone on the path between client and server sees.

A :class:`Wiretap` listens on a port of its own and forwards every connection
to a target server, byte for byte, recording each chunk in both directions.
Point a client at the tap instead of the server and you can read exactly
what crossed the wire: an HTTP upgrade request, WebSocket frames, or, over
TLS, nothing but ciphertext::

    tap = start_wiretap(server.port)         # forwards 127.0.0.1:<tap.port> → server
    ws = WebSocket(tap.url(server.url))      # same URL, the tap's port
    ...
    tap.data("up")                           # every byte the client sent
    tap.data("down")                         # every byte the server sent
    tap.stop()

It knows nothing about HTTP, WebSocket or TLS: it moves bytes. It runs on a
thread and event loop of its own (named ``wslab-wiretap-<name>``), like the
lesson servers, so it keeps forwarding while a cell blocks. Taps are kept by
name: starting one with the name of a running one stops the older first.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from wslab.network.tcpservice import TcpService
from wslab.runtime.keeper import Keeper
from wslab.state.observable import Observers

__all__ = [
    "Chunk",
    "TapDirection",
    "Wiretap",
    "hexdump",
    "running_wiretaps",
    "start_wiretap",
    "stop_wiretap",
    "stop_wiretaps",
]

#: ``"up"``: client to server; ``"down"``: server to client.
TapDirection = Literal["up", "down"]

#: Bytes kept per tap; later bytes are forwarded but not recorded.
MAX_RECORDED = 4 << 20
_READ_SIZE = 1 << 16

_kept: Keeper[Wiretap] = Keeper("wiretaps", default="wiretap")


@dataclass(frozen=True)
class Chunk:
    """Bytes that crossed the tap in one read.

    Attributes:
        connection: which connection through the tap: 1, 2, ...
        direction: ``"up"`` (client → server) or ``"down"`` (server → client).
        data: the bytes, exactly as they were on the wire.
        time: wall-clock time they were read (``time.time()``).
    """

    connection: int
    direction: TapDirection
    data: bytes
    time: float


class Wiretap(TcpService):
    """A TCP proxy that records everything it forwards.

    Args:
        target_port: the server's port.
        target_host: the server's address.
        host: where the tap listens (loopback).
        port: the tap's port; 0 picks a free one.
        name: the thread is ``wslab-wiretap-<name>``.
        max_recorded: bytes to keep; the rest is forwarded unrecorded.

    Attributes:
        observers: told each :class:`Chunk` as it is recorded, on the tap's
            thread (wrap a widget update with ``OnKernelThread``).
        errors: what went wrong, such as a target that refused the connection.

    Thread-safe: recording happens on the tap's thread, reading from any.
    """

    def __init__(
        self,
        target_port: int,
        target_host: str = "127.0.0.1",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "wiretap",
        max_recorded: int = MAX_RECORDED,
    ) -> None:
        super().__init__(thread_name=f"wslab-wiretap-{name}", name=name, host=host, port=port)
        self.target_host = target_host
        self.target_port = target_port
        self.max_recorded = max_recorded
        self.observers: Observers[Chunk] = Observers()
        self._lock = threading.Lock()
        self._chunks: list[Chunk] = []
        self._recorded = 0
        self._connections = 0

    # --- lifecycle (the rest is TcpService's) -------------------------------------

    def _after_stop(self) -> None:
        _kept.forget(self.name, self)

    # --- addresses ------------------------------------------------------------------

    def url(self, url: str) -> str:
        """``url`` with its host and port replaced by the tap's: send a client here.

        The scheme, path and query stay, so ``wss://`` stays ``wss://``.
        """
        parts = urlsplit(url)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return urlunsplit(parts._replace(netloc=f"{host}:{self.port}"))

    # --- what was recorded ----------------------------------------------------------

    def chunks(
        self, direction: TapDirection | None = None, connection: int | None = None
    ) -> list[Chunk]:
        """The recorded chunks, in order, optionally of one direction or connection."""
        with self._lock:
            chunks = list(self._chunks)
        return [
            c
            for c in chunks
            if (direction is None or c.direction == direction)
            and (connection is None or c.connection == connection)
        ]

    def data(self, direction: TapDirection | None = None, connection: int | None = None) -> bytes:
        """The recorded bytes joined together (both directions interleaved if not given)."""
        return b"".join(c.data for c in self.chunks(direction, connection))

    def saw(self, needle: str | bytes) -> bool:
        """Whether ``needle`` appears in the bytes of any one direction of any connection.

        Each direction of each connection is searched as one stream, so a
        needle split across two reads is still found.
        """
        wanted = needle.encode() if isinstance(needle, str) else needle
        with self._lock:
            streams = {(c.connection, c.direction) for c in self._chunks}
        return any(wanted in self.data(d, n) for n, d in streams)

    @property
    def connections(self) -> int:
        """How many connections came through the tap."""
        with self._lock:
            return self._connections

    def clear(self) -> None:
        """Forget what was recorded (connections keep their numbers)."""
        with self._lock:
            self._chunks.clear()
            self._recorded = 0

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (
            f"<Wiretap {self.name!r} {state} {self.host}:{self.port} → "
            f"{self.target_host}:{self.target_port}>"
        )

    # --- forwarding, on the tap's loop ---------------------------------------------

    def _record(self, connection: int, direction: TapDirection, data: bytes) -> None:
        chunk = Chunk(connection, direction, data, time.time())
        with self._lock:
            if self._recorded >= self.max_recorded:
                return
            self._chunks.append(chunk)
            self._recorded += len(data)
        self.observers.notify(chunk)

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        with self._lock:
            self._connections += 1
            number = self._connections
        self._track(client_w)
        try:
            try:
                server_r, server_w = await asyncio.open_connection(
                    self.target_host, self.target_port
                )
            except OSError as exc:
                self.errors.append(f"connection {number}: cannot reach the target: {exc}")
                return
            self._track(server_w)
            try:
                await asyncio.gather(
                    self._pump(client_r, server_w, number, "up"),
                    self._pump(server_r, client_w, number, "down"),
                )
            finally:
                self._untrack(server_w)
                server_w.close()
        finally:
            self._untrack(client_w)
            client_w.close()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        number: int,
        direction: TapDirection,
    ) -> None:
        try:
            while data := await reader.read(_READ_SIZE):
                self._record(number, direction, data)
                writer.write(data)
                await writer.drain()
            # Pass the end of the stream on (a half-close), so each side sees
            # what it would have seen without the tap in between.
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            # One side dropped: drop the other too, as a broken path would.
            writer.transport.abort()


def start_wiretap(
    target_port: int,
    target_host: str = "127.0.0.1",
    *,
    name: str = "wiretap",
    **options: Any,
) -> Wiretap:
    """Start a :class:`Wiretap` kept under ``name``, stopping an older one of that name.

    Re-running a cell that starts a tap therefore never leaves two behind.
    """
    return _kept.replace(
        name, lambda: Wiretap(target_port, target_host, name=name, **options).start()
    )


# The keeper's own methods, under the names the notebooks use.
stop_wiretap = _kept.stop
running_wiretaps = _kept.items
stop_wiretaps = _kept.stop_all


def _iter_hex(data: bytes, width: int = 16) -> Iterator[str]:
    for start in range(0, len(data), width):
        line = data[start : start + width]
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in line)
        yield f"{start:06x}  {line.hex(' '):<{width * 3}} {text}"


def hexdump(data: bytes, limit: int = 256) -> str:
    """A classic hex dump of the first ``limit`` bytes: offset, hex, printable text."""
    lines = list(_iter_hex(data[:limit]))
    if len(data) > limit:
        lines.append(f"... {len(data) - limit} more bytes")
    return "\n".join(lines)
