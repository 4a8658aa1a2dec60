"""Lesson 9's view: a heartbeat, live: round trips, missed pongs, readyState, preset.

:class:`HeartbeatView` shows a :class:`~wslab.clients.heartbeat.HeartbeatClient`:
the connection's readyState badge, the client's state (for a reconnecting
client, lesson 5's "Reconnecting…"), what the heartbeat is doing, a drop-down
of the study notes' presets (choosing one retimes the heartbeat at once), the
counts, and one bar per ping: its round trip (green, taller is slower) or a
red ✗ for a pong that never came.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import traitlets

from wslab.clients.heartbeat import HeartbeatClient
from wslab.clients.reconnect import ReconnectingWebSocket
from wslab.core.heartbeat import PRESETS, Beat
from wslab.widgets._kernel import AtLeastOne, OnKernelThread, UnsubscribeOnClose
from wslab.widgets.websocket import ReadyStateBadge

__all__ = ["HeartbeatView"]

#: Pixels of the tallest bar.
BAR_HEIGHT = 40
_CUSTOM = "custom"


class HeartbeatView(UnsubscribeOnClose, widgets.VBox):  # type: ignore[misc]
    """A live view of a heartbeat: badge, status, preset drop-down, counts, round trips.

    Args:
        heartbeat: the heartbeat to show.
        max_beats: how many of the newest pings to draw.
    """

    max_beats = AtLeastOne(24, help="How many of the newest pings to draw.")
    status = traitlets.Unicode("", help="The client's and the heartbeat's state, as shown.")
    counts = traitlets.Unicode("", help="Pings, pongs, missed pongs and round trips, as shown.")

    def __init__(self, heartbeat: HeartbeatClient, max_beats: int = 24, **kwargs: Any) -> None:
        self.heartbeat = heartbeat
        self.badge = ReadyStateBadge(label=heartbeat.name)
        self.status_label = widgets.HTML()
        options = [
            (f"{p.label}: ping every {p.interval:g} s, pong within {p.timeout:g} s", name)
            for name, p in PRESETS.items()
        ]
        if heartbeat.preset is None:
            options.append((f"Custom: {heartbeat.interval:g} s / {heartbeat.timeout:g} s", _CUSTOM))
        self.preset_picker = widgets.Dropdown(
            options=options,
            value=_CUSTOM if heartbeat.preset is None else heartbeat.preset.name,
            description="Preset",
            layout=widgets.Layout(width="460px"),
        )
        self.preset_picker.observe(self._picked, names="value")
        self.counts_label = widgets.HTML()
        self.bars = widgets.HTML()
        super().__init__(
            [
                widgets.HBox([self.badge, self.status_label]),
                self.preset_picker,
                self.counts_label,
                self.bars,
            ],
            max_beats=max_beats,
            **kwargs,
        )
        on_kernel = OnKernelThread()
        target = heartbeat.target
        self.badge.ready_state = int(target.ready_state)
        unsubscribes = [heartbeat.changed.subscribe(on_kernel(lambda _hb: self.refresh()))]
        if isinstance(target, ReconnectingWebSocket):
            unsubscribes += [
                target.changed.subscribe(on_kernel(lambda _client: self.refresh())),
                target.ready_state_changed.subscribe(
                    on_kernel(lambda state: setattr(self.badge, "ready_state", int(state)))
                ),
            ]
        else:
            self.badge.watch(target)
            unsubscribes.append(
                target.state_changed.subscribe(on_kernel(lambda _state: self.refresh()))
            )
        self._until_close(*unsubscribes)
        self.refresh()

    def _picked(self, change: Any) -> None:
        if change["new"] != _CUSTOM:
            self.heartbeat.use(change["new"])

    # --- what it shows -------------------------------------------------------------

    def status_text(self) -> str:
        """The client's state and the heartbeat's, in words."""
        target = self.heartbeat.target
        if isinstance(target, ReconnectingWebSocket):
            client = target.state.value
            if target.state.value == "reconnecting" and target.next_delay is not None:
                client += f" (next try in {target.next_delay:g} s)"
        else:
            client = target.ready_state.name.lower()
        return f"client {client} · {self.heartbeat.describe()}"

    def counts_text(self) -> str:
        """Pings, pongs, missed pongs, connections and round trips, in words."""
        hb = self.heartbeat
        machine = hb.machine
        rtts = hb.rtts_ms
        rtt = (
            f"round trip: last {rtts[-1]:.2f} ms, mean {sum(rtts) / len(rtts):.2f} ms"
            if rtts
            else "no round trip yet"
        )
        return (
            f"{machine.pings_sent} pings · {machine.pongs_received} pongs · "
            f"{machine.missed} missed · {hb.dead} closed for a missing pong · "
            f"{hb.connections} connection{'' if hb.connections == 1 else 's'} · {rtt}"
        )

    def refresh(self) -> None:
        """Draw the current state (called on every change)."""
        self.status = self.status_text()
        self.counts = self.counts_text()
        self.status_label.value = (
            f"<span style='font-family:sans-serif;margin-left:12px'>"
            f"{html.escape(self.status)}</span>"
        )
        self.counts_label.value = (
            f"<span style='font-family:monospace;font-size:12px'>{html.escape(self.counts)}</span>"
        )
        preset = self.heartbeat.preset
        wanted = _CUSTOM if preset is None else preset.name
        if self.preset_picker.value != wanted and any(
            value == wanted for _, value in self.preset_picker.options
        ):
            self.preset_picker.value = wanted
        beats = self.heartbeat.beats[-self.max_beats :]
        slowest = max((b.rtt for b in beats if b.rtt is not None), default=0.0)
        bars = "".join(_bar(b, slowest) for b in beats) or (
            "<span style='color:#718096'>no ping yet: the first goes out one interval "
            "after open</span>"
        )
        legend = (
            f"one bar per ping: its round trip (the tallest: {slowest * 1000:.2f} ms); "
            "✗: no pong in time"
            if beats
            else ""
        )
        self.bars.value = (
            "<div style='display:flex;align-items:flex-end;gap:3px;"
            f"height:{BAR_HEIGHT + 14}px;font-family:monospace;font-size:10px'>{bars}</div>"
            f"<div style='font-family:sans-serif;font-size:11px;color:#718096'>{legend}</div>"
        )

    def close(self) -> None:
        self.badge.close()
        super().close()


def _bar(beat: Beat, slowest: float) -> str:
    if beat.missed:
        return (
            f"<div title='ping #{beat.number}: no pong' style='color:#c53030;"
            f"width:12px;text-align:center'>✗</div>"
        )
    if beat.rtt is None:
        return (
            f"<div title='ping #{beat.number}: waiting for the pong' style='background:#b7791f;"
            "width:12px;height:4px'></div>"
        )
    height = max(2, round(BAR_HEIGHT * beat.rtt / slowest)) if slowest > 0 else 2
    return (
        f"<div title='ping #{beat.number}: {beat.rtt * 1000:.2f} ms' style='background:#2f855a;"
        f"width:12px;height:{height}px'></div>"
    )
