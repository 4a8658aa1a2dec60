"""What happened, recorded instead of printed.

A server on a background thread must never ``print``: in ipykernel 7 the text
lands in whichever cell happens to be running. Servers and clients record
:class:`LogEntry` values to an :class:`~wslab.state.eventlog.EventLog` instead;
a cell reads it and a widget shows it. This module is the pure half: what an
entry is and how payloads, times and secrets are shown. The thread-safe log
itself lives in :mod:`wslab.state.eventlog`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Direction",
    "LogEntry",
    "clock",
    "describe_payload",
    "mask_secrets",
    "peer_address",
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


def peer_address(remote_address: object) -> str:
    """Where a connection comes from, ``host:port`` (``[host]:port`` for IPv6), or ``"?"``.

    Args:
        remote_address: a socket's peer address, as websockets' ``remote_address``
            gives it: ``(host, port)`` for IPv4, ``(host, port, flow, scope)`` for IPv6.
    """
    try:
        host, port = remote_address[:2]  # type: ignore[index]
    except (TypeError, ValueError):
        return "?"
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
