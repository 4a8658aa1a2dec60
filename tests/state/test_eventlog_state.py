"""wslab.state.eventlog: the thread-safe event log (bounded, observed, secrets masked)."""

from __future__ import annotations

import threading
import time

from wslab.core.eventlog import LogEntry
from wslab.state.eventlog import EventLog


def test_record_returns_and_keeps_the_entry() -> None:
    log = EventLog()
    before = time.time()
    entry = log.record("close", "#1 closed: 1000", peer="#1", code=1000)
    assert isinstance(entry, LogEntry)
    assert (entry.kind, entry.text, entry.peer, entry.code) == (
        "close",
        "#1 closed: 1000",
        "#1",
        1000,
    )
    assert (entry.direction, entry.size, entry.binary) == ("-", 0, False)
    assert before <= entry.time <= time.time()
    assert log.entries() == [entry]
    assert len(log) == 1
    assert log.total == 1


def test_bounded_keeps_the_newest_and_total_counts_all() -> None:
    log = EventLog(maxlen=3)
    for n in range(5):
        log.record("tick", str(n))
    assert [e.text for e in log.entries()] == ["2", "3", "4"]
    assert len(log) == 3
    assert log.total == 5


def test_clear_empties_but_total_remains() -> None:
    log = EventLog()
    log.record("a")
    log.record("b")
    log.clear()
    assert log.entries() == []
    assert len(log) == 0
    assert log.total == 2
    assert repr(log) == "<EventLog 0 entries>"


def test_kinds_and_kind_filter() -> None:
    log = EventLog()
    log.record("connect")
    log.message("in", "hi")
    log.message("out", b"\x00")
    log.record("close")
    assert log.kinds() == ["connect", "message", "message", "close"]
    assert [e.direction for e in log.entries("message")] == ["in", "out"]
    assert [e.kind for e in log.entries(["connect", "close"])] == ["connect", "close"]
    assert [e.kind for e in log.entries({"close"})] == ["close"]
    assert log.entries("nothing") == []


def test_entries_is_a_snapshot() -> None:
    log = EventLog()
    log.record("a")
    snapshot = log.entries()
    log.record("b")
    assert [e.kind for e in snapshot] == ["a"]


def test_message_records_size_and_frame_type() -> None:
    log = EventLog()
    text = log.message("in", "héllo", peer="#2")
    assert (text.kind, text.direction, text.peer) == ("message", "in", "#2")
    assert (text.text, text.size, text.binary) == ("héllo", 6, False)
    binary = log.message("out", bytes(range(20)))
    assert binary.binary is True
    assert binary.size == 20
    assert binary.text.startswith("<20 bytes: 00 01 02")


def test_subscribers_see_each_entry_and_can_unsubscribe() -> None:
    log = EventLog()
    seen: list[str] = []
    unsubscribe = log.subscribe(lambda e: seen.append(e.kind))
    log.record("a")
    log.message("in", "x")
    unsubscribe()
    log.record("c")
    assert seen == ["a", "message"]


def test_a_broken_subscriber_does_not_stop_recording() -> None:
    log = EventLog()

    def broken(entry: LogEntry) -> None:
        raise RuntimeError("view is broken")

    log.subscribe(broken)
    log.record("a")
    assert log.kinds() == ["a"]


def test_thread_safety_smoke() -> None:
    log = EventLog(maxlen=100)
    seen = []
    lock = threading.Lock()

    def observe(entry: LogEntry) -> None:
        with lock:
            seen.append(entry)

    log.subscribe(observe)
    start = threading.Barrier(8)

    def work(i: int) -> None:
        start.wait()
        for n in range(250):
            log.record("tick", f"{i}:{n}")
            log.entries("tick")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.total == 2000
    assert len(log) == 100
    assert len(seen) == 2000
    # Each thread's own entries are kept in the order it recorded them.
    kept = [e.text for e in log.entries()]
    for i in range(8):
        mine = [int(t.split(":")[1]) for t in kept if t.startswith(f"{i}:")]
        assert mine == sorted(mine)
