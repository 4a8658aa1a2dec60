"""Lesson 12's board: the three transports side by side, updated live."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import ipywidgets as widgets
import traitlets

from wslab.state.feed import FeedStats
from wslab.state.observable import Observers
from wslab.widgets._kernel import OnKernelThread, UnsubscribeOnClose

__all__ = ["FeedBoard"]

_COLOURS = {"CONNECTING": "#b7791f", "OPEN": "#2f855a", "CLOSING": "#c05621", "CLOSED": "#718096"}


class _Client(Protocol):
    """What the board needs of a client: a readyState it can watch."""

    @property
    def ready_state(self) -> Any: ...

    @property
    def state_changed(self) -> Observers[Any]: ...


class FeedBoard(UnsubscribeOnClose, widgets.HTML):  # type: ignore[misc]
    """One column per transport: its client's readyState, messages, last seq, latency.

    A view over a :class:`~wslab.state.feed.FeedStats` (what was received) and,
    optionally, the clients themselves (their readyState, which changes when a
    stream drops and reconnects).

    Args:
        stats: the tallies to show.
        clients: transport name → client (a ``WebSocket``, ``EventSource`` or
            ``LongPollClient``); may be given or changed later with :meth:`watch`.
        title: a caption above the table.
    """

    redraws = traitlets.Int(0, help="How many times the board was redrawn (for tests).")

    def __init__(
        self,
        stats: FeedStats,
        clients: Mapping[str, _Client] | None = None,
        title: str = "",
        **kwargs: Any,
    ) -> None:
        self.stats = stats
        self.title = title
        self.clients: dict[str, _Client] = {}
        super().__init__(**kwargs)
        self._on_kernel = OnKernelThread()
        # By transport, not handed to _until_close one by one: watch() replaces them.
        self._client_unsubscribes: dict[str, Callable[[], None]] = {}
        self._until_close(
            stats.changed.subscribe(self._on_kernel(lambda _t: self.refresh())),
            self._unwatch_all,
        )
        for name, client in (clients or {}).items():
            self.watch(name, client)
        self.refresh()

    def watch(self, transport: str, client: _Client) -> None:
        """Show ``client``'s readyState in ``transport``'s column (replacing any other)."""
        old = self._client_unsubscribes.pop(transport, None)
        if old is not None:
            old()
        self.clients[transport] = client
        self._client_unsubscribes[transport] = client.state_changed.subscribe(
            self._on_kernel(lambda _state: self.refresh())
        )
        self.refresh()

    def _unwatch_all(self) -> None:
        for unsubscribe in self._client_unsubscribes.values():
            unsubscribe()
        self._client_unsubscribes.clear()

    def refresh(self) -> None:
        cells = []
        for name in self.stats.transports:
            tally = self.stats.tally(name)
            client = self.clients.get(name)
            state = "" if client is None else _badge(client.ready_state)
            latency = tally.last_latency_ms
            wire = tally.bytes_per_message
            cells.append(
                "<td style='padding:4px 14px;vertical-align:top;border:1px solid #e2e8f0'>"
                f"<div style='font-weight:bold;font-size:14px'>{html.escape(name)}</div>"
                f"<div>{state}</div>"
                f"<div style='font-size:22px'>{tally.received}</div>"
                "<div style='color:#718096'>messages</div>"
                f"<div>last seq: {tally.seqs[-1] if tally.seqs else '-'}</div>"
                f"<div>last latency: {'-' if latency is None else f'{latency:.2f} ms'}</div>"
                f"<div>bytes/message: {'-' if wire is None else f'{wire:.0f}'}</div>"
                "</td>"
            )
        caption = (
            f"<caption style='text-align:left'><b>{html.escape(self.title)}</b></caption>"
            if self.title
            else ""
        )
        self.value = (
            "<table style='font-family:monospace;font-size:12px;border-collapse:collapse'>"
            f"{caption}<tr>{''.join(cells)}</tr></table>"
        )
        self.redraws += 1


def _badge(state: Any) -> str:
    label = getattr(state, "name", str(state))
    colour = _COLOURS.get(label, "#718096")
    return (
        f"readyState <span style='background:{colour};color:white;border-radius:4px;"
        f"padding:1px 6px'>{int(state)} {html.escape(label)}</span>"
    )
