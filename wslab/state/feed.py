"""The feed's history: numbered events, kept for clients that fall behind.

A live stream is only useful if a client that blinks (reconnects, or sends
its next long-polling request) gets what it missed. So the lesson 12 server
numbers every event it publishes, 1, 2, 3, ..., and keeps the newest ones in
a :class:`FeedLog`. A client then only has to say the last id it saw:

- SSE: the browser sends it by itself, in the ``Last-Event-ID`` header of
  its reconnection request;
- long polling: the client asks ``/poll?after=<id>`` every time;
- WebSocket: nothing is built in; the application has to design it.

Pure: no sockets, asyncio or widgets; thread-safe.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

__all__ = ["DEFAULT_HISTORY", "MAX_ID_DIGITS", "FeedEntry", "FeedLog", "parse_event_id"]

#: How many events a feed keeps for clients catching up.
DEFAULT_HISTORY = 1000
#: Ids are decimal integers; more digits than this is not an id, it is an attack.
MAX_ID_DIGITS = 18


@dataclass(frozen=True)
class FeedEntry:
    """One published event.

    Attributes:
        id: its number: 1 for the first event, then one more for each.
        data: the event's data, as the text every transport sends.
    """

    id: int
    data: str


def parse_event_id(value: str | None, *, what: str = "Last-Event-ID") -> int | None:
    """Read an event id sent by a client (a header or a query parameter).

    Args:
        value: the text as received; None or ``""`` when the client sent none.
        what: how to name it in the error message.

    Returns:
        The id, or None when there was none.

    Raises:
        ValueError: the text is not a plain non-negative decimal integer of at
            most :data:`MAX_ID_DIGITS` digits (no sign, no spaces, no ``1e3``).
    """
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit()):
        shown = value if len(value) <= 20 else value[:19] + "…"
        raise ValueError(f"{what} must be a non-negative integer event id, not {shown!r}")
    if len(value) > MAX_ID_DIGITS:
        raise ValueError(f"{what} is too long: an event id has at most {MAX_ID_DIGITS} digits")
    return int(value)


class FeedLog:
    """Numbered events, the newest ``maxlen`` of them kept.

    Args:
        maxlen: how many events to keep; older ones are forgotten.

    Raises:
        ValueError: ``maxlen`` is less than 1.
    """

    def __init__(self, maxlen: int = DEFAULT_HISTORY) -> None:
        if maxlen < 1:
            raise ValueError("a feed must keep at least one event")
        self.maxlen = maxlen
        self._lock = threading.Lock()
        self._entries: deque[FeedEntry] = deque(maxlen=maxlen)
        self._last_id = 0

    def publish(self, data: str) -> FeedEntry:
        """Append an event with the next id and return it. Thread-safe."""
        with self._lock:
            self._last_id += 1
            entry = FeedEntry(self._last_id, data)
            self._entries.append(entry)
        return entry

    @property
    def last_id(self) -> int:
        """The id of the newest event, 0 before the first."""
        with self._lock:
            return self._last_id

    @property
    def next_id(self) -> int:
        """The id the next published event will get."""
        return self.last_id + 1

    @property
    def first_id(self) -> int:
        """The id of the oldest event still kept (``next_id`` when none is)."""
        with self._lock:
            return self._entries[0].id if self._entries else self._last_id + 1

    def after(self, event_id: int, limit: int | None = None) -> list[FeedEntry]:
        """The kept events with an id greater than ``event_id``, oldest first.

        Args:
            event_id: the last id the client has (0 for "from the start").
            limit: at most this many, the oldest ones (None: all).

        An id beyond the newest gives ``[]``; see :meth:`cursor`.
        """
        with self._lock:
            if not self._entries:
                return []
            # Ids are consecutive, so the position is arithmetic, not a search.
            start = max(0, event_id - self._entries[0].id + 1)
            stop = len(self._entries) if limit is None else min(len(self._entries), start + limit)
            return [self._entries[i] for i in range(start, stop)]

    def missed(self, event_id: int) -> int:
        """How many events after ``event_id`` are already forgotten.

        A client that comes back after more than ``maxlen`` events cannot get
        them all; it should know, rather than see a silent gap.
        """
        return max(0, self.first_id - 1 - event_id)

    def cursor(self, event_id: int | None) -> int:
        """Where a client resumes: the id after which it gets events.

        ``None`` (a new client) means "from now on": the newest id. An id
        beyond the newest comes from an earlier run of the server (its ids
        started again at 1): it too counts as "from now on", so that the
        client is not left waiting for an id that may take hours to come.
        """
        last = self.last_id
        return last if event_id is None or event_id > last else event_id

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"<FeedLog {len(self)} kept, last id {self.last_id}>"
