"""wslab.state.outbox: the server's inbox (last id per client, dedup), without sockets."""

from __future__ import annotations

import threading

from wslab.core.outbox import (
    Envelope,
    Outbox,
)
from wslab.state.outbox import Inbox, Receipt


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
