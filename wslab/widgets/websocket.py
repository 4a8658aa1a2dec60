"""A live badge for ``ws.readyState``: CONNECTING, OPEN, CLOSING, CLOSED."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import traitlets

from wslab.clients.websocket import WebSocket
from wslab.core.events import ReadyState
from wslab.widgets._kernel import OnKernelThread, UnsubscribeOnClose

__all__ = ["ReadyStateBadge"]

_COLOURS = {0: "#b7791f", 1: "#2f855a", 2: "#c05621", 3: "#718096"}


class ReadyStateBadge(UnsubscribeOnClose, widgets.HTML):  # type: ignore[misc]
    """Shows a client's ``readyState`` as a coloured badge, updated live.

    ``states_seen`` keeps every state shown, in order, so a notebook can check
    the sequence (for example CONNECTING → OPEN → CLOSING → CLOSED).
    """

    ready_state = traitlets.Int(0, help="The readyState shown: 0-3.")
    label = traitlets.Unicode("", help="Who the badge is for, shown before the state.")

    def __init__(self, ws: WebSocket | None = None, label: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.states_seen: list[ReadyState] = []
        self._on_kernel = OnKernelThread()
        self._unsubscribe: Callable[[], None] | None = None
        # Closing the badge stops following its client (else the client keeps
        # a closed view alive and calls it on every state change).
        self._until_close(self._unwatch)
        self.label = label
        self._render()
        if ws is not None:
            self.watch(ws)

    @traitlets.validate("ready_state")
    def _valid_state(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value not in (0, 1, 2, 3):
            raise traitlets.TraitError(f"readyState is 0-3, not {value}")
        return value

    @traitlets.observe("ready_state", "label")
    def _changed(self, change: Any) -> None:
        self._render()

    def _render(self) -> None:
        state = ReadyState(self.ready_state)
        if not self.states_seen or self.states_seen[-1] != state:
            self.states_seen.append(state)
        colour = _COLOURS[state]
        label = f"{html.escape(self.label)} " if self.label else ""
        self.value = (
            f'<span style="font-family:monospace">{label}readyState '
            f'<span style="background:{colour};color:white;border-radius:4px;padding:1px 6px">'
            f"{state.value} {state.name}</span></span>"
        )

    def _unwatch(self) -> None:
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()

    def watch(self, ws: WebSocket) -> None:
        """Follow ``ws`` (replacing any client watched before)."""
        self._unwatch()
        self.states_seen = []
        self.ready_state = int(ws.ready_state)
        self._render()
        self._unsubscribe = ws.state_changed.subscribe(
            self._on_kernel(lambda state: setattr(self, "ready_state", int(state)))
        )
