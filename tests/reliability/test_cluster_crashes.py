"""Lesson 11: cluster servers crash and restart under a chatting client (issue 7).

Two ``cluster`` servers in ``"redis"`` mode share one Redis (``$REDIS_URL``,
CI's real redis-server, or the embedded fakeredis). A sender numbers its chat
messages and keeps them in an :class:`~wslab.core.outbox.Outbox` until acked; a
receiver, on the other server, counts what reaches it. Twenty crashes, at
seeded random moments, hit one server or the other: every connection
aborted without a close frame, then listening again on the same port. Each
client reconnects to its own server, or to the other one while its own is
down (what a load balancer does), and:

* the sender resends what the welcome's ``last_id`` says the cluster lacks;
  the cluster drops a resend it already has (``duplicate: true``);
* the receiver asks for the ``history`` after each welcome, for what was
  published while it was away (pub/sub keeps nothing for an absent client).

At the end the cluster published each of the sender's messages exactly once,
in order (Redis's history list is 1..N), and the receiver holds 1..N. The
receiver compares by id, as a set shown in id order: what the history gives
back after a reconnect arrives after some live messages, so arrival order
is not id order across a reconnect (on one connection it is, and that is
checked too). Nothing here asserts on how long anything took.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
from counting import Record
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

import wslab
from wslab.core.outbox import Outbox
from wslab.network.redisbox import RedisBox, start_redis
from wslab.servers.cluster import ClusterServer

CRASHES = 20
#: Messages the sender writes, one every millisecond or so, while the crashes go on.
MESSAGES = 400
RETRY = 0.002  # real seconds between connection attempts


@pytest.fixture
def box() -> Iterator[RedisBox]:
    redis = start_redis()  # $REDIS_URL if set, else the embedded fakeredis server
    yield redis
    redis.stop()


@dataclass
class Cluster:
    servers: list[wslab.RunningServer]
    prefix: str

    @property
    def apps(self) -> list[ClusterServer]:
        apps = [s.app for s in self.servers]
        assert all(isinstance(a, ClusterServer) for a in apps)
        return apps  # type: ignore[return-value]


@pytest.fixture
def cluster(box: RedisBox) -> Iterator[Cluster]:
    prefix = box.namespace()
    servers = [
        wslab.serve(
            "cluster",
            name=f"cluster-{node}",
            mode="redis",
            redis_url=box.url,
            prefix=prefix,
            node=node,
        )
        for node in "AB"
    ]
    yield Cluster(servers, prefix)
    for server in servers:
        server.stop()
    box.delete_keys(prefix)


@dataclass
class Client:
    """A client that reconnects to its own server, or to another while its own is down."""

    name: str
    urls: list[str]
    connections: int = 0
    servers: Counter[str] = field(default_factory=Counter)

    async def connect(self) -> ClientConnection:
        while True:
            for url in self.urls:
                try:
                    ws = await connect(f"{url}?client={self.name}", open_timeout=2)
                except (OSError, InvalidHandshake, TimeoutError):
                    await asyncio.sleep(RETRY)
                    continue
                self.connections += 1
                return ws


@dataclass
class Sender(Client):
    #: Decides, per welcome, whether to trust its ``last_id``, or to resend
    #: everything not acked (as a client that ignores it would): the resends
    #: of messages whose ack a crash swallowed must then be dropped by the cluster.
    trusting: random.Random = field(default_factory=random.Random)
    outbox: Outbox = field(default_factory=Outbox)
    done_writing: bool = False
    transmissions: int = 0
    duplicate_acks: int = 0

    async def run(self) -> None:
        while not (self.done_writing and not self.outbox):
            ws = await self.connect()
            try:
                await self._session(ws)
            except ConnectionClosed:
                pass
            finally:
                await ws.close()

    async def _session(self, ws: ClientConnection) -> None:
        reader: asyncio.Task[None] | None = None
        try:
            while True:  # a chat may come before the welcome
                msg = json.loads(await ws.recv())
                if msg["type"] == "welcome":
                    break
            self.servers[msg["server"]] += 1
            if self.trusting.random() < 0.5:
                self.outbox.confirm(msg.get("last_id", 0))  # the cluster has these: not again
            reader = asyncio.create_task(self._read(ws))
            transmitted = 0  # on this connection
            while not reader.done() and not (self.done_writing and not self.outbox):
                for envelope in self.outbox.pending():
                    if envelope.id > transmitted:
                        chat = {"type": "chat", "id": envelope.id, "text": envelope.text}
                        await ws.send(json.dumps(chat))
                        self.transmissions += 1
                        transmitted = envelope.id
                await asyncio.sleep(0.001)
        finally:
            if reader is not None:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            msg = json.loads(raw)
            if msg["type"] == "ack":
                self.outbox.confirm(msg["id"])
                self.duplicate_acks += bool(msg.get("duplicate"))


@dataclass
class Receiver(Client):
    sender: str = ""
    ids: dict[int, str] = field(default_factory=dict)  # id → how it came: live / history
    live_twice: int = 0  # the same id delivered live twice: published twice
    out_of_order: int = 0  # live ids not increasing on one connection
    from_history: int = 0

    async def run(self) -> None:
        while True:
            ws = await self.connect()
            try:
                await self._session(ws)
            except ConnectionClosed:
                pass
            finally:
                await ws.close()

    async def _session(self, ws: ClientConnection) -> None:
        live: set[int] = set()
        newest = 0
        async for raw in ws:
            msg = json.loads(raw)
            if msg["type"] == "welcome":
                self.servers[msg["server"]] += 1
                # Pub/sub kept nothing for us while we were away: ask.
                await ws.send(json.dumps({"type": "history"}))
            elif msg["type"] == "history":
                for chat in msg["messages"]:
                    if chat["from"] == self.sender and chat["id"] not in self.ids:
                        self.ids[chat["id"]] = "history"
                        self.from_history += 1
            elif msg["type"] == "chat" and msg["from"] == self.sender:
                message_id = msg["id"]
                self.live_twice += message_id in live
                self.out_of_order += message_id <= newest
                live.add(message_id)
                newest = max(newest, message_id)
                self.ids.setdefault(message_id, "live")


async def crash(server: wslab.RunningServer) -> int:
    app = server.app
    assert isinstance(app, ClusterServer)
    # The server's own thread does it; this loop carries on meanwhile.
    dropped: int = await asyncio.to_thread(server.call, app.crash())
    return dropped


async def restart(server: wslab.RunningServer) -> None:
    app = server.app
    assert isinstance(app, ClusterServer)
    await asyncio.to_thread(server.call, app.restart())


@pytest.fixture
async def tasks() -> AsyncIterator[list[asyncio.Task[None]]]:
    made: list[asyncio.Task[None]] = []
    yield made
    for task in made:
        task.cancel()
    await asyncio.gather(*made, return_exceptions=True)


async def test_lesson11_twenty_random_crashes_lose_and_duplicate_nothing(
    cluster: Cluster,
    box: RedisBox,
    tasks: list[asyncio.Task[None]],
    rng: random.Random,
    counts: Record,
) -> None:
    a, b = cluster.servers
    sender = Sender("alice", [a.url, b.url], trusting=random.Random(rng.random()))
    receiver = Receiver("bob", [b.url, a.url], sender="alice")
    tasks.append(asyncio.create_task(receiver.run()))
    while not receiver.servers:
        await asyncio.sleep(0.001)
    tasks.append(asyncio.create_task(sender.run()))

    pace = random.Random(rng.random())  # its own: the two run interleaved

    async def write() -> None:
        for n in range(1, MESSAGES + 1):
            sender.outbox.add(f"message {n}")
            await asyncio.sleep(0.001 if pace.random() < 0.8 else 0)

    writer = asyncio.create_task(write())
    tasks.append(writer)
    dropped = 0
    crashed: Counter[str] = Counter()
    for _ in range(CRASHES):
        await asyncio.sleep(rng.random() * 0.03)
        node = rng.choice("AB")
        server = cluster.servers["AB".index(node)]
        dropped += await crash(server)
        crashed[node] += 1
        await asyncio.sleep(rng.random() * 0.01)  # down: its clients go to the other one
        await restart(server)
    await writer
    sender.done_writing = True

    async def settled() -> None:
        while sender.outbox or len(receiver.ids) < MESSAGES:
            await asyncio.sleep(0.005)

    try:
        await asyncio.wait_for(settled(), 10)
    except TimeoutError:
        raise AssertionError(
            f"sender {sender.outbox!r}, receiver has {len(receiver.ids)} of {MESSAGES}"
        ) from None

    # What the cluster published: its history, in Redis, in publish order.
    history = [json.loads(item) for item in box.client().lrange(f"{cluster.prefix}history", 0, -1)]
    published = [m["id"] for m in history if m["from"] == "alice"]
    assert published == list(range(1, MESSAGES + 1))  # each once, in order
    assert [m["text"] for m in history] == [f"message {n}" for n in published]
    # What the receiver got: all of them, none published twice, live ones in order.
    assert sorted(receiver.ids) == list(range(1, MESSAGES + 1))
    lost = MESSAGES - len(receiver.ids)
    duplicated = len(published) - len(set(published)) + receiver.live_twice
    assert (lost, duplicated, receiver.out_of_order) == (0, 0, 0)
    crashes = sum(app.crashes for app in cluster.apps)
    assert crashes == CRASHES
    # A crash may find no client on its server (both moved to the other one).
    assert dropped > 0
    # The crossing really happened: resends, recognised and dropped by the cluster.
    resends = sender.transmissions - MESSAGES
    recognised = sum(app.duplicates for app in cluster.apps)
    # An ack (a duplicate's too) may die with a crash: the sender hears of fewer.
    assert sender.duplicate_acks <= recognised <= resends
    reconnects = sender.connections + receiver.connections - 2
    assert reconnects >= dropped  # every dropped connection was replaced
    counts(
        f"lesson 11: {crashes} crashes (A {crashed['A']}, B {crashed['B']}), "
        f"{dropped} connections dropped, {reconnects} reconnects, {MESSAGES} messages, "
        f"{lost} lost, {duplicated} duplicated ({resends} resends, {recognised} recognised "
        f"and dropped by the cluster; {receiver.from_history} caught up from the history; "
        f"{'embedded fakeredis' if box.embedded else 'real Redis ($REDIS_URL)'})"
    )
