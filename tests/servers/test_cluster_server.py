"""Lesson 11's cluster server: numbered chat, published once per (client, id) (issue 7).

The protocol in wslab/servers/cluster.py's docstring, checked step by step,
in ``"redis"`` mode (with ``$REDIS_URL`` or the embedded fakeredis) and in
``"local"`` mode; the crash test is tests/reliability/test_cluster_crashes.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from helpers import free_port, recv_json, send_json, sync_connect
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import ClientConnection

import wslab
from wslab.network.redisbox import RedisBox, start_redis
from wslab.servers.cluster import ClusterServer


@pytest.fixture
def redis() -> Iterator[RedisBox]:
    box = start_redis()  # $REDIS_URL if set, else the embedded server
    yield box
    box.stop()


def cluster(redis: RedisBox) -> tuple[wslab.RunningServer, wslab.RunningServer]:
    prefix = redis.namespace()
    a, b = (
        wslab.serve(
            "cluster",
            name=f"cluster-{node}",
            mode="redis",
            redis_url=redis.url,
            prefix=prefix,
            node=node,
        )
        for node in "AB"
    )
    return a, b


def chat(ws: ClientConnection, text: str, message_id: int | None = None) -> None:
    send_json(
        ws, {"type": "chat", "text": text, **({} if message_id is None else {"id": message_id})}
    )


def until(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        message = recv_json(ws)
        if message["type"] == kind:
            return dict(message)


def test_numbered_chat_is_acked_published_once_and_remembered_across_servers(
    redis: RedisBox,
) -> None:
    a, b = cluster(redis)
    with (
        sync_connect(a.url + "?client=alice") as alice,
        sync_connect(b.url + "?client=bob") as bob,
    ):
        assert "last_id" not in recv_json(alice)  # never numbered anything: as before
        recv_json(bob)
        chat(alice, "one", 1)
        assert until(alice, "ack") == {"type": "ack", "id": 1}
        chat(alice, "two", 2)
        assert until(alice, "ack") == {"type": "ack", "id": 2}
        first = until(bob, "chat")
        assert first == {"type": "chat", "from": "alice", "text": "one", "server": "A", "id": 1}
        assert until(bob, "chat")["id"] == 2
        # A resend: acknowledged as a duplicate, not published again.
        chat(alice, "two", 2)
        assert until(alice, "ack") == {"type": "ack", "id": 2, "duplicate": True}
        chat(alice, "after")  # without an id: as before, no ack
        assert until(bob, "chat") == {
            "type": "chat",
            "from": "alice",
            "text": "after",
            "server": "A",
        }
    # Alice comes back through the other server: the cluster knows her last id.
    with sync_connect(b.url + "?client=alice") as alice:
        welcome = until(alice, "welcome")
        assert (welcome["server"], welcome["last_id"]) == ("B", 2)
        chat(alice, "one", 1)  # an old one, on another server: still a repeat
        assert until(alice, "ack") == {"type": "ack", "id": 1, "duplicate": True}
        chat(alice, "five", 5)  # a gap is accepted: the ids missing are lost, and it shows
        assert until(alice, "ack") == {"type": "ack", "id": 5}
        chat(alice, "four", 4)
        assert until(alice, "ack")["duplicate"] is True
        send_json(alice, {"type": "history"})
        history = until(alice, "history")["messages"]
        assert [(m["id"], m["text"], m["server"]) for m in history] == [
            (1, "one", "A"),
            (2, "two", "A"),
            (5, "five", "B"),
        ]
    assert [s.app.duplicates for s in (a, b)] == [1, 2]  # type: ignore[attr-defined]


def test_bad_ids_are_errors_and_the_connection_stays_open(redis: RedisBox) -> None:
    a, _ = cluster(redis)
    with sync_connect(a.url + "?client=alice") as alice:
        recv_json(alice)
        for bad in (0, -1, "3", 1.5, True, None, 1 << 53):
            send_json(alice, {"type": "chat", "text": "x", "id": bad})
            assert until(alice, "error")["error"] == "invalid-field"
        chat(alice, "fine", 1)
        assert until(alice, "ack") == {"type": "ack", "id": 1}


def test_local_mode_keeps_ids_in_memory_and_loses_them_with_the_process() -> None:
    server = wslab.serve("cluster", mode="local", node="A")
    with sync_connect(server.url + "?client=alice") as alice:
        recv_json(alice)
        chat(alice, "one", 1)
        assert until(alice, "ack") == {"type": "ack", "id": 1}
        chat(alice, "one", 1)
        assert until(alice, "ack")["duplicate"] is True
    with sync_connect(server.url + "?client=alice") as alice:
        assert recv_json(alice)["last_id"] == 1  # same process: remembered
        send_json(alice, {"type": "history"})
        assert [m["text"] for m in until(alice, "history")["messages"]] == ["one"]
    server = wslab.serve("cluster", mode="local", node="A")  # a new process, as it were
    with sync_connect(server.url + "?client=alice") as alice:
        assert "last_id" not in recv_json(alice)
        chat(alice, "one", 1)
        assert until(alice, "ack") == {"type": "ack", "id": 1}  # taken as new: published twice


def test_numbered_chat_without_redis_is_an_error_not_an_ack() -> None:
    # Nothing listens there: every Redis call fails at once.
    server = wslab.serve("cluster", mode="redis", redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with sync_connect(server.url + "?client=alice") as alice:
        recv_json(alice)
        chat(alice, "kept by the client", 1)
        assert until(alice, "error")["error"] == "redis-unavailable"


def test_crash_drops_connections_without_a_close_frame_and_restart_listens_again(
    redis: RedisBox,
) -> None:
    a, _ = cluster(redis)
    app = a.app
    assert isinstance(app, ClusterServer)
    with sync_connect(a.url + "?client=alice") as alice:
        recv_json(alice)
        chat(alice, "one", 1)
        until(alice, "ack")
        assert a.call(app.crash()) == 1
        with pytest.raises(ConnectionClosedError) as closed:
            # The chat's own relay through Redis can land just after the ack and
            # before the crash: read past it. Only the dropped connection ends
            # this loop (recv_json's timeout fails the test otherwise).
            while True:
                assert recv_json(alice)["type"] == "chat"
        assert closed.value.rcvd is None  # no close frame: 1006
    assert a.call(app.crash()) == 0  # idempotent
    with pytest.raises(OSError):
        sync_connect(a.url + "?client=alice", open_timeout=1)
    a.call(app.restart())
    with sync_connect(a.url + "?client=alice") as alice:
        # (The chat may come before the welcome: Redis delivered it late.)
        assert until(alice, "welcome")["last_id"] == 1  # kept in Redis
    assert app.crashes == 1
