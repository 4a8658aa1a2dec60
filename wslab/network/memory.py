"""Memory per connection, measured: idle connections to one server process, and its RSS.

Lesson 11's question, answered on this machine: how much memory does one more
idle WebSocket cost a server process? :func:`measure_memory` opens
connections in steps and reads the process's resident memory with psutil;
:class:`MemoryProfile` fits a line through the samples.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from wslab.core.cluster import (
    GIB,
    KIB,
    bytes_per_connection,
    connections_that_fit,
)
from wslab.network.cluster import (
    ServerProcess,
    _environment,
    _node_command,
)

__all__ = [
    "MemoryProfile",
    "measure_memory",
]


@dataclass(frozen=True)
class MemoryProfile:
    """A server process's memory (RSS) as idle connections were added.

    Attributes:
        server: the server's label.
        counts: how many connections were open at each sample (0 first).
        rss: the process's resident memory at each sample, in bytes.
        fds: the process's open file descriptors at each sample (empty on
            Windows, which has none to count).
    """

    server: str
    counts: tuple[int, ...]
    rss: tuple[int, ...]
    fds: tuple[int, ...] = ()

    @property
    def baseline(self) -> int:
        """Memory with no connections, in bytes."""
        return self.rss[0]

    @property
    def bytes_per_connection(self) -> float:
        """What one more idle connection costs (the slope of a least-squares line)."""
        return bytes_per_connection(self.counts, self.rss)

    @property
    def kib_per_connection(self) -> float:
        return self.bytes_per_connection / KIB

    def predicted(self, count: int) -> float:
        """The memory the fitted line gives for ``count`` connections, in bytes."""
        mean_count = sum(self.counts) / len(self.counts)
        mean_rss = sum(self.rss) / len(self.rss)
        return mean_rss + (count - mean_count) * self.bytes_per_connection

    def fit(self, budget: float = GIB) -> int:
        """An *estimate* of how many idle connections fit in ``budget`` bytes."""
        return connections_that_fit(budget, self.bytes_per_connection, self.baseline)


async def measure_memory(
    server: ServerProcess | None = None,
    connections: int = 500,
    steps: int = 5,
    concurrency: int = 100,
) -> MemoryProfile:
    """Open ``connections`` idle WebSockets to a server, sampling its RSS as they add up.

    The connections are opened straight to the server (not through a
    balancer), in ``steps`` batches of equal size, each fully open (welcome
    received) before the sample; then all are closed.

    Args:
        server: a running server process; by default a fresh one ("local"
            mode) is started for the measurement and stopped after it. A
            fresh process is the fair choice: one that had connections
            before reuses the memory they freed, and seems to need none.
        connections: how many to open in all (a few thousand at most).
        steps: how many samples after the first (at 0 connections).
        concurrency: how many handshakes at a time.

    Raises:
        ValueError: for fewer connections than steps.
        ClusterStartError: the fresh server did not start.
    """
    if connections < steps or steps < 1:
        raise ValueError("open at least one connection per step")
    if server is None:
        env = _environment("local", "M", "", "")
        fresh = ServerProcess("M", _node_command(), env, "memory")
        try:
            await fresh.wait_listening_async()
            return await measure_memory(fresh, connections, steps, concurrency)
        finally:
            fresh.request_stop()
            while fresh.running:
                await asyncio.sleep(0.01)
            fresh.stop()
    import psutil
    from websockets.asyncio.client import ClientConnection, connect

    process = psutil.Process(server.pid)
    gate = asyncio.Semaphore(concurrency)
    opened: list[ClientConnection] = []

    async def open_one() -> ClientConnection:
        async with gate:
            ws = await connect(
                server.url, proxy=None, compression=None, ping_interval=None, open_timeout=30
            )
            opened.append(ws)
            await ws.recv()  # the welcome: the server has finished setting it up
            return ws

    def sample() -> None:
        counts.append(len(opened))
        rss.append(int(process.memory_info().rss))
        if hasattr(process, "num_fds"):  # POSIX only
            fds.append(int(process.num_fds()))

    counts: list[int] = []
    rss: list[int] = []
    fds: list[int] = []
    sample()
    try:
        for step in range(steps):
            batch = connections * (step + 1) // steps - len(opened)
            await asyncio.gather(*(open_one() for _ in range(batch)))
            sample()
    finally:
        await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)
    return MemoryProfile(server.label, tuple(counts), tuple(rss), tuple(fds))
