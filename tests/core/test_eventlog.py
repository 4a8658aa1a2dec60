"""wslab.core.eventlog: what happened, recorded instead of printed."""

from __future__ import annotations

import pytest

from wslab.core.eventlog import PREVIEW_CHARS, LogEntry, describe_payload


def test_describe_text() -> None:
    assert describe_payload("hi") == ("hi", 2, False)
    assert describe_payload("李雷") == ("李雷", 6, False)
    assert describe_payload("") == ("", 0, False)
    exact = "x" * PREVIEW_CHARS
    assert describe_payload(exact) == (exact, PREVIEW_CHARS, False)
    preview, size, binary = describe_payload("y" * 200)
    assert preview == "y" * (PREVIEW_CHARS - 1) + "…"
    assert len(preview) == PREVIEW_CHARS
    assert (size, binary) == (200, False)


def test_describe_lone_surrogate_does_not_raise() -> None:
    preview, size, binary = describe_payload("\ud800")
    assert (preview, size, binary) == ("\ud800", 3, False)


def test_describe_binary() -> None:
    assert describe_payload(b"\x01\xff") == ("<2 bytes: 01 ff>", 2, True)
    assert describe_payload(b"") == ("<0 bytes: >", 0, True)
    sixteen = bytes(range(16))
    assert describe_payload(sixteen)[0] == (
        "<16 bytes: 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f>"
    )
    preview, size, binary = describe_payload(bytes(range(17)))
    assert preview == "<17 bytes: 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f …>"
    assert (size, binary) == (17, True)
    big = describe_payload(b"\x00" * (1 << 20))
    assert big[1:] == (1 << 20, True)
    assert big[0].startswith("<1048576 bytes: ")


def test_log_entry_is_frozen() -> None:
    entry = LogEntry(0.0, "x")
    with pytest.raises(AttributeError):
        entry.kind = "y"  # type: ignore[misc]
