"""Lesson 11's views: a live cluster (who is on which server, what flows through Redis),
and the memory each connection costs."""

from __future__ import annotations

import html
import math
from typing import Any

import ipywidgets as widgets

from wslab.core.cluster import KIB, MIB
from wslab.core.eventlog import LogEntry
from wslab.network.cluster import Cluster
from wslab.network.memory import MemoryProfile
from wslab.network.redisbox import RedisState
from wslab.widgets._kernel import OnKernelThread, UnsubscribeOnClose
from wslab.widgets.eventlog import MessageLog

__all__ = ["ClusterView", "MemoryChart"]

_BOX = "border:1px solid #cbd5e0;border-radius:6px;padding:6px 10px;margin:4px;min-width:150px"
_OK, _BAD, _DIM = "color:#2f855a", "color:#c53030", "color:#718096"


class ClusterView(UnsubscribeOnClose, widgets.VBox):  # type: ignore[misc]
    """Shows a :class:`~wslab.network.cluster.Cluster`, updated live.

    The balancer and where each connection went; each server process with its
    memory, its clients and whether it reaches Redis; and, in "redis" mode,
    the messages on the channel and the rooms and presence kept in Redis.
    """

    def __init__(self, cluster: Cluster, max_messages: int = 6, **kwargs: Any) -> None:
        self.cluster = cluster
        self.diagram = widgets.HTML()
        self.stored = widgets.HTML()
        self.messages: MessageLog | None = None
        children: list[Any] = [self.diagram]
        if cluster.tap is not None:
            self.messages = MessageLog(
                cluster.tap.log,
                kinds=["message"],
                title=f"through Redis, channel {cluster.channel}",
                max_rows=max_messages,
            )
            children += [self.messages, self.stored]
        super().__init__(children, **kwargs)
        on_kernel = OnKernelThread()
        refresh = on_kernel(lambda _value: self.refresh())
        unsubscribers = [cluster.balancer.changed.subscribe(refresh)]
        for server in cluster.servers:
            unsubscribers.append(server.log.subscribe(on_kernel(self._server_event)))
        if cluster.tap is not None:
            unsubscribers.append(cluster.tap.changed.subscribe(refresh))
        if cluster.redis_link is not None:
            unsubscribers.append(cluster.redis_link.log.subscribe(refresh))
        self._until_close(*unsubscribers)
        self.refresh()

    def _server_event(self, entry: LogEntry) -> None:
        if entry.kind in ("redis", "redis-down", "connect", "close", "hello", "exited"):
            self.refresh()  # messages change nothing shown here

    # --- rendering ------------------------------------------------------------------

    def refresh(self) -> None:
        cluster = self.cluster
        balancer = cluster.balancer
        routes = balancer.routes()
        counts = balancer.counts()
        state = "running" if balancer.running else "stopped"
        nxt = cluster.servers[balancer.next_backend].label
        head = (
            f"<div><b>Balancer</b> <code>{html.escape(cluster.url)}</code> ({state}, "
            f"round-robin): {len(routes)} connections so far, the next goes to "
            f"<b>{nxt}</b></div>"
        )
        boxes = "".join(self._server_box(i, counts[i], routes) for i in range(len(cluster.servers)))
        redis = ""
        if cluster.redis is not None:
            link = cluster.redis_link
            cut = link is not None and link.paused
            status = (
                f"<span style='{_BAD}'>cut</span>"
                if cut
                else f"<span style='{_OK}'>connected</span>"
            )
            kind = "embedded fakeredis" if cluster.redis.embedded else "your Redis"
            redis = (
                f"<div><b>Redis</b> ({kind}): line to the servers {status}, channel "
                f"<code>{html.escape(cluster.channel)}</code></div>"
            )
        self.diagram.value = (
            "<div style='font-family:sans-serif;font-size:13px'>"
            f"{head}<div style='display:flex;flex-wrap:wrap'>{boxes}</div>{redis}</div>"
        )
        if cluster.tap is not None:
            self.stored.value = _stored(cluster.tap.state)

    def _server_box(self, index: int, open_count: int, routes: list[Any]) -> str:
        server = self.cluster.servers[index]
        clients = [r.client_id or f"#{r.id}" for r in routes if r.open and r.backend == index]
        who = ", ".join(html.escape(c) for c in clients) or f"<span style='{_DIM}'>nobody</span>"
        memory = server.rss() / (1 << 20)
        alive = "" if server.running else f" <span style='{_BAD}'>exited</span>"
        redis = ""
        if self.cluster.mode == "redis":
            ok = server.redis_up
            redis = (
                f"<br>Redis: <span style='{_OK}'>listening</span>"
                if ok
                else f"<br>Redis: <span style='{_BAD}'>unreachable</span>"
                if ok is False
                else f"<br>Redis: <span style='{_DIM}'>connecting</span>"
            )
        return (
            f"<div style='{_BOX}'><b>server {server.label}</b>{alive}<br>"
            f"<span style='{_DIM}'>process {server.pid}, port {server.port}, "
            f"{memory:.0f} MiB</span><br>clients ({open_count}): {who}{redis}</div>"
        )

    def close(self) -> None:
        if self.messages is not None:
            self.messages.close()
        super().close()


