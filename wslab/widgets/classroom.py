"""The instructor's classroom dashboard: the URL to show, who is connected, rooms, rate."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import traitlets

from wslab.clients.classroom import SNAPSHOT_INTERVAL, ClassroomMonitor, classroom_urls
from wslab.core.classroom import (
    ClassroomSnapshot,
    StudentRow,
    exposure_warning,
    is_exposed,
    sparkline,
)
from wslab.runtime.runner import RunningServer
from wslab.widgets._kernel import OnKernelThread, UnsubscribeOnClose

__all__ = ["ClassroomDashboard"]

_MUTED = "color:#718096"
_CELL = "padding:0 12px 0 0;white-space:nowrap"


class ClassroomDashboard(UnsubscribeOnClose, widgets.HTML):  # type: ignore[misc]
    """A live dashboard of a lesson server a class connects to.

    Shows the URL(s) to give students, a warning when the server is exposed
    on the network, counts, a table of students (name, address, rooms,
    messages sent), the rooms and their members, and the message rate with a
    sparkline. Its root element has the CSS class ``wslab-classroom``.

    Args:
        server: the running server (``serve("rooms", host="0.0.0.0")``).
        interval: real seconds between redraws at most (0.25: four a second,
            however many students type).
        max_rows: how many students the table lists (the counts cover all).

    Attributes:
        monitor: the :class:`~wslab.clients.classroom.ClassroomMonitor` it draws.
        shown: the snapshot drawn now.
        urls: the URL(s) in the header.
        warning: the exposure warning, ``""`` on loopback.

    A view: the monitor takes snapshots on the server's thread; they are drawn
    on the kernel's thread.
    """

    # None until made: ipywidgets calls close() from __del__, even after a failed __init__.
    monitor: ClassroomMonitor | None = None

    students_shown = traitlets.Int(0, help="How many students are connected now (read-only).")
    rooms_shown = traitlets.Int(0, help="How many rooms exist now (read-only).")

    def __init__(
        self,
        server: RunningServer,
        *,
        interval: float = SNAPSHOT_INTERVAL,
        max_rows: int = 200,
        **kwargs: Any,
    ) -> None:
        self.server = server
        self.max_rows = max_rows
        self.urls = classroom_urls(server)
        self.exposed = is_exposed(server.host)
        # The URLs once: each lookup asks the system for its network interfaces.
        self.warning = exposure_warning(
            server.host, server.port, self.urls, stop=f'stop_server("{server.name}")'
        )
        self.shown = ClassroomSnapshot()
        super().__init__(**kwargs)
        self.add_class("wslab-classroom")
        self.refresh()
        monitor = ClassroomMonitor(server, interval=interval)
        self.monitor = monitor
        self._until_close(monitor.changed.subscribe(OnKernelThread()(self._show)))
        self._show(monitor.snapshot)

    def update(self) -> ClassroomSnapshot:
        """Take a snapshot now and draw it; return it (for a cell to check)."""
        if self.monitor is None:
            return self.shown
        snapshot = self.monitor.refresh()
        self._show(snapshot)
        return snapshot

    def _show(self, snapshot: ClassroomSnapshot) -> None:
        self.shown = snapshot
        self.refresh()

    def refresh(self) -> None:
        """Draw :attr:`shown`."""
        snap = self.shown
        self.students_shown = len(snap.students)
        self.rooms_shown = len(snap.rooms)
        self.value = (
            "<div class='wslab-classroom-body' style='font-family:sans-serif;font-size:13px'>"
            f"{self._header()}{_counts(snap)}"
            "<div style='display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start'>"
            f"{_students(snap, self.max_rows)}{_rooms(snap)}</div></div>"
        )

    def _header(self) -> str:
        urls = "".join(
            "<div><code class='wslab-classroom-url' style='font-size:22px;font-weight:bold;"
            f"user-select:all;background:#f7fafc;padding:2px 6px'>{html.escape(url)}</code></div>"
            for url in self.urls
        )
        if self.exposed:
            note = (
                "<div class='wslab-classroom-warning' style='background:#fffaf0;color:#9c4221;"
                "border-left:4px solid #dd6b20;padding:4px 8px;margin:6px 0'>⚠ "
                f"{html.escape(self.warning)}</div>"
            )
            lead = "Students connect to:"
        else:
            note = (
                f"<div style='{_MUTED};margin:4px 0'>Loopback only: students on other "
                "machines cannot reach it. For a class, serve with "
                '<code>host="0.0.0.0"</code>.</div>'
            )
            lead = "Listening on this machine only:"
        return f"<div style='{_MUTED}'>{lead}</div>{urls}{note}"

    def close(self) -> None:
        """Stop following the server (it keeps running) and close the view."""
        if self.monitor is not None:
            self.monitor.stop()
            self.monitor = None
        super().close()


def _counts(snap: ClassroomSnapshot) -> str:
    line = sparkline(snap.history)
    return (
        "<div class='wslab-classroom-counts' style='margin:8px 0;font-size:15px'>"
        f"<b>{len(snap.students)}</b> connected · <b>{len(snap.rooms)}</b> rooms · "
        f"<b>{snap.rate:.1f}</b> messages/s "
        f"<span style='font-family:monospace;color:#3182ce' title='messages/s, last minute'>"
        f"{line}</span> · {snap.total} messages in all"
        f"<span style='{_MUTED}'> · {snap.joined} joined, {snap.left} left</span></div>"
    )


def _student_row(row: StudentRow) -> str:
    rooms = ", ".join(row.rooms) or "—"
    return (
        f"<tr><td style='{_CELL}'><b>{html.escape(row.name)}</b></td>"
        f"<td style='{_CELL};font-family:monospace'>{html.escape(row.address)}</td>"
        f"<td style='{_CELL}'>{html.escape(rooms)}</td>"
        f"<td style='text-align:right'>{row.sent}</td></tr>"
    )


def _students(snap: ClassroomSnapshot, max_rows: int) -> str:
    rows = "".join(_student_row(row) for row in snap.students[:max_rows]) or (
        f"<tr><td colspan='4' style='{_MUTED}'>nobody yet: show them the URL</td></tr>"
    )
    more = len(snap.students) - max_rows
    extra = f"<div style='{_MUTED}'>and {more} more</div>" if more > 0 else ""
    return (
        "<div class='wslab-classroom-students' style='max-height:320px;overflow-y:auto'>"
        "<table style='border-collapse:collapse'><tr style='text-align:left'>"
        "<th style='padding-right:12px'>student</th><th style='padding-right:12px'>address</th>"
        "<th style='padding-right:12px'>rooms</th><th>sent</th></tr>"
        f"{rows}</table>{extra}</div>"
    )


def _rooms(snap: ClassroomSnapshot) -> str:
    rows = "".join(
        f"<tr><td style='padding-right:12px;font-family:monospace;vertical-align:top'>"
        f"{html.escape(room)} ({len(members)})</td><td>"
        + " ".join(
            "<span style='background:#ebf4ff;border-radius:4px;padding:0 5px;margin:1px;"
            f"display:inline-block;white-space:nowrap'>{html.escape(name)}</span>"
            for name in members
        )
        + "</td></tr>"
        for room, members in snap.rooms
    ) or (f"<tr><td colspan='2' style='{_MUTED}'>no rooms yet</td></tr>")
    return (
        "<div class='wslab-classroom-rooms' style='max-width:520px'>"
        "<table style='border-collapse:collapse'><tr style='text-align:left'>"
        f"<th style='padding-right:12px'>room</th><th>members</th></tr>{rows}</table></div>"
    )
