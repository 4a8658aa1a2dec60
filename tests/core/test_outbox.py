"""wslab.core.outbox: numbered messages, confirmations, and the server's dedup, without sockets."""

from __future__ import annotations

import pytest

from wslab.core.messages import MessageError
from wslab.core.outbox import (
    MAX_CLIENT_ID_CHARS,
    MAX_PENDING,
    Envelope,
    Outbox,
    OutboxFull,
    validate_client_id,
    validate_message_id,
)

# --- Outbox ---------------------------------------------------------------------------


def test_outbox_numbers_messages_from_one() -> None:
    outbox = Outbox()
    assert outbox.last_id == 0
    assert [outbox.add(text) for text in ("a", "b", "c")] == [
        Envelope(1, "a"),
        Envelope(2, "b"),
        Envelope(3, "c"),
    ]
    assert outbox.last_id == 3
    assert len(outbox) == 3
    assert outbox.pending() == [Envelope(1, "a"), Envelope(2, "b"), Envelope(3, "c")]


def test_confirm_is_cumulative() -> None:
    outbox = Outbox()
    for text in "abcde":
        outbox.add(text)
    assert outbox.confirm(2) == [Envelope(1, "a"), Envelope(2, "b")]
    assert [e.id for e in outbox.pending()] == [3, 4, 5]
    assert outbox.confirmed == 2
    assert outbox.confirm(1) == []  # an old confirmation changes nothing
    assert outbox.confirmed == 2
    assert outbox.confirm(2) == []  # idempotent
    assert outbox.confirm(5) == [Envelope(3, "c"), Envelope(4, "d"), Envelope(5, "e")]
    assert outbox.pending() == []
    assert repr(outbox) == "<Outbox 0 pending, confirmed up to 5>"


def test_ids_keep_growing_after_confirmation() -> None:
    outbox = Outbox()
    outbox.add("a")
    outbox.confirm(1)
    assert outbox.add("b") == Envelope(2, "b")


def test_outbox_is_bounded() -> None:
    assert MAX_PENDING == 1000
    outbox = Outbox(max_pending=2)
    outbox.add("a")
    outbox.add("b")
    with pytest.raises(OutboxFull, match="2 messages are waiting to be confirmed"):
        outbox.add("c")
    outbox.confirm(1)
    assert outbox.add("c") == Envelope(3, "c")


# --- Inbox ----------------------------------------------------------------------------


# --- the protocol, simulated ----------------------------------------------------------


# --- validation ----------------------------------------------------------------------


@pytest.mark.parametrize("good", ["alice", "a", "A-1_b", "x" * MAX_CLIENT_ID_CHARS, "0"])
def test_good_client_ids(good: str) -> None:
    assert validate_client_id(good) == good


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "x" * (MAX_CLIENT_ID_CHARS + 1),
        "al ice",
        "alice\n",
        "<script>",
        "ali\u202ece",
        "élise",
        "a/b",
        5,
        None,
        ["alice"],
    ],
)
def test_bad_client_ids(bad: object) -> None:
    with pytest.raises(MessageError) as info:
        validate_client_id(bad)
    assert info.value.code == "invalid-client-id"


@pytest.mark.parametrize("good", [1, 2, 10**6, (1 << 53) - 1])
def test_good_message_ids(good: int) -> None:
    assert validate_message_id(good) == good


@pytest.mark.parametrize("bad", [0, -1, True, False, 1.0, 1.5, "1", None, 1 << 53, [1]])
def test_bad_message_ids(bad: object) -> None:
    with pytest.raises(MessageError) as info:
        validate_message_id(bad)
    assert info.value.code == "invalid-field"
