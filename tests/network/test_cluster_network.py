"""Lesson 11's cluster: server processes behind the balancer, with and without Redis.

Redis is the real one when ``REDIS_URL`` is set (CI), else the embedded
fakeredis server: every test here passes with either. The server's own
contract (bad input, rooms) is first checked in-thread, where it is fast;
the cross-process tests then check what only processes can show.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil
import pytest
from helpers import TOO_BIG, recv_json, send_json, sync_connect, wait_until, wslab_threads
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

import wslab
from wslab.core.cluster import MODE_ENV
from wslab.core.messages import POLICY_VIOLATION
from wslab.network.cluster import (
    Cluster,
    ClusterStartError,
    ServerProcess,
    running_clusters,
    start_cluster,
    stop_cluster,
)
from wslab.network.memory import measure_memory
from wslab.network.redisbox import REDIS_URL_ENV, RedisBox, running_redis, start_redis
from wslab.servers import SERVERS
from wslab.servers.cluster import DEFAULT_REDIS_URL, ClusterServer
from wslab.widgets import ClusterView


@pytest.fixture(autouse=True)
def _stop_clusters_and_redis() -> Iterator[None]:
    yield
    for cluster in list(running_clusters().values()):
        cluster.stop()
    for box in list(running_redis().values()):
        box.stop()
    assert running_clusters() == {} and running_redis() == {}
    # No server process outlives its test.
    assert [p for p in psutil.Process().children(recursive=True) if _alive(p)] == []


def _alive(process: psutil.Process) -> bool:
    try:
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def redis() -> RedisBox:
    return start_redis()  # $REDIS_URL if set, else the embedded server


def chat(ws: ClientConnection, text: str) -> None:
    send_json(ws, {"type": "chat", "text": text})


def until(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """Read messages until one of type ``kind``; return it."""
    while True:
        message = recv_json(ws)
        if message["type"] == kind:
            return dict(message)


# --- the server, in-thread ---------------------------------------------------------------


def test_the_server_is_registered() -> None:
    assert SERVERS["cluster"] is ClusterServer
    assert ClusterServer.lessons == (11,)


def test_options_from_arguments_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REDIS_URL_ENV, raising=False)
    monkeypatch.delenv(MODE_ENV, raising=False)
    plain = ClusterServer()
    assert plain.mode == "local"
    assert plain.redis_url == DEFAULT_REDIS_URL
    assert plain.keys.channel == "messages"  # the study notes' channel
    assert plain.node.startswith("pid")
    monkeypatch.setenv(REDIS_URL_ENV, "redis://example:1/0")
    from_env = ClusterServer()
    assert from_env.mode == "redis" and from_env.redis_url == "redis://example:1/0"
    given = ClusterServer(mode="local", prefix="p:", node="Z")
    assert (given.mode, given.keys.channel, given.node) == ("local", "p:messages", "Z")
    with pytest.raises(ValueError, match="unknown mode"):
        ClusterServer(mode="sticky")


def test_local_mode_forwards_to_every_own_client_sender_included() -> None:
    server = wslab.serve("cluster", mode="local", node="A")
    with (
        sync_connect(server.url + "?client=alice") as alice,
        sync_connect(server.url + "?client=bob") as bob,
    ):
        welcome = recv_json(alice)
        assert welcome == {
            "type": "welcome",
            "client": "alice",
            "server": "A",
            "mode": "local",
            "rooms": [],
        }
        recv_json(bob)
        chat(alice, "hi")
        expected = {"type": "chat", "from": "alice", "text": "hi", "server": "A"}
        assert recv_json(alice) == expected
        assert recv_json(bob) == expected


def test_a_client_without_an_id_is_a_guest() -> None:
    server = wslab.serve("cluster", mode="local")
    with sync_connect(server.url) as ws:
        welcome = recv_json(ws)
        assert welcome["client"].startswith("guest-")
        chat(ws, "hello")
        assert recv_json(ws)["from"] == welcome["client"]


@pytest.mark.parametrize("mode", ["local", "redis"])
def test_rooms(mode: str, redis: RedisBox) -> None:
    server = wslab.serve("cluster", mode=mode, redis_url=redis.url, prefix=redis.namespace())
    with (
        sync_connect(server.url + "?client=alice") as alice,
        sync_connect(server.url + "?client=bob") as bob,
    ):
        recv_json(alice), recv_json(bob)
        send_json(alice, {"type": "join", "room": "general"})
        assert recv_json(alice) == {"type": "joined", "room": "general", "rooms": ["general"]}
        send_json(alice, {"type": "join", "room": "dev"})
        assert recv_json(alice)["rooms"] == ["dev", "general"]
        send_json(alice, {"type": "message", "room": "general", "text": "only members"})
        assert recv_json(alice) == {
            "type": "message",
            "room": "general",
            "from": "alice",
            "text": "only members",
            "server": server.app.node,  # type: ignore[attr-defined]
        }
        # Bob is not in the room: the next thing he reads is his own rooms answer.
        send_json(bob, {"type": "rooms"})
        assert recv_json(bob) == {"type": "rooms", "rooms": []}
        send_json(alice, {"type": "leave", "room": "dev"})
        assert recv_json(alice) == {"type": "left", "room": "dev", "rooms": ["general"]}
        send_json(alice, {"type": "rooms"})
        assert recv_json(alice)["rooms"] == ["general"]


def test_room_state_lives_in_redis_not_in_the_process(redis: RedisBox) -> None:
    prefix = redis.namespace()
    server = wslab.serve("cluster", mode="redis", redis_url=redis.url, prefix=prefix, node="A")
    with sync_connect(server.url + "?client=alice") as alice:
        recv_json(alice)
        send_json(alice, {"type": "join", "room": "general"})
        recv_json(alice)
        wait_until(lambda: redis.client().hget(f"{prefix}presence", "alice") == "A")
    assert server.app.memory_rooms.snapshot() == {}  # type: ignore[attr-defined]
    client = redis.client()
    assert client.smembers(f"{prefix}room:general:members") == {"alice"}
    assert client.smembers(f"{prefix}client:alice:rooms") == {"general"}
    assert 0 < client.ttl(f"{prefix}room:general:members") <= 24 * 3600
    wait_until(lambda: client.hget(f"{prefix}presence", "alice") is None)  # gone on close
    redis.delete_keys(prefix)


BAD_INPUT = [
    ("not json", "invalid-json"),
    (json.dumps({"type": "dance"}), "unknown-type"),
    (json.dumps(["chat"]), "invalid-shape"),
    (json.dumps({"type": "chat"}), "invalid-field"),
    (json.dumps({"type": "chat", "text": "x" * 2001}), "invalid-field"),
    (json.dumps({"type": "join", "room": "a:b"}), "invalid-room"),
    (json.dumps({"type": "join", "room": "*"}), "invalid-room"),
    (json.dumps({"type": "join"}), "invalid-room"),
    (json.dumps({"type": "message", "room": "secret", "text": "hi"}), "not-in-room"),
    (json.dumps({"type": "leave", "room": ""}), "invalid-room"),
    (b"\x00\x01", "binary-not-supported"),
]


@pytest.mark.parametrize("mode", ["local", "redis"])
def test_bad_input_gets_an_error_and_the_connection_stays_open(mode: str, redis: RedisBox) -> None:
    server = wslab.serve("cluster", mode=mode, redis_url=redis.url, prefix=redis.namespace())
    with (
        sync_connect(server.url + "?client=mallory") as mallory,
        sync_connect(server.url + "?client=bob") as bob,
    ):
        recv_json(mallory), recv_json(bob)
        for message, code in BAD_INPUT:
            mallory.send(message)
            reply = recv_json(mallory)
            assert (reply["type"], reply["error"]) == ("error", code), message
        chat(mallory, "still here")
        assert recv_json(mallory)["text"] == "still here"
        # Bob saw none of Mallory's errors: his first message is her good one.
        assert recv_json(bob)["text"] == "still here"
    assert len(server.log.entries("refused")) == len(BAD_INPUT)


def test_junk_on_the_channel_is_dropped(redis: RedisBox) -> None:
    prefix = redis.namespace()
    server = wslab.serve("cluster", mode="redis", redis_url=redis.url, prefix=prefix)
    redis.wait_for_subscribers(f"{prefix}messages", 1)
    with sync_connect(server.url + "?client=alice") as alice:
        recv_json(alice)
        for junk in ("not json", "[1, 2]", '{"room": 42}'):
            redis.client().publish(f"{prefix}messages", junk)
        chat(alice, "after the junk")
        message = recv_json(alice)
        # '{"room": 42}' is an object without a room name: forwarded as it is.
        assert message == {"room": 42}
        assert recv_json(alice)["text"] == "after the junk"
    assert len(server.log.entries("error")) == 2


def test_too_many_rooms(redis: RedisBox) -> None:
    server = wslab.serve("cluster", mode="redis", redis_url=redis.url, prefix=redis.namespace())
    with sync_connect(server.url + "?client=greedy") as ws:
        recv_json(ws)
        for i in range(20):
            send_json(ws, {"type": "join", "room": f"r{i}"})
            assert recv_json(ws)["type"] == "joined"
        send_json(ws, {"type": "join", "room": "one-more"})
        assert recv_json(ws)["error"] == "too-many-rooms"
        send_json(ws, {"type": "join", "room": "r0"})  # already in: fine
        assert recv_json(ws)["type"] == "joined"


@pytest.mark.parametrize("client", ["a:b", "x" * 33, "%20", "", "-x", "a&client=b"])
def test_an_invalid_client_id_is_refused_with_1008(client: str) -> None:
    server = wslab.serve("cluster", mode="local")
    with sync_connect(server.url + f"?client={client}") as ws:
        reply = recv_json(ws)
        assert (reply["type"], reply["error"]) == ("error", "invalid-client")
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert ws.close_code == POLICY_VIOLATION
    assert ws.close_reason == "invalid client id"


def test_too_big_closes_1009_and_others_carry_on() -> None:
    server = wslab.serve("cluster", mode="local")
    with (
        sync_connect(server.url + "?client=big") as big,
        sync_connect(server.url + "?client=bob") as bob,
    ):
        recv_json(big), recv_json(bob)
        try:
            big.send("x" * TOO_BIG)
            big.recv(timeout=5)
        except ConnectionClosed:
            pass
        assert big.close_code == 1009
        chat(bob, "fine")
        assert recv_json(bob)["text"] == "fine"


def test_redis_unreachable_from_the_start_still_serves_local_clients() -> None:
    from helpers import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    server = wslab.serve("cluster", mode="redis", redis_url=url, prefix="t:")
    wait_until(lambda: server.log.entries("redis-down"))
    assert "still serving this server's own clients" in server.log.entries("redis-down")[0].text
    with sync_connect(server.url + "?client=alice") as alice:
        assert recv_json(alice)["rooms"] == []
        chat(alice, "anyone?")
        assert recv_json(alice)["text"] == "anyone?"  # delivered locally
        send_json(alice, {"type": "join", "room": "general"})
        assert recv_json(alice)["error"] == "redis-unavailable"


# --- processes -------------------------------------------------------------------------------


def test_processes_start_and_stop_leaving_nothing_behind() -> None:
    cluster = start_cluster(2, mode="local")
    pids = [s.pid for s in cluster.servers]
    me = psutil.Process()
    assert {p.pid for p in me.children(recursive=True)} >= set(pids)
    assert len(set(pids)) == 2 and me.pid not in pids
    assert [s.label for s in cluster.servers] == ["A", "B"]
    assert all(s.url.startswith("ws://127.0.0.1:") and s.running for s in cluster.servers)
    assert cluster.servers[0].rss() > 0
    assert running_clusters() == {"cluster": cluster}
    assert "cluster" in repr(cluster) and "balancer" in cluster._repr_html_()
    cluster.stop()
    cluster.stop()  # idempotent
    assert [s.process.returncode for s in cluster.servers] == [0, 0]  # a clean stop
    assert all(not psutil.pid_exists(pid) for pid in pids)
    assert all(s.rss() == 0 for s in cluster.servers)
    assert [t for t in wslab_threads() if t.startswith("wslab-cluster")] == []
    assert cluster.logs("stopped") == {"A": ["cluster stopped"], "B": ["cluster stopped"]}


def test_starting_again_replaces_the_cluster(redis: RedisBox) -> None:
    first = start_cluster(1, mode="local")
    second = start_cluster(1, mode="redis", redis=redis)
    assert not first.running and not first.servers[0].running
    assert running_clusters() == {"cluster": second}
    assert stop_cluster() is True and stop_cluster() is False


def test_bad_arguments(redis: RedisBox) -> None:
    with pytest.raises(ValueError):
        start_cluster(0)
    with pytest.raises(ValueError):
        start_cluster(9)
    with pytest.raises(ValueError):
        start_cluster(2, mode="sticky")
    with pytest.raises(ValueError, match="needs a running Redis"):
        start_cluster(2, mode="redis")


def test_a_process_that_cannot_start_is_reported() -> None:
    process = ServerProcess(
        "A", [sys.executable, "-c", "print('boom'); raise SystemExit(3)"], {}, "broken"
    )
    with pytest.raises(ClusterStartError, match="boom"):
        process.wait_listening(10)
    assert process.stop() == 3


def test_servers_stop_when_the_kernel_dies() -> None:
    # A "kernel" that starts a cluster and is then killed: no atexit, no stop().
    code = (
        "from wslab.network.cluster import start_cluster\n"
        "cluster = start_cluster(2, mode='local')\n"
        "print(*(s.pid for s in cluster.servers), flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    kernel = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert kernel.stdout is not None
        pids = [int(pid) for pid in kernel.stdout.readline().split()]
        assert len(pids) == 2 and all(psutil.pid_exists(pid) for pid in pids)
    finally:
        kernel.kill()
        kernel.wait()
        if kernel.stdout is not None:
            kernel.stdout.close()

    def gone(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_until(lambda: all(gone(pid) for pid in pids), timeout=15)


@contextmanager
def alice_and_bob(cluster: Cluster) -> Iterator[tuple[ClientConnection, ClientConnection]]:
    """Alice, then Bob, through the balancer: she lands on A, he on B."""
    with sync_connect(cluster.client_url("alice")) as alice:
        assert recv_json(alice)["server"] == "A"
        with sync_connect(cluster.client_url("bob")) as bob:
            assert recv_json(bob)["server"] == "B"
            yield alice, bob


def test_local_mode_alice_and_bob_cannot_see_each_other() -> None:
    cluster = start_cluster(2, mode="local")
    with alice_and_bob(cluster) as (alice, bob):
        assert cluster.where() == {"alice": "A", "bob": "B"}  # the balancer's record
        chat(alice, "hello Bob?")
        assert recv_json(alice)["text"] == "hello Bob?"  # her own server echoes it
        chat(bob, "hello Alice?")
        # Bob's first message is his own: Alice's never reached server B.
        assert recv_json(bob) == {
            "type": "chat",
            "from": "bob",
            "text": "hello Alice?",
            "server": "B",
        }
    assert not [e for e in cluster.servers[1].log.entries("message") if "hello Bob" in e.text]


def test_redis_mode_alice_and_bob_see_each_other(redis: RedisBox) -> None:
    cluster = start_cluster(2, mode="redis", redis=redis)
    assert redis.subscribers(cluster.channel) == 3  # two servers and the tap
    assert cluster.channel.endswith("messages")
    with alice_and_bob(cluster) as (alice, bob):
        chat(alice, "hello Bob!")
        expected = {"type": "chat", "from": "alice", "text": "hello Bob!", "server": "A"}
        assert recv_json(bob) == expected
        assert recv_json(alice) == expected
        wait_until(lambda: cluster.tap is not None and cluster.tap.messages())
        assert cluster.tap is not None
        assert [json.loads(m) for m in cluster.tap.messages()] == [expected]
        wait_until(lambda: cluster.tap is not None and len(cluster.tap.state.presence) == 2)
        assert cluster.tap.state.presence == {"alice": "A", "bob": "B"}
    prefix = cluster.keys.prefix
    wait_until(lambda: redis.keys(prefix) == [])  # presence removed on close
    cluster.stop()
    assert redis.keys(prefix) == []


def test_rooms_survive_a_reconnect_to_the_other_server(redis: RedisBox) -> None:
    cluster = start_cluster(2, mode="redis", redis=redis)
    with sync_connect(cluster.client_url("alice")) as alice:
        assert recv_json(alice)["server"] == "A"
        with sync_connect(cluster.client_url("bob")) as bob:
            assert recv_json(bob)["server"] == "B"
            send_json(bob, {"type": "join", "room": "general"})
            assert recv_json(bob)["rooms"] == ["general"]
        # Bob reconnects: the third connection goes to A, not B.
        assert cluster.balancer.next_backend == 0
        with sync_connect(cluster.client_url("bob")) as bob_again:
            welcome = recv_json(bob_again)
            assert welcome["server"] == "A"
            assert welcome["rooms"] == ["general"]  # kept in Redis
            send_json(alice, {"type": "join", "room": "general"})
            recv_json(alice)
            send_json(alice, {"type": "message", "room": "general", "text": "hi Bob"})
            assert until(bob_again, "message")["text"] == "hi Bob"
    assert [cluster.server_of(r) for r in cluster.balancer.routes()] == ["A", "B", "A"]


def test_local_mode_rooms_are_lost_on_the_other_server() -> None:
    cluster = start_cluster(2, mode="local")
    with sync_connect(cluster.client_url("alice")) as alice:
        assert recv_json(alice)["server"] == "A"
        with sync_connect(cluster.client_url("bob")) as bob:
            assert recv_json(bob)["server"] == "B"
            send_json(bob, {"type": "join", "room": "general"})
            assert recv_json(bob)["rooms"] == ["general"]
        with sync_connect(cluster.client_url("bob")) as bob_again:
            welcome = recv_json(bob_again)
            assert (welcome["server"], welcome["rooms"]) == ("A", [])  # B had them in memory


def test_redis_going_away_and_coming_back(redis: RedisBox, fast: float) -> None:
    cluster = start_cluster(2, mode="redis", redis=redis)  # retrying Redis every 20 ms
    with alice_and_bob(cluster) as (alice, bob):
        assert all(s.redis_up for s in cluster.servers)
        cluster.cut_redis()
        wait_until(lambda: all(s.redis_up is False for s in cluster.servers), timeout=10)
        assert all("Redis unreachable" in x[0] for x in cluster.logs("redis-down").values())
        chat(alice, "Redis is down")
        # (Each first gets a notice that Redis is gone: tests/reliability checks those.)
        assert until(alice, "chat")["text"] == "Redis is down"  # her own server still serves her
        send_json(bob, {"type": "join", "room": "general"})
        assert until(bob, "error")["error"] == "redis-unavailable"  # Bob never got Alice's message
        cluster.restore_redis()
        wait_until(lambda: all(s.redis_up for s in cluster.servers), timeout=10)
        assert all("Redis is back" in x[-1] for x in cluster.logs("redis").values())
        chat(alice, "Redis is back")
        assert until(bob, "chat")["text"] == "Redis is back"
    with pytest.raises(RuntimeError):
        start_cluster(1, mode="local").cut_redis()


async def test_measure_memory() -> None:
    cluster = start_cluster(1, mode="local")
    profile = await measure_memory(cluster.servers[0], connections=300, steps=3)
    assert profile.server == "A"
    assert profile.counts == (0, 100, 200, 300)
    assert all(rss > 0 for rss in profile.rss)
    assert profile.baseline == profile.rss[0]
    assert profile.bytes_per_connection > 0  # every connection costs something
    assert profile.kib_per_connection == profile.bytes_per_connection / 1024
    assert profile.fit() > 0
    line = [profile.predicted(n) for n in profile.counts]
    assert line[1] - line[0] == pytest.approx(100 * profile.bytes_per_connection)
    assert sum(line) == pytest.approx(sum(profile.rss))  # a least-squares line
    if profile.fds:  # one file descriptor per connection
        assert [n - profile.fds[0] for n in profile.fds] == [0, 100, 200, 300]
    # All closed again: the server saw 300 connects and 300 closes.
    wait_until(lambda: len(cluster.servers[0].log.entries("close")) == 300)
    with pytest.raises(ValueError):
        await measure_memory(cluster.servers[0], connections=2, steps=3)


async def test_measure_memory_on_a_fresh_process() -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    profile = await measure_memory(connections=100, steps=2)
    assert profile.server == "M"
    assert profile.counts == (0, 50, 100)
    assert profile.rss[-1] > profile.rss[0]
    # The fresh process is gone again.
    assert {p.pid for p in psutil.Process().children(recursive=True) if _alive(p)} <= before
    assert [t for t in wslab_threads() if t.startswith("wslab-memory")] == []


def test_the_widget_shows_the_cluster(redis: RedisBox) -> None:
    cluster = start_cluster(2, mode="redis", redis=redis)
    view = ClusterView(cluster)
    assert "server A" in view.diagram.value and "server B" in view.diagram.value
    assert "nobody" in view.diagram.value
    with alice_and_bob(cluster) as (alice, bob):
        send_json(bob, {"type": "join", "room": "general"})
        recv_json(bob)
        chat(alice, "<b>hi</b>")
        recv_json(bob)
        wait_until(lambda: cluster.tap is not None and cluster.tap.state.rooms)
        wait_until(lambda: cluster.tap is not None and cluster.tap.messages())
        view.refresh()
        assert "clients (1): alice" in view.diagram.value
        assert "clients (1): bob" in view.diagram.value
        assert "<span style='color:#2f855a'>connected</span>" in view.diagram.value
        assert "general</code>: bob" in view.stored.value
        assert view.messages is not None and view.messages.rows == 1
        assert "&lt;b&gt;hi" in view.messages.value  # escaped
        cluster.cut_redis()
        view.refresh()
        assert "<span style='color:#c53030'>cut</span>" in view.diagram.value
    view.close()
    assert len(cluster.balancer.changed) == 0


def test_the_memory_chart() -> None:
    from wslab.network.memory import MemoryProfile
    from wslab.widgets import MemoryChart

    mib = 1 << 20
    profile = MemoryProfile("A", (0, 100, 200), (30 * mib, 31 * mib, 32 * mib), (10, 110, 210))
    chart = MemoryChart(profile)
    assert chart.value.startswith("<svg") and chart.value.endswith("</svg>")
    assert chart.value.count("<circle") == 3
    assert "fitted: 10.2 KiB per connection" in chart.value
    assert ">200</text>" in chart.value  # the last count on the x axis
    flat = MemoryChart(MemoryProfile("B", (0, 10), (mib, mib)))  # nothing grew: still drawn
    assert flat.value.count("<circle") == 2
    chart.close()
    flat.close()
