"""Decode recorded WebSocket bytes: the HTTP upgrade, then every frame.

Theory of operation: each connection has two byte streams, ``"up"`` (client →
server) and ``"down"`` (server → client). :class:`WireDecoder` keeps, for each
stream, one of websockets' own :class:`~websockets.streams.StreamReader` and a
generator-based parser over it, exactly as websockets' sans-I/O protocol does:
feed bytes, step the parser, collect what it finished. A stream starts with the
HTTP handshake (parsed by websockets' ``Request.parse`` / ``Response.parse``)
and goes on with frames (``Frame.parse``, with ``mask=True`` going up: RFC 6455
§5.3 makes clients mask and servers not). So chunks may split a frame anywhere
or hold several frames: the reader buffers until the parser has enough.

Nothing here raises into the caller: a stream that cannot be parsed (not HTTP,
TLS ciphertext, a broken frame) gives one :class:`WireNote` and is then ignored.
It imports no sockets, asyncio or widgets: only websockets' sans-I/O pieces.
Not thread-safe: feed and read one decoder from one thread at a time (or under a
lock, as :class:`~wslab.widgets.wire.WireInspector` does).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from websockets.exceptions import InvalidHeader
from websockets.extensions.base import Extension
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Close, Frame, Opcode
from websockets.headers import parse_extension
from websockets.http11 import Request, Response
from websockets.streams import StreamReader
from websockets.utils import accept_key

__all__ = [
    "GUID",
    "AcceptSteps",
    "Direction",
    "FrameRecord",
    "HandshakeRecord",
    "WireDecoder",
    "WireNote",
    "WireRecord",
    "accept_steps",
    "decode_streams",
    "preview_text",
]

#: ``"up"``: client → server; ``"down"``: server → client (as in wslab.network.wire).
Direction = Literal["up", "down"]

#: The fixed GUID of RFC 6455 §1.3, appended to the key before hashing.
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

#: Bytes of each payload kept for the preview.
PREVIEW = 16
#: The largest frame payload the decoder accepts (a hostile length is an error).
MAX_FRAME = 64 << 20
#: Request and header lines longer than this are an error, as in websockets.
MAX_LINE = 8192

_TLS_RECORD_TYPES = {0x14, 0x15, 0x16, 0x17}
_REQUEST_LINE = re.compile(rb"[A-Z]+ \S+ HTTP/1\.[01]\r?\n")


# --- the accept computation -----------------------------------------------------


@dataclass(frozen=True)
class AcceptSteps:
    """RFC 6455 §4.2.2, step by step: how a server answers a ``Sec-WebSocket-Key``.

    Attributes:
        key: the client's ``Sec-WebSocket-Key`` (16 random bytes, base64).
        joined: ``key + GUID``, the string that is hashed.
        sha1_hex: the SHA-1 digest of ``joined`` (20 bytes), in hex.
        accept: that digest in base64: the ``Sec-WebSocket-Accept`` to expect.
        library: what websockets' own ``accept_key(key)`` says (the same).
    """

    key: str
    joined: str
    sha1_hex: str
    accept: str
    library: str


def accept_steps(key: str) -> AcceptSteps:
    """Compute ``Sec-WebSocket-Accept`` from ``key`` with hashlib and base64, step by step.

    Args:
        key: the ``Sec-WebSocket-Key`` header's value.

    Returns:
        Every intermediate value, and websockets' own answer to compare with.
    """
    joined = key + GUID
    digest = hashlib.sha1(joined.encode("ascii", "replace")).digest()
    accept = base64.b64encode(digest).decode("ascii")
    return AcceptSteps(key, joined, digest.hex(), accept, accept_key(key))


# --- records --------------------------------------------------------------------


@dataclass(frozen=True)
class HandshakeRecord:
    """The HTTP upgrade of one connection: the client's request, the server's answer.

    Attributes:
        connection: the connection's number.
        method, path: from the request line (``GET /``).
        request_headers: the request's headers, in order, as sent.
        status, reason: the response's status line (``101 Switching Protocols``).
        response_headers: the response's headers, in order.
        key: the request's ``Sec-WebSocket-Key`` ("" if missing).
        accept: the response's ``Sec-WebSocket-Accept`` ("" if missing).
        steps: the expected accept, computed from ``key``.
        time: when the response's last byte was recorded.
    """

    connection: int
    method: str
    path: str
    request_headers: tuple[tuple[str, str], ...]
    status: int
    reason: str
    response_headers: tuple[tuple[str, str], ...]
    key: str
    accept: str
    steps: AcceptSteps
    time: float = 0.0

    @property
    def accept_ok(self) -> bool:
        """Whether the server's accept is the expected one (and websockets agrees)."""
        return self.accept == self.steps.accept == self.steps.library != ""

    @property
    def upgraded(self) -> bool:
        """Whether the server switched protocols (101): frames follow."""
        return self.status == 101

    def request_header(self, name: str) -> str:
        """The first request header called ``name`` (any case), or ""."""
        return _header(self.request_headers, name)

    def response_header(self, name: str) -> str:
        """The first response header called ``name`` (any case), or ""."""
        return _header(self.response_headers, name)


