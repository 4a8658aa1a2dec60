"""Lesson 5's views: a reconnecting client's backoff timeline, and fault buttons.

:class:`BackoffTimeline` shows a :class:`~wslab.clients.reconnect.ReconnectingWebSocket`
live: its readyState badge, its state ("Reconnecting… next try in 4 s"),
and one row per attempt with the delay waited (a bar, in nominal seconds)
and how it ended; the retries still ahead are read from the same
:func:`~wslab.core.reconnect.backoff` schedule the client uses, and drawn faint.
:class:`FaultButtons` crashes, restarts, refuses and closes the ``flaky``
server from buttons.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sized
from dataclasses import dataclass
from typing import Any, Protocol

import ipywidgets as widgets
import traitlets

from wslab.clients.reconnect import ReconnectingWebSocket
from wslab.core.eventlog import LogEntry
from wslab.core.reconnect import ClientState
from wslab.state.eventlog import EventLog
from wslab.state.observable import Observers
from wslab.widgets._kernel import AtLeastOne, OnKernelThread, UnsubscribeOnClose
from wslab.widgets.websocket import ReadyStateBadge

__all__ = ["BackoffTimeline", "FaultButtons", "TimelineRow"]

#: Pixels per nominal second of delay in the bars.
PIXELS_PER_SECOND = 8
_OUTCOME_COLOURS = {
    "connecting": "#b7791f",
    "open": "#2f855a",
    "closed": "#2b6cb0",
    "refused": "#c53030",
    "planned": "#cbd5e0",
}


@dataclass(frozen=True)
class TimelineRow:
    """One row of the timeline: an attempt made, or a retry still planned."""

    number: int | None
    retry: int
    delay: float
    outcome: str
    text: str
    jittered: bool = False


class BackoffTimeline(UnsubscribeOnClose, widgets.VBox):  # type: ignore[misc]
    """A live view of a reconnecting client: badge, state, and one row per attempt.

    Args:
        client: the client to show.
        max_rows: how many of the newest attempts to show.
    """

    max_rows = AtLeastOne(12, help="How many of the newest attempts to show.")
    status = traitlets.Unicode("", help="The client's state in words, as shown.")

    def __init__(self, client: ReconnectingWebSocket, max_rows: int = 12, **kwargs: Any) -> None:
        self.client = client
        self.badge = ReadyStateBadge(label=client.name)
        self.status_label = widgets.HTML()
        self.table = widgets.HTML()
        self.refresh_button = widgets.Button(
            description="Refresh",
            tooltip="Start again with a fresh retry counter, as reloading the page would",
            button_style="info",
            layout=widgets.Layout(display="none"),
        )
        self.refresh_button.on_click(lambda _button: self.client.refresh())
        super().__init__(
            [widgets.HBox([self.badge, self.status_label, self.refresh_button]), self.table],
            max_rows=max_rows,
            **kwargs,
        )
        on_kernel = OnKernelThread()
        self.badge.ready_state = int(client.ready_state)
        self._until_close(
            client.changed.subscribe(on_kernel(lambda _client: self.refresh())),
            client.ready_state_changed.subscribe(
                on_kernel(lambda state: setattr(self.badge, "ready_state", int(state)))
            ),
        )
        self.refresh()

    # --- what it shows -----------------------------------------------------------

    def status_text(self) -> str:
        """The client's state in words: the "Reconnecting…" UI of golden rule 5."""
        client = self.client
        state = client.state
        if state == ClientState.CONNECTING:
            return "🔌 Connecting…"
        if state == ClientState.OPEN:
            return "🟢 Open"
        if state == ClientState.RECONNECTING:
            delay = client.next_delay or 0.0
            return (
                f"🟠 Reconnecting… next try in {_seconds(delay)} "
                f"(retry {client.retries} of {client.max_retries})"
            )
        if state == ClientState.GAVE_UP:
            return f"🔴 Gave up after {client.retries} retries: please refresh"
        if client.closed_by_user:
            return "⚪ Closed by close(): no more retries"
        code = client.last_close.code if client.last_close is not None else None
        return "⚪ Closed" + (f" ({code}): not reconnecting" if code is not None else "")

    def rows(self) -> list[TimelineRow]:
        """The rows shown: the newest attempts, then the retries still planned."""
        client = self.client
        jittered = client.backoff_options.get("jitter") is not None
        rows = [
            TimelineRow(a.number, a.retry, a.delay, a.outcome, a.describe(), jittered)
            for a in client.attempts[-self.max_rows :]
        ]
        waiting = client.state == ClientState.RECONNECTING
        if waiting or client.state == ClientState.CONNECTING:
            # The retries ahead, from the same schedule the client reads its delays from.
            for retry, delay in enumerate(client.schedule(), start=1):
                if waiting and retry == client.retries:
                    text = f"next: in {_seconds(client.next_delay or 0.0)}"
                    rows.append(TimelineRow(None, retry, delay, "planned", text, jittered))
                elif retry > client.retries:
                    rows.append(TimelineRow(None, retry, delay, "planned", "if needed", jittered))
        return rows

    def refresh(self) -> None:
        """Draw the current state (called on every change of the client)."""
        self.status = self.status_text()
        self.status_label.value = (
            "<span style='font-family:sans-serif;margin-left:12px'>"
            f"{html.escape(self.status)}</span>"
        )
        gave_up = self.client.state == ClientState.GAVE_UP
        self.refresh_button.layout.display = "" if gave_up else "none"
        body = "".join(_row(row) for row in self.rows())
        self.table.value = (
            "<table style='font-family:monospace;font-size:12px;border-collapse:collapse'>"
            "<tr style='text-align:left'><th>attempt</th><th>retry</th><th>waited</th>"
            f"<th style='min-width:250px'></th><th>outcome</th></tr>{body}</table>"
        )

    def close(self) -> None:
        self.badge.close()
        super().close()


