"""wslab.core.sse: the event-stream encoder and the WHATWG parser, without sockets.

The parsing cases are the examples of the HTML standard's "Server-sent
events" section (§9.2.6, "interpreting an event stream"), plus the edges a
chunked network read produces: a CRLF, a UTF-8 character or a BOM split
across chunks.
"""

from __future__ import annotations

import pytest

from wslab.core.sse import (
    MAX_ID_DIGITS,
    ServerSentEvent,
    SSEParser,
    encode_comment,
    encode_event,
    parse_event_id,
    parse_stream,
)

# --- encoding ------------------------------------------------------------------------


def test_encode_the_seeds_event() -> None:
    assert encode_event('{"t":1}') == 'data: {"t":1}\n\n'


def test_encode_all_fields_in_a_fixed_order() -> None:
    text = encode_event("hello", event="greeting", id=7, retry=1000)
    assert text == "retry: 1000\nid: 7\nevent: greeting\ndata: hello\n\n"


@pytest.mark.parametrize("data", ["one\ntwo", "one\r\ntwo", "one\rtwo"])
def test_multi_line_data_becomes_several_data_lines(data: str) -> None:
    assert encode_event(data) == "data: one\ndata: two\n\n"
    assert parse_stream(encode_event(data)) == [ServerSentEvent("one\ntwo")]


def test_empty_lines_and_leading_spaces_survive() -> None:
    data = "\n  indented\n"
    text = encode_event(data)
    assert text == "data:\ndata:   indented\ndata:\n\n"
    assert parse_stream(text)[0].data == data


