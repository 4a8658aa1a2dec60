"""wslab.core.wire: decoding recorded bytes, built with websockets' own sans-I/O protocols.

No sockets: a ClientProtocol and a ServerProtocol talk to each other in memory,
and every byte each one sends is kept, as a wiretap between them would see it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from wslab.core.wire import (
    GUID,
    PREVIEW,
    FrameRecord,
    HandshakeRecord,
    WireDecoder,
    WireNote,
    WireRecord,
    accept_steps,
    decode_streams,
    preview_text,
)

Script = Callable[[ClientProtocol, ServerProtocol], None]


class Talk:
    """A client and a server in memory, and the bytes each sent."""

    def __init__(self, *, deflate: bool = False, reject: int | None = None) -> None:
        self.client = ClientProtocol(
            parse_uri("ws://example.com/chat?room=1"),
            extensions=[ClientPerMessageDeflateFactory()] if deflate else None,
        )
        self.server = ServerProtocol(
            extensions=[ServerPerMessageDeflateFactory()] if deflate else None,
            max_size=None,
        )
        self.client.max_size = None
        self.reject = reject
        self.up = bytearray()
        self.down = bytearray()
        self.client.send_request(self.client.connect())
        self.pump()

    def pump(self) -> None:
        """Carry bytes both ways until both sides are quiet."""
        moved = True
        while moved:
            moved = False
            for data in self.client.data_to_send():
                if data:
                    moved = True
                    self.up += data
                    self.server.receive_data(data)
            for event in self.server.events_received():
                if isinstance(event, Request):
                    response = (
                        self.server.reject(self.reject, "go away")
                        if self.reject
                        else self.server.accept(event)
                    )
                    self.server.send_response(response)
            for data in self.server.data_to_send():
                if data:
                    moved = True
                    self.down += data
                    self.client.receive_data(data)
            list(self.client.events_received())


def chat(deflate: bool = False) -> Talk:
    """Hello, an echo, four bytes, a ping and its pong, a close with 1000 "bye"."""
    talk = Talk(deflate=deflate)
    talk.client.send_text(b"Hello!")
    talk.server.send_text(b"Hello!")
    talk.client.send_binary(b"\x00\x01\xfe\xff")
    talk.client.send_ping(b"beat")  # the server answers with a pong by itself
    talk.pump()
    talk.client.send_close(1000, "bye")  # ...and echoes the close
    talk.pump()
    return talk


def without_time(records: list[WireRecord]) -> list[WireRecord]:
    return [replace(r, time=0.0) for r in records]


def same(one: WireDecoder, other: WireDecoder) -> bool:
    """The same records, stream by stream (the order *across* streams may differ)."""
    return all(
        without_time(list(a)) == without_time(list(b))
        for a, b in [
            (one.handshakes(), other.handshakes()),
            (one.frames(direction="up"), other.frames(direction="up")),
            (one.frames(direction="down"), other.frames(direction="down")),
            (one.notes(), other.notes()),
        ]
    )


def decode(talk: Talk) -> WireDecoder:
    return decode_streams([(1, "up", bytes(talk.up)), (1, "down", bytes(talk.down))])


# --- the handshake ----------------------------------------------------------------


def test_accept_steps_match_the_rfc_example() -> None:
    # RFC 6455 §1.3's worked example.
    steps = accept_steps("dGhlIHNhbXBsZSBub25jZQ==")
    assert steps.joined == "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    assert steps.sha1_hex == "b37a4f2cc0624f1690f64606cf385945b2bec4ea"
    assert steps.accept == steps.library == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert GUID == "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def test_the_handshake_is_parsed_and_the_accept_checked() -> None:
    talk = chat()
    decoder = decode(talk)
    (hs,) = decoder.handshakes()
    assert isinstance(hs, HandshakeRecord)
    assert (hs.connection, hs.method, hs.path) == (1, "GET", "/chat?room=1")
    assert hs.request_header("upgrade") == "websocket"
    assert hs.request_header("Sec-WebSocket-Version") == "13"
    assert hs.key == hs.request_header("Sec-WebSocket-Key") != ""
    assert len(base64.b64decode(hs.key)) == 16  # RFC 6455 §4.1: 16 random bytes
    assert (hs.status, hs.reason) == (101, "Switching Protocols")
    assert hs.upgraded
    assert hs.accept == hs.response_header("Sec-WebSocket-Accept")
    expected = base64.b64encode(hashlib.sha1((hs.key + GUID).encode()).digest()).decode()
    assert hs.steps.accept == expected == hs.accept
    assert hs.accept_ok
    # The headers are kept in order, as sent.
    assert hs.request_headers[0] == ("Host", "example.com")
    assert bytes(talk.up).startswith(b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\n")


def test_a_wrong_accept_is_caught() -> None:
    talk = chat()
    down = bytes(talk.down)
    accept = decode(talk).handshakes()[0].accept.encode()
    forged = down.replace(accept, base64.b64encode(b"\x00" * 20))
    hs = decode_streams([(1, "up", bytes(talk.up)), (1, "down", forged)]).handshakes()[0]
    assert not hs.accept_ok
    assert hs.steps.accept == accept.decode()


def test_a_refused_upgrade_has_no_frames() -> None:
    talk = Talk(reject=503)
    decoder = decode(talk)
    (hs,) = decoder.handshakes()
    assert hs.status == 503 and not hs.upgraded and not hs.accept_ok
    (note,) = decoder.notes()
    assert note.kind == "http" and "503" in note.text
    assert decoder.frames() == []


# --- frames -----------------------------------------------------------------------


def test_frames_directions_masks_opcodes_and_lengths() -> None:
    decoder = decode(chat())
    up = decoder.frames(direction="up")
    down = decoder.frames(direction="down")
    assert [f.opcode for f in up] == ["TEXT", "BINARY", "PING", "CLOSE"]
    assert [f.opcode for f in down] == ["TEXT", "PONG", "CLOSE"]
    assert [f.index for f in up] == [1, 2, 3, 4]
    # RFC 6455 §5.3: a client masks every frame, a server none.
    assert all(f.masked for f in up) and not any(f.masked for f in down)
    assert all(f.fin and not f.rsv1 for f in up + down)
    hello = up[0]
    assert (hello.length, hello.size, hello.preview) == (6, 6, "Hello!")
    assert hello.preview_hex == "48 65 6c 6c 6f 21"  # unmasked
    assert hello.header_hex.startswith("81 86")  # FIN+TEXT, MASK+6
    assert len(bytes.fromhex(hello.header_hex)) == 2 + 4  # and the 4-byte mask key
    assert down[0].header_hex == "81 06"
    assert up[1].preview_hex == "00 01 fe ff" and up[1].preview == "··\ufffd\ufffd"
    assert up[2].preview == down[1].preview == "beat"  # a pong echoes the ping's payload
    assert (up[3].close_code, up[3].close_reason) == (1000, "bye")
    assert (down[2].close_code, down[2].close_reason) == (1000, "bye")
    assert decoder.notes() == []
    assert decoder.connections == [1]


@pytest.mark.parametrize(
    ("size", "extra"), [(125, 0), (126, 2), (65535, 2), (65536, 8), (200_000, 8)]
)
def test_extended_payload_lengths(size: int, extra: int) -> None:
    talk = Talk()
    talk.client.send_binary(bytes(range(256)) * (size // 256) + bytes(size % 256))
    talk.server.send_text(b"x" * size)
    talk.pump()
    up, down = decode(talk).frames(direction="up")[0], decode(talk).frames(direction="down")[0]
    assert up.length == up.size == down.length == size
    assert len(bytes.fromhex(up.header_hex)) == 2 + extra + 4
    assert len(bytes.fromhex(down.header_hex)) == 2 + extra
    assert len(bytes.fromhex(up.preview_hex)) == PREVIEW
    assert down.preview == "x" * PREVIEW


def test_a_fragmented_message_is_several_frames() -> None:
    talk = Talk()
    talk.client.send_text(b"Hel", fin=False)
    talk.client.send_continuation(b"lo", fin=False)
    talk.client.send_continuation(b"!", fin=True)
    talk.pump()
    frames = decode(talk).frames(direction="up")
    assert [(f.opcode, f.fin, f.preview) for f in frames] == [
        ("TEXT", False, "Hel"),
        ("CONT", False, "lo"),
        ("CONT", True, "!"),
    ]


@pytest.mark.parametrize(("code", "reason"), [(1001, "going away"), (4001, "token expired")])
def test_close_codes_and_reasons(code: int, reason: str) -> None:
    talk = Talk()
    talk.server.send_close(code, reason)
    talk.pump()
    decoder = decode(talk)
    (down,) = decoder.frames(direction="down")
    (up,) = decoder.frames(direction="up")
    assert (down.opcode, down.close_code, down.close_reason) == ("CLOSE", code, reason)
    assert up.close_code == code  # the client echoes the code


def test_a_close_without_a_body_has_no_code() -> None:
    talk = Talk()
    talk.client.send_close()
    talk.pump()
    up = decode(talk).frames(direction="up")[0]
    assert (up.opcode, up.length, up.close_code, up.close_reason) == ("CLOSE", 0, None, "")
    assert len(bytes.fromhex(up.header_hex)) == 6


def test_permessage_deflate_is_shown_and_decoded() -> None:
    talk = chat(deflate=True)
    decoder = decode(talk)
    assert "permessage-deflate" in decoder.handshakes()[0].response_header(
        "Sec-WebSocket-Extensions"
    )
    up = decoder.frames(direction="up")
    down = decoder.frames(direction="down")
    assert [f.rsv1 for f in up] == [True, True, False, False]  # control frames are not
    assert up[0].compressed and up[0].preview == "Hello!" and up[0].size == 6
    assert up[0].length != up[0].size  # the wire carries the compressed bytes
    assert down[0].rsv1 and down[0].preview == "Hello!"
    assert b"Hello!" not in bytes(talk.down)
    assert up[1].preview_hex == "00 01 fe ff"
    assert decoder.notes() == []


def test_compression_keeps_its_context_across_messages() -> None:
    talk = Talk(deflate=True)
    for word in (b"again and again", b"again and again", b"again and again!"):
        talk.server.send_text(word)
    talk.pump()
    frames = decode(talk).frames(direction="down")
    assert [f.preview for f in frames] == ["again and again", "again and again", "again and again!"]
    assert frames[1].length < frames[0].length  # the second refers back to the first


# --- any split, any order -----------------------------------------------------------


def splits(data: bytes) -> Iterator[list[bytes]]:
    for cut in range(len(data) + 1):
        yield [data[:cut], data[cut:]]


@pytest.mark.parametrize("deflate", [False, True])
def test_a_chunk_may_split_anywhere(deflate: bool) -> None:
    talk = chat(deflate)
    whole = decode(talk)
    up, down = bytes(talk.up), bytes(talk.down)
    for direction, data in (("up", up), ("down", down)):
        for parts in splits(data):
            decoder = WireDecoder()
            if direction == "up":
                for part in parts:
                    decoder.feed(1, "up", part)
                decoder.feed(1, "down", down)
            else:
                decoder.feed(1, "up", up)
                for part in parts:
                    decoder.feed(1, "down", part)
            assert same(decoder, whole), (direction, len(parts[0]))


def test_byte_by_byte_interleaved_gives_the_same_records() -> None:
    talk = chat()
    whole = decode(talk)
    decoder = WireDecoder()
    up, down = bytes(talk.up), bytes(talk.down)
    for i in range(max(len(up), len(down))):
        decoder.feed(1, "up", up[i : i + 1])
        decoder.feed(1, "down", down[i : i + 1])
    assert same(decoder, whole) and len(decoder.records) == len(whole.records) == 8


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=80))
def test_random_chunk_sizes(sizes: list[int]) -> None:
    talk = chat(deflate=True)
    whole = decode(talk)
    decoder = WireDecoder()
    for direction, data in (("up", bytes(talk.up)), ("down", bytes(talk.down))):
        at, i = 0, 0
        while at < len(data):
            step = sizes[i % len(sizes)]
            decoder.feed(1, direction, data[at : at + step])  # type: ignore[arg-type]
            at, i = at + step, i + 1
    assert decoder.records and same(decoder, whole)


def test_feed_returns_what_each_chunk_completed_with_its_time() -> None:
    talk = chat()
    decoder = WireDecoder()
    assert decoder.feed(1, "up", bytes(talk.up), time=1.0) == []  # waits for the response
    new = decoder.feed(1, "down", bytes(talk.down), time=2.0)
    assert isinstance(new[0], HandshakeRecord) and new[0].time == 2.0
    up_frames = [r for r in new if isinstance(r, FrameRecord) and r.direction == "up"]
    assert len(up_frames) == 4 and {f.time for f in up_frames} == {1.0}
    assert decoder.records == new
    assert decoder.feed(1, "up", b"") == []


def test_connections_are_kept_apart() -> None:
    one, two = chat(), Talk()
    two.client.send_text(b"second")
    two.pump()
    decoder = WireDecoder()
    decoder.feed(2, "up", bytes(two.up))
    decoder.feed(1, "up", bytes(one.up))
    decoder.feed(2, "down", bytes(two.down))
    decoder.feed(1, "down", bytes(one.down))
    assert decoder.connections == [1, 2]
    assert [f.preview for f in decoder.frames(connection=2)] == ["second"]
    assert len(decoder.frames(connection=1)) == 7
    assert [h.connection for h in decoder.handshakes()] == [2, 1]


# --- what cannot be decoded ---------------------------------------------------------


def test_tls_is_reported_not_decoded() -> None:
    hello = bytes.fromhex("16030100f8010000f40303") + bytes(200)
    decoder = WireDecoder()
    (note,) = decoder.feed(1, "up", hello)
    assert isinstance(note, WireNote) and note.kind == "tls" and "encrypted" in note.text
    assert decoder.feed(1, "down", bytes.fromhex("160303007a020000760303") + bytes(50)) == []
    assert decoder.feed(1, "up", bytes.fromhex("1703030035") + bytes(53)) == []
    assert decoder.frames() == [] and decoder.handshakes() == []


def test_a_broken_frame_stops_that_direction_only() -> None:
    talk = chat()
    up, down = bytes(talk.up), bytes(talk.down)
    handshake_end = up.index(b"\r\n\r\n") + 4
    # An unmasked frame from the client breaks RFC 6455 §5.1.
    bad = up[:handshake_end] + Frame(Opcode.TEXT, b"sneaky").serialize(mask=False)
    decoder = WireDecoder()
    decoder.feed(1, "up", bad)
    records = decoder.feed(1, "down", down)
    (note,) = decoder.notes()
    assert note.kind == "error" and note.direction == "up" and "masking" in note.text
    assert note in records
    assert decoder.feed(1, "up", up[handshake_end:]) == []  # ignored from now on
    assert [f.opcode for f in decoder.frames(direction="down")] == ["TEXT", "PONG", "CLOSE"]


@pytest.mark.parametrize(
    "garbage",
    [b"hello there\r\n", b"GET / HTTP/9\r\n\r\n", b"\xff\xfe\xfd\r\n", b"x" * 9000],
)
def test_not_http_is_an_error_note(garbage: bytes) -> None:
    decoder = WireDecoder()
    records = decoder.feed(3, "up", garbage)
    assert [(r.kind, r.connection) for r in records if isinstance(r, WireNote)] == [("error", 3)]
    assert decoder.feed(3, "up", b"more") == []


def test_an_invalid_opcode_and_a_bad_close_are_errors() -> None:
    talk = Talk()
    down = bytes(talk.down)
    for frame in (b"\x83\x00", b"\x88\x01\x03"):  # opcode 3 is reserved; a 1-byte close body
        decoder = WireDecoder()
        decoder.feed(1, "up", bytes(talk.up))
        records = decoder.feed(1, "down", down + frame)
        assert [type(r) for r in records] == [HandshakeRecord, WireNote]


def test_preview_text_is_safe() -> None:
    assert preview_text(b"caf\xc3\xa9") == "café"
    assert preview_text(b"\xff\x00a\n") == "\ufffd·a·"
    assert preview_text(b"x" * 100) == "x" * PREVIEW
    assert preview_text("é".encode() * 10, limit=3) == "é\ufffd"  # cut inside a letter


def test_plain_http_through_the_tap_is_named_not_an_error() -> None:
    login = b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    decoder = WireDecoder()
    (note,) = decoder.feed(1, "up", login)
    assert isinstance(note, WireNote)
    assert note.kind == "http" and "POST /api/login HTTP/1.1" in note.text
    assert decoder.feed(1, "down", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}") == []
    assert decoder.feed(1, "up", login[:10]) == []
    # Byte by byte, the request line is waited for.
    slow = WireDecoder()
    notes = [r for i in range(len(login)) for r in slow.feed(1, "up", login[i : i + 1])]
    assert [n.kind for n in notes if isinstance(n, WireNote)] == ["http"]


def test_a_broken_response_stops_the_client_stream_too() -> None:
    talk = chat()
    decoder = WireDecoder()
    decoder.feed(1, "up", bytes(talk.up))
    (note,) = decoder.feed(1, "down", b"HTTP/1.1 abc Nope\r\n\r\n")
    assert isinstance(note, WireNote) and note.direction == "down" and note.kind == "error"
    # The client's frames wait for the response no longer, nor are they buffered.
    assert decoder.feed(1, "up", bytes(talk.up)) == []
    assert decoder.frames() == [] and decoder.handshakes() == []
    assert decoder._connections[1].streams["up"].done
