"""wslab.state.feed: the feed's history and the per-transport tallies (thread-safe)."""

from __future__ import annotations

import threading

import pytest

from wslab.state.feed import TRANSPORTS, FeedEntry, FeedLog, FeedStats, TransportTally

# --- FeedLog -------------------------------------------------------------------------------


def test_ids_start_at_one_and_go_up_by_one() -> None:
    feed = FeedLog()
    assert (feed.last_id, feed.next_id, feed.first_id, len(feed)) == (0, 1, 1, 0)
    assert [feed.publish(f"e{i}") for i in range(3)] == [
        FeedEntry(1, "e0"),
        FeedEntry(2, "e1"),
        FeedEntry(3, "e2"),
    ]
    assert (feed.last_id, feed.next_id, feed.first_id, len(feed)) == (3, 4, 1, 3)


def test_after() -> None:
    feed = FeedLog()
    for i in range(1, 6):
        feed.publish(str(i))
    assert [e.id for e in feed.after(0)] == [1, 2, 3, 4, 5]
    assert [e.id for e in feed.after(3)] == [4, 5]
    assert feed.after(5) == []
    assert feed.after(99) == []
    assert [e.id for e in feed.after(-7)] == [1, 2, 3, 4, 5]
    assert [e.id for e in feed.after(1, limit=2)] == [2, 3]
    assert FeedLog().after(0) == []


def test_bounded_history_forgets_the_oldest() -> None:
    feed = FeedLog(maxlen=3)
    for i in range(1, 8):
        feed.publish(str(i))
    assert len(feed) == 3
    assert feed.first_id == 5
    assert [e.id for e in feed.after(0)] == [5, 6, 7]
    assert [e.id for e in feed.after(5)] == [6, 7]
    # A client that comes back too late can be told how much it lost.
    assert feed.missed(0) == 4
    assert feed.missed(2) == 2
    assert feed.missed(4) == 0
    assert feed.missed(6) == 0


def test_cursor() -> None:
    feed = FeedLog()
    assert feed.cursor(None) == 0
    for i in range(1, 4):
        feed.publish(str(i))
    assert feed.cursor(None) == 3  # a new client: from now on
    assert feed.cursor(1) == 1
    assert feed.cursor(3) == 3
    assert feed.cursor(500) == 3  # an id from an earlier run of the server: from now on


def test_maxlen_must_be_positive() -> None:
    with pytest.raises(ValueError):
        FeedLog(maxlen=0)


def test_publish_is_thread_safe() -> None:
    feed = FeedLog(maxlen=10_000)

    def publish() -> None:
        for _ in range(500):
            feed.publish("x")

    threads = [threading.Thread(target=publish) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert feed.last_id == 4000
    assert [e.id for e in feed.after(0)] == list(range(1, 4001))
    assert "last id 4000" in repr(feed)


# --- FeedStats -------------------------------------------------------------------------------


def test_a_tally() -> None:
    tally = TransportTally(
        "SSE", seqs=[3, 4, 5], latencies_ms=[1.0, 2.0, 3.0], wire=[100, 180, 260]
    )
    assert tally.received == 3
    assert tally.last_latency_ms == 3.0
    assert tally.mean_latency_ms == 2.0
    assert tally.bytes_per_message == 80.0  # the opening bytes before the first are left out
    assert tally.consecutive() and tally.gaps() == [] and tally.duplicates() == []


def test_gaps_and_duplicates() -> None:
    tally = TransportTally("x", seqs=[1, 2, 2, 5])
    assert tally.duplicates() == [2]
    assert tally.gaps() == [3, 4]
    assert not tally.consecutive()
    empty = TransportTally("y")
    assert empty.gaps() == [] and empty.consecutive()
    assert empty.last_latency_ms is None and empty.mean_latency_ms is None
    assert empty.bytes_per_message is None


def test_stats_record_notify_and_reset() -> None:
    stats = FeedStats()
    assert stats.transports == TRANSPORTS
    seen: list[str] = []
    stats.changed.subscribe(seen.append)
    stats.record("SSE", 1, published_ms=1000.0, received_s=1.0025, wire_bytes=50)
    stats.record("SSE", 2, published_ms=2000.0, received_s=2.001, wire_bytes=140)
    stats.record("WebSocket", 1, published_ms=1000.0, received_s=1.0005)
    sse = stats["SSE"]
    assert sse.seqs == [1, 2]
    assert sse.latencies_ms == pytest.approx([2.5, 1.0])
    assert sse.bytes_per_message == 90
    assert stats["WebSocket"].wire == []
    assert seen == ["SSE", "SSE", "WebSocket"]
    rows = stats.rows()
    assert [r["transport"] for r in rows] == list(TRANSPORTS)
    assert rows[1]["received"] == 2 and rows[2]["received"] == 0
    # A copy: changing it changes nothing.
    sse.seqs.append(99)
    assert stats["SSE"].seqs == [1, 2]
    stats.reset()
    assert stats["SSE"].received == 0
    assert seen[-3:] == list(TRANSPORTS)
    with pytest.raises(KeyError):
        stats.record("carrier pigeon", 1, 0.0, 0.0)


# --- purity ---------------------------------------------------------------------------------
