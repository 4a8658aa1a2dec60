"""``heartbeat``: lesson 9. Answers ``ping`` with ``pong``; echoes everything else.

The application-level heartbeat of the study notes, on the server's side::

    → ping          (a text frame, exactly these four letters)
    ← pong
    → hello         (anything else, text or binary)
    ← hello         (comes back unchanged, as from the echo server)

Beside it, websockets' protocol-level keepalive, for the comparison: with
``ping_interval`` the server sends a Ping *frame* every so often, the peer's
WebSocket library answers with a Pong frame on its own (a browser does it
too, and JavaScript never sees either), and with ``ping_timeout`` a peer that
stops answering is closed with 1011 "keepalive ping timeout". It is off by
default, unlike websockets' own default (20 s / 20 s), so that the lesson can
show first what happens without any heartbeat.

Rule 3 of the notes, "don't log ping/pong in production", is the
``log_heartbeats`` option. :meth:`HeartbeatServer.stall` makes the
application hang (the library still answers Ping frames): the case only an
application-level heartbeat notices.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from websockets.asyncio.server import ServerConnection

from wslab.core.heartbeat import PING, PONG
from wslab.core.timescale import real_seconds
from wslab.servers.base import LessonServer
from wslab.state.eventlog import EventLog
from wslab.state.heartbeat import HeartbeatLog

__all__ = ["CLOSE_TIMEOUT", "HeartbeatServer"]

#: Nominal seconds the server waits for a peer's answer to its close frame: a
#: dead peer never answers, and websockets' default of 10 s would keep the
#: ghost connection that long.
CLOSE_TIMEOUT = 2.0
#: Real seconds :meth:`HeartbeatServer.stall` waits for the server's loop.
CALL_TIMEOUT = 5.0


class HeartbeatServer(LessonServer):
    """Text ``ping`` → ``pong``, everything else echoed; optional protocol keepalive.

    Args:
        ping_interval: nominal seconds between the server's Ping frames; None
            (the default) sends none.
        ping_timeout: nominal seconds a Pong frame may take before the server
            closes the connection with 1011; None waits forever.
        close_timeout: nominal seconds to wait for the peer's close frame.
        log_heartbeats: record ``ping``/``pong`` messages in the log (True),
            or only count them (False: rule 3).
        log: where to record; a :class:`~wslab.core.heartbeat.HeartbeatLog` by default.
        **options: ``rate_limit``, ``origins``: see :class:`LessonServer`.

    Attributes:
        pings_answered: how many text pings got their pong.

    Raises:
        ValueError: a non-positive interval or timeout.
    """

    name = "heartbeat"
    lessons = (9,)
    summary = "answers the text ping with pong and echoes the rest; optional protocol keepalive"

    def __init__(
        self,
        log: EventLog | None = None,
        *,
        ping_interval: float | None = None,
        ping_timeout: float | None = None,
        close_timeout: float = CLOSE_TIMEOUT,
        log_heartbeats: bool = True,
        **options: Any,
    ) -> None:
        for option, value in (("ping_interval", ping_interval), ("ping_timeout", ping_timeout)):
            if value is not None and not value > 0:
                raise ValueError(f"{option} must be a positive number of seconds, or None")
        super().__init__(
            log if log is not None else HeartbeatLog(heartbeats=log_heartbeats), **options
        )
        if isinstance(self.log, HeartbeatLog):
            self.log.heartbeats = log_heartbeats
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.close_timeout = close_timeout
        self.pings_answered = 0
        self._count_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._awake: asyncio.Event | None = None

    # --- options for websockets.serve ------------------------------------------------

    def serve_options(self) -> dict[str, Any]:
        """websockets' options, with the keepalive in real seconds (read at listen time)."""
        return {
            **super().serve_options(),
            "ping_interval": _real(self.ping_interval),
            "ping_timeout": _real(self.ping_timeout),
            "close_timeout": real_seconds(self.close_timeout),
        }

    @property
    def keepalive(self) -> bool:
        """Whether the server sends protocol Ping frames."""
        return self.ping_interval is not None

    async def started(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._awake = asyncio.Event()
        self._awake.set()

    # --- messages ----------------------------------------------------------------------

    async def on_message(self, ws: ServerConnection, peer: str, message: str | bytes) -> None:
        if self._awake is not None and not self._awake.is_set():
            # Stalled: the application is stuck (a slow database, a deadlock);
            # websockets itself still reads frames and answers Ping frames.
            await self._awake.wait()
        if message == PING:  # the text frame "ping" only, not b"ping"
            with self._count_lock:
                self.pings_answered += 1
            await self.send(ws, PONG)
        else:
            await self.send(ws, message)

    def latencies(self) -> dict[str, float]:
        """Each peer's latest protocol-level round trip (real seconds), from keepalive pings.

        websockets measures it on every Pong frame; 0 until the first.
        Thread-safe enough to read from a cell: it only reads floats.
        """
        return {peer: float(ws.latency) for ws, peer in list(self.peers.items())}

    # --- a hung application ---------------------------------------------------------------

    def stall(self) -> None:
        """Make the application hang: messages are read but not answered until :meth:`resume`.

        The WebSocket library keeps running, so it still answers Ping frames.
        Thread-safe.

        Raises:
            RuntimeError: the server is not running.
        """
        self._set_awake(False)

    def resume(self) -> None:
        """Answer again (the messages held meanwhile are answered now). Thread-safe."""
        self._set_awake(True)

    @property
    def stalled(self) -> bool:
        return self._awake is not None and not self._awake.is_set()

    def _set_awake(self, awake: bool) -> None:
        loop, event = self._loop, self._awake
        if loop is None or event is None or loop.is_closed():
            raise RuntimeError("the heartbeat server is not running: start it with serve()")

        async def apply() -> None:
            if awake:
                event.set()
            else:
                event.clear()

        # Recorded first: once resumed, the held answers go out at once.
        self.log.record("resumed" if awake else "stalled", "answering" if awake else "stalled")
        # Wait until it is applied, so that the next message already sees it.
        asyncio.run_coroutine_threadsafe(apply(), loop).result(CALL_TIMEOUT)

    async def stopping(self) -> None:
        # Let stalled handlers finish, so that the connections close promptly.
        if self._awake is not None:
            self._awake.set()


def _real(nominal: float | None) -> float | None:
    return None if nominal is None else real_seconds(nominal)