def _seconds(value: float) -> str:
    return f"{value:.3g} s"


def _row(row: TimelineRow) -> str:
    colour = _OUTCOME_COLOURS.get(row.outcome, "#718096")
    width = max(2, round(row.delay * PIXELS_PER_SECOND)) if row.delay > 0 else 0
    bar = f"<div style='background:{colour};height:10px;width:{width}px'></div>" if width else ""
    planned = row.outcome == "planned"
    waited = ("≤ " if planned and row.jittered else "") + _seconds(row.delay)
    style = "color:#a0aec0" if planned else ""
    number = "" if row.number is None else f"#{row.number}"
    retry = "-" if row.retry == 0 else str(row.retry)
    cell = "<td style='padding-right:10px'>"
    return (
        f"<tr style='{style}'>{cell}{number}</td>{cell}{retry}</td>{cell}{waited}</td>"
        f"{cell}{bar}</td><td style='color:{colour}'>{html.escape(row.text)}</td></tr>"
    )


class _FaultyServer(Protocol):
    """What the buttons need of a server: its faults, and what to show of it.

    :class:`~wslab.servers.flaky.FlakyServer` is one; described here, not
    imported, so the view does not depend on the server's module.
    """

    @property
    def status(self) -> str: ...

    @property
    def status_changed(self) -> Observers[Any]: ...

    @property
    def peers(self) -> Sized: ...

    @property
    def log(self) -> EventLog: ...

    def crash(self) -> object: ...

    def restart(self) -> object: ...

    def refuse(self) -> object: ...

    def accept(self) -> object: ...

    def close_clients(self, code: int, reason: str) -> object: ...


class FaultButtons(UnsubscribeOnClose, widgets.VBox):  # type: ignore[misc]
    """Buttons that really hurt a ``flaky`` server: crash, restart, refuse, close.

    Each button calls the server's own method
    (:meth:`~wslab.servers.flaky.FlakyServer.crash`, ...), as a cell would.
    What was clicked is kept in :attr:`done`.

    Args:
        app: the server (``serve("flaky").app``).
    """

    def __init__(self, app: _FaultyServer, **kwargs: Any) -> None:
        self.app = app
        self.done: list[str] = []
        self.status_label = widgets.HTML()
        actions: list[tuple[str, str, Callable[[], object]]] = [
            ("💥 Crash", "danger", app.crash),
            ("🔄 Restart", "success", app.restart),
            ("⛔ Refuse (503)", "warning", app.refuse),
            ("✅ Accept", "", app.accept),
            ("👋 Close 1000", "", lambda: app.close_clients(1000, "normal closure")),
            ("🚪 Close 1001", "", lambda: app.close_clients(1001, "going away")),
        ]
        self.buttons: dict[str, widgets.Button] = {}
        for label, style, action in actions:
            button = widgets.Button(description=label, button_style=style)
            button.on_click(self._clicked(label, action))
            self.buttons[label] = button
        super().__init__([widgets.HBox(list(self.buttons.values())), self.status_label], **kwargs)
        on_kernel = OnKernelThread()
        self._until_close(
            app.status_changed.subscribe(on_kernel(lambda _status: self.refresh())),
            app.log.subscribe(on_kernel(self._logged)),
        )
        self.refresh()

    def _logged(self, entry: LogEntry) -> None:
        # Connections come and go: update the count (not on every message).
        if entry.kind in ("connect", "close"):
            self.refresh()

    def _clicked(self, label: str, action: Callable[[], object]) -> Callable[[Any], None]:
        def clicked(_button: Any) -> None:
            try:
                action()
            except Exception as exc:  # a stopped server, say: show it, do not raise
                self.refresh(f"{label}: {type(exc).__name__}: {exc}")
                return
            self.done.append(label)
            self.refresh()

        return clicked

    def click(self, label: str) -> None:
        """Press a button by its label (what a student's click does)."""
        self.buttons[label].click()

    def refresh(self, problem: str = "") -> None:
        """Show the server's state and how many clients are connected."""
        status = self.app.status
        colour = {"up": "#2f855a", "refusing": "#b7791f", "down": "#c53030"}[status]
        count = len(self.app.peers)
        extra = f" · <span style='color:#c53030'>{html.escape(problem)}</span>" if problem else ""
        self.status_label.value = (
            f"<span style='font-family:sans-serif'>server <b style='color:{colour}'>{status}</b>"
            f" · {count} connection{'' if count == 1 else 's'}{extra}</span>"
        )
