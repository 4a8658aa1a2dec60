"""A Redis for lesson 11: yours if you have one, else an embedded one.

:func:`start_redis` uses the Redis at ``$REDIS_URL`` when that is set (a real
``redis-server``; CI runs one), and otherwise starts fakeredis's TCP server on
``127.0.0.1``, port 0, on a thread of the kernel. Either way it is a real TCP
server speaking the Redis protocol, so the lesson's server *processes* share
it exactly as they would share a production Redis, and a student needs to
install nothing.

Every run works under a key prefix of its own (``wslab:1a2b3c4d:``), so that
two notebooks sharing one Redis, or a notebook run twice, never see each
other's rooms or messages; stopping deletes the run's keys.

:class:`RedisTap` listens in on the pub/sub channel and watches the keys, for
the lesson's widget and its assertions.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wslab.core.cluster import Keys
from wslab.runtime.keeper import Keeper
from wslab.state.eventlog import EventLog
from wslab.state.observable import Observers

if TYPE_CHECKING:
    import redis

__all__ = [
    "REDIS_URL_ENV",
    "RedisBox",
    "RedisState",
    "RedisTap",
    "RedisUnavailable",
    "running_redis",
    "start_redis",
    "stop_redis",
]

#: The environment variable naming a Redis to use instead of the embedded one.
REDIS_URL_ENV = "REDIS_URL"
#: Seconds to wait for a Redis to answer before giving up.
CONNECT_TIMEOUT = 3.0

_kept: Keeper[RedisBox] = Keeper("Redis boxes", default="redis")


class RedisUnavailable(ConnectionError):
    """The Redis named by ``REDIS_URL`` (or given) does not answer."""


def _client(url: str) -> redis.Redis:
    import redis

    return redis.Redis.from_url(
        url, decode_responses=True, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=10.0
    )


class RedisBox:
    """A Redis to use: a real one at ``url``, or fakeredis's embedded TCP server.

    Args:
        url: a ``redis://`` URL; None starts the embedded server.
        name: the key it is kept under by :func:`start_redis`.

    Attributes:
        url: where the Redis listens (give it to the servers).
        embedded: True for the embedded fakeredis server.
        prefix: this run's key prefix, such as ``"wslab:1a2b3c4d:"``.
    """

    def __init__(self, url: str | None = None, *, name: str = "redis") -> None:
        self.name = name
        self.embedded = url is None
        self.url = url or ""
        self.prefix = f"wslab:{secrets.token_hex(4)}:"
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._client: redis.Redis | None = None
        self._stopped = False

    # --- lifecycle -------------------------------------------------------------

    def start(self) -> RedisBox:
        """Start the embedded server, or check that the real one answers.

        Raises:
            RedisUnavailable: the Redis at ``url`` does not answer PING.
        """
        if self.embedded:
            self._server = _EmbeddedServer(("127.0.0.1", 0))
            port = int(self._server.server_address[1])
            self.url = f"redis://127.0.0.1:{port}/0"
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"wslab-{self.name}",
                daemon=True,
            )
            self._thread.start()
        try:
            self.client().ping()
        except Exception as exc:
            self.stop()
            raise RedisUnavailable(
                f"no Redis answers at {self.url} ({type(exc).__name__}: {exc}); "
                f"start it, or unset {REDIS_URL_ENV} to use the embedded server"
            ) from None
        return self

    def stop(self) -> None:
        """Delete this run's keys, close the client, stop the embedded server. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._client is not None:
            with contextlib.suppress(Exception):
                self.delete_keys(self.prefix)
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.join_connections(2.0)
        if self._thread is not None:
            self._thread.join(2.0)
        _kept.forget(self.name, self)

    @property
    def running(self) -> bool:
        if self._stopped:
            return False
        return self._thread.is_alive() if self._thread is not None else True

    # --- using it ----------------------------------------------------------------

    def client(self) -> redis.Redis:
        """A synchronous redis-py client (strings in, strings out). Thread-safe."""
        if self._client is None:
            self._client = _client(self.url)
        return self._client

    def namespace(self) -> str:
        """A new key prefix inside this run's, for one cluster: ``wslab:1a2b3c4d:5e6f:``."""
        return f"{self.prefix}{secrets.token_hex(2)}:"

    def keys(self, prefix: str | None = None) -> list[str]:
        """The keys under ``prefix`` (this run's by default), sorted."""
        pattern = f"{prefix if prefix is not None else self.prefix}*"
        return sorted(self.client().scan_iter(match=pattern, count=500))

    def delete_keys(self, prefix: str) -> int:
        """Delete every key under ``prefix``; return how many there were.

        Raises:
            ValueError: for an empty prefix (that would be every key of a shared Redis).
        """
        if not prefix:
            raise ValueError("refusing to delete every key: give a prefix")
        keys = self.keys(prefix)
        if keys:
            self.client().delete(*keys)
        return len(keys)

    def subscribers(self, channel: str) -> int:
        """How many connections listen on ``channel`` (``PUBSUB NUMSUB``)."""
        counts = self.client().pubsub_numsub(channel)
        return int(counts[0][1]) if counts else 0

    def wait_for_subscribers(self, channel: str, count: int, timeout: float = 10.0) -> None:
        """Wait until ``count`` connections listen on ``channel``.

        Pub/sub delivers only to those listening *now*: a message published
        before a server subscribed is lost to it, so the lesson waits for this.

        Raises:
            TimeoutError: if they are not there after ``timeout`` real seconds.
        """
        deadline = time.monotonic() + timeout
        while (seen := self.subscribers(channel)) != count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{seen} subscribers on {channel!r}, expected {count}")
            time.sleep(0.01)

    def __repr__(self) -> str:
        kind = "embedded fakeredis" if self.embedded else "Redis"
        return f"<RedisBox {kind} at {self.url} prefix {self.prefix!r}>"

    def _repr_html_(self) -> str:
        kind = "embedded fakeredis server" if self.embedded else f"your Redis (${REDIS_URL_ENV})"
        state = "running" if self.running else "stopped"
        return f"<b>Redis</b>: {kind} {state} at <code>{self.url}</code>"


