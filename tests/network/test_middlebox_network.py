"""wslab.network.middlebox: a proxy that forwards, then drops idle connections silently or with RST.

Clients are websockets' synchronous client, through the box to the
``heartbeat`` server (which echoes). Idle limits are nominal seconds at the
tests' fast time scale, so 5 s is a tenth of a real second.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import sync_connect, wait_until, wslab_threads
from websockets.exceptions import ConnectionClosed, InvalidMessage
from websockets.protocol import State

import wslab
from wslab.core.timescale import real_seconds
from wslab.network.middlebox import (
    Middlebox,
    running_middleboxes,
    start_middlebox,
    stop_middlebox,
    stop_middleboxes,
)


@pytest.fixture
def server(fast: float) -> wslab.RunningServer:
    return wslab.serve("heartbeat")


@pytest.fixture
def make_box() -> Iterator[Callable[..., Middlebox]]:
    made: list[Middlebox] = []

    def factory(port: int, **options: Any) -> Middlebox:
        box = Middlebox(port, **options).start()
        made.append(box)
        return box

    yield factory
    for box in made:
        box.stop()
    stop_middleboxes()


def test_forwards_both_ways_and_counts_bytes(
    server: wslab.RunningServer, make_box: Callable[..., Middlebox]
) -> None:
    box = make_box(server.port, idle_limit=None)
    assert box.port and box.port != server.port
    assert box.url(server.url) == f"ws://127.0.0.1:{box.port}/"
    assert box.url("wss://localhost:1/chat?x=1") == f"wss://127.0.0.1:{box.port}/chat?x=1"
    assert box.thread.name == "wslab-middlebox-middlebox"
    with sync_connect(box.url(server.url)) as ws:
        for text in ("hello", "ping", "x" * 100_000):
            ws.send(text)
            assert ws.recv(timeout=5) == ("pong" if text == "ping" else text)
        [route] = box.routes()
        assert (route.number, route.state) == (1, "forwarding")
        assert route.forwarded_up > 100_000 and route.forwarded_down > 100_000
        assert route.swallowed_up == route.swallowed_down == 0
    wait_until(lambda: box.routes()[0].state == "closed")
    assert box.log.kinds() == ["listening", "connect", "closed"]
    assert "no idle limit" in repr(box)


def test_silent_drop_neither_side_notices(
    server: wslab.RunningServer, make_box: Callable[..., Middlebox]
) -> None:
    box = make_box(server.port, idle_limit=5)
    with sync_connect(box.url(server.url), close_timeout=real_seconds(1)) as ws:
        ws.send("before")
        assert ws.recv(timeout=5) == "before"
        wait_until(lambda: box.count("black-holed") == 1)
        [route] = box.routes()
        assert route.dropped_after == 5
        # The client sends into the black hole: its TCP is satisfied, no answer comes.
        ws.send("anyone there?")
        with pytest.raises(TimeoutError):
            ws.recv(timeout=real_seconds(10))
        assert ws.protocol.state is State.OPEN  # the client still says OPEN
        wait_until(lambda: box.routes()[0].swallowed_up > 0)
        # The server never heard a thing either: the connection is still its peer.
        assert len(server.app.peers) == 1
        assert server.log.entries("close") == []
        assert [e.text for e in server.log.entries("message")] == ["before", "before"]
    # The client's close frame went into the black hole too: no answer, 1006.
    assert ws.close_code == 1006
    assert box.log.kinds()[:3] == ["listening", "connect", "dropped"]
    assert "silently dropped after 5 s idle" in box.log.entries("dropped")[0].text


def test_traffic_keeps_a_route_alive(
    server: wslab.RunningServer, make_box: Callable[..., Middlebox]
) -> None:
    import time

    box = make_box(server.port, idle_limit=5)
    with sync_connect(box.url(server.url)) as ws:
        for _ in range(12):  # 12 times 1.5 s = 18 nominal seconds, never 5 s idle
            ws.send("ping")
            assert ws.recv(timeout=5) == "pong"
            time.sleep(real_seconds(1.5))
        assert box.routes()[0].state == "forwarding"
    assert box.log.entries("dropped") == []


def test_reset_mode_tells_both_sides_at_once(
    server: wslab.RunningServer, make_box: Callable[..., Middlebox]
) -> None:
    box = make_box(server.port, idle_limit=5, mode="reset")
    with sync_connect(box.url(server.url)) as ws:
        ws.send("hi")
        ws.recv(timeout=5)
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)  # no answer needed: the RST arrives
        assert info.value.rcvd is None  # no close frame: 1006
    wait_until(lambda: server.log.entries("close"))
    assert server.log.entries("close")[0].code == 1006
    assert server.app.peers == {}
    assert box.routes()[0].state == "reset"
    assert "reset (RST to both sides) after 5 s idle" in box.log.entries("reset")[0].text


def test_drop_all_on_demand(
    server: wslab.RunningServer, make_box: Callable[..., Middlebox]
) -> None:
    box = make_box(server.port, idle_limit=None)
    with sync_connect(box.url(server.url)) as a, sync_connect(box.url(server.url)) as b:
        for ws in (a, b):
            ws.send("hi")
            ws.recv(timeout=5)
        assert box.drop_all() == 2
        assert box.drop_all() == 0  # nothing forwarding any more
        assert [r.state for r in box.routes()] == ["black-holed", "black-holed"]
        assert all(r.dropped_after is None for r in box.routes())
        with sync_connect(box.url(server.url)) as c:  # new connections still work
            c.send("after")
            assert c.recv(timeout=5) == "after"
            assert box.drop_all("reset") == 1
            with pytest.raises(ConnectionClosed):
                c.recv(timeout=5)
        a.close_timeout = b.close_timeout = real_seconds(1)
    with pytest.raises(ValueError):
        box.drop_all("gently")  # type: ignore[arg-type]


def test_stop_drops_every_route_and_ends_the_thread(
    server: wslab.RunningServer, make_box: Callable[..., Middlebox]
) -> None:
    box = make_box(server.port, idle_limit=None)
    with sync_connect(box.url(server.url)) as ws:
        ws.send("hi")
        ws.recv(timeout=5)
        box.drop_all()
        box.stop()
        box.stop()  # idempotent
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert not box.running
    assert box.drop_all() == 0
    wait_until(lambda: server.app.peers == {})
    wait_until(lambda: "wslab-middlebox-middlebox" not in wslab_threads())


def test_an_unreachable_target_closes_the_client(
    make_box: Callable[..., Middlebox],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = make_box(port, idle_limit=None)
    # The box accepted the TCP connection, then closed it: no HTTP response
    # (or, if the close comes first, the request cannot even be sent).
    with (
        pytest.raises((InvalidMessage, ConnectionClosed)),
        sync_connect(f"ws://127.0.0.1:{box.port}/"),
    ):
        pass
    wait_until(lambda: box.log.entries("error"))
    assert "cannot reach" in box.log.entries("error")[0].text


def test_registry_replaces_by_name(server: wslab.RunningServer) -> None:
    first = start_middlebox(server.port, name="alb", idle_limit=60)
    second = start_middlebox(server.port, name="alb", idle_limit=60)
    assert not first.running and second.running
    assert running_middleboxes() == {"alb": second}
    assert second.thread.name == "wslab-middlebox-alb"
    assert "idle limit 60 s" in repr(second) and "silent" in repr(second)
    assert "middlebox alb" in second._repr_html_()
    assert stop_middlebox("alb") and not stop_middlebox("alb")
    assert running_middleboxes() == {}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"idle_limit": 0}, "idle limit must be a positive"),
        ({"idle_limit": -5}, "idle limit must be a positive"),
        ({"mode": "polite"}, 'mode is "silent" or "reset"'),
    ],
)
def test_bad_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Middlebox(1, **options)