def _stored(state: RedisState) -> str:
    rooms = (
        "".join(
            f"<li><code>{html.escape(room)}</code>: {html.escape(', '.join(members))}</li>"
            for room, members in state.rooms.items()
        )
        or f"<li style='{_DIM}'>no rooms yet</li>"
    )
    presence = (
        ", ".join(
            f"{html.escape(client)} → {html.escape(server)}"
            for client, server in state.presence.items()
        )
        or f"<span style='{_DIM}'>nobody</span>"
    )
    return (
        "<div style='font-family:sans-serif;font-size:13px;margin-top:6px'><b>Kept in Redis</b>"
        f"<ul style='margin:2px 0'>{rooms}</ul>connected now: {presence}</div>"
    )


# --- memory per connection, as a chart --------------------------------------------------


class MemoryChart(widgets.HTML):  # type: ignore[misc]
    """A chart of a :class:`~wslab.network.cluster.MemoryProfile`: memory against connections.

    The measured points, joined, and the fitted line whose slope is the cost
    of one connection. Drawn as SVG: no plotting library to import.
    """

    def __init__(
        self, profile: MemoryProfile, width: int = 520, height: int = 260, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.profile = profile
        self.value = _chart(profile, width, height)


def _nice_step(span: float, ticks: int = 4) -> float:
    # A round step (1, 2 or 5 times a power of ten) giving about `ticks` ticks.
    raw = max(span, 1e-9) / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def _chart(profile: MemoryProfile, width: int, height: int) -> str:
    left, right, top, bottom = 58, 16, 28, 44
    counts = list(profile.counts)
    measured = [r / MIB for r in profile.rss]
    fitted = [profile.predicted(c) / MIB for c in counts]
    low, high = min(measured + fitted), max(measured + fitted)
    step = _nice_step(high - low)
    y0 = math.floor(low / step) * step
    y1 = math.ceil(high / step) * step if high > y0 else y0 + step
    x1 = max(counts) or 1

    def x(count: float) -> float:
        return left + (width - left - right) * count / x1

    def y(mib: float) -> float:
        return top + (height - top - bottom) * (1 - (mib - y0) / (y1 - y0))

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        "style='font-family:sans-serif;font-size:11px'>",
        f"<text x='{width / 2}' y='16' text-anchor='middle' font-size='13'>"
        "Memory of one server process</text>",
    ]
    tick = y0
    while tick <= y1 + step / 2:
        parts.append(
            f"<line x1='{left}' x2='{width - right}' y1='{y(tick):.1f}' y2='{y(tick):.1f}' "
            "stroke='#e2e8f0'/>"
            f"<text x='{left - 6}' y='{y(tick) + 4:.1f}' text-anchor='end'>{tick:g}</text>"
        )
        tick += step
    for count in counts:
        parts.append(
            f"<text x='{x(count):.1f}' y='{height - bottom + 16}' text-anchor='middle'>"
            f"{count}</text>"
        )
    parts.append(
        f"<text x='{(left + width - right) / 2}' y='{height - 8}' text-anchor='middle'>"
        "idle connections</text>"
        f"<text x='14' y='{(top + height - bottom) / 2}' text-anchor='middle' "
        f"transform='rotate(-90 14 {(top + height - bottom) / 2})'>memory, RSS (MiB)</text>"
    )
    line = " ".join(f"{x(c):.1f},{y(v):.1f}" for c, v in zip(counts, fitted, strict=True))
    parts.append(f"<polyline points='{line}' fill='none' stroke='#dd6b20' stroke-dasharray='6 4'/>")
    points = " ".join(f"{x(c):.1f},{y(v):.1f}" for c, v in zip(counts, measured, strict=True))
    parts.append(f"<polyline points='{points}' fill='none' stroke='#2b6cb0' stroke-width='2'/>")
    parts.extend(
        f"<circle cx='{x(c):.1f}' cy='{y(v):.1f}' r='3.5' fill='#2b6cb0'/>"
        for c, v in zip(counts, measured, strict=True)
    )
    kib = profile.bytes_per_connection / KIB
    parts.append(
        f"<text x='{left + 10}' y='{top + 14}' fill='#2b6cb0'>● measured</text>"
        f"<text x='{left + 10}' y='{top + 30}' fill='#dd6b20'>- - fitted: {kib:.1f} KiB "
        "per connection</text></svg>"
    )
    return "".join(parts)
