"""Several lesson servers, each its own OS process, behind a round-robin balancer.

Lesson 11's picture, running on your machine::

    clients ──► Balancer (a thread of the kernel)
                 ↙            ↘
      server A (a process)   server B (a process)
                 ↘            ↙
          Redis (yours, or fakeredis on a kernel thread)

:func:`start_cluster` starts the server processes in parallel, each one
``python -m wslab serve cluster --port 0`` (with a guard, below), reads the
URL each prints, and puts a :class:`~wslab.network.balancer.Balancer` in front. The
servers reach Redis through a one-backend balancer too, a *link* that
:meth:`Cluster.cut_redis` unplugs: that is how the lesson shows Redis going
away without touching your Redis.

Nothing is left behind: :meth:`Cluster.stop` ends every process (politely,
then by force), clusters are kept by name so starting one again replaces the
earlier one, everything stops at interpreter exit, and each server process
watches its standard input: when the kernel goes away, even killed, the pipe
closes and the server stops itself.

:func:`measure_memory` opens idle connections to one server process and
reads its memory (RSS) with psutil as they add up.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from wslab.core.cluster import (
    MODE_ENV,
    MODES,
    NODE_ENV,
    PREFIX_ENV,
    Keys,
    server_label,
)
from wslab.core.timescale import TIME_SCALE_ENV, time_scale
from wslab.network.balancer import Balancer, Route
from wslab.network.redisbox import REDIS_URL_ENV, RedisBox, RedisTap
from wslab.runtime.keeper import Keeper
from wslab.runtime.standalone import DIRECTIONS, EVENT, LISTENING
from wslab.state.eventlog import EventLog

__all__ = [
    "Cluster",
    "ClusterStartError",
    "ServerProcess",
    "running_clusters",
    "start_cluster",
    "stop_cluster",
]

#: Real seconds a server process may take to start listening.
START_TIMEOUT = 30.0
#: Real seconds a server process gets to stop by itself before it is killed.
STOP_TIMEOUT = 5.0
#: At most this many server processes in one cluster.
MAX_SERVERS = 8

# A server process runs ClusterServer standalone (wslab.servers.cluster.node_main),
# printing its events the way `python -m wslab serve` does, with two differences:
# - it loads only what the cluster server needs, not the whole course: the
#   `wslab` and `wslab.servers` packages are stand-ins, so their __init__
#   files (every lesson's server, aiohttp, ...) are not run, and a process
#   starts several times faster;
# - a guard thread watches standard input: when it closes (the kernel stopped
#   us, or died), the process stops itself cleanly.
_NODE_BOOTSTRAP = """\
import os, sys, types
root = sys.argv.pop(1)
package = types.ModuleType("wslab")
package.__path__ = [root]
servers = types.ModuleType("wslab.servers")
servers.__path__ = [os.path.join(root, "servers")]
sys.modules.update({"wslab": package, "wslab.servers": servers})
from wslab.servers.cluster import node_main
sys.exit(node_main())
"""

_kept: Keeper[Cluster] = Keeper("clusters", default="cluster")


class ClusterStartError(RuntimeError):
    """A server process did not start listening; the message has its output."""


# --- one server process --------------------------------------------------------------


class ServerProcess:
    """One ``cluster`` server running as its own OS process.

    Attributes:
        label: ``"A"``, ``"B"``, ...
        url, port: where it listens (known once it has started).
        pid: its process id.
        log: what it printed, as events (its own event log, across the pipe).
        output: its last printed lines, raw.
    """

    def __init__(self, label: str, command: list[str], env: dict[str, str], name: str) -> None:
        self.label = label
        self.url = ""
        self.port = 0
        self.log = EventLog()
        self.output: collections.deque[str] = collections.deque(maxlen=2000)
        #: Whether it reaches Redis, from what it last said (None: not known).
        self.redis_up: bool | None = None
        self._listening = threading.Event()
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
        )
        self.pid = self.process.pid
        self._reader = threading.Thread(
            target=self._read, name=f"wslab-{name}-{label}-output", daemon=True
        )
        self._reader.start()

    def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        for raw in stdout:
            line = raw.rstrip("\n")
            self.output.append(line)
            if not self.url and (found := LISTENING.search(line)):
                self.url = found.group(1)
                self.port = int(self.url.rsplit(":", 1)[1].strip("/"))
                self.log.record("listening", line)
                self._listening.set()
                continue
            event = EVENT.match(line)
            if event is None:
                self.log.record("output", line)
            else:
                arrow, kind, text = event.groups()
                if kind in ("redis", "redis-down"):
                    self.redis_up = kind == "redis"
                self.log.record(kind, text, direction=DIRECTIONS[arrow])
        self.log.record("exited", f"server {self.label} exited")

    def wait_listening(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until the process prints its URL.

        Raises:
            ClusterStartError: it exited first, or took longer than ``timeout``.
        """
        deadline = time.monotonic() + timeout
        while not self._listening.wait(0.01 if timeout > 0 else 0):
            if self.process.poll() is not None or time.monotonic() >= deadline:
                self._reader.join(1.0)
                if self._listening.is_set():
                    return
                output = "\n".join(self.output) or "(no output)"
                raise ClusterStartError(f"server {self.label} did not start:\n{output}")

    async def wait_listening_async(self, timeout: float = START_TIMEOUT) -> None:
        """:meth:`wait_listening` without blocking the event loop."""
        deadline = time.monotonic() + timeout
        while not self._listening.is_set() and self.running and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self.wait_listening(0)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def rss(self) -> int:
        """The process's resident memory in bytes (psutil), or 0 once it has exited."""
        import psutil

        try:
            return int(psutil.Process(self.pid).memory_info().rss)
        except psutil.Error:
            return 0

    def request_stop(self) -> None:
        """Ask the process to stop (close its stdin); do not wait."""
        stdin = self.process.stdin
        if stdin is not None and not stdin.closed:
            with contextlib.suppress(OSError):
                stdin.close()

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """Stop the process: politely, then terminate, then kill. Idempotent.

        Returns:
            The exit code (0 for a clean stop).
        """
        self.request_stop()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(2.0)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(2.0)
        _close(self.process.stdout)
        return int(self.process.returncode)

    def __repr__(self) -> str:
        state = "running" if self.running else f"exited {self.process.returncode}"
        return f"<ServerProcess {self.label} pid {self.pid} {state} at {self.url}>"


