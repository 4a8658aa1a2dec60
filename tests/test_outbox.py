"""wslab.core.outbox: numbered messages, confirmations, and the server's dedup, without sockets."""

from __future__ import annotations

import threading

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
from wslab.state.outbox import Inbox, Receipt

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


def test_inbox_welcomes_a_new_client_with_zero() -> None:
    inbox = Inbox()
    assert inbox.last_id("alice") == 0
    assert inbox.hello("alice") == 0
    assert inbox.clients() == ["alice"]


def test_inbox_keeps_new_messages_and_drops_duplicates() -> None:
    inbox = Inbox()
    assert [inbox.receive("alice", n, f"m{n}") for n in (1, 2, 3)] == [
        Receipt("new", 1),
        Receipt("new", 2),
        Receipt("new", 3),
    ]
    assert inbox.receive("alice", 2, "m2") == Receipt("duplicate", 3)
    assert inbox.receive("alice", 3, "m3") == Receipt("duplicate", 3)
    assert inbox.received("alice") == [Envelope(1, "m1"), Envelope(2, "m2"), Envelope(3, "m3")]
    assert inbox.duplicates("alice") == 2
    assert inbox.hello("alice") == 3


def test_inbox_accepts_a_gap_and_it_shows() -> None:
    inbox = Inbox()
    inbox.receive("naive", 1, "m1")
    assert inbox.receive("naive", 4, "m4") == Receipt("new", 4)
    assert [e.id for e in inbox.received("naive")] == [1, 4]  # 2 and 3 were lost
    assert inbox.receive("naive", 3, "m3") == Receipt("duplicate", 4)


def test_inbox_keeps_clients_apart() -> None:
    inbox = Inbox()
    inbox.receive("alice", 1, "from alice")
    inbox.receive("bob", 1, "from bob")
    assert inbox.received("alice") == [Envelope(1, "from alice")]
    assert inbox.received("bob") == [Envelope(1, "from bob")]
    assert inbox.received("carol") == []
    assert inbox.duplicates("carol") == 0


def test_inbox_forgets_the_least_recently_seen_client() -> None:
    inbox = Inbox(max_clients=2)
    inbox.hello("a")
    inbox.hello("b")
    inbox.receive("a", 1, "x")  # a is now the most recent
    inbox.hello("c")
    assert inbox.clients() == ["a", "c"]
    assert inbox.last_id("a") == 1
    assert inbox.last_id("b") == 0


def test_inbox_forget() -> None:
    inbox = Inbox()
    for name in ("a", "b", "c"):
        inbox.receive(name, 1, "x")
    inbox.forget(["b", "nobody"])
    assert inbox.clients() == ["a", "c"]
    inbox.forget()
    assert inbox.clients() == []


def test_inbox_from_many_threads() -> None:
    inbox = Inbox()

    def sender(client: str) -> None:
        for n in range(1, 201):
            inbox.receive(client, n, str(n))
            inbox.receive(client, n, str(n))  # every message twice

    threads = [threading.Thread(target=sender, args=(f"c{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(8):
        assert [e.id for e in inbox.received(f"c{i}")] == list(range(1, 201))
        assert inbox.duplicates(f"c{i}") == 200


# --- the protocol, simulated ----------------------------------------------------------


def test_nothing_lost_nothing_twice_over_a_lossy_link() -> None:
    """Messages 1-10; the link drops twice; each arrives once, in order."""
    outbox, inbox = Outbox(), Inbox()
    for n in range(1, 11):
        outbox.add(f"m{n}")

    def connect_and_send(deliver: int) -> None:
        # hello → welcome(last_id): confirm, resend the rest; only `deliver` get through.
        outbox.confirm(inbox.hello("alice"))
        for envelope in outbox.pending()[:deliver]:
            receipt = inbox.receive("alice", envelope.id, envelope.text)
            if envelope.id % 3:  # some acks are lost with the link
                outbox.confirm(receipt.last_id)

    connect_and_send(deliver=4)  # 1-4 arrive; the ack of 3 is lost (4's covers it)
    connect_and_send(deliver=2)  # welcome says 4: 5-6 arrive, 6's ack is lost, link drops
    assert [e.id for e in outbox.pending()] == [6, 7, 8, 9, 10]
    connect_and_send(deliver=99)  # welcome says 6: only 7-10 are sent
    assert [e.id for e in inbox.received("alice")] == list(range(1, 11))
    assert [e.text for e in inbox.received("alice")] == [f"m{n}" for n in range(1, 11)]
    assert inbox.duplicates("alice") == 0  # the welcome's last_id prevented every resend
    assert outbox.pending() == []


def test_a_resend_without_the_welcome_is_deduplicated() -> None:
    outbox, inbox = Outbox(), Inbox()
    for n in range(1, 4):
        inbox.receive("alice", outbox.add(f"m{n}").id, f"m{n}")
    # A client that ignores last_id and resends everything:
    for envelope in outbox.pending():
        assert inbox.receive("alice", envelope.id, envelope.text).outcome == "duplicate"
    assert [e.id for e in inbox.received("alice")] == [1, 2, 3]
    assert inbox.duplicates("alice") == 3


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
