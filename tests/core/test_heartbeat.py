"""wslab.core.heartbeat: the presets, the timing state machine and the log filters (pure).

The machine is driven with literal times, as the JavaScript's two timers
would fire; exact binary fractions keep the round trips exact.
"""

from __future__ import annotations

import logging

import pytest

from wslab.core.heartbeat import (
    MAX_BEATS,
    PRESETS,
    TRANSITIONS,
    Beat,
    HeartbeatLogFilter,
    HeartbeatMachine,
    Phase,
    is_heartbeat,
    preset,
    worst_case_detection,
)

# --- the timing guide ---------------------------------------------------------------


def test_presets_are_the_timing_guide() -> None:
    table = [(p.label, p.interval, p.timeout) for p in PRESETS.values()]
    assert table == [
        ("Default", 30, 10),
        ("Mobile", 15, 5),
        ("Behind AWS ALB", 55, 10),
    ]
    assert list(PRESETS) == ["default", "mobile", "aws-alb"]
    for name, item in PRESETS.items():
        assert item.name == name
        assert item.timeout < item.interval
        assert item.why
    assert PRESETS["aws-alb"].seconds == (55, 10)
    assert PRESETS["aws-alb"].interval < 60  # under the ALB's idle limit
    assert [p.worst_case for p in PRESETS.values()] == [40, 20, 65]


def test_preset_lookup() -> None:
    assert preset("mobile") is PRESETS["mobile"]
    with pytest.raises(KeyError, match="no heartbeat preset called 'wifi'; the presets are: "):
        preset("wifi")


def test_worst_case_detection() -> None:
    assert worst_case_detection(30, 10) == 40
    assert worst_case_detection(15, 5) == 20
    assert worst_case_detection(30, 10, max_missed=3) == 100


def test_is_heartbeat() -> None:
    assert is_heartbeat("ping") and is_heartbeat("pong")
    for other in ("PING", " ping", "ping\n", "pingpong", "", b"ping", None, 1):
        assert not is_heartbeat(other)


# --- the state machine: literal sequences ------------------------------------------------


def test_the_notes_rhythm_ping_pong_ping_pong() -> None:
    hb = HeartbeatMachine(30, 10)
    assert (hb.phase, hb.timers, hb.next_deadline) == (Phase.STOPPED, 0, None)
    hb.start(0)
    assert (hb.phase, hb.timers, hb.next_ping_at, hb.pong_deadline) == (
        Phase.WAITING,
        1,
        30,
        None,
    )
    assert hb.advance(29.5) == []
    assert hb.advance(30) == ["ping"]
    assert (hb.phase, hb.timers, hb.next_ping_at, hb.pong_deadline) == (
        Phase.AWAITING_PONG,
        2,
        60,
        40,
    )
    assert hb.next_deadline == 40
    assert hb.pong(30.25) == 0.25
    assert (hb.phase, hb.timers, hb.next_deadline) == (Phase.WAITING, 1, 60)
    assert hb.advance(60) == ["ping"]
    assert hb.pong(60.5) == 0.5
    assert hb.rtts == [0.25, 0.5]
    assert list(hb.beats) == [Beat(1, 30, 0.25), Beat(2, 60, 0.5)]
    assert [b.outcome for b in hb.beats] == ["pong", "pong"]
    assert (hb.pings_sent, hb.pongs_received, hb.missed) == (2, 2, 0)


def test_a_missed_pong_means_close() -> None:
    hb = HeartbeatMachine(30, 10)
    hb.start(0)
    assert hb.advance(30) == ["ping"]
    assert not hb.overdue(39.75)
    assert hb.advance(39.75) == []
    assert hb.overdue(40)
    assert hb.advance(40) == ["close"]
    assert (hb.phase, hb.timers, hb.next_deadline) == (Phase.DEAD, 0, None)
    assert (hb.missed, hb.missed_in_a_row) == (1, 1)
    assert list(hb.beats) == [Beat(1, 30, None, missed=True)]
    assert hb.advance(100) == []  # dead: nothing more to do
    hb.stop()
    assert (hb.phase, hb.timers) == (Phase.STOPPED, 0)


def test_a_late_pong_does_not_count() -> None:
    hb = HeartbeatMachine(30, 10)
    hb.start(0)
    hb.advance(30)
    assert hb.pong(40) is None  # at the deadline: too late
    assert hb.unexpected_pongs == 1
    assert hb.advance(40) == ["close"]
    assert hb.pong(41) is None
    assert hb.unexpected_pongs == 2


def test_an_unasked_pong_changes_nothing() -> None:
    hb = HeartbeatMachine(30, 10)
    assert hb.pong(1) is None
    hb.start(0)
    assert hb.pong(5) is None
    assert (hb.phase, hb.next_ping_at, hb.unexpected_pongs) == (Phase.WAITING, 30, 2)


def test_the_cadence_is_kept_from_the_start_not_from_the_pong() -> None:
    # setInterval: pings at 30, 60, 90 whenever the pongs come.
    hb = HeartbeatMachine(30, 10)
    hb.start(0)
    sent = []
    for now in (30, 39, 60, 61, 90):
        if hb.advance(now) == ["ping"]:
            sent.append(now)
        hb.pong(now + 0.5)
    assert sent == [30, 60, 90]
    assert hb.plan(0, 3) == [(30, 40), (60, 70), (90, 100)]


