"""wslab.widgets.ReadyStateBadge: a WebSocket's readyState as a live badge."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
import traitlets
from helpers import async_wait_until

import wslab
from wslab.core.events import ReadyState
from wslab.widgets import ReadyStateBadge

Make = Callable[..., wslab.WebSocket]


def test_badge_shows_a_state() -> None:
    badge = ReadyStateBadge()
    assert badge.ready_state == 0
    assert badge.states_seen == [ReadyState.CONNECTING]
    assert "0 CONNECTING" in badge.value
    assert "#b7791f" in badge.value
    badge.ready_state = 1
    assert "1 OPEN" in badge.value
    assert "#2f855a" in badge.value
    badge.ready_state = 1  # no change, no new entry
    badge.ready_state = 3
    assert badge.states_seen == [ReadyState.CONNECTING, ReadyState.OPEN, ReadyState.CLOSED]
    badge.close()


@pytest.mark.parametrize("bad", [7, -1, 4])
def test_badge_rejects_an_impossible_ready_state(bad: int) -> None:
    badge = ReadyStateBadge()
    badge.ready_state = 2
    with pytest.raises(traitlets.TraitError, match=f"readyState is 0-3, not {bad}"):
        badge.ready_state = bad
    assert badge.ready_state == 2
    assert "2 CLOSING" in badge.value
    assert badge.states_seen == [ReadyState.CONNECTING, ReadyState.CLOSING]
    badge.close()


def test_badge_label_is_escaped() -> None:
    badge = ReadyStateBadge(label="<img src=x onerror=alert(1)>")
    assert "&lt;img src=x onerror=alert(1)&gt; readyState" in badge.value
    assert "<img" not in badge.value
    badge.label = "Ada"
    assert "Ada readyState" in badge.value
    badge.close()


async def test_badge_follows_a_client(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = make_ws(echo.url)
    badge = ReadyStateBadge(ws, label="alice")
    await ws.wait_for("open")
    assert badge.ready_state == 1
    ws.close()
    assert badge.ready_state == 2
    await ws.closed()
    assert badge.ready_state == 3
    assert badge.states_seen == [
        ReadyState.CONNECTING,
        ReadyState.OPEN,
        ReadyState.CLOSING,
        ReadyState.CLOSED,
    ]
    assert "alice readyState" in badge.value
    assert "3 CLOSED" in badge.value
    badge.close()


async def test_badge_watch_replaces_the_client(echo: wslab.RunningServer, make_ws: Make) -> None:
    first = make_ws(echo.url)
    await first.wait_for("open")
    badge = ReadyStateBadge(first)
    assert badge.states_seen == [ReadyState.OPEN]
    second = make_ws(echo.url)
    badge.watch(second)
    assert badge.states_seen == [ReadyState.CONNECTING]
    first.close()
    await first.closed()
    await second.wait_for("open")
    # Only the second client's states: the first is no longer followed.
    assert badge.states_seen == [ReadyState.CONNECTING, ReadyState.OPEN]
    assert badge.ready_state == 1
    assert len(first.state_changed) == 0
    badge.close()


async def test_badge_updates_from_another_thread_on_the_loop(
    echo: wslab.RunningServer, make_ws: Make
) -> None:
    ws = await _opened(make_ws, echo.url)
    badge = ReadyStateBadge(ws)
    seen_on: list[str] = []
    badge.observe(lambda change: seen_on.append(threading.current_thread().name), "ready_state")
    # A state change notified from another thread is applied on this one.
    await asyncio.to_thread(ws.state_changed.notify, ReadyState.CLOSING)
    await async_wait_until(lambda: badge.ready_state == 2)
    assert seen_on == [threading.current_thread().name]
    badge.close()


async def _opened(make_ws: Make, url: str) -> wslab.WebSocket:
    ws = make_ws(url)
    await ws.wait_for("open")
    return ws
