"""Rule 3 of lesson 9, as a log: leave heartbeat messages out, and count them.

:class:`HeartbeatLog` is an :class:`~wslab.state.eventlog.EventLog` that a
server's thread writes while the kernel's reads; the rule it applies
(:func:`~wslab.core.heartbeat.is_heartbeat`) is pure and lives in
:mod:`wslab.core.heartbeat`.
"""

from __future__ import annotations

import threading
import time

from wslab.core.eventlog import Direction, LogEntry, describe_payload
from wslab.core.heartbeat import (
    is_heartbeat,
)
from wslab.state.eventlog import EventLog

__all__ = [
    "HeartbeatLog",
]


class HeartbeatLog(EventLog):
    """An event log that can leave heartbeat messages out (rule 3).

    With ``heartbeats=False`` the text messages ``ping`` and ``pong`` are not
    recorded, only counted in :attr:`skipped`; everything else (other
    messages, missed pongs, closes) is. A page that pings every 30 s writes
    2,880 useless lines a day per user otherwise, and buries what matters.

    Args:
        maxlen: entries to keep, as for :class:`~wslab.core.eventlog.EventLog`.
        heartbeats: record ``ping``/``pong`` messages (True) or skip them.

    Thread-safe, like every event log.
    """

    def __init__(self, maxlen: int = 1000, *, heartbeats: bool = True) -> None:
        super().__init__(maxlen)
        self.heartbeats = heartbeats
        self._skipped = 0
        self._skip_lock = threading.Lock()

    @property
    def skipped(self) -> int:
        """How many heartbeat messages were left out."""
        with self._skip_lock:
            return self._skipped

    def message(self, direction: Direction, data: str | bytes, peer: str = "") -> LogEntry:
        """Record a message, unless it is a heartbeat and heartbeats are off.

        Returns the entry, recorded or not.
        """
        if self.heartbeats or not is_heartbeat(data):
            return super().message(direction, data, peer)
        with self._skip_lock:
            self._skipped += 1
        preview, size, binary = describe_payload(data)
        return LogEntry(time.time(), "message", direction, peer, preview, size, binary)
