"""The feed's history: numbered events, kept for clients that fall behind.

A live stream is only useful if a client that blinks (reconnects, or sends
its next long-polling request) gets what it missed. So the lesson 12 server
numbers every event it publishes, 1, 2, 3, ..., and keeps the newest ones in
a :class:`FeedLog`. A client then only has to say the last id it saw:

- SSE: the browser sends it by itself, in the ``Last-Event-ID`` header of
  its reconnection request;
- long polling: the client asks ``/poll?after=<id>`` every time;
- WebSocket: nothing is built in; the application has to design it.

:class:`FeedStats` tallies what each transport's client received, for the
board that compares them. No sockets, asyncio or widgets; thread-safe: the
server and the clients record on their threads while a widget reads.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from wslab.state.observable import Observers

__all__ = [
    "DEFAULT_HISTORY",
    "TRANSPORTS",
    "FeedEntry",
    "FeedLog",
    "FeedStats",
    "TransportTally",
]

#: How many events a feed keeps for clients catching up.
DEFAULT_HISTORY = 1000


@dataclass(frozen=True)
class FeedEntry:
    """One published event.

    Attributes:
        id: its number: 1 for the first event, then one more for each.
        data: the event's data, as the text every transport sends.
    """

    id: int
    data: str


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


#: The three ways lesson 12 receives the same stream.
TRANSPORTS = ("WebSocket", "SSE", "long polling")


@dataclass
class TransportTally:
    """What one transport delivered.

    Attributes:
        name: the transport, such as ``"SSE"``.
        seqs: the sequence numbers received, in order.
        latencies_ms: receive time minus publish time, per message.
        wire: the byte counter read at each message (when one was given).
    """

    name: str
    seqs: list[int] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    wire: list[int] = field(default_factory=list)

    @property
    def received(self) -> int:
        return len(self.seqs)

    @property
    def last_latency_ms(self) -> float | None:
        return self.latencies_ms[-1] if self.latencies_ms else None

    @property
    def mean_latency_ms(self) -> float | None:
        return sum(self.latencies_ms) / len(self.latencies_ms) if self.latencies_ms else None

    @property
    def bytes_per_message(self) -> float | None:
        """Bytes on the wire per message, in the steady state.

        Counted between the first and the last message, so the connection's
        opening (TCP, the HTTP request, the WebSocket handshake) is left out:
        it is paid once, not per message. None until two readings exist.
        """
        if len(self.wire) < 2:
            return None
        return (self.wire[-1] - self.wire[0]) / (len(self.wire) - 1)

    def duplicates(self) -> list[int]:
        """Sequence numbers received more than once."""
        seen: set[int] = set()
        twice = []
        for seq in self.seqs:
            if seq in seen:
                twice.append(seq)
            seen.add(seq)
        return twice

    def gaps(self) -> list[int]:
        """Sequence numbers missing between the first and the last received."""
        if not self.seqs:
            return []
        have = set(self.seqs)
        return [n for n in range(min(have), max(have) + 1) if n not in have]

    def consecutive(self) -> bool:
        """True when the numbers go up by exactly one each time: no gap, no duplicate."""
        return all(b == a + 1 for a, b in zip(self.seqs, self.seqs[1:], strict=False))


class FeedStats:
    """One :class:`TransportTally` per transport, observable. Thread-safe.

    Args:
        transports: the transports' names, in display order.
    """

    def __init__(self, transports: Iterable[str] = TRANSPORTS) -> None:
        self._lock = threading.Lock()
        self.transports = tuple(transports)
        self._tallies = {name: TransportTally(name) for name in self.transports}
        #: Told the transport's name after each record and on :meth:`reset`.
        self.changed: Observers[str] = Observers()

    def record(
        self,
        transport: str,
        seq: int,
        published_ms: float,
        received_s: float,
        wire_bytes: int | None = None,
    ) -> None:
        """Record one message.

        Args:
            transport: which tally (one of ``transports``).
            seq: the message's sequence number.
            published_ms: when the server published it, in milliseconds since
                the epoch (like JavaScript's ``Date.now()``).
            received_s: when it arrived, in seconds since the epoch (``time.time()``).
            wire_bytes: the transport's byte counter right now, if counted.

        Raises:
            KeyError: an unknown transport.
        """
        with self._lock:
            tally = self._tallies[transport]
            tally.seqs.append(seq)
            tally.latencies_ms.append(received_s * 1000 - published_ms)
            if wire_bytes is not None:
                tally.wire.append(wire_bytes)
        self.changed.notify(transport)

    def tally(self, transport: str) -> TransportTally:
        """A copy of one transport's tally."""
        with self._lock:
            t = self._tallies[transport]
            return TransportTally(t.name, list(t.seqs), list(t.latencies_ms), list(t.wire))

    def __getitem__(self, transport: str) -> TransportTally:
        return self.tally(transport)

    def reset(self) -> None:
        """Forget everything (for a new measurement)."""
        with self._lock:
            self._tallies = {name: TransportTally(name) for name in self.transports}
        for name in self.transports:
            self.changed.notify(name)

    def rows(self) -> list[dict[str, object]]:
        """One row per transport for a table: received, latencies, bytes per message."""
        rows: list[dict[str, object]] = []
        for name in self.transports:
            t = self.tally(name)
            rows.append(
                {
                    "transport": name,
                    "received": t.received,
                    "mean latency (ms)": t.mean_latency_ms,
                    "last latency (ms)": t.last_latency_ms,
                    "bytes per message": t.bytes_per_message,
                }
            )
        return rows