@dataclass(frozen=True)
class FrameRecord:
    """One WebSocket frame as it crossed the wire (RFC 6455 §5.2).

    Attributes:
        connection: the connection's number.
        direction: ``"up"`` (client → server) or ``"down"``.
        index: the frame's number in its stream: 1, 2, ...
        opcode: ``"TEXT"``, ``"BINARY"``, ``"CONT"``, ``"CLOSE"``, ``"PING"``, ``"PONG"``.
        fin: the FIN bit: the last frame of a message.
        rsv1: the RSV1 bit: with permessage-deflate, a compressed message.
        masked: the MASK bit, read from the raw header (clients must set it).
        length: the payload length written in the header (as sent, so compressed).
        header_hex: the raw header bytes in hex (opcode byte, length, mask key).
        preview_hex: the first payload bytes, unmasked (and decompressed), in hex.
        preview: the same bytes as text; undecodable bytes become U+FFFD.
        size: the payload's size after decompression (``length`` if not compressed).
        close_code, close_reason: for a CLOSE frame with a body.
        time: when the frame's last byte was recorded.
    """

    connection: int
    direction: Direction
    index: int
    opcode: str
    fin: bool
    rsv1: bool
    masked: bool
    length: int
    header_hex: str
    preview_hex: str
    preview: str
    size: int
    close_code: int | None = None
    close_reason: str = ""
    time: float = 0.0

    @property
    def compressed(self) -> bool:
        """Whether the frame starts a compressed message (permessage-deflate's RSV1)."""
        return self.rsv1


@dataclass(frozen=True)
class WireNote:
    """Something about a stream that is not a frame: TLS, an error, the end.

    Attributes:
        connection: the connection's number.
        direction: the stream it is about.
        kind: ``"tls"`` (ciphertext, unreadable), ``"error"`` (the stream could
            not be parsed; decoding it stopped), ``"http"`` (plain HTTP: a
            request that is not an upgrade, or a server that did not switch).
        text: what happened, in words.
        time: when it was noticed.
    """

    connection: int
    direction: Direction
    kind: Literal["tls", "error", "http"]
    text: str
    time: float = 0.0


WireRecord = HandshakeRecord | FrameRecord | WireNote


def preview_text(data: bytes, limit: int = PREVIEW) -> str:
    """The first ``limit`` bytes as text: UTF-8 where valid, U+FFFD elsewhere.

    Control characters are shown as ``·`` so a table row stays one line.
    """
    text = data[:limit].decode("utf-8", "replace")
    return "".join(c if c.isprintable() or c == " " else "·" for c in text)


# --- the decoder ----------------------------------------------------------------


@dataclass
class _Stream:
    """One direction of one connection: a reader, its parser, what it finished."""

    direction: Direction
    reader: StreamReader = field(default_factory=StreamReader)
    parser: Generator[None, None, None] | None = None
    started: bool = False
    done: bool = False
    frames: int = 0
    time: float = 0.0


