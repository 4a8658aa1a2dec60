"""wslab.network.balancer: round-robin over real backends, bytes piped both ways, pause and stop."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from helpers import free_port, sync_connect, wait_until, wslab_threads
from websockets.exceptions import ConnectionClosed, WebSocketException

import wslab
from wslab.network.balancer import Balancer, Route


@pytest.fixture
def echoes() -> list[wslab.RunningServer]:
    """Three echo servers, the balancer's backends."""
    return [wslab.serve("echo", name=f"echo-{i}") for i in range(3)]


@pytest.fixture
def balancer(echoes: list[wslab.RunningServer]) -> Iterator[Balancer]:
    with Balancer([s.url for s in echoes], name="test-balancer") as lb:
        yield lb


def connections(server: wslab.RunningServer) -> int:
    return len(server.log.entries("connect"))


def test_round_robin_over_three_backends(
    echoes: list[wslab.RunningServer], balancer: Balancer
) -> None:
    assert balancer.next_backend == 0
    for i in range(5):
        with sync_connect(balancer.url(f"/?client=c{i}")) as ws:
            ws.send(f"hello {i}")
            assert ws.recv(timeout=5) == f"hello {i}"  # piped there and back
    assert [r.backend for r in balancer.routes()] == [0, 1, 2, 0, 1]
    assert [connections(s) for s in echoes] == [2, 2, 1]
    assert balancer.next_backend == 2


def test_routes_record_who_went_where(balancer: Balancer) -> None:
    with sync_connect(balancer.url("/?client=alice")) as ws:
        ws.send("hi")
        ws.recv(timeout=5)
        wait_until(lambda: balancer.routes()[0].bytes_down > 0)
        route = balancer.routes()[0]
        assert route.open
        assert route.id == 1
        assert route.backend == 0
        assert route.client[0] == "127.0.0.1"
        assert route.client[1] == ws.local_address[1]
        assert route.request_line == "GET /?client=alice HTTP/1.1"
        assert route.path == "/?client=alice"
        assert route.client_id == "alice"
        assert balancer.counts() == [1, 0, 0]
    wait_until(lambda: not balancer.routes()[0].open)
    route = balancer.routes()[0]
    assert route.closed is not None and route.closed >= route.opened
    # The upgrade request and a masked frame went up; the 101 response and the echo came down.
    assert route.bytes_up > len("GET /?client=alice HTTP/1.1")
    assert route.bytes_down > len("HTTP/1.1 101 Switching Protocols")
    assert balancer.open_routes() == []
    assert balancer.counts() == [0, 0, 0]


def test_route_without_a_request() -> None:
    route = Route(1, ("127.0.0.1", 1), 0)
    assert route.path == "" and route.client_id == ""
    assert Route(1, ("127.0.0.1", 1), 0, request_line="GET / HTTP/1.1").client_id == ""


def test_a_large_message_is_piped_intact(balancer: Balancer) -> None:
    payload = bytes(range(256)) * 4000  # about 1 MB, in many chunks
    with sync_connect(balancer.url()) as ws:
        ws.send(payload)
        assert ws.recv(timeout=10) == payload


def test_changed_observers_see_every_route(balancer: Balancer) -> None:
    seen: list[Route] = []
    balancer.changed.subscribe(seen.append)
    with sync_connect(balancer.url()) as ws:
        ws.send("x")
        ws.recv(timeout=5)
    wait_until(lambda: seen and seen[-1].closed is not None)
    assert {r.id for r in seen} == {1}
    assert seen[0].open and not seen[-1].open


def test_a_dead_backend_is_skipped(echoes: list[wslab.RunningServer]) -> None:
    with Balancer([("127.0.0.1", free_port()), echoes[0].url]) as lb:
        for _ in range(2):
            with sync_connect(lb.url()) as ws:
                ws.send("still served")
                assert ws.recv(timeout=5) == "still served"
        assert [r.backend for r in lb.routes()] == [1, 1]
        assert any("backend 0" in e.text for e in lb.log.entries("error"))


def test_no_backend_answers() -> None:
    with Balancer([("127.0.0.1", free_port())]) as lb:
        with pytest.raises((WebSocketException, OSError)):
            sync_connect(lb.url(), open_timeout=5)
        wait_until(lambda: lb.routes() and not lb.routes()[0].open)
        assert lb.routes()[0].backend == -1
        assert "no backend answered" in lb.log.entries("error")[-1].text


def test_pause_drops_connections_and_refuses_new_ones(
    echoes: list[wslab.RunningServer], balancer: Balancer
) -> None:
    with sync_connect(balancer.url()) as ws:
        ws.send("before")
        assert ws.recv(timeout=5) == "before"
        balancer.pause()
        assert balancer.paused
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
        assert info.value.rcvd is None  # dropped, no closing handshake: a 1006 for the client
    with pytest.raises((WebSocketException, OSError)):
        sync_connect(balancer.url(), open_timeout=5)
    wait_until(lambda: "refused" in balancer.log.kinds())
    balancer.resume()
    assert not balancer.paused
    with sync_connect(balancer.url()) as again:
        again.send("after")
        assert again.recv(timeout=5) == "after"


def test_drop_closes_open_connections_but_keeps_accepting(balancer: Balancer) -> None:
    with sync_connect(balancer.url()) as ws:
        balancer.drop()
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    with sync_connect(balancer.url()) as again:
        again.send("x")
        assert again.recv(timeout=5) == "x"


def test_stop_closes_everything_and_is_idempotent(echoes: list[wslab.RunningServer]) -> None:
    lb = Balancer([s.url for s in echoes], name="stopping").start()
    assert lb.running
    assert lb.thread.name == "wslab-stopping"
    port = lb.port
    with sync_connect(lb.url()) as ws:
        lb.stop()
        lb.stop()
        assert not lb.running
        assert "wslab-stopping" not in wslab_threads()
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    with socket.socket() as sock, pytest.raises(OSError):
        sock.connect(("127.0.0.1", port))
    assert lb.log.kinds()[0] == "listening" and lb.log.kinds()[-1] == "stopped"
    assert "stopped" in repr(lb)


def test_concurrent_clients(echoes: list[wslab.RunningServer], balancer: Balancer) -> None:
    errors: list[BaseException] = []

    def talk(i: int) -> None:
        try:
            with sync_connect(balancer.url(f"/?client=t{i}")) as ws:
                for n in range(5):
                    ws.send(f"{i}-{n}")
                    assert ws.recv(timeout=5) == f"{i}-{n}"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=talk, args=(i,)) for i in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.backend for r in balancer.routes()) == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_url_and_bad_arguments() -> None:
    lb = Balancer([("127.0.0.1", 1)])
    lb.port = 1234
    assert lb.url() == "ws://127.0.0.1:1234/"
    assert lb.url("x?client=a") == "ws://127.0.0.1:1234/x?client=a"
    assert lb.backends == [("127.0.0.1", 1)]
    assert Balancer(["ws://127.0.0.1:99/"]).backends == [("127.0.0.1", 99)]
    with pytest.raises(ValueError):
        Balancer([])
    with pytest.raises(ValueError):
        Balancer(["ws://127.0.0.1/"])  # no port
