"""wslab.network.redisbox: the embedded fakeredis server, a real Redis ($REDIS_URL), and the tap.

The embedded server is tested always; the real one when ``REDIS_URL`` is set
(CI starts a redis-server and sets it).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator

import pytest
from helpers import free_port, wait_until, wslab_threads

from wslab.core.cluster import Keys
from wslab.network.redisbox import (
    REDIS_URL_ENV,
    RedisBox,
    RedisTap,
    RedisUnavailable,
    running_redis,
    start_redis,
    stop_redis,
)

REAL_REDIS = os.environ.get(REDIS_URL_ENV)


@pytest.fixture(autouse=True)
def _stop_boxes() -> Iterator[None]:
    yield
    for box in list(running_redis().values()):
        box.stop()
    assert running_redis() == {}


@pytest.fixture(params=["embedded", "real"])
def box(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> RedisBox:
    """A Redis of each kind: the embedded one, and the real one when there is one."""
    if request.param == "real":
        if not REAL_REDIS:
            pytest.skip(f"no real Redis: set {REDIS_URL_ENV} to test against one")
        return start_redis()
    monkeypatch.delenv(REDIS_URL_ENV, raising=False)
    return start_redis()


def test_start_redis_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REDIS_URL_ENV, raising=False)
    embedded = start_redis()
    assert embedded.embedded
    assert embedded.url.startswith("redis://127.0.0.1:")
    assert embedded.url != "redis://127.0.0.1:6379/0"  # port 0: any free port
    if REAL_REDIS:
        monkeypatch.setenv(REDIS_URL_ENV, REAL_REDIS)
        real = start_redis()
        assert not real.embedded and real.url == REAL_REDIS
        assert not embedded.running  # replaced: the same name
    assert "Redis" in (running_redis()["redis"]._repr_html_())


def test_a_box_stores_and_cleans_up_its_keys(box: RedisBox) -> None:
    client = box.client()
    assert client.ping()
    assert box.prefix.startswith("wslab:") and box.prefix.endswith(":")
    inner = box.namespace()
    assert inner.startswith(box.prefix) and inner != box.prefix
    client.set(f"{box.prefix}a", "1")
    client.sadd(f"{inner}room:general:members", "alice")
    client.set("not-ours-" + box.prefix, "x")  # outside the prefix: left alone
    try:
        assert box.keys() == sorted([f"{box.prefix}a", f"{inner}room:general:members"])
        assert box.keys(inner) == [f"{inner}room:general:members"]
        assert box.delete_keys(inner) == 1
        assert box.keys() == [f"{box.prefix}a"]
        with pytest.raises(ValueError):
            box.delete_keys("")
        url, prefix = box.url, box.prefix
        box.stop()
        assert not box.running
        if not box.embedded:
            other = RedisBox(url).start()
            assert other.keys(prefix) == []  # the run's keys are gone
            assert other.client().get("not-ours-" + prefix) == "x"
            other.client().delete("not-ours-" + prefix)
            other.stop()
    finally:
        box.stop()


def test_two_boxes_have_different_prefixes(box: RedisBox) -> None:
    other = RedisBox(box.url).start()
    try:
        assert other.prefix != box.prefix
        other.client().set(f"{other.prefix}x", "1")
        assert box.keys() == []
    finally:
        other.stop()


def test_embedded_server_stops_and_frees_its_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REDIS_URL_ENV, raising=False)
    box = start_redis()
    port = int(box.url.rsplit(":", 1)[1].split("/")[0])
    assert "wslab-redis" in wslab_threads()
    second = box.client()
    assert second is box.client()  # one shared client
    assert stop_redis() is True
    assert stop_redis() is False
    assert not box.running
    wait_until(lambda: not [t for t in wslab_threads() if t.startswith("wslab-redis")])
    with socket.socket() as sock, pytest.raises(OSError):
        sock.connect(("127.0.0.1", port))
    box.stop()  # idempotent


def test_re_starting_replaces_the_earlier_box(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REDIS_URL_ENV, raising=False)
    first = start_redis()
    second = start_redis()
    assert not first.running and second.running
    assert running_redis() == {"redis": second}
    third = start_redis(name="other")
    assert set(running_redis()) == {"redis", "other"}
    assert third.url != second.url


def test_an_unreachable_redis_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setenv(REDIS_URL_ENV, url)
    with pytest.raises(RedisUnavailable) as info:
        start_redis()
    assert url in str(info.value)
    assert f"unset {REDIS_URL_ENV}" in str(info.value)
    assert running_redis() == {}


def test_subscribers_and_waiting_for_them(box: RedisBox) -> None:
    channel = f"{box.prefix}messages"
    assert box.subscribers(channel) == 0
    with pytest.raises(TimeoutError):
        box.wait_for_subscribers(channel, 1, timeout=0.1)
    pubsub = box.client().pubsub()
    pubsub.subscribe(channel)
    try:
        box.wait_for_subscribers(channel, 1)
        assert box.subscribers(channel) == 1
    finally:
        pubsub.close()


def test_the_tap_records_messages_and_state(box: RedisBox) -> None:
    keys = Keys(box.namespace())
    tap = RedisTap(box.url, keys, name="test-tap").start()
    states = []
    tap.changed.subscribe(states.append)
    try:
        assert "wslab-test-tap" in wslab_threads()
        client = box.client()
        assert client.publish(keys.channel, json.dumps({"type": "chat", "server": "B"})) == 1
        client.publish(keys.channel, "not json")
        client.publish(f"{box.prefix}elsewhere", "not for the tap")
        wait_until(lambda: len(tap.messages()) == 2)
        assert tap.messages() == ['{"type": "chat", "server": "B"}', "not json"]
        assert [e.peer for e in tap.log.entries("message")] == ["B", ""]
        client.sadd(keys.room_members("general"), "alice", "bob")
        client.sadd(keys.room_members("empty"), "x")
        client.srem(keys.room_members("empty"), "x")
        client.hset(keys.presence, mapping={"alice": "A", "bob": "B"})
        wait_until(lambda: tap.state.rooms)
        assert tap.state.rooms == {"general": ["alice", "bob"]}
        assert tap.state.presence == {"alice": "A", "bob": "B"}
        assert states[-1] == tap.state
        assert tap.read_state() == tap.state
    finally:
        tap.stop()
        box.delete_keys(keys.prefix)
    assert not tap.running
    assert "wslab-test-tap" not in wslab_threads()
