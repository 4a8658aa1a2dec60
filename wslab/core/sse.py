"""Server-Sent Events on the wire: encoding events, and parsing a stream.

An SSE stream is UTF-8 text made of *fields*, one per line, with a blank
line ending each event (WHATWG HTML, "Server-sent events", §9.2)::

    retry: 1000            ← how long a client waits before reconnecting (ms)
    : keep-alive           ← a comment: ignored, but keeps proxies from timing out

    id: 7                  ← the client remembers it and sends it back as
    data: {"seq":7}           Last-Event-ID when it reconnects
                           ← blank line: dispatch the event

:func:`encode_event` and :func:`encode_comment` write such blocks;
:class:`SSEParser` reads a stream incrementally, exactly as the standard's
"interpreting an event stream" describes, which is what a browser's
``EventSource`` does. Pure: no sockets, asyncio or widgets.

Theory of operation of the parser: bytes are decoded as UTF-8 (a leading
byte-order mark is dropped, bad bytes become U+FFFD), split into lines at
CRLF, LF or CR, and each line is one of: blank (dispatch), a comment
(starts with ``:``), or ``field: value``. Only ``event``, ``data``, ``id``
and ``retry`` mean anything; other fields are ignored, so a stream can grow
new fields without breaking old clients.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

__all__ = [
    "MAX_ID_DIGITS",
    "SSEParser",
    "ServerSentEvent",
    "encode_comment",
    "encode_event",
    "parse_event_id",
    "parse_stream",
]

# A line break in a value would end the field early (or the event): the
# standard accepts all three of CRLF, LF and CR as line breaks.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BOM = "\ufeff"


@dataclass(frozen=True)
class ServerSentEvent:
    """One dispatched event, as ``EventSource`` hands it to a listener.

    Attributes:
        data: the event's data; several ``data:`` lines are joined with ``\\n``.
        type: the event type: ``"message"`` unless an ``event:`` field named
            another (``addEventListener('tick', ...)`` in JavaScript).
        last_event_id: the last ``id:`` seen on the stream so far (``""`` if none);
            the browser's ``event.lastEventId``.
    """

    data: str
    type: str = "message"
    last_event_id: str = ""


# --- encoding ----------------------------------------------------------------------


def _field(name: str, value: str) -> str:
    # "name: value". The parser removes exactly one space after the colon,
    # so a value that itself starts with a space survives; an empty value
    # needs no space at all.
    return f"{name}: {value}\n" if value else f"{name}:\n"


def encode_event(
    data: str | None = None,
    *,
    event: str | None = None,
    id: str | int | None = None,
    retry: int | None = None,
) -> str:
    """Return the wire text of one event, ending with its blank line.

    Multi-line ``data`` becomes several ``data:`` lines (any of CRLF, LF or
    CR splits it); the client joins them again with ``\\n``::

        >>> encode_event('{"t": 1}', id=7)
        'id: 7\\ndata: {"t": 1}\\n\\n'
        >>> encode_event("line one\\nline two")
        'data: line one\\ndata: line two\\n\\n'

    Args:
        data: the event's data, or None for a block without data (only an
            ``id`` or a ``retry``: it updates the client but dispatches nothing).
        event: an event type other than ``"message"``.
        id: the event id the client will send back as ``Last-Event-ID``.
        retry: the reconnection time in milliseconds.

    Returns:
        The text to write to the stream, encoded as UTF-8 by the caller.

    Raises:
        ValueError: nothing to send; an ``event`` or ``id`` containing a line
            break (or an ``id`` containing NUL, which clients ignore); a
            ``retry`` that is not a non-negative integer.
    """
    if data is None and event is None and id is None and retry is None:
        raise ValueError("an event needs data, an id or a retry")
    lines: list[str] = []
    if retry is not None:
        if not isinstance(retry, int) or isinstance(retry, bool) or retry < 0:
            raise ValueError(f"retry must be a non-negative integer of milliseconds, not {retry!r}")
        lines.append(_field("retry", str(retry)))
    if id is not None:
        text = str(id)
        if _LINE_BREAK.search(text) or "\0" in text:
            raise ValueError("an event id must not contain a line break or NUL")
        lines.append(_field("id", text))
    if event is not None:
        if _LINE_BREAK.search(event) or not event:
            raise ValueError("an event type must be non-empty and on one line")
        lines.append(_field("event", event))
    if data is not None:
        lines.extend(_field("data", line) for line in _LINE_BREAK.split(data))
    return "".join(lines) + "\n"


def encode_comment(text: str = "") -> str:
    """Return a comment block: ignored by clients, but it is traffic.

    Servers send one every few seconds on an idle stream, so that proxies and
    load balancers do not close it as dead (lesson 9's heartbeat, SSE style)::

        >>> encode_comment("keep-alive")
        ': keep-alive\\n\\n'
    """
    return "".join(f": {line}\n" if line else ":\n" for line in _LINE_BREAK.split(text)) + "\n"


# --- parsing -----------------------------------------------------------------------


class SSEParser:
    """An incremental event-stream parser, as the WHATWG standard specifies.

    Feed it bytes as they arrive, in chunks of any size (a chunk may end in
    the middle of a line, of a UTF-8 character, or between the CR and LF of
    a CRLF); it returns the events completed so far.

    Args:
        last_event_id: the last event id already known (a reconnecting client
            carries it over from its previous connection).

    Attributes:
        last_event_id: the last ``id:`` value seen, kept across events.
        retry: the last valid ``retry:`` value, in milliseconds, or None.
        comments: how many comment lines were seen (keep-alives).

    Not thread-safe: one parser per stream.
    """

    def __init__(self, last_event_id: str = "") -> None:
        self.last_event_id = last_event_id
        self.retry: int | None = None
        self.comments = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""  # text of an unfinished line
        self._started = False  # whether the first character (a BOM?) has been seen
        self._after_cr = False  # the last chunk ended with CR: skip a leading LF
        self._data: list[str] = []
        self._type = ""
        self._id_buffer = last_event_id

    def feed(self, chunk: bytes | str) -> list[ServerSentEvent]:
        """Parse the next chunk of the stream; return the events it completed.

        ``str`` chunks skip UTF-8 decoding (for text already decoded).
        """
        text = self._decoder.decode(chunk) if isinstance(chunk, bytes) else chunk
        if not self._started and text:
            self._started = True
            # One byte-order mark at the very start is not part of the stream.
            if text.startswith(_BOM):
                text = text[1:]
        if self._after_cr and text:
            self._after_cr = False
            if text.startswith("\n"):
                text = text[1:]  # the LF of a CRLF split across chunks
        buffer = self._pending + text
        events: list[ServerSentEvent] = []
        start = 0
        for match in _LINE_BREAK.finditer(buffer):
            if match.group() == "\r" and match.end() == len(buffer):
                # A CR at the very end may be the first half of a CRLF: the
                # line ends here either way, but a LF that comes next is not
                # a second (blank) line.
                self._after_cr = True
            event = self._line(buffer[start : match.start()])
            if event is not None:
                events.append(event)
            start = match.end()
        self._pending = buffer[start:]
        return events

    def close(self) -> None:
        """End of stream: an event without its final blank line is discarded."""
        self._pending = ""
        self._data = []
        self._type = ""
        self._decoder.reset()

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._type = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            # An id with NUL is ignored: it could not be sent back in a header.
            if "\0" not in value:
                self._id_buffer = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value)
        # Any other field name is ignored, as the standard says.
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        # The id sticks even when no event is dispatched (a block with only
        # "id:" moves the client's position without a message).
        self.last_event_id = self._id_buffer
        if not self._data:
            self._type = ""
            return None
        event = ServerSentEvent(
            data="\n".join(self._data),
            type=self._type or "message",
            last_event_id=self.last_event_id,
        )
        self._data = []
        self._type = ""
        return event


def parse_stream(stream: bytes | str) -> list[ServerSentEvent]:
    """Parse a whole stream at once; an unfinished last event is discarded."""
    parser = SSEParser()
    events = parser.feed(stream)
    parser.close()
    return events


#: Ids are decimal integers; more digits than this is not an id, it is an attack.
MAX_ID_DIGITS = 18


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