def _close(stream: IO[Any] | None) -> None:
    if stream is not None:
        with contextlib.suppress(OSError):
            stream.close()


# --- the cluster -------------------------------------------------------------------------


class Cluster:
    """Server processes behind a balancer, and (in "redis" mode) a Redis they share.

    Made by :func:`start_cluster`. Attributes:
        name: the key it is kept under.
        mode: ``"local"`` or ``"redis"``.
        servers: the :class:`ServerProcess` es, ``A``, ``B``, ...
        balancer: the round-robin balancer in front of them.
        redis: the :class:`~wslab.network.redisbox.RedisBox` (None in "local" mode).
        keys: the Redis namespace of this cluster (channel ``keys.channel``).
        redis_link: the relay between the servers and Redis (None in "local" mode).
        tap: listens on the channel and watches the rooms (None in "local" mode).
    """

    def __init__(
        self,
        name: str,
        mode: str,
        servers: list[ServerProcess],
        balancer: Balancer,
        redis: RedisBox | None,
        keys: Keys,
        redis_link: Balancer | None,
        tap: RedisTap | None,
    ) -> None:
        self.name = name
        self.mode = mode
        self.servers = servers
        self.balancer = balancer
        self.redis = redis
        self.keys = keys
        self.redis_link = redis_link
        self.tap = tap
        self._stopping = False
        self._stopped = False

    @property
    def url(self) -> str:
        """The cluster's one public address: the balancer's."""
        return self.balancer.url("/")

    @property
    def channel(self) -> str:
        return self.keys.channel

    def client_url(self, client: str) -> str:
        """The URL a client called ``client`` connects to (through the balancer)."""
        return self.balancer.url(f"/?client={client}")

    def server_of(self, route: Route) -> str:
        """The label of the server a balancer route went to (``"A"``), or ``"-"``."""
        return self.servers[route.backend].label if route.backend >= 0 else "-"

    def where(self) -> dict[str, str]:
        """Client id → server label, for every open connection through the balancer."""
        return {
            route.client_id: self.server_of(route)
            for route in self.balancer.open_routes()
            if route.client_id
        }

    def logs(self, kind: str) -> dict[str, list[str]]:
        """Server label → the texts of that kind of event in its log."""
        return {s.label: [e.text for e in s.log.entries(kind)] for s in self.servers}

    # --- Redis going away ---------------------------------------------------------

    def cut_redis(self) -> None:
        """Unplug the servers from Redis: drop their connections, refuse new ones."""
        if self.redis_link is None:
            raise RuntimeError("a local-mode cluster has no Redis to cut")
        self.redis_link.pause()

    def restore_redis(self, timeout: float = 10.0) -> None:
        """Plug Redis back in, and wait until every server listens on the channel again."""
        if self.redis_link is None or self.redis is None:
            raise RuntimeError("a local-mode cluster has no Redis to restore")
        self.redis_link.resume()
        # Every server listens again, and the tap (which never went through the link).
        listeners = len(self.servers) + (1 if self.tap is not None else 0)
        self.redis.wait_for_subscribers(self.channel, listeners, timeout)

    # --- stopping ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return not self._stopping

    def _begin_stop(self) -> None:
        # What stop() does without waiting: start_cluster() lets the processes
        # of the cluster it replaces wind down while the new ones start.
        if self._stopping:
            return
        self._stopping = True
        if self.tap is not None:
            self.tap.stop()
        # The balancer first: it drops every client connection at once, so the
        # servers need not wait for clients (on a busy kernel loop) to say goodbye.
        self.balancer.stop()
        for server in self.servers:
            server.request_stop()

    def stop(self) -> None:
        """Stop the tap, the balancer, every server process and the Redis link;
        delete the cluster's keys. Idempotent."""
        self._begin_stop()
        if self._stopped:
            return
        self._stopped = True
        for server in self.servers:
            server.stop()
        if self.redis_link is not None:
            self.redis_link.stop()
        if self.redis is not None and self.redis.running and self.keys.prefix:
            # Redis gone already: nothing to clean.
            with contextlib.suppress(Exception):
                self.redis.delete_keys(self.keys.prefix)
        _kept.forget(self.name, self)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        labels = ", ".join(f"{s.label}:{s.port}" for s in self.servers)
        return f"<Cluster {self.name!r} {self.mode} {state}: balancer {self.url} → {labels}>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<li>server <b>{s.label}</b>: process {s.pid}, <code>{s.url}</code></li>"
            for s in self.servers
        )
        redis = f", Redis channel <code>{self.channel}</code>" if self.redis else ""
        return (
            f"<b>{self.name}</b> ({self.mode} mode{redis}): balancer at "
            f"<code>{self.url}</code><ul>{rows}</ul>"
        )


