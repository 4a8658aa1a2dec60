"""Crash and restart a websockets server the way a dying process would.

A crash closes the listening socket and aborts every TCP connection without
a close frame: clients see 1006. websockets' ``all_connections`` holds only
the connections past their opening handshake, so a :class:`ConnectionTracker`
also knows the ones still shaking hands; left alone, those would keep the
crash waiting for a client (maybe on the very loop that waits for the
crash) and leak their sockets when the server is replaced.

Used by the ``files`` server's crash (lesson 10) and the ``flaky`` server's
fault buttons (lesson 5).
"""

from __future__ import annotations

import asyncio
import weakref

from websockets.asyncio.server import Server, ServerConnection

__all__ = ["CRASH_TIMEOUT", "ConnectionTracker", "crash_server", "stop_accepting"]

#: Real seconds a crash waits for every session to end.
CRASH_TIMEOUT = 5.0


class ConnectionTracker:
    """Knows every connection of a server from the moment it is accepted.

    Pass :meth:`connection_class` as websockets' ``create_connection``.
    """

    def __init__(self) -> None:
        self._connections: weakref.WeakSet[ServerConnection] = weakref.WeakSet()

    def connection_class(self) -> type[ServerConnection]:
        """A :class:`ServerConnection` that registers itself with this tracker."""
        connections = self._connections

        class TrackedConnection(ServerConnection):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                super().connection_made(transport)
                connections.add(self)

        return TrackedConnection

    def abort_all(self) -> int:
        """Abort every connection's TCP connection now; return how many were open."""
        connections = list(self._connections)
        for connection in connections:
            connection.transport.abort()
        return len(connections)


async def crash_server(server: Server, tracker: ConnectionTracker) -> int:
    """Close ``server``'s listener and abort all its connections; wait until all are gone.

    Returns:
        How many connections had completed their handshake (were dropped).

    Raises:
        TimeoutError: a session did not end within :data:`CRASH_TIMEOUT`.
    """
    # Drop the connections at once, as a dying process does: not one more
    # message is handled. Then the listener (see stop_accepting).
    dropped = len(server.all_connections)
    tracker.abort_all()
    await stop_accepting(server)
    tracker.abort_all()  # those accepted at the last moment
    server.server.close()
    server.close(close_connections=False)
    await asyncio.wait_for(server.wait_closed(), CRASH_TIMEOUT)
    return dropped


async def stop_accepting(server: Server) -> None:
    """Stop accepting connections, and let those accepted get their transports.

    asyncio accepts a connection, then makes its transport in a task. If the
    listener closes in between, Python 3.11 fails to make it and leaves an
    unclosed socket behind (a ResourceWarning, and the client hangs until its
    timeout). So: no more accepting first, then a few loop turns for those
    tasks, and only then close.
    """
    loop = asyncio.get_running_loop()
    for sock in server.server.sockets:
        loop.remove_reader(sock.fileno())
    for _ in range(3):
        await asyncio.sleep(0)