class _Connection:
    """Both streams of one connection, and the handshake they share."""

    def __init__(self, number: int, emit: Callable[[WireRecord], None]) -> None:
        self.number = number
        self.emit = emit
        self.request: Request | None = None
        self.response: Response | None = None
        self.stopped = False
        self.streams = {d: _Stream(d) for d in ("up", "down")}

    # --- feeding ---------------------------------------------------------------

    def feed(self, direction: Direction, data: bytes, when: float) -> None:
        stream = self.streams[direction]
        stream.time = when
        if stream.done or self.stopped:
            return
        if not stream.started:
            stream.started = True
            if data[:1] and data[0] in _TLS_RECORD_TYPES:
                # A TLS record starts with its content type (22 = handshake):
                # everything after it is encrypted, so stop both streams at once.
                self.stopped = True
                for other in self.streams.values():
                    other.done = True
                self.emit(
                    WireNote(
                        self.number,
                        direction,
                        "tls",
                        "TLS: these bytes are encrypted (ciphertext); only the two ends "
                        "can read the handshake and frames.",
                        when,
                    )
                )
                return
            stream.parser = self._parse_up() if direction == "up" else self._parse_down()
        stream.reader.feed_data(data)
        self._step(stream)
        # The server's answer may unblock the client's frames (they wait for it).
        if direction == "down":
            self._step(self.streams["up"])

    def _step(self, stream: _Stream) -> None:
        if stream.done or stream.parser is None:
            return
        try:
            next(stream.parser)
        except StopIteration:
            stream.done = True
        except Exception as exc:  # any parse failure is reported, never raised
            stream.done = True
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self.emit(
                WireNote(
                    self.number,
                    stream.direction,
                    "error",
                    f"cannot parse the {stream.direction} stream: {reason}; "
                    "decoding of this direction stopped",
                    stream.time,
                )
            )

    # --- parsers (generator-based, like websockets' own) -----------------------

    def _parse_up(self) -> Generator[None, None, None]:
        stream = self.streams["up"]
        reader = stream.reader
        # Plain HTTP through the same tap (a login form's POST) is not an
        # upgrade: say so, rather than fail on its body.
        while b"\n" not in reader.buffer and len(reader.buffer) <= MAX_LINE:
            yield
        first = bytes(reader.buffer[: reader.buffer.find(b"\n") + 1])
        if not first.startswith(b"GET ") and _REQUEST_LINE.fullmatch(first):
            self.stopped = True
            self.streams["down"].done = True
            self.emit(
                WireNote(
                    self.number,
                    "up",
                    "http",
                    f"plain HTTP ({first.decode('ascii').strip()}): not a WebSocket "
                    "upgrade, so not decoded",
                    stream.time,
                )
            )
            return
        self.request = yield from Request.parse(reader.read_line)
        self._handshake_if_complete(stream.time)
        # A client sends frames only after the 101, and decoding them may need
        # what the response negotiated (permessage-deflate): wait for it.
        while self.response is None:
            if self.streams["down"].done:
                return  # the response could not be read: it never will be
            yield
        if self.response.status_code != 101:
            return
        yield from self._parse_frames(stream, mask=True)

    def _parse_down(self) -> Generator[None, None, None]:
        stream = self.streams["down"]
        reader = stream.reader
        self.response = yield from Response.parse(
            reader.read_line, reader.read_exact, reader.read_to_eof
        )
        self._handshake_if_complete(stream.time)
        if self.response.status_code != 101:
            self.emit(
                WireNote(
                    self.number,
                    "down",
                    "http",
                    f"HTTP {self.response.status_code} {self.response.reason_phrase}: "
                    "the server refused the upgrade, so no frames follow",
                    stream.time,
                )
            )
            return
        yield from self._parse_frames(stream, mask=False)

    def _parse_frames(self, stream: _Stream, *, mask: bool) -> Generator[None, None, None]:
        extensions = self._extensions(stream.direction)
        reader = stream.reader
        head = bytearray()

        def read_exact(n: int) -> Generator[None, None, bytearray]:
            # Frame.parse reads the header (2 bytes, the extended length, the
            # mask key), then the payload: keep the header's raw bytes, since
            # Frame has no MASK bit and hands the payload over unmasked.
            data = yield from reader.read_exact(n)
            if len(head) < 2 or len(head) < _header_size(head, mask):
                head.extend(data)
            return data

        while True:
            if (yield from reader.at_eof()):
                return
            head.clear()
            frame = yield from Frame.parse(
                read_exact, mask=mask, max_size=MAX_FRAME, extensions=extensions
            )
            stream.frames += 1
            self.emit(self._record(stream, bytes(head), frame))

    # --- helpers ---------------------------------------------------------------

    def _record(self, stream: _Stream, head: bytes, frame: Frame) -> FrameRecord:
        length = head[1] & 0x7F
        if length == 126:
            length = int.from_bytes(head[2:4], "big")
        elif length == 127:
            length = int.from_bytes(head[2:10], "big")
        payload = bytes(frame.data)
        code: int | None = None
        reason = ""
        if frame.opcode is Opcode.CLOSE and payload:
            close = Close.parse(payload)
            code, reason = close.code, close.reason
        return FrameRecord(
            connection=self.number,
            direction=stream.direction,
            index=stream.frames,
            opcode=frame.opcode.name,
            fin=frame.fin,
            rsv1=bool(head[0] & 0x40),
            masked=bool(head[1] & 0x80),
            length=length,
            header_hex=head.hex(" "),
            preview_hex=payload[:PREVIEW].hex(" "),
            preview=preview_text(payload),
            size=len(payload),
            close_code=code,
            close_reason=reason,
            time=stream.time,
        )

    def _extensions(self, direction: Direction) -> Sequence[Extension] | None:
        """permessage-deflate as the response negotiated it, to decode ``direction``."""
        assert self.response is not None
        try:
            offered = [
                item
                for value in self.response.headers.get_all("Sec-WebSocket-Extensions")
                for item in parse_extension(value)
            ]
        except InvalidHeader:
            return None
        for name, params in offered:
            if name != "permessage-deflate":
                continue
            values = dict(params)
            # The stream's sender is the "remote" end of the decoding extension.
            sender = "client" if direction == "up" else "server"
            receiver = "server" if direction == "up" else "client"
            remote_bits = values.get(f"{sender}_max_window_bits")
            local_bits = values.get(f"{receiver}_max_window_bits")
            return [
                PerMessageDeflate(
                    remote_no_context_takeover=f"{sender}_no_context_takeover" in values,
                    local_no_context_takeover=f"{receiver}_no_context_takeover" in values,
                    remote_max_window_bits=int(remote_bits) if remote_bits else 15,
                    local_max_window_bits=int(local_bits) if local_bits else 15,
                )
            ]
        return None

    def _handshake_if_complete(self, when: float) -> None:
        request, response = self.request, self.response
        if request is None or response is None:
            return
        key = request.headers.get("Sec-WebSocket-Key", "")
        self.emit(
            HandshakeRecord(
                connection=self.number,
                method=request.method,
                path=request.path,
                request_headers=tuple(request.headers.raw_items()),
                status=response.status_code,
                reason=response.reason_phrase,
                response_headers=tuple(response.headers.raw_items()),
                key=key,
                accept=response.headers.get("Sec-WebSocket-Accept", ""),
                steps=accept_steps(key),
                time=when,
            )
        )