def test_id_or_retry_without_data() -> None:
    assert encode_event(id=5) == "id: 5\n\n"
    assert encode_event(retry=0) == "retry: 0\n\n"
    assert encode_event(data="") == "data:\n\n"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "an event needs data"),
        ({"data": "x", "id": "1\n2"}, "line break or NUL"),
        ({"data": "x", "id": "a\0b"}, "line break or NUL"),
        ({"data": "x", "event": "a\rb"}, "one line"),
        ({"data": "x", "event": ""}, "non-empty"),
        ({"retry": -1}, "non-negative"),
        ({"retry": 1.5}, "non-negative"),
        ({"retry": True}, "non-negative"),
    ],
)
def test_encode_refuses_what_would_break_the_stream(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        encode_event(**kwargs)  # type: ignore[arg-type]


def test_comments() -> None:
    assert encode_comment("keep-alive") == ": keep-alive\n\n"
    assert encode_comment() == ":\n\n"
    assert encode_comment("a\nb") == ": a\n: b\n\n"
    parser = SSEParser()
    assert parser.feed(encode_comment("keep-alive") + encode_comment("a\nb")) == []
    assert parser.comments == 3


def test_round_trip() -> None:
    text = encode_event("x\ny", event="tick", id="abc") + encode_event("z", id=9)
    assert parse_stream(text) == [
        ServerSentEvent("x\ny", "tick", "abc"),
        ServerSentEvent("z", "message", "9"),
    ]


# --- parsing: the standard's examples -------------------------------------------------------


def test_spec_stock_example_multi_line_data() -> None:
    stream = "data: YHOO\ndata: +2\ndata: 10\n\n"
    assert parse_stream(stream) == [ServerSentEvent("YHOO\n+2\n10")]


def test_spec_example_comment_ids_and_spaces() -> None:
    stream = (
        ": test stream\n\n"
        "data: first event\nid: 1\n\n"
        "data:second event\nid\n\n"
        "data:  third event\n\n"
    )
    parser = SSEParser()
    events = parser.feed(stream)
    assert events == [
        ServerSentEvent("first event", "message", "1"),
        # "id" with no colon resets the last event id to the empty string.
        ServerSentEvent("second event", "message", ""),
        # Only one space after the colon is removed.
        ServerSentEvent(" third event", "message", ""),
    ]
    assert parser.comments == 1
    assert parser.last_event_id == ""


def test_spec_example_empty_data_and_unfinished_event() -> None:
    stream = "data\n\ndata\ndata\n\ndata:"
    # "data" alone is a field with an empty value; the last event has no
    # blank line after it, so it is discarded at the end of the stream.
    assert parse_stream(stream) == [ServerSentEvent(""), ServerSentEvent("\n")]


def test_spec_example_space_after_colon_is_optional() -> None:
    assert parse_stream("data:test\n\ndata: test\n\n") == [
        ServerSentEvent("test"),
        ServerSentEvent("test"),
    ]


# --- parsing: fields ------------------------------------------------------------------------


def test_event_type_applies_to_one_event_only() -> None:
    events = parse_stream("event: tick\ndata: 1\n\ndata: 2\n\n")
    assert [e.type for e in events] == ["tick", "message"]


def test_id_without_data_moves_the_position_but_dispatches_nothing() -> None:
    parser = SSEParser()
    assert parser.feed("id: 41\n\n") == []
    assert parser.last_event_id == "41"
    assert parser.feed("data: x\n\n") == [ServerSentEvent("x", "message", "41")]


def test_event_without_data_is_not_dispatched_and_its_type_is_reset() -> None:
    assert parse_stream("event: tick\n\ndata: x\n\n") == [ServerSentEvent("x")]


def test_id_with_nul_is_ignored() -> None:
    parser = SSEParser(last_event_id="7")
    assert parser.feed("id: 8\0\ndata: x\n\n") == [ServerSentEvent("x", "message", "7")]


def test_retry() -> None:
    parser = SSEParser()
    assert parser.feed("retry: 2500\n\n") == []
    assert parser.retry == 2500
    for bad in ("retry: 1.5", "retry: -3", "retry: soon", "retry:", "retry: \uff12"):
        parser.feed(bad + "\n\n")
        assert parser.retry == 2500, bad
    parser.feed("retry:0\n\n")
    assert parser.retry == 0


def test_unknown_fields_are_ignored() -> None:
    assert parse_stream("foo: bar\ndata: x\nDATA: y\n\n") == [ServerSentEvent("x")]


def test_colon_inside_the_value_is_kept() -> None:
    assert parse_stream('data: {"a": 1}\n\n') == [ServerSentEvent('{"a": 1}')]


def test_a_carried_over_last_event_id() -> None:
    parser = SSEParser(last_event_id="99")
    assert parser.feed("data: x\n\n") == [ServerSentEvent("x", "message", "99")]


# --- parsing: line breaks, BOM, chunks ----------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_every_kind_of_line_break(newline: str) -> None:
    stream = f"id: 1{newline}data: a{newline}data: b{newline}{newline}"
    assert parse_stream(stream) == [ServerSentEvent("a\nb", "message", "1")]


def test_mixed_line_breaks() -> None:
    assert parse_stream("data: a\r\ndata: b\rdata: c\n\r\n") == [ServerSentEvent("a\nb\nc")]


def test_crlf_split_across_chunks_is_one_line_break() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    # The LF completes the CRLF; it is not a blank line (no dispatch yet).
    assert parser.feed(b"\ndata: b\r") == []
    assert parser.feed(b"\n\r") == [ServerSentEvent("a\nb")]
    assert parser.feed(b"\n") == []  # the LF of the last CRLF: still nothing new


def test_cr_then_a_blank_line_in_the_next_chunk() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\r") == [ServerSentEvent("a")]


def test_one_byte_at_a_time_including_utf8() -> None:
    stream = "id: 1\r\ndata: héllo → 世界 🎉\r\n\r\n".encode()
    parser = SSEParser()
    events = []
    for i in range(len(stream)):
        events += parser.feed(stream[i : i + 1])
    assert events == [ServerSentEvent("héllo → 世界 🎉", "message", "1")]


def test_bom_at_the_start_is_dropped_once() -> None:
    assert parse_stream("\ufeffdata: x\n\n".encode()) == [ServerSentEvent("x")]
    # A BOM split across chunks too.
    parser = SSEParser()
    bom = "\ufeff".encode()
    assert parser.feed(bom[:1]) == []
    assert parser.feed(bom[1:] + b"data: y\n\n") == [ServerSentEvent("y")]
    # A second BOM is part of the field name, so the field is unknown.
    assert parse_stream("\ufeff\ufeffdata: x\n\ndata: z\n\n") == [ServerSentEvent("z")]


def test_bom_later_in_the_stream_is_not_dropped() -> None:
    parser = SSEParser()
    assert parser.feed("data: a\n\n") == [ServerSentEvent("a")]
    assert parser.feed("\ufeffdata: b\n\n") == []


def test_invalid_utf8_becomes_replacement_characters() -> None:
    assert parse_stream(b"data: \xff\xfe!\n\n") == [ServerSentEvent("\ufffd\ufffd!")]


def test_close_discards_an_unfinished_event() -> None:
    parser = SSEParser()
    assert parser.feed("data: half") == []
    parser.close()
    assert parser.feed("data: whole\n\n") == [ServerSentEvent("whole")]


# --- parse_event_id ------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [(None, None), ("", None), ("0", 0), ("42", 42)])
def test_parse_event_id(text: str | None, value: int | None) -> None:
    assert parse_event_id(text) == value


@pytest.mark.parametrize("text", ["abc", "-1", "+1", " 1", "1 ", "1.0", "1e3", "٣", "0x10"])
def test_parse_event_id_refuses_anything_but_digits(text: str) -> None:
    with pytest.raises(ValueError, match="must be a non-negative integer event id"):
        parse_event_id(text)


def test_parse_event_id_names_what_it_read_and_bounds_the_length() -> None:
    with pytest.raises(ValueError, match=r"^after must be"):
        parse_event_id("x", what="after")
    assert parse_event_id("9" * MAX_ID_DIGITS) == int("9" * MAX_ID_DIGITS)
    with pytest.raises(ValueError, match="too long"):
        parse_event_id("9" * (MAX_ID_DIGITS + 1))
    with pytest.raises(ValueError) as info:
        parse_event_id("y" * 500)
    assert len(str(info.value)) < 100  # the echo of a hostile value is cut short
