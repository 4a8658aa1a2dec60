"""The lesson 7 rooms view: every room and its members, and who just came or went."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import traitlets

from wslab.core.rooms import RoomEvent
from wslab.state.rooms import Rooms
from wslab.widgets._kernel import OnKernelThread, UnsubscribeOnClose

__all__ = ["RoomsView"]

#: How many activity lines are kept (the view shows the newest ``max_events``).
KEEP_EVENTS = 200


class RoomsView(UnsubscribeOnClose, widgets.HTML):  # type: ignore[misc]
    """Shows a :class:`~wslab.state.rooms.Rooms` registry live: rooms → members.

    Args:
        rooms: the registry to show (a server's ``app.rooms``, or your own).
        label: how to show a member; ``str`` by default. For the ``rooms``
            server pass ``server.app.name_of``, which turns a connection into
            its name.
        title: a caption above the table.

    Attributes:
        shown: the rooms and member labels shown now.
        activity: what happened, oldest first (``"Ada joined random"``, ...).

    The labels are taken on the thread that changed the registry, at the
    moment of the change, then shown on the kernel's thread: a view never
    reads a server's state while the server is changing it.
    """

    max_events = traitlets.Int(5, help="How many of the newest activity lines to show.")
    rooms_shown = traitlets.Int(0, help="How many rooms are shown now (read-only for views).")

    def __init__(
        self,
        rooms: Rooms[Any],
        label: Callable[[Any], str] = str,
        title: str = "",
        **kwargs: Any,
    ) -> None:
        self.registry = rooms
        self.label = label
        self.title = title
        self.shown: dict[str, list[str]] = {}
        self.activity: list[str] = []
        super().__init__(**kwargs)
        on_kernel = OnKernelThread()
        self._until_close(rooms.changed.subscribe(self._changed(on_kernel(self._show))))
        self._show(self._labelled(), None)

    def _labelled(self) -> dict[str, list[str]]:
        return {
            room: [self.label(m) for m in members]
            for room, members in self.registry.snapshot().items()
        }

    def _changed(
        self, show: Callable[[dict[str, list[str]], str | None], None]
    ) -> Callable[[RoomEvent[Any]], None]:
        def on_event(event: RoomEvent[Any]) -> None:
            # On the changing thread: describe the change while the member's
            # name is still known (a closing connection is forgotten next).
            verb = "joined" if event.kind == "join" else "left"
            note = ""
            if event.kind == "join" and event.members == 1:
                note = " (new room)"
            elif event.kind == "leave" and event.members == 0:
                note = " (room gone)"
            show(self._labelled(), f"{self.label(event.member)} {verb} {event.room}{note}")

        return on_event

    def _show(self, snapshot: dict[str, list[str]], line: str | None) -> None:
        self.shown = snapshot
        if line is not None:
            self.activity.append(line)
            del self.activity[:-KEEP_EVENTS]
        self.refresh()

    @traitlets.validate("max_events")
    def _valid_events(self, proposal: Any) -> int:
        if proposal["value"] < 0:
            raise traitlets.TraitError("max_events must be 0 or more")
        return int(proposal["value"])

    @traitlets.observe("max_events")
    def _max_changed(self, change: Any) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Draw what :attr:`shown` and :attr:`activity` hold."""
        self.rooms_shown = len(self.shown)
        rows = "".join(_row(room, members) for room, members in self.shown.items()) or (
            "<tr><td colspan='2' style='color:#718096'>no rooms: nobody has joined one</td></tr>"
        )
        recent = self.activity[-self.max_events :] if self.max_events else []
        events = "".join(f"<li>{html.escape(line)}</li>" for line in recent)
        title = f"<div><b>{html.escape(self.title)}</b></div>" if self.title else ""
        recent_block = (
            f"<div style='color:#4a5568;margin-top:6px'>recently:</div>"
            f"<ul style='color:#4a5568;margin:0'>{events}</ul>"
            if events
            else ""
        )
        self.value = (
            f"<div style='font-family:sans-serif;font-size:13px'>{title}"
            "<table style='border-collapse:collapse;min-width:320px'>"
            "<tr style='text-align:left'><th style='padding-right:12px'>room</th>"
            f"<th>members</th></tr>{rows}</table>{recent_block}</div>"
        )


def _row(room: str, members: list[str]) -> str:
    pills = " ".join(
        "<span style='background:#ebf4ff;border-radius:4px;padding:0 5px'>"
        f"{html.escape(member)}</span>"
        for member in members
    )
    return (
        f"<tr><td style='padding-right:12px;font-family:monospace'>{html.escape(room)} "
        f"({len(members)})</td><td>{pills}</td></tr>"
    )
