"""Fixtures shared by the unit and contract tests.

Every test ends with no lesson server, bot crew or ``wslab-`` thread left
behind, and the clients made with ``make_ws`` closed: what a test starts, the
fixtures stop, and ``_nothing_left_behind`` checks it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from helpers import FAST, wait_until, wslab_threads

import wslab
from wslab.clients import bots
from wslab.clients.websocket import WebSocket, live_clients
from wslab.core.timescale import scaled_time, set_time_scale
from wslab.runtime import runner


@pytest.fixture(autouse=True)
def _nothing_left_behind() -> Iterator[None]:
    """Stop every server and bot crew after each test, and check nothing leaks."""
    yield
    bots.stop_bots()
    runner.stop_all()
    set_time_scale(None)
    assert runner.running_servers() == {}
    assert bots.running_crews() == {}
    # stop() joins each loop thread; allow a moment for any straggler.
    wait_until(lambda: not wslab_threads(), timeout=5.0)


@pytest.fixture
def fast() -> Iterator[float]:
    """Run the test at a small time scale (nominal seconds shrink 50 times)."""
    with scaled_time(FAST) as scale:
        yield scale


@pytest.fixture
def echo() -> wslab.RunningServer:
    return wslab.serve("echo")


@pytest.fixture
def slow(fast: float) -> wslab.RunningServer:
    return wslab.serve("slow")


@pytest.fixture
def chat() -> wslab.RunningServer:
    return wslab.serve("chat")


@pytest.fixture
async def make_ws() -> AsyncIterator[Callable[..., WebSocket]]:
    """Make browser-shaped clients on the test's loop; close them all afterwards."""
    made: list[WebSocket] = []

    def factory(url: str, **kwargs: Any) -> WebSocket:
        ws = WebSocket(url, **kwargs)
        made.append(ws)
        return ws

    yield factory
    for ws in made:
        if ws.ready_state != WebSocket.CLOSED:
            ws.close()
    for ws in made:
        if ws.ready_state != WebSocket.CLOSED:
            await ws.closed(timeout=5)
    # Let the clients' tasks finish their last step before the loop closes.
    await asyncio.gather(*(ws._task for ws in made), return_exceptions=True)
    assert [ws for ws in live_clients() if ws in made] == []
