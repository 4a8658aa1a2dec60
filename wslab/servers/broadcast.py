"""``broadcast``: lesson 6. Every text message goes to every OPEN client, or to the others.

Protocol: plain text in, JSON out::

    → hello                                        (a text frame, from Ada)
    ← {"type": "broadcast", "text": "hello"}       to everyone else ("others", the default)
                                                   or to everyone, Ada too ("all")
    → <binary>, "" or "   ", 2001+ characters
    ← {"type": "error", "error": "binary-not-supported" | "empty-message" | "text-too-long", ...}
                                                   to the sender only; it stays connected

Invalid UTF-8 in a text frame is closed by websockets with 1007, and a message
over 1 MiB with 1009; everyone else is unaffected.

Options (``serve("broadcast", mode=..., ...)``):

- ``mode``: ``"others"`` (chat: the sender shows its own message at once) or
  ``"all"`` (announcements, dashboards). Can be changed while serving.
- ``delivery``: ``"broadcast"``, websockets' :func:`~websockets.asyncio.server.broadcast`,
  which writes to every connection's buffer and waits for none; or
  ``"checked"``, the study notes' loop in Python: ``await client.send(...)``
  for each OPEN client in turn, which one client that stops reading holds up.
- ``max_backlog``: the most bytes that may wait for one client (1 MiB). A
  client whose backlog is over it when a message is relayed gets nothing
  more: it is closed with 1008 "too slow" (and its TCP connection aborted if
  it does not read even that), so one client that stops reading cannot make
  the server's memory grow without end. None turns the limit off.
- ``write_limit``, ``send_buffer``: how much may wait for a slow client before
  backpressure: websockets' high-water mark, and the kernel's send buffer
  (``SO_SNDBUF``) for each connection. Small values make a slow client show
  within a few kilobytes instead of megabytes.

:meth:`BroadcastServer.deliver` sends to a list of connections the three ways
(``"naive"`` too: no OPEN check, exceptions not handled), for the lesson's
demonstrations; the server itself never relays naively.
"""

from __future__ import annotations

import socket
import weakref
from collections.abc import Sequence
from typing import Any, Literal

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from wslab.core.broadcast import (
    Delivery,
    Mode,
    broadcast_message,
    check_delivery,
    check_mode,
    check_text,
    recipients,
    split_by_backlog,
)
from wslab.core.messages import MessageError, dumps
from wslab.servers.base import (
    DEFAULT_MAX_BACKLOG,
    SLOW_CLOSE_TIMEOUT,
    LessonServer,
)

__all__ = [
    "DEFAULT_MAX_BACKLOG",
    "DEFAULT_WRITE_LIMIT",
    "SLOW_CLOSE_TIMEOUT",
    "BroadcastServer",
    "How",
]

#: websockets' own default high-water mark for a connection's write buffer.
DEFAULT_WRITE_LIMIT = 2**15

#: The ways :meth:`BroadcastServer.deliver` can send: the two the server relays
#: with, and the naive loop the lesson shows going wrong.
How = Literal["naive", "checked", "broadcast"]
_HOWS: tuple[How, ...] = ("naive", "checked", "broadcast")


_OPEN = State.OPEN


def _is_open(ws: ServerConnection) -> bool:
    return ws.state is _OPEN


def _anyone(ws: ServerConnection) -> bool:
    return True


def _backlog(ws: ServerConnection) -> int:
    return int(ws.transport.get_write_buffer_size())