def _embedded_server_class() -> type[Any]:
    from fakeredis import TcpFakeServer

    class EmbeddedServer(TcpFakeServer):
        """fakeredis's TCP server with named daemon threads that stop() can join.

        Daemon threads: fakeredis's are not, and Python waits for non-daemon
        threads *before* running atexit handlers, so a kernel with a server
        process still connected could never exit.
        """

        def __init__(self, address: tuple[str, int]) -> None:
            super().__init__(address)
            self.daemon_threads = True
            self._connections: set[threading.Thread] = set()

        def process_request(self, request: Any, client_address: Any) -> None:
            # fakeredis writes each reply of a MULTI/EXEC or pipeline on its
            # own: with Nagle's algorithm on, the second write waits for the
            # client's delayed ACK, 40 ms per transaction. Redis sets this too.
            with contextlib.suppress(OSError):
                request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            thread = threading.Thread(
                target=self.process_request_thread,
                args=(request, client_address),
                name="wslab-redis-connection",
                daemon=True,
            )
            self._connections = {t for t in self._connections if t.is_alive()} | {thread}
            thread.start()

        def join_connections(self, timeout: float) -> None:
            deadline = time.monotonic() + timeout
            for thread in list(self._connections):
                thread.join(max(0.0, deadline - time.monotonic()))

    return EmbeddedServer


def _EmbeddedServer(address: tuple[str, int]) -> Any:
    # fakeredis is imported only when the embedded server is wanted.
    return _embedded_server_class()(address)


def start_redis(url: str | None = None, *, name: str = "redis") -> RedisBox:
    """Get a Redis for the lesson; return once it answers.

    Args:
        url: a ``redis://`` URL; by default ``$REDIS_URL``, and without it the
            embedded fakeredis server.
        name: the key it is kept under: starting the same name again (a
            re-run cell) stops the earlier one first.

    Raises:
        RedisUnavailable: the Redis at ``url`` or ``$REDIS_URL`` does not answer.
    """
    return _kept.replace(
        name, lambda: RedisBox(url or os.environ.get(REDIS_URL_ENV) or None, name=name).start()
    )