def test_a_late_caller_gets_the_miss_first_then_the_next_ping() -> None:
    hb = HeartbeatMachine(30, 10, max_missed=2)
    hb.start(0)
    assert hb.advance(30) == ["ping"]
    # The loop was blocked until 95: the pong timer (40) fired before the
    # interval's next tick; the ticks at 60 and 90 were missed and coalesce.
    assert hb.advance(95) == ["ping"]
    assert hb.missed == 1 and hb.pings_sent == 2
    assert (hb.pong_deadline, hb.next_ping_at) == (105, 120)
    assert hb.advance(105) == ["close"]
    assert hb.missed_in_a_row == 2


def test_max_missed_allows_misses_in_a_row_and_a_pong_resets_the_count() -> None:
    hb = HeartbeatMachine(30, 10, max_missed=2)
    hb.start(0)
    assert hb.advance(30) == ["ping"]
    assert hb.advance(40) == []  # one miss allowed
    assert (hb.phase, hb.missed_in_a_row, hb.timers) == (Phase.WAITING, 1, 1)
    assert hb.advance(60) == ["ping"]
    assert hb.pong(60.25) == 0.25
    assert hb.missed_in_a_row == 0
    assert hb.advance(90) == ["ping"]
    assert hb.advance(100) == []
    assert hb.advance(120) == ["ping"]
    assert hb.advance(130) == ["close"]
    assert [b.outcome for b in hb.beats] == ["missed", "pong", "missed", "missed"]
    assert hb.missed == 3


def test_at_most_one_ping_in_flight() -> None:
    # Only a caller that skips the pong timer can get here; the beat is skipped.
    hb = HeartbeatMachine(30, 29.5)
    hb.start(0)
    assert hb.advance(30) == ["ping"]
    hb.pong_deadline = 100  # pretend the deadline is far away
    assert hb.advance(60) == []
    assert hb.pings_sent == 1 and hb.next_ping_at == 90


def test_stop_clears_both_timers_from_any_phase_and_start_again() -> None:
    hb = HeartbeatMachine(15, 5)
    hb.start(0)
    hb.advance(15)
    assert hb.timers == 2
    hb.stop()
    assert (hb.phase, hb.timers, hb.next_ping_at, hb.pong_deadline) == (
        Phase.STOPPED,
        0,
        None,
        None,
    )
    hb.stop()  # idempotent
    hb.start(100)  # the connection opened again
    assert (hb.phase, hb.next_ping_at, hb.starts) == (Phase.WAITING, 115, 2)
    assert hb.pings_sent == 1  # the totals are kept


def test_retime_restarts_a_running_machine() -> None:
    hb = HeartbeatMachine(30, 10)
    hb.start(0)
    hb.retime(15, 5, now=7)
    assert (hb.interval, hb.timeout, hb.next_ping_at) == (15, 5, 22)
    hb.stop()
    hb.retime(55, 10, now=50)
    assert hb.phase == Phase.STOPPED and hb.next_ping_at is None
    with pytest.raises(ValueError):
        hb.retime(10, 10)
    assert (hb.interval, hb.timeout) == (55, 10)


@pytest.mark.parametrize(
    ("interval", "timeout", "max_missed", "message"),
    [
        (0, 1, 1, "must be positive"),
        (30, 0, 1, "must be positive"),
        (30, -1, 1, "must be positive"),
        (10, 10, 1, r"the pong timeout \(10\) must be shorter than the ping interval \(10\)"),
        (10, 30, 1, "must be shorter"),
        (30, 10, 0, "max_missed must be at least 1"),
    ],
)
def test_bad_timings(interval: float, timeout: float, max_missed: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HeartbeatMachine(interval, timeout, max_missed=max_missed)


def test_transitions_table() -> None:
    assert set(TRANSITIONS) == set(Phase)
    assert TRANSITIONS[Phase.DEAD] == {Phase.STOPPED}
    for phase in Phase:
        assert phase == Phase.STOPPED or Phase.STOPPED in TRANSITIONS[phase]
    hb = HeartbeatMachine(30, 10)
    hb.start(0)
    hb.advance(30)
    hb.advance(40)
    with pytest.raises(RuntimeError, match="no move from dead to waiting"):
        hb.start(50)


def test_the_beats_are_bounded() -> None:
    hb = HeartbeatMachine(2, 1)
    hb.start(0)
    for n in range(1, MAX_BEATS + 11):
        assert hb.advance(2 * n) == ["ping"]
        hb.pong(2 * n + 0.5)
    assert len(hb.beats) == MAX_BEATS
    assert hb.beats[0].number == 11
    assert hb.pings_sent == hb.pongs_received == MAX_BEATS + 10
    assert "HeartbeatMachine 2/1 waiting" in repr(hb)


# --- rule 3: the log filters -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "message", "kept"),
    [
        (logging.DEBUG, "> PING 1a 2b 3c 4d [binary, 4 bytes]", False),
        (logging.DEBUG, "< PONG 1a 2b 3c 4d [binary, 4 bytes]", False),
        (logging.DEBUG, "> TEXT 'ping' [4 bytes]", False),
        (logging.DEBUG, "< TEXT 'pong' [4 bytes]", False),
        (logging.DEBUG, "% sent keepalive ping", False),
        (logging.DEBUG, "% received keepalive pong", False),
        (logging.DEBUG, "- timed out waiting for keepalive pong", True),
        (logging.DEBUG, "> TEXT 'hello' [5 bytes]", True),
        (logging.DEBUG, "> CLOSE 1011 (internal error) keepalive ping timeout [24 bytes]", True),
        (logging.WARNING, "> PING 1a [binary, 1 byte]", True),
    ],
)
def test_logging_filter(level: int, message: str, kept: bool) -> None:
    log_filter = HeartbeatLogFilter()
    record = logging.LogRecord("websockets.client", level, __file__, 1, message, None, None)
    assert log_filter.filter(record) is kept
    assert log_filter.dropped == (0 if kept else 1)
