"""``cluster``: lesson 11. A chat server meant to run as several processes.

Run two of them behind a load balancer and each has only *its own* clients.
In ``"local"`` mode a server forwards a message to its own clients only (the
problem: Alice on server A and Bob on server B never see each other). In
``"redis"`` mode it does what the study notes do with ioredis::

    sub.on('message', (ch, data) => {            // Redis delivers → every local client
      wss.clients.forEach(c => { if (c.readyState === WebSocket.OPEN) c.send(data); });
    });
    ws.on('message', raw => pub.publish('messages', raw.toString()));   // client → Redis

Every server publishes what its clients say to the channel ``messages``, and
forwards whatever Redis delivers on it to all of its OPEN clients, so every
client of every server gets every message. Rooms are kept in Redis too (the
notes' rule: never keep room state in process memory), so a client that
reconnects and lands on another server keeps its rooms. In ``"local"`` mode
rooms live in the process's memory, and are lost that way.

A client says who it is in the URL, ``ws://host:port/?client=alice``
(without it, it gets a guest id). Protocol (JSON text messages)::

    ← {"type": "welcome", "client": "alice", "server": "A", "mode": "redis", "rooms": [...]}
    → {"type": "chat", "text": "hi"}
    ← {"type": "chat", "from": "alice", "text": "hi", "server": "A"}      to every client
    → {"type": "join", "room": "general"}     ← {"type": "joined", "room": ..., "rooms": [...]}
    → {"type": "leave", "room": "general"}    ← {"type": "left", "room": ..., "rooms": [...]}
    → {"type": "message", "room": "general", "text": "hi"}
    ← {"type": "message", "room": "general", "from": "alice", "text": "hi", "server": "A"}
                                                                           to the room's members
    → {"type": "rooms"}                       ← {"type": "rooms", "rooms": [...]}

The sender gets its own message back, as in the notes' loop over
``wss.clients``: it is how a client sees that the message went round.
``"server"`` is where the message entered the cluster. Bad input gets
``{"type": "error", ...}`` and the connection stays open; an invalid client
id is answered with an error and close code 1008.

If Redis goes away, the server keeps serving its own clients (messages reach
this server's clients only), says so in its log, and subscribes again every
:data:`REDIS_RETRY` nominal seconds until Redis is back. Its clients are told,
when the subscription is lost and when it is back, with how long the gap
was (:mod:`wslab.core.gaps`): what other servers published meanwhile is missed::

    ← {"type": "notice", "event": "redis-down", "server": "A", "since": ..., "text": ...}
    ← {"type": "notice", "event": "redis-back", "server": "A", "missed_seconds": 1.2, ...}

A client that connects during the gap finds the ``redis-down`` notice in its
welcome, under ``"notice"``.

At-least-once chat, nothing twice (issue 7). A client may number its chat
messages, ``id`` 1, 2, 3, ... per client id, and keep each one until it is
acknowledged (:class:`wslab.core.outbox.Outbox`); after a dropped connection it
resends what was not acknowledged. The cluster keeps, per client id, the
highest id it accepted, and drops a repeat instead of publishing it again::

    ← {"type": "welcome", "client": "alice", ..., "last_id": 4}   resend from 5 on
    → {"type": "chat", "id": 5, "text": "hi"}
    ← {"type": "chat", "from": "alice", "text": "hi", "server": "A", "id": 5}   to every client
    ← {"type": "ack", "id": 5}
    → {"type": "chat", "id": 5, "text": "hi"}                     a resend
    ← {"type": "ack", "id": 5, "duplicate": true}                 published once only
    → {"type": "history"}
    ← {"type": "history", "messages": [...]}     the last HISTORY_MAX numbered chats

The welcome has ``"last_id"`` once the cluster accepted a numbered message
from this client id (absent: 0, send everything). An id not above the last
one accepted is a repeat; an id further ahead is accepted (a client without
an outbox really loses messages, and the gap shows it). In ``"redis"`` mode
the last id lives in Redis, and the check, the new last id, the history
entry and the publish are one transaction (WATCH/MULTI/EXEC), so two servers
handling the same resend at once publish it once, and in the order accepted:
a client may cross a server crash to any server of the cluster. A receiver
that was away (its server crashed) asks for ``history`` after its welcome
and keeps what it has not seen, by ``(from, id)``: pub/sub keeps nothing for
an absent client. If Redis cannot be reached, a numbered chat is answered
with an error, not an ack: it stays in the client's outbox. In ``"local"``
mode the last ids and the history are kept in the process's memory
(:class:`wslab.core.outbox.Inbox`) and are lost with the process, like the rooms:
a new process takes every resend as new. Messages without ``id`` are
published as before, with no ack.

For fault tests, on the server's loop: ``running.call(server.app.crash())``
drops every connection without a close frame (what they sent and the server
had not handled yet is lost with the "process"), ``crash()``'s twin
``restart()`` listens again on the same port; Redis keeps the rest.

Options come from keyword arguments or, for ``python -m wslab serve
cluster``, from the environment: ``REDIS_URL``, ``WSLAB_CLUSTER_MODE``,
``WSLAB_REDIS_PREFIX`` and ``WSLAB_CLUSTER_NODE``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import secrets
import sys
import time
import weakref
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection

from wslab.core.cluster import (
    MODE_ENV,
    MODES,
    NODE_ENV,
    PREFIX_ENV,
    Keys,
    MemoryRooms,
    Mode,
    validate_client_id,
    validate_room,
)
from wslab.core.gaps import redis_back_notice, redis_down_notice
from wslab.core.messages import POLICY_VIOLATION, MessageError, dumps, parse_message, require_text
from wslab.core.outbox import validate_message_id
from wslab.core.timescale import real_seconds
from wslab.network.redisbox import REDIS_URL_ENV
from wslab.runtime.runner import ServerStartError, run_server
from wslab.runtime.standalone import run_until_stopped, stop_when_stdin_closes
from wslab.servers.base import CrashableServer
from wslab.state.outbox import Inbox

__all__ = [
    "DEFAULT_REDIS_URL",
    "HISTORY_MAX",
    "KEY_TTL",
    "REDIS_RETRY",
    "ClusterServer",
    "node_main",
]

#: Where ioredis's ``new Redis()`` connects too: this machine, the default port.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
#: Nominal seconds between attempts to reach Redis again after losing it.
REDIS_RETRY = 1.0
#: Room keys expire a day after the last join, so an abandoned run cleans itself up.
KEY_TTL = 24 * 3600
#: How many numbered chat messages the history keeps (the newest).
HISTORY_MAX = 1000
#: Seconds to wait for Redis to accept a connection.
REDIS_CONNECT_TIMEOUT = 2.0


class ClusterServer(CrashableServer):
    """Chat for a cluster: local-only forwarding, or Redis pub/sub on ``messages``.

    Args:
        mode: ``"local"`` or ``"redis"``; default ``$WSLAB_CLUSTER_MODE``, else
            ``"redis"`` when ``$REDIS_URL`` is set, else ``"local"``.
        redis_url: default ``$REDIS_URL``, else :data:`DEFAULT_REDIS_URL`.
        prefix: put before every Redis key and the channel; default
            ``$WSLAB_REDIS_PREFIX``, else none (channel ``messages``).
        node: this server's name in messages (``"A"``); default
            ``$WSLAB_CLUSTER_NODE``, else from the process id.

    Raises:
        ValueError: for an unknown mode.
    """

    name = "cluster"
    lessons = (11,)
    summary = "chat across server processes: local only, or shared through Redis pub/sub"
    types = ("chat", "history", "join", "leave", "message", "rooms")

    def __init__(
        self,
        *args: Any,
        mode: str | None = None,
        redis_url: str | None = None,
        prefix: str | None = None,
        node: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        env = os.environ
        chosen = mode or env.get(MODE_ENV) or ("redis" if env.get(REDIS_URL_ENV) else "local")
        if chosen not in MODES:
            raise ValueError(f"unknown mode {chosen!r}: use 'local' or 'redis'")
        self.mode: Mode = "redis" if chosen == "redis" else "local"
        self.redis_url = redis_url or env.get(REDIS_URL_ENV) or DEFAULT_REDIS_URL
        self.keys = Keys(prefix if prefix is not None else env.get(PREFIX_ENV, ""))
        self.node = node or env.get(NODE_ENV) or f"pid{os.getpid()}"
        #: This server's own connections and their client ids.
        self.clients: dict[ServerConnection, str] = {}
        #: Rooms in process memory: used in "local" mode only.
        self.memory_rooms = MemoryRooms()
        #: Whether the Redis subscription is live (None: not known yet).
        self.redis_up: bool | None = None
        self._pub: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._first_try: asyncio.Event | None = None
        #: When the Redis subscription was lost (``time.time()``), while it is.
        self.redis_down_since: float | None = None
        #: Numbered chat, "local" mode only: last ids per client, and the
        #: history; in this process's memory, lost with it.
        self.memory_ids = Inbox()
        self.memory_history: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=HISTORY_MAX
        )
        #: Resends recognised and dropped (numbered chat), by this server.
        self.duplicates = 0
        #: Connections a crash dropped: what they had sent but this server had
        #: not handled yet dies with the "process", unhandled.
        self._dead: weakref.WeakSet[ServerConnection] = weakref.WeakSet()

    # --- lifecycle ---------------------------------------------------------------

    # crash() and restart() are CrashableServer's. What lives in Redis (rooms,
    # last ids, history) survives a crash, and so does the subscription: only
    # the WebSocket side dies, as with a killed process behind a balancer.

    def before_crash(self, server: Server) -> None:
        self._dead.update(server.all_connections)

    async def started(self) -> None:
        if self.mode == "redis":
            self._pub = self._redis()
            self._first_try = asyncio.Event()
            self._listener = asyncio.create_task(self._listen_to_redis())
            # serve() returns once the server can relay: a message published
            # before Redis confirmed the subscription would be lost.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._first_try.wait(), REDIS_CONNECT_TIMEOUT + 1)

    async def stopping(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        if self._pub is not None:
            for client in set(self.clients.values()):
                await self._forget_presence(client)
            await _aclose(self._pub)

    def _redis(self) -> Any:
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # No automatic retries: an unreachable Redis must show at once, and
        # _listen_to_redis retries on its own schedule, in nominal seconds.
        return aioredis.from_url(
            self.redis_url,
            decode_responses=True,
            socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
        )

    # --- Redis delivers: forward to every local client (the notes' sub.on) -----------

    async def _listen_to_redis(self) -> None:
        from redis.exceptions import RedisError

        channel = self.keys.channel
        while True:
            client = self._redis()
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(channel)
                await self._confirmed(pubsub)
                if self.redis_up is False:
                    self.log.record("redis", f"Redis is back: listening on {channel!r} again")
                    since = self.redis_down_since if self.redis_down_since is not None else 0.0
                    self.redis_down_since = None
                    # Say what was missed: pub/sub kept nothing for this server.
                    self.broadcast(
                        list(self.clients), redis_back_notice(self.node, since, time.time())
                    )
                else:
                    self.log.record("redis", f"listening on {channel!r} at {self.redis_url}")
                self.redis_up = True
                if self._first_try is not None:
                    self._first_try.set()
                async for item in pubsub.listen():
                    if item.get("type") == "message":
                        await self._deliver_safely(str(item["data"]))
                raise ConnectionError("the subscription ended")
            except (RedisError, OSError) as exc:
                if self.redis_up is not False:
                    self.redis_down_since = time.time()
                    # The clients first, then the log (which the notebook waits for).
                    self.broadcast(
                        list(self.clients), redis_down_notice(self.node, self.redis_down_since)
                    )
                    self.log.record(
                        "redis-down",
                        f"Redis unreachable ({type(exc).__name__}: {exc}); still serving "
                        f"this server's own clients; trying again every {REDIS_RETRY:g} s",
                    )
                self.redis_up = False
            finally:
                if self._first_try is not None:
                    self._first_try.set()
                await _aclose(pubsub)
                await _aclose(client)
            await asyncio.sleep(real_seconds(REDIS_RETRY))

    @staticmethod
    async def _confirmed(pubsub: Any) -> None:
        """Wait until Redis confirms the subscription (subscribe() only sends it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REDIS_CONNECT_TIMEOUT
        while loop.time() < deadline:
            item = await pubsub.get_message(timeout=max(0.0, deadline - loop.time()))
            if item is not None and item.get("type") == "subscribe":
                return
        raise ConnectionError("Redis did not confirm the subscription")

    async def _deliver_safely(self, data: str) -> None:
        # Anyone can publish to a Redis channel: one bad message must not end
        # this server's subscription.
        try:
            await self._deliver(data)
        except Exception as exc:
            self.log.record("error", f"could not forward {data[:80]!r}: {type(exc).__name__}")

    async def _deliver(self, data: str) -> None:
        """Forward one message to this server's OPEN clients (room members only for a room)."""
        try:
            payload = json.loads(data)
        except json.JSONDecodeError:
            payload = None
        if not isinstance(payload, dict):
            self.log.record("error", f"not a JSON object on the channel, dropped: {data[:80]}")
            return
        targets = list(self.clients)
        room = payload.get("room")
        if isinstance(room, str):
            try:
                members = await self._members(room)
            except MessageError as error:
                self.log.record("error", f"room message dropped: {error.message}")
                return
            targets = [ws for ws, client in self.clients.items() if client in members]
        # LessonServer.broadcast skips connections that are not OPEN.
        self.broadcast(targets, payload)

    # --- a client speaks: publish to Redis (the notes' pub.publish) --------------------

    async def _publish(self, payload: dict[str, Any]) -> None:
        data = dumps(payload)
        if self.mode == "local":
            await self._deliver(data)
            return
        from redis.exceptions import RedisError

        try:
            # Every server, this one too, gets it back from Redis and forwards it.
            receivers = await self._pub.publish(self.keys.channel, data)
            self.log.record("publish", f"to {self.keys.channel!r} ({receivers} listening)")
        except (RedisError, OSError) as exc:
            self.log.record(
                "redis-down",
                f"could not publish ({type(exc).__name__}); "
                "delivered to this server's own clients only",
            )
            await self._deliver(data)

    # --- connections -----------------------------------------------------------------

    async def on_connect(self, ws: ServerConnection, peer: str) -> None:
        query = urlsplit(ws.request.path if ws.request else "/").query
        # Blank values kept: "?client=" is a bad id, not a guest.
        values = parse_qs(query, keep_blank_values=True).get("client", [])
        guest = not values
        try:
            if len(values) > 1:
                raise MessageError("invalid-client", "give one client id, not several")
            client = f"guest-{secrets.token_hex(3)}" if guest else validate_client_id(values[0])
        except MessageError as error:
            await self.send_error(ws, error)
            await ws.close(POLICY_VIOLATION, "invalid client id")
            return
        self.clients[ws] = client
        self.log.record("hello", f"{peer} is {client!r}", peer=peer)
        rooms: list[str] = []
        last_id = 0
        if not guest:  # a guest's id is new: nothing to look up
            try:
                rooms = await self._rooms_of(client)
                await self._note_presence(client)
                # What the cluster has of this client's numbered chat: resend after it.
                last_id = await self._last_id(client)
            except MessageError as error:
                self.log.record("error", f"{peer}: {error.message}", peer=peer)
        gap: dict[str, Any] = {}
        if self.redis_down_since is not None:
            # Arriving during a gap: the welcome says so (as a notice inside it).
            gap = {"notice": redis_down_notice(self.node, self.redis_down_since)}
        await self.send_json(
            ws,
            {
                "type": "welcome",
                "client": client,
                "server": self.node,
                "mode": self.mode,
                "rooms": rooms,
                # Only for a client that numbers its chat: the welcome of one
                # that never did stays as it was (absent means 0).
                **({"last_id": last_id} if last_id else {}),
                **gap,
            },
        )

    async def on_disconnect(self, ws: ServerConnection, peer: str) -> None:
        client = self.clients.pop(ws, None)
        if client is not None and client not in self.clients.values():
            await self._forget_presence(client)

    async def on_message(self, ws: ServerConnection, peer: str, message: str | bytes) -> None:
        client = self.clients.get(ws)
        if client is None or ws in self._dead:
            return  # refused at connect, or dropped by a crash: being closed
        try:
            request = parse_message(message, self.types)
            kind = request["type"]
            if kind == "chat":
                text = require_text(request, "text")
                chat = {"type": "chat", "from": client, "text": text, "server": self.node}
                if "id" not in request:
                    await self._publish(chat)
                else:
                    message_id = validate_message_id(request["id"])
                    new = await self._publish_once(client, message_id, {**chat, "id": message_id})
                    ack: dict[str, Any] = {"type": "ack", "id": message_id}
                    if not new:
                        self.duplicates += 1
                        ack["duplicate"] = True
                    await self.send_json(ws, ack)
            elif kind == "history":
                await self.send_json(ws, {"type": "history", "messages": await self._history()})
            elif kind == "message":
                room = validate_room(request.get("room"))
                text = require_text(request, "text")
                if room not in await self._rooms_of(client):
                    raise MessageError(
                        "not-in-room", f'join {room!r} first: {{"type": "join", "room": ...}}'
                    )
                await self._publish(
                    {
                        "type": "message",
                        "room": room,
                        "from": client,
                        "text": text,
                        "server": self.node,
                    }
                )
            elif kind == "join":
                room = validate_room(request.get("room"))
                rooms = await self._join(client, room)
                await self.send_json(ws, {"type": "joined", "room": room, "rooms": rooms})
            elif kind == "leave":
                room = validate_room(request.get("room"))
                rooms = await self._leave(client, room)
                await self.send_json(ws, {"type": "left", "room": room, "rooms": rooms})
            else:
                await self.send_json(ws, {"type": "rooms", "rooms": await self._rooms_of(client)})
        except MessageError as error:
            await self.send_error(ws, error)

    # --- numbered chat: published once per (client, id) -------------------------------

    async def _last_id(self, client: str) -> int:
        if self.mode == "local":
            return self.memory_ids.last_id(client)
        value = await self._redis_call(
            "reading the last id", self._pub.get(self.keys.last_id(client))
        )
        return int(value or 0)

    async def _history(self) -> list[dict[str, Any]]:
        if self.mode == "local":
            return list(self.memory_history)
        items = await self._redis_call(
            "reading the history", self._pub.lrange(self.keys.history, 0, -1)
        )
        return [json.loads(item) for item in items]

    async def _publish_once(self, client: str, message_id: int, payload: dict[str, Any]) -> bool:
        """Publish ``payload`` unless ``message_id`` is not above ``client``'s last one.

        Returns:
            True if published, False for a repeat.

        Raises:
            MessageError: ``redis-unavailable`` (not published, not acked).
        """
        if self.mode == "local":
            if self.memory_ids.receive(client, message_id, payload["text"]).outcome != "new":
                return False
            self.memory_history.append(payload)
            await self._deliver(dumps(payload))
            return True
        key, history, data = self.keys.last_id(client), self.keys.history, dumps(payload)

        async def check_and_publish(pipe: Any) -> bool:
            # WATCH is on: if another server changes the key before EXEC, the
            # whole transaction is dropped and redis-py runs this again.
            last = int(await pipe.get(key) or 0)
            if message_id <= last:
                return False
            pipe.multi()
            pipe.set(key, message_id, ex=KEY_TTL)
            pipe.rpush(history, data).ltrim(history, -HISTORY_MAX, -1).expire(history, KEY_TTL)
            pipe.publish(self.keys.channel, data)
            return True

        new: bool = await self._redis_call(
            "publishing once",
            self._pub.transaction(check_and_publish, key, value_from_callable=True),
        )
        if new:
            self.log.record("publish", f"to {self.keys.channel!r}: {client} #{message_id}")
        return new

    # --- rooms: in Redis, or (local mode) in this process's memory ---------------------

    async def _redis_call(self, what: str, action: Any) -> Any:
        from redis.exceptions import RedisError

        try:
            return await action
        except (RedisError, OSError) as exc:
            self.log.record("redis-down", f"{what}: {type(exc).__name__}: {exc}")
            raise MessageError(
                "redis-unavailable",
                "rooms are kept in Redis, which this server cannot reach right now; try again soon",
            ) from None

    async def _rooms_of(self, client: str) -> list[str]:
        if self.mode == "local":
            return self.memory_rooms.rooms_of(client)
        rooms = await self._redis_call(
            "reading rooms", self._pub.smembers(self.keys.client_rooms(client))
        )
        return sorted(rooms)

    async def _members(self, room: str) -> set[str]:
        if self.mode == "local":
            return self.memory_rooms.members(room)
        members = await self._redis_call(
            "reading members", self._pub.smembers(self.keys.room_members(room))
        )
        return set(members)

    async def _join(self, client: str, room: str) -> list[str]:
        if self.mode == "local":
            return self.memory_rooms.join(client, room)
        rooms = await self._rooms_of(client)
        if room not in rooms and len(rooms) >= self.memory_rooms.max_rooms:
            raise MessageError(
                "too-many-rooms", f"a client may be in at most {self.memory_rooms.max_rooms}"
            )
        mine, members = self.keys.client_rooms(client), self.keys.room_members(room)
        # One round trip, applied together: a transaction (MULTI/EXEC).
        pipe = self._pub.pipeline(transaction=True)
        pipe.sadd(mine, room).sadd(members, client).expire(mine, KEY_TTL).expire(members, KEY_TTL)
        await self._redis_call("joining", pipe.execute())
        return sorted({*rooms, room})

    async def _leave(self, client: str, room: str) -> list[str]:
        if self.mode == "local":
            return self.memory_rooms.leave(client, room)
        pipe = self._pub.pipeline(transaction=True)
        pipe.srem(self.keys.client_rooms(client), room).srem(self.keys.room_members(room), client)
        await self._redis_call("leaving", pipe.execute())
        return await self._rooms_of(client)

    async def _note_presence(self, client: str) -> None:
        if self.mode == "redis":
            await self._redis_call(
                "presence", self._pub.hset(self.keys.presence, client, self.node)
            )

    async def _forget_presence(self, client: str) -> None:
        if self.mode == "redis" and not client.startswith("guest-"):
            with contextlib.suppress(MessageError):
                # Only if it still names this server: the client may have
                # reconnected to another one already.
                where = await self._redis_call(
                    "presence", self._pub.hget(self.keys.presence, client)
                )
                if where == self.node:
                    await self._redis_call("presence", self._pub.hdel(self.keys.presence, client))


async def _aclose(obj: Any) -> None:
    # redis-py 5.0.1 renamed close() to aclose(); accept both, and any failure.
    close = getattr(obj, "aclose", None) or obj.close
    with contextlib.suppress(Exception):
        await close()


def node_main() -> int:
    """Entry point of one of lesson 11's server processes.

    :func:`wslab.network.cluster.start_cluster` starts each process with this
    (through a small bootstrap that skips the course's other servers): a
    :class:`ClusterServer` on any free port, configured by the environment
    (:data:`~wslab.core.cluster.MODE_ENV`, ...), printing its events until
    its standard input closes or it is told to stop.

    Returns:
        The process's exit status: 0 after a clean stop, 1 if it could not listen.
    """
    stop_when_stdin_closes()
    try:
        running = run_server(ClusterServer(), port=0, register=False)
    except ServerStartError as exc:
        print(f"error: {exc.strerror}", file=sys.stderr, flush=True)
        return 1
    return run_until_stopped(running, label=ClusterServer.name)