# The keeper's own methods, under the names the notebooks use.
stop_redis = _kept.stop
running_redis = _kept.items


# --- listening in ---------------------------------------------------------------------


@dataclass(frozen=True)
class RedisState:
    """What the cluster keeps in Redis, at one moment.

    Attributes:
        rooms: room → its members (client ids), sorted.
        presence: client id → the server it is connected to.
    """

    rooms: dict[str, list[str]] = field(default_factory=dict)
    presence: dict[str, str] = field(default_factory=dict)


class RedisTap:
    """Listens on the cluster's channel and watches its keys, on a thread.

    Every message published on the channel is recorded to :attr:`log` (a
    message whose JSON has a ``"server"`` shows it as the peer), and
    :attr:`state` is re-read every ``interval`` seconds; :attr:`changed`
    observers are told each new :class:`RedisState`.

    Args:
        url: the Redis to watch (directly, not through any relay).
        keys: the namespace to watch.
        name: the thread is ``wslab-<name>``.
    """

    def __init__(
        self, url: str, keys: Keys, *, name: str = "redis-tap", interval: float = 0.1
    ) -> None:
        self.url = url
        self.keys = keys
        self.name = name
        self.interval = interval
        self.log = EventLog()
        self.state = RedisState()
        self.changed: Observers[RedisState] = Observers()
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"wslab-{name}", daemon=True)

    def start(self, timeout: float = 10.0) -> RedisTap:
        """Start listening; return once subscribed."""
        self._thread.start()
        if not self._subscribed.wait(timeout):
            self.stop()
            raise TimeoutError(f"could not subscribe to {self.keys.channel!r} at {self.url}")
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening and end the thread. Idempotent."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def messages(self) -> list[str]:
        """The texts of the messages seen on the channel, oldest first."""
        return [e.text for e in self.log.entries("message")]

    def _run(self) -> None:
        client = _client(self.url)
        pubsub = client.pubsub()  # type: ignore[no-untyped-call,unused-ignore]
        try:
            # subscribe() only sends the command: the tap is listening once
            # Redis confirms, with a "subscribe" message.
            pubsub.subscribe(self.keys.channel)
            next_read = 0.0
            while not self._stop.is_set():
                try:
                    item = pubsub.get_message(timeout=0.02)
                    kind = item.get("type") if item is not None else None
                    if kind == "subscribe":
                        self._subscribed.set()
                    elif kind == "message" and item is not None:
                        self._record(str(item["data"]))
                    if time.monotonic() >= next_read:
                        next_read = time.monotonic() + self.interval
                        self._read_state(client)
                except Exception as exc:  # Redis went away: say so, try again later
                    self.log.record("error", f"{type(exc).__name__}: {exc}")
                    self._stop.wait(0.2)
        finally:
            with contextlib.suppress(Exception):
                pubsub.close()
            with contextlib.suppress(Exception):
                client.close()

    def _record(self, data: str) -> None:
        import json

        server = ""
        with contextlib.suppress(ValueError, AttributeError):
            server = str(json.loads(data).get("server", ""))
        self.log.message("in", data, server)

    def read_state(self) -> RedisState:
        """Read the rooms and presence from Redis now (from any thread)."""
        client = _client(self.url)
        try:
            return self._read_state(client, notify=False)
        finally:
            client.close()

    def _read_state(self, client: redis.Redis, notify: bool = True) -> RedisState:
        rooms: dict[str, list[str]] = {}
        for key in client.scan_iter(match=self.keys.room_members("*"), count=500):
            room = self.keys.room_of_key(key)
            if room is not None:
                members = sorted(str(m) for m in client.smembers(key))
                if members:
                    rooms[room] = members
        presence = {str(k): str(v) for k, v in sorted(client.hgetall(self.keys.presence).items())}
        state = RedisState(dict(sorted(rooms.items())), presence)
        if notify and state != self.state:
            self.state = state
            self.changed.notify(state)
        return state
