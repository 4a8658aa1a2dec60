"""A small TCP relay that counts the bytes crossing it, each way.

Put it between a client and a server and it forwards everything unchanged,
counting what goes up (client → server) and down (server → client): every
byte of HTTP headers, WebSocket frame headers, chunked-encoding sizes, SSE
field names. That is what a transport really costs on the wire, rather than
the size of the payload alone::

    proxy = await CountingProxy("127.0.0.1", server.port).start()
    ws = WebSocket(f"ws://127.0.0.1:{proxy.port}/ws")     # through the proxy
    ...
    print(proxy.bytes_up, proxy.bytes_down)
    await proxy.close()

With ``refuse_upgrades=True`` it behaves like an old corporate HTTP proxy
that only understands request → response: it answers a request to upgrade
the connection (the WebSocket handshake) with ``403 Forbidden`` and hangs
up, and relays everything else. (It looks at the first request of each
connection, which is where a browser asks for the upgrade.)

The relay runs on the event loop it was started on; in a notebook, the
kernel's. Not thread-safe: read the counters from that loop's thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

from wslab.state.eventlog import EventLog

__all__ = ["CountingProxy"]

#: The most header bytes read while looking for an upgrade request.
MAX_HEAD = 16 * 1024
_FORBIDDEN = (
    b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n"
    b"Connection: close\r\n\r\nthis proxy does not allow Upgrade: ...\r\n"
)


class CountingProxy:
    """Relays TCP connections to ``host:port`` and counts bytes each way.

    Args:
        host: the server's address.
        port: the server's port.
        refuse_upgrades: answer upgrade requests (``Upgrade: websocket``) with
            403 and close, like a proxy that does not know WebSockets.
        name: how it appears in its log.

    Attributes:
        bytes_up: bytes relayed from clients to the server.
        bytes_down: bytes relayed from the server to clients.
        connections: connections accepted so far.
        refused: upgrade requests refused.
        log: what it did (connections, refusals).
    """

    def __init__(
        self, host: str, port: int, *, refuse_upgrades: bool = False, name: str = "proxy"
    ) -> None:
        self.target = (host, port)
        self.refuse_upgrades = refuse_upgrades
        self.name = name
        self.bytes_up = 0
        self.bytes_down = 0
        self.connections = 0
        self.refused = 0
        self.log = EventLog()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def total(self) -> int:
        """Bytes relayed both ways."""
        return self.bytes_up + self.bytes_down

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> CountingProxy:
        """Start listening (port 0: any free port); return ``self``."""
        self._server = await asyncio.start_server(self._accept, host, port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self.log.record("listening", f"{self.name} on port {self.port} → {self.target[1]}")
        return self

    def url(self, path: str = "/", scheme: str = "http") -> str:
        """The URL of ``path`` through this proxy."""
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def close(self) -> None:
        """Stop listening and drop every relayed connection. Idempotent."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def running(self) -> bool:
        return self._server is not None

    # --- relaying ------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A task of our own: cancelling asyncio's connection task on close()
        # would make asyncio report the cancellation as an error (Python 3.11).
        task = asyncio.create_task(self._relay(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self.connections += 1
        number = self.connections
        upstream: asyncio.StreamWriter | None = None
        try:
            head = b""
            if self.refuse_upgrades:
                head = await self._read_head(reader)
                if _asks_for_upgrade(head):
                    self.refused += 1
                    self.log.record("refused", f"connection {number}: upgrade refused (403)")
                    writer.write(_FORBIDDEN)
                    await writer.drain()
                    return
            up_reader, upstream = await asyncio.open_connection(*self.target)
            self._writers.add(upstream)
            self.log.record("connect", f"connection {number} relayed")
            if head:
                self.bytes_up += len(head)
                upstream.write(head)
            await asyncio.gather(
                self._pump(reader, upstream, up=True), self._pump(up_reader, writer, up=False)
            )
        except (OSError, asyncio.IncompleteReadError):
            pass  # either side went away: the other is closed below
        finally:
            for w in (writer, upstream):
                if w is not None:
                    self._writers.discard(w)
                    w.close()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, up: bool
    ) -> None:
        try:
            while data := await reader.read(65536):
                # Counted when read, before it is passed on: a client that has
                # received a message has been counted for it.
                if up:
                    self.bytes_up += len(data)
                else:
                    self.bytes_down += len(data)
                writer.write(data)
                await writer.drain()
            # Pass the half-close on (the client finished its request).
            if writer.can_write_eof():
                writer.write_eof()
        except OSError:
            writer.close()

    @staticmethod
    async def _read_head(reader: asyncio.StreamReader) -> bytes:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < MAX_HEAD:
            chunk = await reader.read(4096)
            if not chunk:
                break
            head += chunk
        return head

    def __repr__(self) -> str:
        return (
            f"<CountingProxy :{self.port} → {self.target[1]} "
            f"up {self.bytes_up} B, down {self.bytes_down} B>"
        )


def _asks_for_upgrade(head: bytes) -> bool:
    """Whether an HTTP request head asks to upgrade the connection."""
    lines = head.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]
    for line in lines:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"upgrade" and value.strip():
            return True
    return False
