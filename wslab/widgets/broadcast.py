"""A live board of clients: each one's readyState and what it has received."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import traitlets

from wslab.clients.websocket import WebSocket
from wslab.core.eventlog import describe_payload
from wslab.core.events import Blob, Event, MessageEvent, ReadyState
from wslab.widgets._kernel import AtLeastOne, OnKernelThread, UnsubscribeOnClose

__all__ = ["ClientBoard", "ClientRow", "describe"]

_COLOURS = {0: "#b7791f", 1: "#2f855a", 2: "#c05621", 3: "#718096"}


@dataclass(frozen=True)
class ClientRow:
    """One client as the board shows it.

    Attributes:
        name: the client's name (``WebSocket(url, name=...)``).
        state: its readyState now.
        received: every message it received since it was added, oldest first,
            as :func:`describe` puts it.
    """

    name: str
    state: ReadyState
    received: tuple[str, ...]


def describe(data: str | bytes | Blob) -> str:
    """One received message as the board shows it.

    The ``text`` of a ``{"type": "broadcast", ...}``, ``"error: <code>"`` for
    a ``{"type": "error", ...}``, a short description of binary data, and any
    other message as it is.
    """
    if isinstance(data, Blob):
        data = data.data
    if isinstance(data, bytes):
        return describe_payload(data)[0]
    try:
        obj = json.loads(data)
    except ValueError:
        return data
    if not isinstance(obj, dict):
        return data
    if obj.get("type") == "broadcast" and isinstance(obj.get("text"), str):
        return str(obj["text"])
    if obj.get("type") == "error":
        return f"error: {obj.get('error')}"
    return data


class ClientBoard(UnsubscribeOnClose, widgets.HTML):  # type: ignore[misc]
    """Shows several clients side by side, updated live.

    A view: it listens to each client's ``message`` events and readyState
    changes, and redraws on each. It records what a client receives from the
    moment it is added, so add a client right after making it. Closing the
    board stops following the clients; they are not closed.

    Args:
        clients: the clients to show, in order.
        title: a caption above the table.
        last: how many of each client's newest messages to show.
    """

    last = AtLeastOne(3, help="How many of each client's newest messages to show.")

    def __init__(
        self, clients: Iterable[WebSocket] = (), title: str = "", last: int = 3, **kwargs: Any
    ) -> None:
        self.clients: list[WebSocket] = []
        self.title = title
        self._received: dict[WebSocket, list[str]] = {}
        super().__init__(last=last, **kwargs)
        self._on_kernel = OnKernelThread()
        for ws in clients:
            self.add(ws)
        self.refresh()

    @traitlets.observe("last")
    def _changed(self, change: Any) -> None:
        self.refresh()

    def add(self, ws: WebSocket) -> None:
        """Show ``ws`` too; a client already on the board is not added twice."""
        if ws in self._received:
            return
        self.clients.append(ws)
        received = self._received[ws] = []

        # A listener rather than the client's log: the log keeps only an
        # 80-character preview of each message, and the board shows the text.
        def on_message(event: Event) -> None:
            if isinstance(event, MessageEvent):
                received.append(describe(event.data))
                self.refresh()

        def stop_listening() -> None:
            ws.remove_event_listener("message", on_message)

        ws.add_event_listener("message", on_message)
        redraw = self._on_kernel(lambda _state: self.refresh())
        self._until_close(ws.state_changed.subscribe(redraw), stop_listening)
        self.refresh()

    def rows(self) -> list[ClientRow]:
        """What the board shows, one row per client: for cells to check."""
        return [
            ClientRow(ws.name, ws.ready_state, tuple(self._received[ws])) for ws in self.clients
        ]

    def received(self, name: str) -> tuple[str, ...]:
        """What the client called ``name`` has received (see :class:`ClientRow`).

        Raises:
            KeyError: no client on the board has that name.
        """
        for row in self.rows():
            if row.name == name:
                return row.received
        raise KeyError(f"no client called {name!r} on the board")

    def refresh(self) -> None:
        body = "".join(_row(row, self.last) for row in self.rows()) or (
            '<tr><td colspan="3" style="color:#718096">no clients yet</td></tr>'
        )
        caption = (
            f"<caption style='text-align:left'><b>{html.escape(self.title)}</b></caption>"
            if self.title
            else ""
        )
        self.value = (
            "<table style='font-family:monospace;font-size:12px;border-collapse:collapse'>"
            f"{caption}<tr style='text-align:left'><th>client</th><th>readyState</th>"
            f"<th>received (newest last)</th></tr>{body}</table>"
        )


def _row(row: ClientRow, last: int) -> str:
    state = row.state
    badge = (
        f"<span style='background:{_COLOURS[state]};color:white;border-radius:4px;"
        f"padding:1px 6px'>{state.value} {state.name}</span>"
    )
    shown = row.received[-last:]
    more = len(row.received) - len(shown)
    items = " · ".join(html.escape(text) for text in shown) or "<i>nothing yet</i>"
    prefix = f"<span style='color:#718096'>({more} more) </span>" if more else ""
    return (
        f"<tr><td style='padding-right:10px'><b>{html.escape(row.name)}</b></td>"
        f"<td style='padding-right:10px'>{badge}</td>"
        f"<td>{len(row.received)}: {prefix}{items}</td></tr>"
    )