class BroadcastServer(LessonServer):
    """Relays each text message as ``{"type": "broadcast", "text": ...}``.

    Attributes:
        write_limit: websockets' high-water mark for each connection's buffer.
        send_buffer: ``SO_SNDBUF`` set on each connection, or None for the
            system's (self-tuning, up to megabytes).
        max_backlog: the most bytes that may wait for one client, or None.
        peak_backlog: the largest backlog seen for any client when relaying.
        too_slow: how many clients were dropped for falling behind.
    """

    name = "broadcast"
    lessons = (6,)
    summary = "relays each text message to every OPEN client, or to all the others"

    def __init__(
        self,
        *args: Any,
        mode: Mode = "others",
        delivery: Delivery = "broadcast",
        write_limit: int = DEFAULT_WRITE_LIMIT,
        send_buffer: int | None = None,
        max_backlog: int | None = DEFAULT_MAX_BACKLOG,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.mode = mode
        self.delivery = delivery
        if write_limit < 1:
            raise ValueError(f"write_limit must be a positive number of bytes, not {write_limit}")
        if send_buffer is not None and send_buffer < 1:
            raise ValueError(f"send_buffer must be a positive number of bytes, not {send_buffer}")
        self.write_limit = write_limit
        self.send_buffer = send_buffer
        split_by_backlog([], len, max_backlog)  # check it now, not at the first relay
        self.max_backlog = max_backlog
        self.peak_backlog = 0
        # Names outlive self.peers (which forgets a connection once its session
        # ends), so a demonstration can still say who a closed connection was.
        self._names: weakref.WeakKeyDictionary[ServerConnection, str] = weakref.WeakKeyDictionary()
        # Sends being awaited right now, per connection: a loop held up by a
        # client that does not read shows here.
        self._waiting: dict[ServerConnection, int] = {}

    # --- options ---------------------------------------------------------------

    @property
    def mode(self) -> Mode:
        """``"others"`` or ``"all"``; may be set while serving (takes effect at once)."""
        return self._mode

    @mode.setter
    def mode(self, value: Mode) -> None:
        # One attribute assignment: atomic, so setting it from the kernel's
        # thread while the server's loop reads it is safe.
        self._mode = check_mode(value)

    @property
    def delivery(self) -> Delivery:
        """``"broadcast"`` or ``"checked"``; may be set while serving."""
        return self._delivery

    @delivery.setter
    def delivery(self, value: Delivery) -> None:
        self._delivery = check_delivery(value)

    def serve_options(self) -> dict[str, Any]:
        return {**super().serve_options(), "write_limit": self.write_limit}

    # --- connections -------------------------------------------------------------

    async def on_connect(self, ws: ServerConnection, peer: str) -> None:
        self._names[ws] = peer
        if self.send_buffer is not None:
            sock = ws.transport.get_extra_info("socket")
            if sock is not None:
                # Fixing the size also turns off the kernel's tuning, which
                # would otherwise grow the buffer to megabytes for a slow reader.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer)

    async def on_message(self, ws: ServerConnection, peer: str, message: str | bytes) -> None:
        try:
            text = check_text(message)
        except MessageError as error:
            await self.send_error(ws, error)
            return
        await self.relay(text, sender=ws)

    def peer_of(self, ws: ServerConnection) -> str:
        """The connection's id (``"#3"``), even after it closed; ``"?"`` if unknown."""
        return self._names.get(ws, "?")

    # --- relaying ----------------------------------------------------------------

    async def relay(self, text: str, sender: ServerConnection | None = None) -> list[str]:
        """Send ``text`` to the clients the mode picks, the way ``delivery`` says.

        Args:
            text: the message; recipients get ``{"type": "broadcast", "text": text}``.
            sender: who sent it, or None for the server's own announcement
                (then everyone gets it, whatever the mode).

        Returns:
            The ids of the connections it was written to.
        """
        # deliver() checks each connection's state as it goes, so the pick
        # here only applies the mode: one state check per client, not two
        # (with 1,000 clients, every per-client step shows in the benchmark).
        targets = recipients(list(self.peers), sender, self.mode, _anyone)
        return await self.deliver(targets, text, how=self.delivery)

    async def announce(self, text: str) -> list[str]:
        """The server's own message to every OPEN client (a dashboard, a notice)."""
        return await self.relay(text, sender=None)

    async def deliver(
        self, connections: Sequence[ServerConnection], text: str, how: How = "broadcast"
    ) -> list[str]:
        """Send ``text`` to ``connections``, in their order, one of three ways.

        Args:
            connections: whom to send to, such as a list taken a moment ago
                (which may hold connections that have closed since).
            text: the message; each gets ``{"type": "broadcast", "text": text}``.
            how: ``"broadcast"``: websockets' ``broadcast()``, which skips
                connections that are not OPEN and waits for none.
                ``"checked"``: ``await ws.send(...)`` for each OPEN connection
                in turn, going on past one that closes meanwhile. ``"naive"``:
                ``await ws.send(...)`` for each, no check, nothing handled.

        Returns:
            The ids of the connections it was written to.

        Raises:
            ConnectionClosed: with ``how="naive"``, from the first connection
                that is not open; the ones after it get nothing.
            ValueError: for an unknown ``how``.
        """
        if how not in _HOWS:
            raise ValueError(f"how must be one of {', '.join(map(repr, _HOWS))}, not {how!r}")
        message = dumps(broadcast_message(text))
        if how == "broadcast":
            # One pass, each backlog read once: split_by_backlog's rule, inlined
            # because this loop runs for every client on every message.
            limit, dropping, names = self.max_backlog, self._dropping, self._names
            targets: list[ServerConnection] = []
            reached: list[str] = []
            peak = self.peak_backlog
            for ws in connections:
                if ws.state is not _OPEN or ws in dropping:
                    continue
                waiting = ws.transport.get_write_buffer_size()
                if limit is not None and waiting > limit:
                    self.drop_too_slow(ws, waiting)
                    continue
                if waiting > peak:
                    peak = waiting
                targets.append(ws)
                reached.append(names.get(ws, "?"))
            self.peak_backlog = peak
            # Never awaits: each message goes into each connection's write
            # buffer, however full it already is (no backpressure).
            broadcast(targets, message)
            self._record_sent(message, reached, how)
            return reached
        reached = []
        for ws in connections:
            peer = self.peer_of(ws)
            if how == "checked" and not _is_open(ws):
                self.log.record("skipped", f"{peer} is {ws.state.name}: not sent to", peer=peer)
                continue
            try:
                await self._send_waiting(ws, message)
            except ConnectionClosed as exc:
                if how == "naive":
                    self._record_sent(message, reached, how)  # those before it did get it
                    self.log.record(
                        "error",
                        f"naive loop: send to {peer} raised {type(exc).__name__}; "
                        "the loop stopped there",
                        peer=peer,
                    )
                    raise
                # It closed while we waited for it: skip it and go on.
                self.log.record("discarded", f"{peer} closed before the message was sent")
                continue
            reached.append(peer)
        self._record_sent(message, reached, how)
        return reached

    async def _send_waiting(self, ws: ServerConnection, message: str) -> None:
        self._waiting[ws] = self._waiting.get(ws, 0) + 1
        try:
            # Returns once the message is in the buffer and the buffer is below
            # the write limit: for a client that stopped reading, never.
            await ws.send(message)
        finally:
            self._waiting[ws] -= 1
            if not self._waiting[ws]:
                del self._waiting[ws]

    def _record_sent(self, message: str, reached: list[str], how: How) -> None:
        if reached:
            # Name the recipients only when the line stays short: joining a
            # thousand ids for a preview that is then thrown away costs more
            # than the send.
            if len(reached) <= 20:
                preview = f"{message} → {', '.join(reached)}"
                self.log.message("out", preview if len(preview) < 200 else message)
            else:
                self.log.message("out", message)

    # --- looking inside (run these on the server's loop: server.call(...)) --------

    async def snapshot(self) -> list[ServerConnection]:
        """The connected clients now, in the order they came (``[...wss.clients]``)."""
        return list(self.peers)

    async def write_buffers(self) -> dict[str, int]:
        """Bytes written by the server and not yet taken by the kernel, per client."""
        return {peer: ws.transport.get_write_buffer_size() for ws, peer in self.peers.items()}

    async def stalled(self) -> list[str]:
        """Clients a send is waiting for: their buffer is over the write limit."""
        return [self.peer_of(ws) for ws in self._waiting if ws.paused]

    async def drop(self, peer: str) -> bool:
        """Cut a client's connection at once, discarding what waits for it.

        What a heartbeat does to a client that stopped answering (lesson 9).
        Returns whether there was such a client.
        """
        for ws, name in self.peers.items():
            if name == peer:
                self.log.record(
                    "dropped",
                    f"{peer} dropped with {ws.transport.get_write_buffer_size()} bytes unsent",
                    peer=peer,
                )
                ws.transport.abort()
                return True
        return False
