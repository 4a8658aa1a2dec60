"""The event log: what a server or client did, recorded instead of printed.

A server on a background thread must never ``print``: in ipykernel 7 the text
lands in whichever cell happens to be running. Servers and clients record
:class:`~wslab.core.eventlog.LogEntry` values to an :class:`EventLog` instead;
a cell reads it and a widget shows it. Thread-safe: a server records on its
thread while the kernel's reads.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from wslab.core.eventlog import (
    Direction,
    LogEntry,
    describe_payload,
    mask_secrets,
)
from wslab.state.observable import Observers

__all__ = [
    "EventLog",
]


class EventLog:
    """A bounded, thread-safe list of :class:`LogEntry` with observers.

    Args:
        maxlen: how many entries to keep; older ones are dropped (the
            ``total`` count still includes them).
    """

    def __init__(self, maxlen: int = 1000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[LogEntry] = deque(maxlen=maxlen)
        self._total = 0
        self.observers: Observers[LogEntry] = Observers()

    def record(
        self,
        kind: str,
        text: str = "",
        *,
        direction: Direction = "-",
        peer: str = "",
        size: int = 0,
        binary: bool = False,
        code: int | None = None,
    ) -> LogEntry:
        """Append an entry and tell the observers. Thread-safe.

        Tokens in ``text`` are masked (:func:`mask_secrets`) before anyone sees it.
        """
        # A frozen dataclass's __init__ sets each field through
        # object.__setattr__; filling __dict__ at once makes the same entry at
        # a third of the cost, which counts on a server's per-message path.
        entry: LogEntry = object.__new__(LogEntry)
        entry.__dict__.update(
            time=time.time(), kind=kind, direction=direction, peer=peer,
            text=mask_secrets(text), size=size, binary=binary, code=code,
        )  # fmt: skip
        return self._keep(entry)

    def _keep(self, entry: LogEntry) -> LogEntry:
        with self._lock:
            self._entries.append(entry)
            self._total += 1
        self.observers.notify(entry)
        return entry

    def message(self, direction: Direction, data: str | bytes, peer: str = "") -> LogEntry:
        """Record a message sent or received, with its size and frame type."""
        preview, size, binary = describe_payload(data)
        # record(), without its keyword arguments: a server logs every message.
        entry: LogEntry = object.__new__(LogEntry)
        entry.__dict__.update(
            time=time.time(), kind="message", direction=direction, peer=peer,
            text=mask_secrets(preview), size=size, binary=binary, code=None,
        )  # fmt: skip
        return self._keep(entry)

    def entries(self, kind: str | Iterable[str] | None = None) -> list[LogEntry]:
        """Return a snapshot of the kept entries, optionally of some kinds only."""
        with self._lock:
            snapshot = list(self._entries)
        if kind is None:
            return snapshot
        kinds = {kind} if isinstance(kind, str) else set(kind)
        return [e for e in snapshot if e.kind in kinds]

    def kinds(self) -> list[str]:
        """The kinds of the kept entries, in order: handy for assertions."""
        return [e.kind for e in self.entries()]

    def subscribe(self, callback: Callable[[LogEntry], object]) -> Callable[[], None]:
        """Call ``callback(entry)`` on every new entry, on the recording thread."""
        return self.observers.subscribe(callback)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    @property
    def total(self) -> int:
        """How many entries were ever recorded, including dropped ones."""
        with self._lock:
            return self._total

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"<EventLog {len(self)} entries>"
