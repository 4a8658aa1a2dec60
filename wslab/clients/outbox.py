"""The outbox rule on the client: a reconnecting socket that loses no message.

:class:`ReliableSession` numbers every message, keeps it in an
:class:`~wslab.core.outbox.Outbox` until the server acknowledges it, and
sends what is pending again after each reconnect; the server drops what it
already had (:class:`~wslab.state.outbox.Inbox`).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from wslab.clients.reconnect import (
    ReconnectingWebSocket,
)
from wslab.core.events import (
    Event,
    MessageEvent,
)
from wslab.core.messages import dumps
from wslab.core.outbox import Envelope, Outbox, validate_client_id
from wslab.state.observable import Observers

__all__ = [
    "ReliableSession",
]


class ReliableSession:
    """Numbered messages over a :class:`ReconnectingWebSocket`: nothing lost, nothing twice.

    Speaks the ``flaky`` server's protocol: ``hello`` on every (re)connect,
    then the server's ``welcome`` says the last id it has; the session drops
    what is confirmed and resends the rest, in order. With ``queue=False``
    it is the naive client: each message goes out once if the connection is
    open at that moment, and is lost otherwise.

    Args:
        url: the ``flaky`` server's URL.
        client_id: who this client is, the same across reconnects.
        queue: keep messages until confirmed (True) or fire and forget (False).
        **options: for the :class:`ReconnectingWebSocket`.

    Attributes:
        client: the reconnecting client underneath.
        outbox: the unconfirmed messages (empty with ``queue=False``).
        sent: every message handed to :meth:`send`, in order.
        dropped: messages a ``queue=False`` session could not send (not open).
        transmissions: how many times a message went out, resends included.
        resent: how many of those were resends.
        welcomes: the ``last_id`` of each welcome, in order.
        errors: error messages the server answered.
        changed: observers told ``self`` on every change.

    Raises:
        wslab.core.messages.MessageError: an unacceptable client id.
    """

    def __init__(self, url: str, client_id: str, *, queue: bool = True, **options: Any) -> None:
        self.client_id = validate_client_id(client_id)
        self.queue = queue
        self.outbox = Outbox()
        self.sent: list[Envelope] = []
        self.dropped: list[Envelope] = []
        self.transmissions = 0
        self.resent = 0
        self.welcomes: list[int] = []
        self.errors: list[dict[str, Any]] = []
        self.welcomed = False
        self.changed: Observers[ReliableSession] = Observers()
        self._next_id = 1
        self._highest_transmitted = 0
        self._drained: list[asyncio.Future[None]] = []
        options.setdefault("name", client_id)
        self.client = ReconnectingWebSocket(url, **options)
        self.client.add_event_listener("open", self._on_open)
        self.client.add_event_listener("message", self._on_message)
        self.client.add_event_listener("close", self._on_close)

    def send(self, text: str) -> Envelope:
        """Number ``text`` and send it now if possible; with a queue, later otherwise.

        Raises:
            wslab.core.outbox.OutboxFull: too many messages wait for confirmation.
        """
        if self.queue:
            envelope = self.outbox.add(text)
            if self.welcomed:
                self._transmit(envelope)
        else:
            envelope = Envelope(self._next_id, text)
            self._next_id += 1
            if not self._transmit(envelope):
                self.dropped.append(envelope)
        self.sent.append(envelope)
        self.changed.notify(self)
        return envelope

    def close(self) -> None:
        """Close for good (1000): no reconnect, no retry timer left."""
        self.client.close()

    @property
    def pending(self) -> int:
        """How many messages wait for the server's confirmation."""
        return len(self.outbox)

    async def drained(self, timeout: float | None = 10.0) -> None:
        """Wait until the server has confirmed every message sent so far.

        Raises:
            TimeoutError: after ``timeout`` real seconds.
        """
        if self._is_drained():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._drained.append(future)
        try:
            await asyncio.wait_for(future, timeout)
        finally:
            if future in self._drained:
                self._drained.remove(future)

    def __repr__(self) -> str:
        return (
            f"<ReliableSession {self.client_id} {self.client.state.value}, "
            f"{len(self.sent)} sent, {self.pending} pending>"
        )

    # --- the protocol ---------------------------------------------------------------

    def _is_drained(self) -> bool:
        return self.welcomed and not self.outbox

    def _transmit(self, envelope: Envelope) -> bool:
        data = dumps({"type": "msg", "id": envelope.id, "text": envelope.text})
        if not self.client.send(data):
            return False
        self.transmissions += 1
        if envelope.id <= self._highest_transmitted:
            self.resent += 1
        self._highest_transmitted = max(self._highest_transmitted, envelope.id)
        return True

    def _on_open(self, event: Event) -> None:
        self.client.send(dumps({"type": "hello", "client": self.client_id}))

    def _on_message(self, event: Event) -> None:
        assert isinstance(event, MessageEvent)
        try:
            msg = json.loads(event.data)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return
        if not isinstance(msg, dict):
            return
        kind = msg.get("type")
        if kind == "welcome":
            last_id = int(msg.get("last_id", 0))
            self.welcomes.append(last_id)
            self.welcomed = True
            if self.queue:
                # The server has everything up to last_id: resend the rest, in order.
                self.outbox.confirm(last_id)
                for envelope in self.outbox.pending():
                    self._transmit(envelope)
        elif kind == "ack":
            if self.queue:
                self.outbox.confirm(int(msg.get("last_id", 0)))
        elif kind == "error":
            self.errors.append(msg)
        self._check_drained()
        self.changed.notify(self)

    def _on_close(self, event: Event) -> None:
        self.welcomed = False
        self.changed.notify(self)

    def _check_drained(self) -> None:
        if self._is_drained():
            for future in self._drained:
                if not future.done():
                    future.set_result(None)
            self._drained.clear()
