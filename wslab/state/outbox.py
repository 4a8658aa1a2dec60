"""The server side of the outbox rule: per client, the last message id, and dedup.

A cluster or flaky server receives on its loop's thread while a cell reads
what arrived on the kernel's: :class:`Inbox` holds a lock. The client side
(:class:`~wslab.core.outbox.Outbox`) and the id checks are pure and live in
:mod:`wslab.core.outbox`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from wslab.core.outbox import (
    MAX_CLIENTS_REMEMBERED,
    MAX_KEPT_MESSAGES,
    Envelope,
    Outcome,
)

__all__ = [
    "Inbox",
    "Receipt",
]


@dataclass(frozen=True)
class Receipt:
    """What :meth:`Inbox.receive` did with a message, and what to acknowledge."""

    outcome: Outcome
    last_id: int


@dataclass
class _Record:
    last_id: int = 0
    duplicates: int = 0
    messages: deque[Envelope] = field(default_factory=lambda: deque(maxlen=MAX_KEPT_MESSAGES))


class Inbox:
    """The server side: per client id, the last message id received, and dedup.

    A message whose id is not above the client's last id is a duplicate (a
    resend of something that arrived before the connection dropped): it is
    acknowledged but not kept. An id further ahead (a gap) is accepted: a
    client without an outbox really does lose messages, and the gap shows it.

    Args:
        max_clients: how many client ids to remember.
    """

    def __init__(self, max_clients: int = MAX_CLIENTS_REMEMBERED) -> None:
        self.max_clients = max_clients
        self._lock = threading.Lock()
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def _record(self, client: str) -> _Record:
        record = self._records.get(client)
        if record is None:
            record = self._records[client] = _Record()
            while len(self._records) > self.max_clients:
                self._records.popitem(last=False)
        else:
            self._records.move_to_end(client)
        return record

    def last_id(self, client: str) -> int:
        """The highest id received from ``client``: 0 for a client never seen. Thread-safe."""
        with self._lock:
            record = self._records.get(client)
            return 0 if record is None else record.last_id

    def hello(self, client: str) -> int:
        """Register ``client`` (if new) and return its last id, for the welcome. Thread-safe."""
        with self._lock:
            return self._record(client).last_id

    def receive(self, client: str, message_id: int, text: str) -> Receipt:
        """Take one message: keep it if new, count it if a duplicate. Thread-safe.

        Returns:
            The outcome and the id to acknowledge (the client's last id).
        """
        with self._lock:
            record = self._record(client)
            if message_id <= record.last_id:
                record.duplicates += 1
                return Receipt("duplicate", record.last_id)
            record.last_id = message_id
            record.messages.append(Envelope(message_id, text))
            return Receipt("new", message_id)

    def received(self, client: str) -> list[Envelope]:
        """The messages kept from ``client``, in the order they arrived. Thread-safe."""
        with self._lock:
            record = self._records.get(client)
            return [] if record is None else list(record.messages)

    def duplicates(self, client: str) -> int:
        """How many resends from ``client`` were recognised and dropped. Thread-safe."""
        with self._lock:
            record = self._records.get(client)
            return 0 if record is None else record.duplicates

    def clients(self) -> list[str]:
        """The client ids remembered, least recently seen first. Thread-safe."""
        with self._lock:
            return list(self._records)

    def forget(self, clients: Iterable[str] | None = None) -> None:
        """Forget some clients, or all of them. Thread-safe."""
        with self._lock:
            if clients is None:
                self._records.clear()
            else:
                for client in clients:
                    self._records.pop(client, None)