def _raise_fd_limit(wanted: int = 8192) -> None:
    # Every connection is a file descriptor; some systems allow only 256 or
    # 1024 per process by default. Raise the soft limit (children inherit it).
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _node_command() -> list[str]:
    # The wslab package's folder: the stand-in package's __path__.
    return [sys.executable, "-c", _NODE_BOOTSTRAP, str(Path(__file__).resolve().parents[1])]


def _environment(mode: str, label: str, prefix: str, redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    # The kernel's time scale, so that the servers' nominal seconds match.
    env[TIME_SCALE_ENV] = repr(time_scale())
    env[MODE_ENV] = mode
    env[NODE_ENV] = label
    env[PREFIX_ENV] = prefix
    if redis_url:
        env[REDIS_URL_ENV] = redis_url
    else:
        env.pop(REDIS_URL_ENV, None)
    return env


def start_cluster(
    servers: int = 2,
    *,
    mode: str = "redis",
    redis: RedisBox | None = None,
    name: str = "cluster",
    timeout: float = START_TIMEOUT,
) -> Cluster:
    """Start ``servers`` server processes behind a balancer; return once all listen.

    Args:
        servers: how many processes (1-8).
        mode: ``"local"`` (each forwards to its own clients) or ``"redis"``
            (pub/sub on the channel ``messages``, rooms in Redis).
        redis: the Redis to share, from :func:`~wslab.network.redisbox.start_redis`;
            needed in "redis" mode.
        name: the key the cluster is kept under: starting the same name again
            stops the earlier cluster first.
        timeout: real seconds each process may take to start.

    Raises:
        ValueError: for a bad count or mode, or "redis" mode without ``redis``.
        ClusterStartError: a process did not start (its output is in the message).

    Processes start in parallel; in "redis" mode this returns once every one
    listens on the channel (pub/sub only delivers to who listens *now*).
    """
    if not 1 <= servers <= MAX_SERVERS:
        raise ValueError(f"a cluster has 1-{MAX_SERVERS} servers, not {servers}")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: use 'local' or 'redis'")
    if mode == "redis" and (redis is None or not redis.running):
        raise ValueError('"redis" mode needs a running Redis: start_cluster(redis=start_redis())')
    earlier = _kept.items().get(name)
    if earlier is not None:
        earlier._begin_stop()
    _raise_fd_limit()
    keys = Keys(redis.namespace() if redis is not None and mode == "redis" else "")
    link = None
    if mode == "redis":
        assert redis is not None
        link = Balancer([redis.url], name=f"{name}-redis-link").start()
    command = _node_command()
    link_url = f"redis://127.0.0.1:{link.port}/0" if link is not None else ""
    processes: list[ServerProcess] = []
    balancer: Balancer | None = None
    tap: RedisTap | None = None
    try:
        try:
            for index in range(servers):
                label = server_label(index)
                env = _environment(mode, label, keys.prefix, link_url)
                processes.append(ServerProcess(label, command, env, name))
        finally:
            if earlier is not None:
                earlier.stop()  # while the new processes start
        for process in processes:
            process.wait_listening(timeout)
        balancer = Balancer([("127.0.0.1", p.port) for p in processes], name=name).start()
        if redis is not None and mode == "redis":
            tap = RedisTap(redis.url, keys, name=f"{name}-tap").start()
            redis.wait_for_subscribers(keys.channel, servers + 1, timeout)
            # All listen now. (The line saying so may have been printed before
            # the CLI began to print events, so it is not waited for.)
            for process in processes:
                if process.redis_up is None:
                    process.redis_up = True
    except BaseException:
        if tap is not None:
            tap.stop()
        if balancer is not None:
            balancer.stop()
        for process in processes:
            process.request_stop()
        for process in processes:
            process.stop()
        if link is not None:
            link.stop()
        raise
    return _kept.keep(name, Cluster(name, mode, processes, balancer, redis, keys, link, tap))


# The keeper's own methods, under the names the notebooks use.
stop_cluster = _kept.stop
running_clusters = _kept.items


# --- memory per connection ------------------------------------------------------------