def _header_size(head: bytearray, mask: bool) -> int:
    """How many bytes the frame header whose first two bytes are ``head`` takes."""
    length = head[1] & 0x7F
    extra = 2 if length == 126 else 8 if length == 127 else 0
    return 2 + extra + (4 if mask else 0)


def _header(headers: tuple[tuple[str, str], ...], name: str) -> str:
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), "")


class WireDecoder:
    """Turns recorded chunks into handshakes, frames and notes, incrementally.

    Feed each chunk as it is recorded, in order per connection and direction
    (the directions of a connection may interleave in any order). Every
    call returns the records it completed; :attr:`records` keeps them all.

    Feeding never raises: a stream that cannot be parsed gives a
    :class:`WireNote` (``kind="error"``) and is ignored from then on.
    """

    def __init__(self) -> None:
        self.records: list[WireRecord] = []
        self._connections: dict[int, _Connection] = {}
        self._new: list[WireRecord] = []

    def feed(
        self, connection: int, direction: Direction, data: bytes, time: float = 0.0
    ) -> list[WireRecord]:
        """Decode the next ``data`` of one stream.

        Args:
            connection: the connection's number.
            direction: ``"up"`` (client → server) or ``"down"``.
            data: the bytes, as recorded (any split).
            time: when they were recorded; records carry it.

        Returns:
            The records these bytes completed, in order.
        """
        conn = self._connections.get(connection)
        if conn is None:
            conn = self._connections[connection] = _Connection(connection, self._new.append)
        if data:
            conn.feed(direction, data, time)
        new = list(self._new)
        self._new.clear()  # the same list: connections hold its append
        self.records.extend(new)
        return new

    def frames(
        self, connection: int | None = None, direction: Direction | None = None
    ) -> list[FrameRecord]:
        """The decoded frames, in order, optionally of one connection or direction."""
        return [
            r
            for r in self.records
            if isinstance(r, FrameRecord)
            and (connection is None or r.connection == connection)
            and (direction is None or r.direction == direction)
        ]

    def handshakes(self) -> list[HandshakeRecord]:
        """Every decoded handshake, in the order the responses arrived."""
        return [r for r in self.records if isinstance(r, HandshakeRecord)]

    def notes(self) -> list[WireNote]:
        """Every note: TLS, errors, refused upgrades."""
        return [r for r in self.records if isinstance(r, WireNote)]

    @property
    def connections(self) -> list[int]:
        """The connection numbers seen so far, in order."""
        return sorted(self._connections)


def decode_streams(chunks: Sequence[tuple[int, Direction, bytes]]) -> WireDecoder:
    """Decode a whole recording at once: ``(connection, direction, data)`` triples."""
    decoder = WireDecoder()
    for connection, direction, data in chunks:
        decoder.feed(connection, direction, data)
    return decoder
