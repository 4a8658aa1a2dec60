"""What each transport delivered: counts, order, latency and bytes per message.

Lesson 12 receives one stream three ways and compares them. A
:class:`FeedStats` keeps one :class:`TransportTally` per transport; a
listener records each message it receives (its sequence number, when it was
published, when it arrived, and optionally how many bytes had crossed the
wire so far), and widgets observe :attr:`FeedStats.changed`.

Latency is the receive time minus the publish time. Both come from the same
clock (``time.time()`` on one machine), so the difference is meaningful;
across machines it would not be. Pure: no sockets, asyncio or widgets.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from wslab.state.observable import Observers

__all__ = ["TRANSPORTS", "FeedStats", "TransportTally"]

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
