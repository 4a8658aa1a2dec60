"""Nothing lost, nothing twice: numbered messages across reconnects.

Theory of operation. The client numbers every message it sends (1, 2, 3,
...) and keeps it in its :class:`Outbox` until the server has confirmed it.
The server keeps, per client id, the highest number it has received
(:class:`Inbox`); it survives the connection, and even a crash of the
server's listener, because it lives in the server object, not in a
connection. On every (re)connect the client says who it is::

    → {"type": "hello", "client": "alice"}
    ← {"type": "welcome", "client": "alice", "last_id": 4}

and the client drops what is confirmed (ids up to 4) and resends the rest,
in order. A message the server has already seen is acknowledged again but
not stored twice: each message is delivered once, in order, however many
times the connection dropped in between.

Pure: no sockets, no asyncio, no widgets. :class:`Inbox` is thread-safe (a
server's thread writes it, a notebook's thread reads it).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from wslab.core.messages import MessageError

__all__ = [
    "MAX_CLIENTS_REMEMBERED",
    "MAX_CLIENT_ID_CHARS",
    "MAX_KEPT_MESSAGES",
    "MAX_PENDING",
    "Envelope",
    "Inbox",
    "Outbox",
    "OutboxFull",
    "Receipt",
    "validate_client_id",
    "validate_message_id",
]

#: A client holds at most this many unconfirmed messages: a client offline
#: for a long time must not eat all the memory of the page.
MAX_PENDING = 1000
#: A client id is 1-64 letters, digits, ``-`` or ``_``.
MAX_CLIENT_ID_CHARS = 64
#: The server remembers this many client ids; the least recently seen go first.
MAX_CLIENTS_REMEMBERED = 1000
#: The server keeps the newest this-many messages of each client, for showing.
MAX_KEPT_MESSAGES = 1000

_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]+")


class OutboxFull(RuntimeError):
    """The outbox already holds :data:`MAX_PENDING` unconfirmed messages."""


@dataclass(frozen=True)
class Envelope:
    """One numbered message: its id and its text."""

    id: int
    text: str


class Outbox:
    """The client side: numbers messages and keeps them until confirmed.

    Args:
        max_pending: how many unconfirmed messages it may hold.

    Not thread-safe: a client uses it from its own event loop only.
    """

    def __init__(self, max_pending: int = MAX_PENDING) -> None:
        self.max_pending = max_pending
        self._pending: deque[Envelope] = deque()
        self._next_id = 1
        self.confirmed = 0

    def add(self, text: str) -> Envelope:
        """Number ``text`` with the next id and keep it until confirmed.

        Raises:
            OutboxFull: when ``max_pending`` messages wait already.
        """
        if len(self._pending) >= self.max_pending:
            raise OutboxFull(
                f"{self.max_pending} messages are waiting to be confirmed; "
                "is the server unreachable for good?"
            )
        envelope = Envelope(self._next_id, text)
        self._next_id += 1
        self._pending.append(envelope)
        return envelope

    def confirm(self, last_id: int) -> list[Envelope]:
        """Drop every message up to ``last_id`` (the server has them); return them.

        Confirmations are cumulative, like TCP's: "I have everything up to
        and including 4". An old confirmation (lower than one already seen)
        changes nothing. Idempotent.
        """
        dropped: list[Envelope] = []
        while self._pending and self._pending[0].id <= last_id:
            dropped.append(self._pending.popleft())
        self.confirmed = max(self.confirmed, last_id)
        return dropped

    def pending(self) -> list[Envelope]:
        """The unconfirmed messages, oldest first: what to resend after a reconnect."""
        return list(self._pending)

    @property
    def last_id(self) -> int:
        """The id given to the newest message (0 before the first)."""
        return self._next_id - 1

    def __len__(self) -> int:
        return len(self._pending)

    def __repr__(self) -> str:
        return f"<Outbox {len(self)} pending, confirmed up to {self.confirmed}>"


Outcome = Literal["new", "duplicate"]


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


def validate_client_id(value: object) -> str:
    """Return ``value`` if it is an acceptable client id.

    Raises:
        MessageError: ``invalid-client-id``, saying what is wrong.
    """
    if not isinstance(value, str):
        raise MessageError("invalid-client-id", '"client" must be a string')
    if not 1 <= len(value) <= MAX_CLIENT_ID_CHARS or not _CLIENT_ID.fullmatch(value):
        raise MessageError(
            "invalid-client-id",
            f'"client" must be 1-{MAX_CLIENT_ID_CHARS} letters, digits, "-" or "_"',
        )
    return value


def validate_message_id(value: object) -> int:
    """Return ``value`` if it is an acceptable message id (a positive integer).

    Raises:
        MessageError: ``invalid-field``.
    """
    # bool is an int in Python, but true is not a message number.
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise MessageError("invalid-field", '"id" must be a positive integer')
    if value >= 1 << 53:
        # Beyond this, a JavaScript client's numbers are no longer exact.
        raise MessageError("invalid-field", '"id" must be below 2**53')
    return value
