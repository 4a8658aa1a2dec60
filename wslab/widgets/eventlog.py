"""A live table of an :class:`~wslab.core.eventlog.EventLog`: direction, time, type, size."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

import ipywidgets as widgets
import traitlets

from wslab.core.eventlog import LogEntry, clock
from wslab.state.eventlog import EventLog
from wslab.widgets._kernel import AtLeastOne, OnKernelThread, UnsubscribeOnClose

__all__ = ["MessageLog"]

_ARROWS = {"in": "⬅ in", "out": "➡ out", "-": ""}


class MessageLog(UnsubscribeOnClose, widgets.HTML):  # type: ignore[misc]
    """Shows the newest entries of an event log as a table, updated live.

    Args:
        log: the log to show (a server's ``log`` or a client's).
        kinds: show only these kinds (``"message"``, ``"connect"``, ...).
        title: a caption above the table.
    """

    max_rows = AtLeastOne(12, help="How many of the newest entries to show.")
    rows = traitlets.Int(0, help="How many entries are shown now (read-only for views).")

    def __init__(
        self,
        log: EventLog,
        kinds: Iterable[str] | None = None,
        title: str = "",
        **kwargs: Any,
    ) -> None:
        # Not `self.log`: every widget already has a `log` trait (a logging.Logger).
        self.event_log = log
        self.kinds = None if kinds is None else set(kinds)
        self.title = title
        # After the attributes: MessageLog(log, max_rows=5) refreshes during init.
        super().__init__(**kwargs)
        self._on_kernel = OnKernelThread()
        self._until_close(log.subscribe(self._on_kernel(lambda _entry: self.refresh())))
        self.refresh()

    @traitlets.observe("max_rows")
    def _changed(self, change: Any) -> None:
        self.refresh()

    def shown(self) -> list[LogEntry]:
        """The entries the table shows now, oldest first."""
        entries = self.event_log.entries(self.kinds)
        return entries[-self.max_rows :]

    def refresh(self) -> None:
        entries = self.shown()
        self.rows = len(entries)
        body = "".join(_row(entry) for entry in entries) or (
            '<tr><td colspan="5" style="color:#718096">nothing yet</td></tr>'
        )
        caption = (
            f"<caption style='text-align:left'><b>{html.escape(self.title)}</b></caption>"
            if self.title
            else ""
        )
        self.value = (
            "<table style='font-family:monospace;font-size:12px;border-collapse:collapse'>"
            f"{caption}<tr style='text-align:left'><th>time</th><th>dir</th><th>what</th>"
            "<th>frame</th><th>size</th></tr>"
            f"{body}</table>"
        )


def _row(entry: LogEntry) -> str:
    stamp = clock(entry.time)
    frame = ("binary" if entry.binary else "text") if entry.kind == "message" else entry.kind
    size = f"{entry.size} B" if entry.kind == "message" else ""
    peer = f"{html.escape(entry.peer)} " if entry.peer else ""
    return (
        f"<tr><td style='padding-right:8px'>{stamp}</td><td style='padding-right:8px'>"
        f"{_ARROWS[entry.direction]}</td><td style='padding-right:8px'>{peer}"
        f"{html.escape(entry.text)}</td><td style='padding-right:8px'>{frame}</td>"
        f"<td>{size}</td></tr>"
    )
