"""wslab.state.heartbeat: an event log that leaves heartbeats out (rule 3), and counts them."""

from __future__ import annotations

from wslab.state.eventlog import EventLog
from wslab.state.heartbeat import HeartbeatLog


def test_heartbeat_log_keeps_or_skips_ping_pong() -> None:
    verbose = HeartbeatLog()
    quiet = HeartbeatLog(heartbeats=False)
    assert isinstance(quiet, EventLog)
    for log in (verbose, quiet):
        log.message("out", "ping")
        log.message("in", "pong")
        log.message("out", "hello")
        log.message("out", b"ping")
        log.record("missed-pong", "no pong within 10 s")
    assert [e.text for e in verbose.entries("message")] == [
        "ping",
        "pong",
        "hello",
        "<4 bytes: 70 69 6e 67>",
    ]
    assert [e.text for e in quiet.entries("message")] == ["hello", "<4 bytes: 70 69 6e 67>"]
    assert quiet.kinds() == ["message", "message", "missed-pong"]
    assert (verbose.skipped, quiet.skipped) == (0, 2)
    entry = quiet.message("in", "pong")  # returned, not recorded
    assert entry.text == "pong" and quiet.skipped == 3 and len(quiet) == 3
