"""wslab.core.broadcast: who gets a broadcast, and what may be broadcast (pure, no sockets)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from wslab.core.broadcast import (
    DELIVERIES,
    MODES,
    broadcast_message,
    check_delivery,
    check_mode,
    check_text,
    recipients,
)
from wslab.core.messages import MAX_TEXT_CHARS, MessageError


@dataclass(eq=False)
class Client:
    """A stand-in for a connection: a name and whether it is OPEN."""

    name: str
    open: bool = True


def is_open(client: Client) -> bool:
    return client.open


def names(clients: list[Client]) -> list[str]:
    return [c.name for c in clients]


ADA, BOB, CY = Client("Ada"), Client("Bob"), Client("Cy")


def test_modes_and_deliveries() -> None:
    assert MODES == ("all", "others")
    assert DELIVERIES == ("broadcast", "checked")
    assert check_mode("all") == "all"
    assert check_delivery("checked") == "checked"


@pytest.mark.parametrize("bad", ["everyone", "ALL", "", None, 1])
def test_unknown_mode_is_refused(bad: object) -> None:
    with pytest.raises(ValueError) as info:
        check_mode(bad)
    assert str(info.value) == f"mode must be one of 'all', 'others', not {bad!r}"
    with pytest.raises(ValueError):
        recipients([ADA], ADA, bad, is_open)  # type: ignore[arg-type]


def test_unknown_delivery_is_refused() -> None:
    with pytest.raises(ValueError) as info:
        check_delivery("naive")
    assert str(info.value) == "delivery must be one of 'broadcast', 'checked', not 'naive'"


def test_all_includes_the_sender() -> None:
    assert names(recipients([ADA, BOB, CY], BOB, "all", is_open)) == ["Ada", "Bob", "Cy"]


def test_others_skips_only_the_sender() -> None:
    assert names(recipients([ADA, BOB, CY], BOB, "others", is_open)) == ["Ada", "Cy"]
    assert names(recipients([ADA, BOB, CY], ADA, "others", is_open)) == ["Bob", "Cy"]


def test_a_message_from_the_server_reaches_everyone_in_either_mode() -> None:
    for mode in MODES:
        assert names(recipients([ADA, BOB, CY], None, mode, is_open)) == ["Ada", "Bob", "Cy"]


def test_the_open_check_skips_clients_that_are_not_open_in_either_mode() -> None:
    closed = Client("Dee", open=False)
    clients = [ADA, closed, BOB, CY]
    assert names(recipients(clients, BOB, "others", is_open)) == ["Ada", "Cy"]
    assert names(recipients(clients, BOB, "all", is_open)) == ["Ada", "Bob", "Cy"]
    # A sender that is itself closing gets nothing back, even in "all".
    leaving = Client("Eve", open=False)
    assert names(recipients([ADA, leaving], leaving, "all", is_open)) == ["Ada"]


def test_the_sender_is_compared_by_identity() -> None:
    # Two connections may look alike; only the very object that sent is skipped.
    twin = Client("Ada")
    assert names(recipients([ADA, twin], ADA, "others", is_open)) == ["Ada"]
    assert recipients([ADA, twin], ADA, "others", is_open)[0] is twin


def test_recipients_keeps_order_and_does_not_change_its_input() -> None:
    clients = [CY, ADA, BOB]
    result = recipients(clients, None, "others", is_open)
    assert result == clients and result is not clients
    assert recipients(iter(clients), ADA, "others", is_open) == [CY, BOB]  # any iterable
    assert recipients([], ADA, "all", is_open) == []
    assert recipients([ADA], ADA, "others", is_open) == []  # alone: nobody to tell


@pytest.mark.parametrize(
    "text", ["hello", " padded ", "李雷 José 🙂", "x" * MAX_TEXT_CHARS, "a\nb"]
)
def test_check_text_returns_the_text_unchanged(text: str) -> None:
    assert check_text(text) == text


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (b"hello", "binary-not-supported"),
        (b"", "binary-not-supported"),
        ("", "empty-message"),
        ("   ", "empty-message"),
        ("\n\t", "empty-message"),
        ("x" * (MAX_TEXT_CHARS + 1), "text-too-long"),
    ],
)
def test_check_text_refuses(message: str | bytes, code: str) -> None:
    with pytest.raises(MessageError) as info:
        check_text(message)
    assert info.value.code == code
    assert info.value.payload()["type"] == "error"


def test_check_text_messages() -> None:
    with pytest.raises(MessageError) as info:
        check_text("x" * 11, max_chars=10)
    assert info.value.message == ("a message is relayed only up to 10 characters; this one has 11")
    with pytest.raises(MessageError) as info:
        check_text("")
    assert info.value.message == "an empty message is not relayed to anyone"
    with pytest.raises(MessageError) as info:
        check_text(b"\x00")
    assert info.value.message == "this server relays text messages; send a string, not bytes"


def test_broadcast_message_is_the_study_notes_shape() -> None:
    assert broadcast_message("hi") == {"type": "broadcast", "text": "hi"}
