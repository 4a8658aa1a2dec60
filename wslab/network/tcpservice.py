"""The lifecycle of a TCP service on a thread and event loop of its own.

Servers started from a notebook need their own loop: the kernel's stops
whenever a cell blocks (``time.sleep(3)``), and so would a proxy sharing it.
The lesson's proxies (:class:`~wslab.network.wire.Wiretap`,
:class:`~wslab.network.middlebox.Middlebox`, :class:`~wslab.network.balancer.Balancer`) all
need the same life around what they do with each connection: listen on a
:class:`~wslab.runtime.loopthread.LoopThread`, learn the port picked, and on stop
close the listener, drop every connection, end the thread, once. One
lifecycle here, so every proxy starts and stops the same way.

A subclass writes :meth:`TcpService._handle` (one accepted connection) and,
if it needs them, the hooks :meth:`TcpService._on_listening`,
:meth:`TcpService._close_connections` and :meth:`TcpService._after_stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType
from typing import Any, Self

from wslab.runtime.loopthread import LoopThread

__all__ = ["TcpService"]


class TcpService:
    """A TCP listener on a loop thread of its own, with one start/stop lifecycle.

    Args:
        thread_name: the loop thread's name (``wslab-...``).
        name: the service's name, for subclasses' logs and keepers.
        host: the address to listen on.
        port: the port to listen on; 0 picks a free one.

    Attributes:
        port: the port it listens on, once started (0 before).
        requested_port: the ``port`` it was asked for.
        errors: what the loop reported, unless a subclass reports it elsewhere
            (by overriding :meth:`_on_exception`).
    """

    def __init__(self, *, thread_name: str, name: str, host: str, port: int) -> None:
        self.host = host
        self.requested_port = port
        self.port = 0
        self.name = name
        self.errors: list[str] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self._thread = LoopThread(thread_name, on_exception=self._on_exception)
        self._stopped = False

    # --- lifecycle -----------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> Self:
        """Start listening on a thread of its own; return once connections are accepted."""
        self._thread.start()
        try:
            self._thread.run(self._listen(), timeout)
        except BaseException:
            self._thread.stop()
            raise
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.requested_port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._on_listening()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening, drop every connection, end the thread. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.alive:
            with contextlib.suppress(Exception):
                self._thread.run(self._close(), timeout)
            self._thread.stop(timeout)
        self._after_stop()

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        self._abort_writers()
        await self._close_connections()
        if self._server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    @property
    def running(self) -> bool:
        return not self._stopped and self._thread.alive

    @property
    def thread(self) -> threading.Thread:
        return self._thread.thread

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- hooks, for subclasses ---------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one accepted connection, on the service's loop."""
        raise NotImplementedError

    def _on_listening(self) -> None:
        """Called on the service's loop once it listens and :attr:`port` is known."""

    async def _close_connections(self) -> None:
        """Called on the service's loop by :meth:`stop`, after tracked writers are aborted."""

    def _after_stop(self) -> None:
        """Called at the end of the first :meth:`stop` (to log it, or forget it in a keeper)."""

    def _on_exception(self, context: dict[str, Any]) -> None:
        """Asyncio's exception-handler context, on the service's loop thread."""
        self.errors.append(str(context.get("message", "error")))

    # --- tracked writers, on the service's loop ------------------------------------------

    def _track(self, *writers: asyncio.StreamWriter) -> None:
        """Have :meth:`stop` (and :meth:`_abort_writers`) abort these connections."""
        self._writers.update(writers)

    def _untrack(self, *writers: asyncio.StreamWriter) -> None:
        for writer in writers:
            self._writers.discard(writer)

    def _abort_writers(self) -> None:
        """Abort every tracked connection: no goodbye, as a dropped cable."""
        for writer in list(self._writers):
            writer.transport.abort()
