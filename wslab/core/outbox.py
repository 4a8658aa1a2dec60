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

Pure: no sockets, no asyncio, no widgets, no locks. The server's side,
:class:`~wslab.state.outbox.Inbox`, is written by a server's thread and read
by a notebook's, so it lives, with its lock, in :mod:`wslab.state.outbox`.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import Literal

from wslab.core.messages import MessageError

__all__ = [
    "MAX_CLIENTS_REMEMBERED",
    "MAX_CLIENT_ID_CHARS",
    "MAX_KEPT_MESSAGES",
    "MAX_PENDING",
    "Envelope",
    "Outbox",
    "OutboxFull",
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
