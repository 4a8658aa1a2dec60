"""wslab.core.events: the browser's events and readyState as plain values."""

from __future__ import annotations

import dataclasses

import pytest

from wslab.core.events import (
    EVENT_TYPES,
    Blob,
    CloseEvent,
    ErrorEvent,
    Event,
    MessageEvent,
    ReadyState,
)


def test_ready_state_values_match_the_standard() -> None:
    assert [(s.name, s.value) for s in ReadyState] == [
        ("CONNECTING", 0),
        ("OPEN", 1),
        ("CLOSING", 2),
        ("CLOSED", 3),
    ]
    assert ReadyState(1) is ReadyState.OPEN
    with pytest.raises(ValueError):
        ReadyState(4)


def test_event_types() -> None:
    assert EVENT_TYPES == ("open", "message", "error", "close")


def test_blob() -> None:
    blob = Blob("héllo".encode(), "text/plain")
    assert blob.size == 6
    assert blob.bytes() == b"h\xc3\xa9llo"
    assert blob.text() == "héllo"
    assert blob.type == "text/plain"
    assert Blob(b"\xff").text() == "\ufffd"
    with pytest.raises(dataclasses.FrozenInstanceError):
        blob.data = b""  # type: ignore[misc]


def test_close_event_defaults_and_fields() -> None:
    event = CloseEvent("close")
    assert (event.code, event.reason, event.was_clean) == (1005, "", False)
    clean = CloseEvent("close", code=1000, reason="bye", was_clean=True)
    assert (clean.type, clean.code, clean.reason, clean.was_clean) == ("close", 1000, "bye", True)


def test_events_compare_by_content_not_target_or_time() -> None:
    a = MessageEvent("message", target=object(), time=1.0, data="hi")
    b = MessageEvent("message", target=object(), time=2.0, data="hi")
    assert a == b
    assert a != MessageEvent("message", data="bye")
    assert ErrorEvent("error", message="x").message == "x"
    assert isinstance(a, Event)
