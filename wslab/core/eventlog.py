"""What happened, recorded instead of printed.

A server on a background thread must never ``print``: in ipykernel 7 the text
lands in whichever cell happens to be running. Servers and clients record
:class:`LogEntry` values to an :class:`EventLog` instead; a cell reads it and
a widget shows it. Pure: no sockets, asyncio or widgets; thread-safe.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from wslab.state.observable import Observers

__all__ = [
    "Direction",
    "EventLog",
    "LogEntry",
    "clock",
    "describe_payload",
    "mask_secrets",
    "preview",
]

Direction = Literal["in", "out", "-"]

PREVIEW_CHARS = 80

# A token in a log is as good as a password to whoever reads the log: the
# value of any "token=" (URL query, cookie) and anything shaped like a JWT.
_SECRET_IN_TEXT = re.compile(
    r"(token=)[^&\s;\"']*|eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*", re.IGNORECASE
)


def mask_secrets(text: str) -> str:
    """Hide tokens in ``text``: ``?token=abc`` → ``?token=***``, a JWT → ``eyJ***``.

    Every :meth:`EventLog.record` goes through it, so no log, widget or
    printed event ever shows a token (a URL with ``?token=``, a cookie, a
    client pasting its JWT into a chat).

        >>> mask_secrets("connecting to ws://127.0.0.1:8080/?token=eyJhbGc.e30.sig&x=1")
        'connecting to ws://127.0.0.1:8080/?token=***&x=1'
    """
    # Two substring tests first: they cost nanoseconds, the regex a microsecond,
    # and almost no message has either.
    if "=" not in text and "eyJ" not in text:
        return text
    return _SECRET_IN_TEXT.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    return f"{match.group(1)}***" if match.group(1) else "eyJ***"


@dataclass(frozen=True)
class LogEntry:
    """One recorded event.

    Attributes:
        time: wall-clock time (``time.time()``) when it was recorded.
        kind: what happened: ``"listening"``, ``"connect"``, ``"message"``,
            ``"close"``, ``"error"``, ``"stopped"``, ...
        direction: for messages, ``"in"`` (received by the log's owner) or
            ``"out"`` (sent by it); ``"-"`` otherwise.
        peer: who it concerns, such as ``"#3"`` for the third connection.
        text: a short human-readable description or message preview.
        size: payload size in bytes (0 for non-messages).
        binary: True for a binary frame, False for a text frame.
        code: a WebSocket close code, where there is one.
    """

    time: float
    kind: str
    direction: Direction = "-"
    peer: str = ""
    text: str = ""
    size: int = 0
    binary: bool = False
    code: int | None = None


def preview(text: str) -> str:
    """``text`` cut to :data:`PREVIEW_CHARS` characters, with "…" where it was cut."""
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def clock(t: float) -> str:
    """Local wall-clock time ``t`` (``time.time()``) as ``HH:MM:SS.mmm``, as logs show it."""
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"


def describe_payload(data: str | bytes) -> tuple[str, int, bool]:
    """Return ``(preview, size_in_bytes, is_binary)`` for a message payload."""
    if isinstance(data, str):
        # ASCII text, the common case, is a byte per character: no need to encode.
        size = len(data) if data.isascii() else len(data.encode("utf-8", "surrogatepass"))
        return preview(data), size, False
    head = bytes(data[:16]).hex(" ")
    more = " …" if len(data) > 16 else ""
    return f"<{len(data)} bytes: {head}{more}>", len(data), True


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
