"""wslab.clients.reconnect and its widgets: the golden rules against the real ``flaky`` server.

The clients run on the test's loop, the server on its thread; faults are the
server's real ones. Time runs a thousand times faster (``scaled_time(0.001)``):
the whole 8-retry schedule, 121 nominal seconds, takes about an eighth of a
second. Checks are on counts, states and order, never on durations.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from helpers import async_wait_until

import wslab
from wslab.clients.outbox import ReliableSession
from wslab.clients.reconnect import (
    Attempt,
    ReconnectingWebSocket,
    pending_retry_timers,
    reconnecting_clients,
    short_reason,
)
from wslab.clients.websocket import InvalidAccessError, live_clients
from wslab.core.events import CloseEvent, Event, ReadyState
from wslab.core.reconnect import ClientState
from wslab.core.timescale import real_seconds, scaled_time
from wslab.servers.flaky import FlakyServer
from wslab.widgets import BackoffTimeline, FaultButtons

Make = Callable[..., ReconnectingWebSocket]


@pytest.fixture
def tiny() -> Iterator[float]:
    with scaled_time(0.001) as scale:
        yield scale


@pytest.fixture
def flaky(tiny: float) -> wslab.RunningServer:
    return wslab.serve("flaky")


@pytest.fixture
def app(flaky: wslab.RunningServer) -> FlakyServer:
    assert isinstance(flaky.app, FlakyServer)
    return flaky.app


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    """Make reconnecting clients; afterwards close them all and check nothing is left."""
    made: list[ReconnectingWebSocket] = []

    def factory(url: str, **kwargs: Any) -> ReconnectingWebSocket:
        client = ReconnectingWebSocket(url, **kwargs)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()
    for client in made:
        await client.wait_for_state("closed", timeout=5)
    assert pending_retry_timers() == 0
    assert [c for c in reconnecting_clients() if c in made] == []
    assert not [ws for ws in live_clients() if any(ws is c.ws for c in made)]


async def opened(make: Make, url: str, **kwargs: Any) -> ReconnectingWebSocket:
    client = make(url, **kwargs)
    await client.wait_for_state("open")
    return client


def delays(client: ReconnectingWebSocket) -> list[float]:
    return [attempt.delay for attempt in client.attempts]


# --- connecting ----------------------------------------------------------------------


async def test_first_connection(flaky: wslab.RunningServer, make: Make) -> None:
    client = make(flaky.url, name="alice")
    assert client.state == ClientState.CONNECTING
    assert client.ready_state == ReadyState.CONNECTING
    assert client.pending_timers == 0
    await client.wait_for_state("open")
    assert client.ready_state == ReadyState.OPEN
    assert client.retries == 0
    assert client.attempts == [Attempt(1, 0, 0.0, client.attempts[0].started, opened=True)]
    assert client.attempts[0].outcome == "open"
    assert client in reconnecting_clients()
    assert repr(client) == f"<ReconnectingWebSocket alice {flaky.url} open>"


def test_needs_a_running_loop() -> None:
    with pytest.raises(RuntimeError, match="needs a running event loop"):
        ReconnectingWebSocket("ws://127.0.0.1:9/")


async def test_bad_backoff_parameters_raise_at_once(flaky: wslab.RunningServer) -> None:
    with pytest.raises(ValueError, match="factor"):
        ReconnectingWebSocket(flaky.url, factor=0.5)
    assert reconnecting_clients() == []


async def test_schedule_is_the_generators(flaky: wslab.RunningServer, make: Make) -> None:
    client = make(flaky.url)
    assert client.schedule() == [1, 2, 4, 8, 16, 30, 30, 30]
    short = make(flaky.url, max_retries=3, jitter="full")
    assert short.schedule() == [1, 2, 4]  # the caps, even with jitter


# --- rule 1 and 2: backoff, then give up ------------------------------------------------


async def test_crash_then_backoff_then_give_up(
    flaky: wslab.RunningServer, app: FlakyServer, make: Make
) -> None:
    client = await opened(make, flaky.url)
    app.crash()  # and never restart
    await client.wait_for_state("reconnecting")
    assert (client.retries, client.next_delay, client.pending_timers) == (1, 1.0, 1)
    assert pending_retry_timers() == 1
    await client.wait_for_state("gave up", timeout=10)
    assert delays(client) == [0, 1, 2, 4, 8, 16, 30, 30, 30]
    assert client.retries == 8
    assert [a.outcome for a in client.attempts] == ["closed"] + ["refused"] * 8
    assert client.attempts[0].code == 1006 and client.attempts[0].was_clean is False
    assert {a.reason for a in client.attempts[1:]} == {"connection refused"}
    assert client.pending_timers == 0
    assert client.next_delay is None
    assert client not in reconnecting_clients()
    assert "gave up after 8 retries: please refresh the page" in [
        e.text for e in client.log.entries("gave-up")
    ]


async def test_max_retries(flaky: wslab.RunningServer, app: FlakyServer, make: Make) -> None:
    client = await opened(make, flaky.url, max_retries=2)
    app.crash()
    await client.wait_for_state("gave up")
    assert delays(client) == [0, 1, 2]


async def test_no_retries_at_all(flaky: wslab.RunningServer, app: FlakyServer, make: Make) -> None:
    client = await opened(make, flaky.url, max_retries=0)
    app.crash()
    await client.wait_for_state("gave up")
    assert len(client.attempts) == 1


async def test_refused_with_503(flaky: wslab.RunningServer, app: FlakyServer, make: Make) -> None:
    app.refuse()
    client = make(flaky.url, max_retries=2)
    await client.wait_for_state("gave up")
    assert [a.describe() for a in client.attempts] == ["refused (HTTP 503)"] * 3
    assert [h.status for h in app.handshakes()] == [503, 503, 503]


async def test_a_server_that_never_was(tiny: float, make: Make) -> None:
    from helpers import free_port

    client = make(wslab.get_ws_url(free_port()), max_retries=1)
    await client.wait_for_state("gave up")
    assert [a.outcome for a in client.attempts] == ["refused", "refused"]
    assert client.events == ["error", "close", "error", "close"]


# --- rule 3: reset on open ------------------------------------------------------------


async def test_counter_resets_when_open_fires(
    flaky: wslab.RunningServer, app: FlakyServer, make: Make
) -> None:
    client = await opened(make, flaky.url)
    app.crash()
    await async_wait_until(lambda: client.retries >= 3)
    app.restart()
    await client.wait_for_state("open")
    assert client.retries == 0
    assert client.attempts[-1].outcome == "open"
    first = len(client.attempts)
    assert delays(client) == [0, *client.schedule()[: first - 1]]  # 1, 2, 4, ...
    # The next outage starts the schedule from the beginning: 1 s, not 8 s.
    app.crash()
    await client.wait_for_state("reconnecting")
    assert client.next_delay == 1.0
    app.restart()
    await client.wait_for_state("open")
    assert client.attempts[first:] == [client.attempts[-1]]
    assert (client.attempts[-1].retry, client.attempts[-1].delay) == (1, 1.0)


# --- rule 4: which codes ---------------------------------------------------------------


@pytest.mark.parametrize("code", [1000, 4001, 4002, 4003])
async def test_no_reconnect_after_1000_and_auth_codes(
    flaky: wslab.RunningServer, app: FlakyServer, make: Make, code: int
) -> None:
    client = await opened(make, flaky.url)
    app.close_clients(code, "bye")
    await client.wait_for_state("closed")
    assert client.last_close is not None
    assert (client.last_close.code, client.last_close.was_clean) == (code, True)
    assert client.pending_timers == 0
    await asyncio.sleep(real_seconds(5))  # past the first delay: nothing happens
    assert len(client.attempts) == 1
    assert client.state == ClientState.CLOSED
    assert client.log.entries("no-retry")[0].code == code


@pytest.mark.parametrize("code", [1001, 1011, 1012, 4000])
async def test_reconnect_after_other_clean_closes(
    flaky: wslab.RunningServer, app: FlakyServer, make: Make, code: int
) -> None:
    client = await opened(make, flaky.url)
    app.close_clients(code)
    await client.wait_for_state("reconnecting")
    assert client.last_close is not None and client.last_close.was_clean
    await client.wait_for_state("open")
    assert delays(client) == [0, 1]
    assert client.attempts[0].describe() == f"opened, closed {code}"
    assert "error" not in client.events  # a clean close has no error event


# --- rule 6: no ghost timers ----------------------------------------------------------


async def test_close_cancels_the_pending_retry_timer(
    flaky: wslab.RunningServer, app: FlakyServer, make: Make
) -> None:
    client = await opened(make, flaky.url, max_delay=1000, initial_delay=50)
    app.crash()
    await client.wait_for_state("reconnecting")
    assert client.pending_timers == 1
    client.close()
    assert client.state == ClientState.CLOSED  # at once: there is no connection to close
    assert client.pending_timers == 0
    assert pending_retry_timers() == 0
    app.restart()
    await asyncio.sleep(real_seconds(60))  # past the cancelled retry
    assert len(client.attempts) == 1
    assert "pending retry timer cancelled" in [e.text for e in client.log.entries("timer")]


async def test_close_while_open(flaky: wslab.RunningServer, make: Make) -> None:
    client = await opened(make, flaky.url)
    client.close()
    await client.wait_for_state("closed")
    assert client.last_close is not None
    assert (client.last_close.code, client.last_close.was_clean) == (1000, True)
    client.close()  # idempotent
    assert client.state == ClientState.CLOSED


async def test_close_while_connecting(flaky: wslab.RunningServer, make: Make) -> None:
    client = make(flaky.url)
    client.close()
    await client.wait_for_state("closed")
    await asyncio.sleep(real_seconds(5))
    assert len(client.attempts) == 1


async def test_close_after_giving_up(
    flaky: wslab.RunningServer, app: FlakyServer, make: Make
) -> None:
    client = await opened(make, flaky.url, max_retries=1)
    app.crash()
    await client.wait_for_state("gave up")
    client.close()
    assert client.state == ClientState.CLOSED


async def test_close_codes_are_checked(flaky: wslab.RunningServer, make: Make) -> None:
    client = await opened(make, flaky.url)
    with pytest.raises(InvalidAccessError):
        client.close(1001)
    assert client.state == ClientState.OPEN


# --- rule 5 and the events ------------------------------------------------------------


async def test_listeners_hear_every_connection(
    flaky: wslab.RunningServer, app: FlakyServer, make: Make
) -> None:
    client = make(flaky.url)
    heard: list[tuple[str, str]] = []

    def on_close(event: Event) -> None:
        assert isinstance(event, CloseEvent)
        heard.append(("close", client.state.value))  # the decision is already made

    client.add_event_listener("open", lambda e: heard.append(("open", client.state.value)))
    client.add_event_listener("error", lambda e: heard.append(("error", client.state.value)))
    client.add_event_listener("close", on_close)
    await client.wait_for_state("open")
    app.crash()
    await client.wait_for_state("reconnecting")
    app.restart()
    await client.wait_for_state("open")
    app.close_clients(1000)
    await client.wait_for_state("closed")
    assert heard == [
        ("open", "open"),
        ("error", "open"),
        ("close", "reconnecting"),
        ("open", "open"),
        ("close", "closed"),
    ]


async def test_error_is_always_followed_by_close(
    flaky: wslab.RunningServer, app: FlakyServer, make: Make
) -> None:
    # 10 nominal seconds between retries: time enough to see each state.
    client = await opened(make, flaky.url, initial_delay=10, factor=1)
    app.crash()
    await async_wait_until(lambda: client.retries >= 2)
    app.restart(refusing=True)
    errors = client.events.count("error")
    await async_wait_until(lambda: client.events.count("error") >= errors + 2)
    app.restart()
    await client.wait_for_state("open")
    app.close_clients(1001)
    await client.wait_for("open")
    events = client.events
    assert events.count("error") >= 4  # the crash, refusals and 503s
    for i, kind in enumerate(events):
        if kind == "error":
            assert events[i + 1] == "close"
    assert events.count("close") == events.count("error") + 1  # and the clean 1001
    assert events.count("open") == 3
    outcomes = [a.describe() for a in client.attempts]
    assert outcomes[0] == "opened, closed 1006 (dropped)"
    assert "refused (connection refused)" in outcomes
    assert "refused (HTTP 503)" in outcomes
    assert outcomes[-2:] == ["opened, closed 1001", "open"]


async def test_states_are_told_to_observers(
    flaky: wslab.RunningServer, app: FlakyServer, make: Make
) -> None:
    client = make(flaky.url)
    states: list[str] = []
    ready: list[int] = []
    client.changed.subscribe(lambda c: states.append(c.state.value))
    client.ready_state_changed.subscribe(lambda s: ready.append(int(s)))
    await client.wait_for_state("open")
    app.crash()
    await client.wait_for_state("reconnecting")
    app.restart()
    await client.wait_for_state("open")
    client.close()
    await client.wait_for_state("closed")
    compact = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
    assert compact == ["open", "reconnecting", "connecting", "open", "closed"]
    assert ready == [1, 3, 0, 1, 2, 3]


async def test_send_only_while_open(
    flaky: wslab.RunningServer, app: FlakyServer, make: Make
) -> None:
    client = await opened(make, flaky.url, initial_delay=100)
    assert client.send('{"type": "hello", "client": "a"}') is True
    app.crash()
    await client.wait_for_state("reconnecting")
    assert client.send("lost") is False
    assert "message dropped" in client.log.entries("discarded")[0].text


async def test_listener_errors_do_not_stop_the_client(
    flaky: wslab.RunningServer, app: FlakyServer, make: Make, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make(flaky.url)

    def broken(event: Event) -> None:
        raise ValueError("oops")

    client.add_event_listener("open", broken)
    client.add_event_listener("open", lambda e: None)
    await client.wait_for_state("open")
    assert client.log.entries("listener-error")[0].text == "ValueError: oops"
    assert "ValueError: oops" in capsys.readouterr().err
    client.remove_event_listener("open", broken)
    client.remove_event_listener("open", broken)  # unknown now: ignored
    with pytest.raises(ValueError, match="unknown event type"):
        client.add_event_listener("opened", broken)  # type: ignore[arg-type]


# --- refresh and reconnect --------------------------------------------------------------


async def test_refresh_after_giving_up(
    flaky: wslab.RunningServer, app: FlakyServer, make: Make
) -> None:
    client = await opened(make, flaky.url, max_retries=2)
    app.crash()
    await client.wait_for_state("gave up")
    app.restart()
    client.refresh()
    await client.wait_for_state("open")
    assert client.attempts[-1].retry == 0 and client.attempts[-1].delay == 0
    client.refresh()  # open: nothing to do
    assert len(client.attempts) == 4


async def test_refresh_while_reconnecting_retries_now(
    flaky: wslab.RunningServer, app: FlakyServer, make: Make
) -> None:
    client = await opened(make, flaky.url, initial_delay=1000, max_delay=1000)
    app.crash()
    await client.wait_for_state("reconnecting")
    app.restart()
    client.refresh()
    assert client.pending_timers == 0
    await client.wait_for_state("open")
    assert len(client.attempts) == 2


async def test_reconnect_on_purpose(flaky: wslab.RunningServer, make: Make) -> None:
    client = await opened(make, flaky.url)
    with pytest.raises(ValueError, match="would not reconnect"):
        client.reconnect(1000)
    client.reconnect()
    await client.wait_for_state("reconnecting")
    assert client.last_close is not None and client.last_close.code == 4000
    await client.wait_for_state("open")
    assert delays(client) == [0, 1]


async def test_wait_for_an_event_of_any_connection(
    flaky: wslab.RunningServer, app: FlakyServer, make: Make
) -> None:
    client = await opened(make, flaky.url)
    waiting = asyncio.ensure_future(client.wait_for("open"))
    app.close_clients(1001)
    event = await waiting
    assert event.type == "open"
    assert event.target is client.ws
    with pytest.raises(TimeoutError):
        await client.wait_for("message", timeout=0.01)


# --- jitter ----------------------------------------------------------------------------


async def test_full_jitter(flaky: wslab.RunningServer, app: FlakyServer, make: Make) -> None:
    client = await opened(make, flaky.url, max_retries=4, jitter="full", rand=lambda: 0.25)
    app.crash()
    await client.wait_for_state("gave up")
    assert delays(client) == [0, 0.25, 0.5, 1, 2]


async def test_jittered_clients_do_not_retry_in_lockstep(
    flaky: wslab.RunningServer, app: FlakyServer, make: Make
) -> None:
    plain = [await opened(make, flaky.url, max_retries=3) for _ in range(5)]
    jittered = [
        await opened(make, flaky.url, max_retries=3, jitter="full", rand=random.Random(i).random)
        for i in range(5)
    ]
    app.crash()
    for client in plain + jittered:
        await client.wait_for_state("gave up")
    assert {tuple(delays(c)) for c in plain} == {(0, 1, 2, 4)}
    assert len({tuple(delays(c)) for c in jittered}) == 5


# --- nothing lost ----------------------------------------------------------------------


async def test_queue_delivers_in_order_once_each_across_crashes(
    flaky: wslab.RunningServer, app: FlakyServer
) -> None:
    session = ReliableSession(flaky.url, "alice")
    try:
        await session.client.wait_for_state("open")
        sent = [session.send(f"m{n}").id for n in range(1, 6)]  # before the welcome: queued
        await session.drained()
        assert session.welcomes == [0]
        app.crash()
        sent += [session.send(f"m{n}").id for n in range(6, 11)]  # while down: queued
        assert session.pending == 5
        await session.client.wait_for_state("reconnecting")
        app.restart()
        await session.drained()
        assert session.welcomes == [0, 5]  # the server said what it had
        for n in range(11, 21):  # and a crash in the middle of sending
            sent.append(session.send(f"m{n}").id)
            if n == 15:
                app.crash()
                app.restart()
        await session.drained()
    finally:
        session.close()
        await session.client.wait_for_state("closed")
    assert sent == list(range(1, 21))
    received = app.received("alice")
    assert [e.id for e in received] == list(range(1, 21))  # in order, once each
    assert [e.text for e in received] == [f"m{n}" for n in range(1, 21)]
    assert session.dropped == []
    assert session.transmissions == 20 + session.resent


async def test_only_what_is_after_last_id_is_resent(
    flaky: wslab.RunningServer, app: FlakyServer
) -> None:
    session = ReliableSession(flaky.url, "bob")
    # Lose every ack on the way back, so the client cannot know what arrived.
    session.client.remove_event_listener("message", session._on_message)

    def acks_lost(event: Event) -> None:
        if '"ack"' not in str(getattr(event, "data", "")):
            session._on_message(event)

    session.client.add_event_listener("message", acks_lost)
    try:
        await async_wait_until(lambda: session.welcomed)
        for n in range(1, 6):
            session.send(f"m{n}")
        await async_wait_until(lambda: app.inbox.last_id("bob") == 5)
        assert session.pending == 5  # no ack came back
        app.crash()
        app.restart()
        await session.drained()
    finally:
        session.close()
        await session.client.wait_for_state("closed")
    assert session.welcomes == [0, 5]
    assert session.resent == 0  # the welcome said 5: nothing to resend
    assert session.transmissions == 5
    assert [e.id for e in app.received("bob")] == [1, 2, 3, 4, 5]
    assert app.inbox.duplicates("bob") == 0


async def test_without_a_queue_messages_are_lost(
    flaky: wslab.RunningServer, app: FlakyServer
) -> None:
    session = ReliableSession(flaky.url, "naive", queue=False)
    try:
        await session.client.wait_for_state("open")
        await async_wait_until(lambda: session.welcomed)
        for n in range(1, 6):
            session.send(f"m{n}")
        await async_wait_until(lambda: app.inbox.last_id("naive") == 5)
        app.crash()
        await session.client.wait_for_state("reconnecting")
        for n in range(6, 11):
            session.send(f"m{n}")  # nowhere to go: lost
        app.restart()
        await async_wait_until(lambda: session.welcomed)
        for n in range(11, 14):
            session.send(f"m{n}")
        await async_wait_until(lambda: app.inbox.last_id("naive") == 13)
    finally:
        session.close()
        await session.client.wait_for_state("closed")
    assert [e.id for e in session.dropped] == [6, 7, 8, 9, 10]
    assert [e.id for e in app.received("naive")] == [1, 2, 3, 4, 5, 11, 12, 13]
    assert session.pending == 0  # it never kept anything


async def test_session_validates_its_client_id(flaky: wslab.RunningServer) -> None:
    from wslab.core.messages import MessageError

    with pytest.raises(MessageError):
        ReliableSession(flaky.url, "not ok!")
    assert reconnecting_clients() == []


async def test_session_records_server_errors(flaky: wslab.RunningServer) -> None:
    session = ReliableSession(flaky.url, "carol")
    try:
        await session.drained()
        session.client.send('{"type": "dance"}')
        await async_wait_until(lambda: session.errors)
    finally:
        session.close()
        await session.client.wait_for_state("closed")
    assert session.errors[0]["error"] == "unknown-type"
    assert repr(session) == "<ReliableSession carol closed, 0 sent, 0 pending>"


# --- short reasons ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "short"),
    [
        (
            "could not connect to ws://127.0.0.1:1/: ConnectionRefusedError: [Errno 111] "
            "Connect call failed ('127.0.0.1', 1)",
            "connection refused",
        ),
        (
            "could not connect to ws://x/: InvalidStatus: server rejected WebSocket "
            "connection: HTTP 503",
            "HTTP 503",
        ),
        (
            "could not connect to ws://x/: TimeoutError: timed out during opening handshake",
            "timed out",
        ),
        ("the connection dropped without a closing handshake", "dropped"),
        ("close() was called before the connection opened", "cancelled"),
        ("something else", "something else"),
        ("x" * 100, "x" * 59 + "…"),
    ],
)
def test_short_reason(message: str, short: str) -> None:
    assert short_reason(message) == short


# --- widgets ------------------------------------------------------------------------------


async def test_timeline_shows_attempts_live(
    flaky: wslab.RunningServer, app: FlakyServer, make: Make
) -> None:
    client = make(flaky.url, name="alice", max_retries=3)
    timeline = BackoffTimeline(client)
    assert timeline.status == "🔌 Connecting…"
    await client.wait_for_state("open")
    assert timeline.status == "🟢 Open"
    assert timeline.badge.ready_state == 1
    app.crash()
    await client.wait_for_state("reconnecting")
    assert timeline.status == "🟠 Reconnecting… next try in 1 s (retry 1 of 3)"
    rows = timeline.rows()
    assert [(r.number, r.retry, r.delay, r.outcome) for r in rows] == [
        (1, 0, 0.0, "closed"),
        (None, 1, 1.0, "planned"),
        (None, 2, 2.0, "planned"),
        (None, 3, 4.0, "planned"),
    ]
    assert "opened, closed 1006 (dropped)" in timeline.table.value
    await client.wait_for_state("gave up")
    assert timeline.status == "🔴 Gave up after 3 retries: please refresh"
    assert timeline.refresh_button.layout.display == ""
    assert [r.outcome for r in timeline.rows()] == ["closed", "refused", "refused", "refused"]
    assert timeline.badge.ready_state == 3
    app.restart()
    timeline.refresh_button.click()  # the student's refresh
    await client.wait_for_state("open")
    assert timeline.refresh_button.layout.display == "none"
    app.close_clients(1000)
    await client.wait_for_state("closed")
    assert timeline.status == "⚪ Closed (1000): not reconnecting"
    # A crash drops straight to CLOSED (no close frame); the server's 1000
    # passes through CLOSING first, as in a browser.
    assert [int(s) for s in timeline.badge.states_seen][:13] == [
        0,
        1,
        3,
        0,
        3,
        0,
        3,
        0,
        3,
        0,
        1,
        2,
        3,
    ]
    assert not client.closed_by_user
    client.refresh()
    await client.wait_for_state("open")
    client.close()
    await client.wait_for_state("closed")
    assert client.closed_by_user
    assert timeline.status == "⚪ Closed by close(): no more retries"
    timeline.max_rows = 2
    assert [r.number for r in timeline.rows()] == [5, 6]
    timeline.close()
    assert len(client.changed) == 0 and len(client.ready_state_changed) == 0


async def test_timeline_escapes_and_marks_jitter(flaky: wslab.RunningServer, make: Make) -> None:
    client = make(flaky.url, name="<b>x</b>", jitter="full")
    timeline = BackoffTimeline(client)
    assert "&lt;b&gt;x&lt;/b&gt;" in timeline.badge.value
    assert "≤ 1 s" in timeline.table.value  # planned jittered delays are caps
    timeline.close()


async def test_timeline_rejects_zero_rows(flaky: wslab.RunningServer, make: Make) -> None:
    import traitlets

    with pytest.raises(traitlets.TraitError, match="max_rows must be at least 1"):
        BackoffTimeline(make(flaky.url), max_rows=0)


async def test_fault_buttons(flaky: wslab.RunningServer, app: FlakyServer, make: Make) -> None:
    buttons = FaultButtons(app)
    client = await opened(make, flaky.url)
    await async_wait_until(lambda: "1 connection" in buttons.status_label.value)
    assert "server <b style='color:#2f855a'>up</b>" in buttons.status_label.value
    buttons.click("💥 Crash")
    assert app.status == "down"
    await client.wait_for_state("reconnecting")
    buttons.click("⛔ Refuse (503)")  # down: refusing is remembered for when it listens
    buttons.click("🔄 Restart")
    assert app.status == "up"
    await client.wait_for_state("open")
    buttons.click("⛔ Refuse (503)")
    assert "refusing" in buttons.status_label.value
    buttons.click("✅ Accept")
    buttons.click("🚪 Close 1001")
    await client.wait_for_state("reconnecting")
    await client.wait_for_state("open")
    buttons.click("👋 Close 1000")
    await client.wait_for_state("closed")
    assert buttons.done == [
        "💥 Crash",
        "⛔ Refuse (503)",
        "🔄 Restart",
        "⛔ Refuse (503)",
        "✅ Accept",
        "🚪 Close 1001",
        "👋 Close 1000",
    ]
    flaky.stop()
    buttons.click("💥 Crash")  # a stopped server: shown, not raised
    assert "RuntimeError" in buttons.status_label.value
    assert buttons.done[-1] == "👋 Close 1000"
    buttons.close()


async def test_history_is_bounded(
    flaky: wslab.RunningServer, app: FlakyServer, make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wslab.clients import reconnect

    monkeypatch.setattr(reconnect, "MAX_HISTORY", 3)
    client = await opened(make, flaky.url, max_retries=4)
    app.crash()
    await client.wait_for_state("gave up")
    assert [a.number for a in client.attempts] == [3, 4, 5]
    assert [a.delay for a in client.attempts] == [2, 4, 8]
