"""wslab.clients.heartbeat and its widget, against the real ``heartbeat`` server and a middlebox.

Clients run on the test's loop; the server and the middlebox on their own
threads. The tests' time scale makes the mobile preset (15 s / 5 s) a ping
every 0.3 s with 0.1 s for the pong. Checks are on counts, states and order,
never on durations.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from helpers import async_wait_until

import wslab
from wslab.clients.heartbeat import (
    NO_PONG_CODE,
    HeartbeatClient,
    heartbeat_clients,
    pending_heartbeat_timers,
)
from wslab.clients.reconnect import ReconnectingWebSocket, pending_retry_timers
from wslab.clients.websocket import WebSocket, live_clients
from wslab.core.heartbeat import PRESETS, Phase
from wslab.core.timescale import real_seconds
from wslab.network.middlebox import Middlebox
from wslab.servers.heartbeat import HeartbeatServer
from wslab.widgets import HeartbeatView

#: Real seconds to wait for anything that takes a few nominal seconds.
WAIT = 10.0


@pytest.fixture
def server(fast: float) -> wslab.RunningServer:
    return wslab.serve("heartbeat")


@pytest.fixture
def box(server: wslab.RunningServer) -> Iterator[Middlebox]:
    middlebox = Middlebox(server.port, idle_limit=None).start()
    yield middlebox
    middlebox.stop()


@pytest.fixture
async def tidy() -> AsyncIterator[list[Any]]:
    """Clients and heartbeats to close after the test; then check nothing is left."""
    made: list[Any] = []
    yield made
    for thing in made:
        if isinstance(thing, HeartbeatClient):
            thing.detach()
        elif isinstance(thing, ReconnectingWebSocket):
            thing.close()
            await thing.wait_for_state("closed", "gave up", timeout=WAIT)
        elif thing.ready_state != WebSocket.CLOSED:
            thing.close()
            await thing.closed(timeout=WAIT)
    await asyncio.sleep(0)
    assert pending_heartbeat_timers() == 0
    assert pending_retry_timers() == 0
    assert heartbeat_clients() == []
    assert live_clients() == []


def mobile(target: Any, tidy: list[Any], **options: Any) -> HeartbeatClient:
    hb = HeartbeatClient(target, preset="mobile", **options)
    tidy.append(hb)
    return hb


# --- the rhythm ---------------------------------------------------------------------


async def test_pings_at_the_interval_and_records_round_trips(
    server: wslab.RunningServer, tidy: list[Any]
) -> None:
    ws = WebSocket(server.url, name="page")
    tidy.append(ws)
    hb = mobile(ws, tidy)
    assert (hb.phase, hb.live_timers) == (Phase.STOPPED, 0)
    await ws.wait_for("open")
    assert (hb.phase, hb.live_timers, hb.connections) == (Phase.WAITING, 1, 1)
    assert hb.machine.pings_sent == 0  # the first ping waits one interval
    await async_wait_until(lambda: hb.machine.pongs_received >= 3, timeout=WAIT)
    assert [b.outcome for b in hb.beats[:3]] == ["pong", "pong", "pong"]
    assert all(rtt > 0 for rtt in hb.rtts_ms)
    assert hb.machine.missed == 0 and hb.dead == 0
    # What went over the wire: ping, pong, ping, pong, ... in that order.
    texts = [(e.direction, e.text) for e in ws.log.entries("message")][:6]
    assert texts == [("out", "ping"), ("in", "pong")] * 3
    assert hb.live_timers in (1, 2)
    assert (hb.interval, hb.timeout, hb.worst_case) == (15, 5, 20)
    assert "15/5 s" in repr(hb)
    ws.close()
    await ws.closed()
    assert hb.ghosts() == {"timers": 0, "tasks": 0}
    assert hb.phase == Phase.STOPPED


async def test_attaching_to_an_open_client_starts_at_once(
    server: wslab.RunningServer, tidy: list[Any]
) -> None:
    ws = WebSocket(server.url)
    tidy.append(ws)
    await ws.wait_for("open")
    hb = mobile(ws, tidy)
    assert hb.phase == Phase.WAITING and hb.connections == 1
    await async_wait_until(lambda: hb.machine.pongs_received >= 1, timeout=WAIT)


async def test_application_listeners_still_see_the_pongs(
    server: wslab.RunningServer, tidy: list[Any]
) -> None:
    ws = WebSocket(server.url)
    tidy.append(ws)
    seen: list[Any] = []
    ws.add_event_listener("message", lambda event: seen.append(event.data))
    hb = mobile(ws, tidy)
    await async_wait_until(lambda: hb.machine.pongs_received >= 2, timeout=WAIT)
    ws.send("hello")
    await async_wait_until(lambda: "hello" in seen, timeout=WAIT)
    assert seen.count("pong") >= 2


# --- a missed pong ---------------------------------------------------------------------------


async def test_a_missed_pong_closes_and_lesson_5_reconnects(
    server: wslab.RunningServer, box: Middlebox, tidy: list[Any]
) -> None:
    client = ReconnectingWebSocket(box.url(server.url), name="app", close_timeout=real_seconds(1))
    tidy.append(client)
    hb = mobile(client, tidy)
    await client.wait_for_state("open")
    await async_wait_until(lambda: hb.machine.pongs_received >= 1, timeout=WAIT)
    states: list[str] = []
    client.changed.subscribe(lambda c: states.append(c.state.value))
    assert box.drop_all() == 1  # silently: neither side is told
    await client.wait_for_state("reconnecting", timeout=WAIT)
    assert hb.dead == 1 and hb.machine.missed == 1
    assert hb.live_timers == 0  # nothing beats while reconnecting
    assert client.last_close is not None and client.last_close.code == 1006
    missed = client.log.entries("missed-pong")
    assert len(missed) == 1 and f"closing the connection ({NO_PONG_CODE})" in missed[0].text
    await client.wait_for_state("open", timeout=WAIT)
    pongs = hb.machine.pongs_received
    await async_wait_until(lambda: hb.machine.pongs_received > pongs, timeout=WAIT)
    assert hb.connections == 2
    outcomes = [b.outcome for b in hb.beats]
    assert outcomes.count("missed") == 1
    assert "pong" in outcomes[outcomes.index("missed") :]  # beating again
    assert "reconnecting" in states and states[-1] == "open"
    assert [a.outcome for a in client.attempts] == ["closed", "open"]
    # The route that died is black-holed; the new one forwards.
    assert [r.state for r in box.routes()] == ["black-holed", "forwarding"]


async def test_a_plain_websocket_is_closed_when_the_app_hangs(
    server: wslab.RunningServer, tidy: list[Any]
) -> None:
    app = server.app
    assert isinstance(app, HeartbeatServer)
    ws = WebSocket(server.url, close_timeout=real_seconds(1))
    tidy.append(ws)
    hb = mobile(ws, tidy)
    await async_wait_until(lambda: hb.machine.pongs_received >= 1, timeout=WAIT)
    app.stall()
    try:
        event = await ws.closed(timeout=WAIT)
    finally:
        app.resume()
    # The library still works, so it answered our close frame: a clean 4000.
    assert (event.code, event.reason, event.was_clean) == (NO_PONG_CODE, "no pong", True)
    assert hb.dead == 1 and hb.machine.phase == Phase.STOPPED
    assert hb.ghosts() == {"timers": 0, "tasks": 0}


async def test_max_missed_tolerates_a_miss(server: wslab.RunningServer, tidy: list[Any]) -> None:
    app = server.app
    assert isinstance(app, HeartbeatServer)
    ws = WebSocket(server.url)
    tidy.append(ws)
    hb = mobile(ws, tidy, max_missed=3)
    await ws.wait_for("open")
    app.stall()
    try:
        await async_wait_until(lambda: hb.machine.missed >= 1, timeout=WAIT)
    finally:
        app.resume()
    assert ws.ready_state == WebSocket.OPEN and hb.dead == 0
    assert hb.worst_case == 3 * 15 + 5


# --- no ghost timers --------------------------------------------------------------------------


async def test_close_while_awaiting_a_pong_leaves_no_timer(
    server: wslab.RunningServer, tidy: list[Any]
) -> None:
    app = server.app
    assert isinstance(app, HeartbeatServer)
    client = ReconnectingWebSocket(server.url, close_timeout=real_seconds(1))
    tidy.append(client)
    hb = mobile(client, tidy)
    await client.wait_for_state("open")
    app.stall()  # the pong will not come: both timers run
    try:
        await async_wait_until(lambda: hb.phase == Phase.AWAITING_PONG, timeout=WAIT)
        assert hb.live_timers == 2 == hb.machine.timers
        assert pending_heartbeat_timers() == 2
        client.close()
        await client.wait_for_state("closed", timeout=WAIT)
    finally:
        app.resume()
    assert hb.live_timers == 0 == pending_heartbeat_timers()
    sent = hb.machine.pings_sent
    await asyncio.sleep(real_seconds(25))  # more than an interval and a timeout: nothing fires
    assert hb.machine.pings_sent == sent
    assert hb.ghosts() == {"timers": 0, "tasks": 0}


async def test_detach_stops_it_for_good(server: wslab.RunningServer, tidy: list[Any]) -> None:
    ws = WebSocket(server.url)
    tidy.append(ws)
    hb = mobile(ws, tidy)
    await ws.wait_for("open")
    hb.detach()
    hb.detach()  # idempotent
    assert hb.live_timers == 0 and not hb.attached and hb not in heartbeat_clients()
    await asyncio.sleep(real_seconds(20))
    assert hb.machine.pings_sent == 0
    assert ws.log.entries("message") == []


# --- presets ------------------------------------------------------------------------------------


async def test_presets_and_custom_timings(server: wslab.RunningServer, tidy: list[Any]) -> None:
    ws = WebSocket(server.url)
    tidy.append(ws)
    hb = HeartbeatClient(ws)
    tidy.append(hb)
    assert hb.preset is PRESETS["default"] and (hb.interval, hb.timeout) == (30, 10)
    await ws.wait_for("open")
    hb.use("aws-alb")
    assert hb.preset is PRESETS["aws-alb"] and hb.machine.running
    assert hb.machine.interval == real_seconds(55)
    hb.use(interval=12, timeout=3)
    assert hb.preset is None and (hb.interval, hb.timeout) == (12, 3)
    with pytest.raises(KeyError, match="no heartbeat preset called 'lan'"):
        hb.use("lan")
    with pytest.raises(ValueError, match="must be shorter"):
        hb.use(interval=5, timeout=5)
    assert (hb.interval, hb.timeout) == (12, 3)  # unchanged by the refusals
    hb.use(interval=20)  # custom timings stay custom: only the interval changes
    assert hb.preset is None and (hb.interval, hb.timeout) == (20, 3)
    hb.use(timeout=4)
    assert (hb.interval, hb.timeout) == (20, 4)
    hb.use("mobile", timeout=2)
    assert hb.preset is None and (hb.interval, hb.timeout) == (15, 2)
    hb.use("mobile")
    assert hb.preset is PRESETS["mobile"]
    hb.use()  # the same preset, restarted
    assert hb.preset is PRESETS["mobile"] and hb.machine.running
    custom = HeartbeatClient(ws, interval=8, timeout=2)
    tidy.append(custom)
    assert custom.preset is None and custom.worst_case == 10


def test_needs_a_running_loop() -> None:
    with pytest.raises(RuntimeError, match="needs a running event loop"):
        HeartbeatClient(object())  # type: ignore[arg-type]


# --- the widget -----------------------------------------------------------------------------------


async def test_view_shows_rtts_misses_and_switches_presets(
    server: wslab.RunningServer, box: Middlebox, tidy: list[Any]
) -> None:
    client = ReconnectingWebSocket(box.url(server.url), name="app", close_timeout=real_seconds(1))
    tidy.append(client)
    hb = mobile(client, tidy)
    view = HeartbeatView(hb)
    assert view.preset_picker.value == "mobile"
    assert [value for _, value in view.preset_picker.options] == list(PRESETS)
    await client.wait_for_state("open")
    await async_wait_until(lambda: hb.machine.pongs_received >= 2, timeout=WAIT)
    assert view.badge.ready_state == 1
    assert "client open" in view.status and "beating" in view.status
    assert re.search(r"\d+ pings · \d+ pongs · 0 missed", view.counts)
    assert view.bars.value.count("background:#2f855a") >= 2  # one green bar per pong
    box.drop_all()
    await client.wait_for_state("reconnecting", timeout=WAIT)
    assert "client reconnecting" in view.status
    assert "1 missed" in view.counts and "1 closed for a missing pong" in view.counts
    assert "✗" in view.bars.value
    await client.wait_for_state("open", timeout=WAIT)
    view.preset_picker.value = "default"  # what choosing in the drop-down does
    assert hb.preset is PRESETS["default"] and hb.interval == 30
    hb.use("aws-alb")
    assert view.preset_picker.value == "aws-alb"  # the view follows the client
    view.close()
    assert len(hb.changed) == 0 and len(client.changed) == 0


async def test_view_of_a_plain_websocket(server: wslab.RunningServer, tidy: list[Any]) -> None:
    ws = WebSocket(server.url, name="plain")
    tidy.append(ws)
    hb = HeartbeatClient(ws, interval=10, timeout=2)
    tidy.append(hb)
    view = HeartbeatView(hb, max_beats=2)
    assert view.preset_picker.value == "custom"
    assert "no ping yet" in view.bars.value
    await ws.wait_for("open")
    await async_wait_until(lambda: hb.machine.pongs_received >= 3, timeout=WAIT)
    assert view.bars.value.count("background:#2f855a") == 2  # only the newest two
    assert "client open" in view.status
    ws.close()
    await ws.closed()
    assert "client closed" in view.status and "stopped" in view.status
    view.close()
