"""``flaky``: lesson 5. A server you can really hurt, and that remembers.

Faults, called from a notebook cell (or a widget button) on the kernel's
thread; each is scheduled onto the server's own loop and returns once done::

    server = serve("flaky")
    server.app.crash()               # listener gone, connections dropped: clients see 1006
    server.app.restart()             # listening again, on the same port
    server.app.refuse()              # handshakes answered "HTTP 503 Service Unavailable"
    server.app.accept()              # ... and accepted again
    server.app.close_clients(1001)   # a clean close of every client, with that code

A crash is real: the listening socket is closed (new connections are refused
by the operating system) and every TCP connection is aborted without a close
frame, just as when a server process dies.

Protocol (JSON text messages), for delivering every message once, in order,
across reconnects (:mod:`wslab.core.outbox`)::

    → {"type": "hello", "client": "alice"}
    ← {"type": "welcome", "client": "alice", "last_id": 0}
    → {"type": "msg", "id": 1, "text": "hi"}
    ← {"type": "ack", "id": 1, "last_id": 1, "duplicate": false}

What each client id sent is kept in :attr:`FlakyServer.inbox`, which belongs
to the server object, not to a connection: it survives crashes and restarts.
A resent message (an id not above ``last_id``) is acknowledged again but kept
only once. Bad input gets ``{"type": "error", ...}`` and the connection stays
open; a message over 1 MiB closes it with 1009.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from http import HTTPStatus
from ssl import SSLContext
from typing import Any, Literal, TypeVar

from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.http11 import Request, Response
from websockets.protocol import State

from wslab.core.messages import MessageError, parse_message, require_text
from wslab.core.outbox import Envelope, validate_client_id, validate_message_id
from wslab.runtime.faults import ConnectionTracker, crash_server
from wslab.servers.base import LessonServer
from wslab.state.observable import Observers
from wslab.state.outbox import Inbox

__all__ = ["CLOSE_CODES_ALLOWED", "FAULT_TIMEOUT", "FlakyServer", "Handshake", "Status"]

T = TypeVar("T")

#: The longest (real seconds) a fault method waits for the server's loop.
FAULT_TIMEOUT = 5.0
#: Codes :meth:`FlakyServer.close_clients` may send: normal, going away,
#: policy violation, internal error, service restart, try again later, and
#: the application range (lesson 8's 4001-4003 among them).
CLOSE_CODES_ALLOWED = frozenset({1000, 1001, 1008, 1011, 1012, 1013}) | frozenset(range(3000, 5000))
#: How many handshakes :attr:`FlakyServer.handshakes` remembers.
MAX_HANDSHAKES = 100_000

Status = Literal["up", "refusing", "down"]


@dataclass(frozen=True)
class Handshake:
    """One opening handshake the server saw (a connection attempt that reached it).

    Attributes:
        time: wall-clock time (``time.time()``) when the request arrived.
        status: the HTTP status answered: 101 (switching to WebSocket), 503
            (refusing), or 403 (a web page from a foreign origin).
        path: the path and query of the URL asked for (``/?client=7``): the
            server ignores it, but it tells attempts of different clients apart.
    """

    time: float
    status: int
    path: str = "/"

    @property
    def accepted(self) -> bool:
        return self.status == 101


class FlakyServer(LessonServer):
    """A server with real faults (crash, restart, refuse, close) and message ids.

    Attributes:
        inbox: what each client id sent, deduplicated; survives crashes.
        status_changed: observers told the new :data:`Status` on every change.
    """

    name = "flaky"
    lessons = (5,)
    summary = "crash, restart, refuse and close on demand; remembers message ids per client"
    types = ("hello", "msg")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inbox = Inbox()
        self.status_changed: Observers[Status] = Observers()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._address: tuple[str, int, SSLContext | None] = ("", 0, None)
        self._listening = False
        self._refusing = False
        self._stopped = False
        self._clients: dict[ServerConnection, str] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._handshakes_lock = threading.Lock()
        self._handshakes: deque[Handshake] = deque(maxlen=MAX_HANDSHAKES)
        # Every TCP connection, from the moment it is accepted: websockets'
        # all_connections holds only those past the opening handshake.
        self._tracker = ConnectionTracker()

    # --- what it is ----------------------------------------------------------

    @property
    def status(self) -> Status:
        """``"up"``, ``"refusing"`` (handshakes get 503) or ``"down"`` (nothing listens)."""
        if not self._listening:
            return "down"
        return "refusing" if self._refusing else "up"

    @property
    def port(self) -> int:
        """The port it listens on; the same before and after a crash."""
        return self._address[1]

    def handshakes(self, since: float = 0.0) -> list[Handshake]:
        """The opening handshakes that reached the server after ``since``. Thread-safe.

        An attempt refused by the operating system (while the server is
        ``"down"``) never reaches it, so it is not here.
        """
        with self._handshakes_lock:
            return [h for h in self._handshakes if h.time >= since]

    def received(self, client: str) -> list[Envelope]:
        """The messages kept from ``client`` in the order received (once each). Thread-safe."""
        return self.inbox.received(client)

    # --- faults: thread-safe, from the kernel's thread --------------------------

    def crash(self) -> int:
        """Crash: stop listening and drop every connection without a close frame.

        Clients see ``error`` then ``close`` with 1006 (``was_clean`` false);
        new connections are refused by the operating system until
        :meth:`restart`. What the server remembers (:attr:`inbox`) stays.
        Idempotent. Thread-safe; blocks until done.

        Returns:
            How many connections were dropped.
        """
        return self._on_loop(self._crash())

    def restart(self, *, refusing: bool = False) -> None:
        """Listen again on the same port after :meth:`crash`.

        Args:
            refusing: start in the refusing state (handshakes get 503), like
                a server that is up but not ready yet.

        Idempotent: a server already listening keeps its connections (only
        ``refusing`` is applied). Thread-safe; blocks until listening.

        Raises:
            OSError: the port was taken by another program meanwhile.
        """
        self._on_loop(self._restart(refusing))

    def refuse(self) -> None:
        """Answer every new handshake with HTTP 503; open connections stay.

        A browser reports it as ``error`` then ``close`` 1006: the same as a
        server that is down, from the page's point of view. Idempotent.
        Thread-safe.
        """
        self._on_loop(self._set_refusing(True))

    def accept(self) -> None:
        """Accept handshakes again after :meth:`refuse`. Idempotent. Thread-safe."""
        self._on_loop(self._set_refusing(False))

    def close_clients(self, code: int = 1001, reason: str = "") -> int:
        """Close every open connection cleanly with ``code`` (a close frame each).

        1000 means "normal closure" (a client must not reconnect), 1001 "going
        away" (a restart: it should). Returns once the close frames are on
        their way; each client answers in its own time. Thread-safe.

        Args:
            code: 1000, 1001, 1008, 1011-1013 or 3000-4999.
            reason: a short text, at most 123 bytes of UTF-8.

        Returns:
            How many connections were closed.

        Raises:
            ValueError: for a code the protocol does not allow a server to send,
                or a reason too long.
        """
        if code not in CLOSE_CODES_ALLOWED:
            raise ValueError(
                f"close code {code} is not for closing clients: use 1000, 1001, "
                "1008, 1011-1013, or 3000-4999 for your own codes"
            )
        if len(reason.encode("utf-8")) > 123:
            raise ValueError("the close reason must be at most 123 bytes of UTF-8")
        return self._on_loop(self._close_clients(code, reason))

    def _on_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        loop = self._loop
        if loop is None or loop.is_closed() or self._stopped:
            coro.close()
            raise RuntimeError("the flaky server is not running: start it with serve('flaky')")
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError(
                "a fault method called on the server's own thread would wait for itself; "
                "call it from a notebook cell"
            )
        return asyncio.run_coroutine_threadsafe(coro, loop).result(FAULT_TIMEOUT)

    # --- faults: on the server's loop -----------------------------------------------

    async def _crash(self) -> int:
        server = self._server
        if not self._listening or server is None:
            return 0
        # What a dying process does: every connection cut at once (no close
        # frame, nothing flushed), those still in their opening handshake too
        # (left alone they would wait for a request from a client whose loop
        # may be the one waiting for this crash, a notebook cell).
        # The crash is recorded first, before the sessions it ends record
        # their 1006s, as the lesson reads the log in that order.
        dropped = len(server.all_connections)
        self._listening = False
        self.log.record(
            "crash",
            f"crashed: stopped listening, dropped {dropped} connection"
            f"{'' if dropped == 1 else 's'} without a close frame",
        )
        self._notify()
        await crash_server(server, self._tracker)
        return dropped

    async def _restart(self, refusing: bool) -> None:
        if self._listening:
            await self._set_refusing(refusing)
            return
        # Before listening, so that no handshake slips in between.
        self._refusing = refusing
        host, port, ssl = self._address
        try:
            self._server = await ws_serve(self.handler, host, port, ssl=ssl, **self.serve_options())
        except OSError as exc:
            self.log.record("error", f"could not listen on port {port} again: {exc}")
            raise
        self._listening = True
        refusing_text = ", answering handshakes with HTTP 503" if refusing else ""
        self.log.record("restart", f"listening again on port {port}{refusing_text}")
        self._notify()

    async def _set_refusing(self, refusing: bool) -> None:
        if refusing != self._refusing:
            self._refusing = refusing
            self.log.record(
                "refusing" if refusing else "accepting",
                "answering handshakes with HTTP 503" if refusing else "accepting handshakes again",
            )
            self._notify()

    async def _close_clients(self, code: int, reason: str) -> int:
        targets = [ws for ws in self.peers if ws.state is State.OPEN]
        self.log.record("closing", f"closing {len(targets)} clients with {code} {reason}".rstrip())
        for ws in targets:
            task = asyncio.create_task(ws.close(code, reason))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        # Wait until every close frame is sent, not for the answers: clients
        # on the kernel's loop cannot answer while the calling cell waits.
        deadline = time.monotonic() + FAULT_TIMEOUT
        while any(
            ws.protocol.close_sent is None and ws.state is not State.CLOSED for ws in targets
        ):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.001)
        return len(targets)

    def _notify(self) -> None:
        self.status_changed.notify(self.status)

    # --- listening -----------------------------------------------------------------

    async def listen(self, host: str, port: int, ssl: SSLContext | None = None) -> int:
        """Start listening; remember where, to come back to the same port after a crash."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.current_thread()
        port = await super().listen(host, port, ssl)
        self._address = (host, port, ssl)
        self._listening = True
        return port

    async def close(self, grace: float) -> None:
        """Stop for good (``running.stop()``), whatever state a fault left it in."""
        self._stopped = True
        for task in list(self._closing):
            task.cancel()
        if self._listening:
            await super().close(grace)
        self._listening = False
        # A connection still in its handshake (one that arrived as a crash
        # began) must not outlive the server.
        if self._tracker.abort_all():
            await asyncio.sleep(0)

    def serve_options(self) -> dict[str, Any]:
        """websockets' options, plus a look at every handshake (to count and refuse)."""
        return {
            **super().serve_options(),
            "process_request": self._process_request,
            "create_connection": self._tracker.connection_class(),
        }

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        # The base class's Origin check first: this hook replaces its own.
        forbidden = self.check_origin(connection, request)
        refusing = self._refusing
        status = 403 if forbidden is not None else 503 if refusing else 101
        with self._handshakes_lock:
            self._handshakes.append(Handshake(time.time(), status, request.path))
        if forbidden is not None:
            return forbidden
        if not refusing:
            return None
        self.log.record("rejected", "handshake answered HTTP 503: refusing connections for now")
        return connection.respond(
            HTTPStatus.SERVICE_UNAVAILABLE, "The server is refusing connections for now.\n"
        )

    # --- the message-id protocol ----------------------------------------------------

    async def on_message(self, ws: ServerConnection, peer: str, message: str | bytes) -> None:
        try:
            request = parse_message(message, self.types)
            if request["type"] == "hello":
                await self._hello(ws, request)
            else:
                await self._msg(ws, request)
        except MessageError as error:
            await self.send_error(ws, error)

    async def _hello(self, ws: ServerConnection, request: dict[str, Any]) -> None:
        if ws in self._clients:
            raise MessageError(
                "already-introduced", f"this connection is already {self._clients[ws]!r}"
            )
        client = validate_client_id(request.get("client"))
        last_id = self.inbox.hello(client)
        self._clients[ws] = client
        await self.send_json(ws, {"type": "welcome", "client": client, "last_id": last_id})

    async def _msg(self, ws: ServerConnection, request: dict[str, Any]) -> None:
        client = self._clients.get(ws)
        if client is None:
            raise MessageError("hello-first", 'say who you are first: {"type": "hello", ...}')
        message_id = validate_message_id(request.get("id"))
        text = require_text(request, "text")
        receipt = self.inbox.receive(client, message_id, text)
        await self.send_json(
            ws,
            {
                "type": "ack",
                "id": message_id,
                "last_id": receipt.last_id,
                "duplicate": receipt.outcome == "duplicate",
            },
        )

    async def on_disconnect(self, ws: ServerConnection, peer: str) -> None:
        self._clients.pop(ws, None)
