"""What happens on the wire: a live table of the frames crossing a wiretap.

:class:`WireInspector` reads a :class:`~wslab.network.wire.Wiretap`'s recording,
decodes it with :class:`~wslab.core.wire.WireDecoder` (websockets' own parsers), and
shows the HTTP upgrade (with the ``Sec-WebSocket-Accept`` computation, RFC 6455
§4.2.2) and every frame: direction, opcode, FIN, MASK, length, the first bytes.
"""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as widgets
import traitlets

from wslab.core.eventlog import clock
from wslab.core.wire import (
    Direction,
    FrameRecord,
    HandshakeRecord,
    WireDecoder,
    WireNote,
    WireRecord,
)
from wslab.network.wire import Chunk, Wiretap
from wslab.widgets._kernel import AtLeastOne, OnKernelThread, UnsubscribeOnClose

__all__ = ["WireInspector"]

_ARROWS = {"up": "client → server", "down": "server → client"}
_CELL = "padding:1px 8px 1px 0;vertical-align:top"
_MUTED = "color:#718096"
# Each direction its own tint, so the conversation reads at a glance.
_TINT = {"up": "#ebf8ff", "down": "#f0fff4"}


class WireInspector(UnsubscribeOnClose, widgets.VBox):  # type: ignore[misc]
    """The handshake and the frames a wiretap saw, updated live as they cross.

    Args:
        tap: the tap to read (``start_wiretap(server.port)``).
        max_rows: how many of the newest frames the table shows.
        connection: show one connection only (0: all of them).
        title: a caption above the table.

    Decoding is done from the tap's recording, on demand: a chunk arriving
    (on the tap's thread) only asks the kernel's thread to refresh the view,
    and :meth:`frames` / :meth:`handshake` decode whatever is new first, so
    an assertion right after an ``await`` sees every byte recorded so far.
    Thread-safe: the decoder is used under a lock.
    """

    max_rows = AtLeastOne(20, help="How many of the newest frames to show.")
    connection = traitlets.Int(0, help="The connection to show; 0 shows all.")

    def __init__(
        self,
        tap: Wiretap,
        *,
        max_rows: int = 20,
        connection: int = 0,
        title: str = "",
        **kwargs: Any,
    ) -> None:
        self.tap = tap
        self.title = title
        self._lock = threading.Lock()
        # Its own lock: the tap's thread must never wait while the kernel decodes.
        self._pending_lock = threading.Lock()
        self._decoder = WireDecoder()
        self._fed = 0
        self._last: Chunk | None = None
        self._pending = False
        self.picker = widgets.Dropdown(
            description="connection", options=[("all", 0)], value=0, layout={"width": "220px"}
        )
        self.table = widgets.HTML()
        super().__init__(children=[self.picker, self.table], **kwargs)
        self.add_class("wslab-wire")
        self.max_rows = max_rows
        self.connection = connection
        self._syncing = False
        self.picker.observe(self._picked, "value")
        self._on_kernel = OnKernelThread()
        self._until_close(tap.observers.subscribe(self._chunk_arrived))
        self.refresh()

    @traitlets.validate("connection")
    def _valid_connection(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value < 0:
            raise traitlets.TraitError("connection must be 0 (all) or a connection's number")
        return value

    @traitlets.observe("max_rows", "connection")
    def _changed(self, change: Any) -> None:
        if hasattr(self, "_on_kernel"):
            self.refresh()

    def _picked(self, change: Any) -> None:
        if not self._syncing:
            self.connection = change["new"]

    # --- reading -----------------------------------------------------------------

    def records(self) -> list[WireRecord]:
        """Every record decoded so far (handshakes, frames, notes), in order."""
        with self._lock:
            self._pull()
            return list(self._decoder.records)

    def frames(
        self, connection: int | None = None, direction: Direction | None = None
    ) -> list[FrameRecord]:
        """The frames seen so far, in order, optionally of one connection or direction."""
        with self._lock:
            self._pull()
            return self._decoder.frames(connection, direction)

    def handshakes(self) -> list[HandshakeRecord]:
        """Every connection's handshake seen so far."""
        with self._lock:
            self._pull()
            return self._decoder.handshakes()

    def handshake(self, connection: int | None = None) -> HandshakeRecord | None:
        """The handshake of ``connection`` (default: the newest one), or None yet."""
        found = [h for h in self.handshakes() if connection is None or h.connection == connection]
        return found[-1] if found else None

    def notes(self, connection: int | None = None) -> list[WireNote]:
        """What could not be decoded: TLS, parse errors, refused upgrades."""
        with self._lock:
            self._pull()
            return [n for n in self._decoder.notes() if connection in (None, n.connection)]

    def _pull(self) -> None:
        """Decode the chunks recorded since the last call (under the lock)."""
        chunks = self.tap.chunks()
        if self._fed and (len(chunks) < self._fed or chunks[self._fed - 1] is not self._last):
            # The tap was cleared: start again from what it holds now.
            self._decoder = WireDecoder()
            self._fed = 0
        for chunk in chunks[self._fed :]:
            self._decoder.feed(chunk.connection, chunk.direction, chunk.data, chunk.time)
        if chunks:
            self._fed, self._last = len(chunks), chunks[-1]

    # --- the view ----------------------------------------------------------------

    def _chunk_arrived(self, _chunk: Chunk) -> None:
        # On the tap's thread: ask the kernel's thread for one refresh, not one
        # per chunk (a file upload is hundreds of chunks).
        with self._pending_lock:
            if self._pending:
                return
            self._pending = True
        self._on_kernel(self._refresh_pending)()

    def _refresh_pending(self) -> None:
        with self._pending_lock:
            self._pending = False
        self.refresh()

    def refresh(self) -> None:
        """Decode what is new and redraw (on the kernel's thread)."""
        with self._lock:
            self._pull()
            decoder = self._decoder
            connections = decoder.connections
            records = list(decoder.records)
        options = [("all", 0), *((f"#{n}", n) for n in connections)]
        if self.connection and self.connection not in connections:
            options.append((f"#{self.connection}", self.connection))
        # Setting a Dropdown's options resets its value: put ours back, quietly.
        self._syncing = True
        try:
            if list(self.picker.options) != options:
                self.picker.options = options
            if self.picker.value != self.connection:
                self.picker.value = self.connection
        finally:
            self._syncing = False
        self.table.value = render(
            records, connection=self.connection, max_rows=self.max_rows, title=self.title
        )


# --- HTML (everything escaped) ------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def render(
    records: list[WireRecord], *, connection: int = 0, max_rows: int = 20, title: str = ""
) -> str:
    """The inspector's HTML: the handshake panel, the notes, the newest frames.

    Args:
        records: what a :class:`~wslab.core.wire.WireDecoder` decoded.
        connection: show one connection only (0: all).
        max_rows: how many of the newest frames to show.
        title: a caption.

    Returns:
        An HTML fragment; every value from the wire is escaped.
    """
    shown = [r for r in records if not connection or r.connection == connection]
    handshakes = [r for r in shown if isinstance(r, HandshakeRecord)]
    frames = [r for r in shown if isinstance(r, FrameRecord)]
    notes = [r for r in shown if isinstance(r, WireNote)]
    parts = ["<div class='wslab-wire-body' style='font-size:12px'>"]
    if title:
        parts.append(f"<div><b>{_e(title)}</b></div>")
    if handshakes:
        parts.append(_handshake_panel(handshakes[-1]))
    for note in notes:
        color = "#c05621" if note.kind == "error" else "#2b6cb0"
        parts.append(
            f"<div class='wslab-wire-note' style='color:{color}'>#{note.connection} "
            f"{_e(_ARROWS[note.direction])}: {_e(note.text)}</div>"
        )
    parts.append(_frame_table(frames, max_rows))
    parts.append("</div>")
    return "".join(parts)


def _headers(rows: tuple[tuple[str, str], ...], highlight: str) -> str:
    return "".join(
        f"<div{' style=font-weight:bold' if name.lower() == highlight else ''}>"
        f"{_e(name)}: {_e(value)}</div>"
        for name, value in rows
    )


def _handshake_panel(hs: HandshakeRecord) -> str:
    steps = hs.steps
    mark = "✓" if hs.accept_ok else "✗"
    color = "#2f855a" if hs.accept_ok else "#c53030"
    mono = "font-family:monospace;white-space:pre-wrap;word-break:break-all"
    return (
        "<div class='wslab-wire-handshake' style='display:flex;gap:16px;flex-wrap:wrap;"
        "margin-bottom:6px'>"
        f"<div style='{mono}'><b>#{hs.connection} client → server</b>"
        f"<div>{_e(hs.method)} {_e(hs.path)} HTTP/1.1</div>"
        f"{_headers(hs.request_headers, 'sec-websocket-key')}</div>"
        f"<div style='{mono}'><b>server → client</b>"
        f"<div>HTTP/1.1 {hs.status} {_e(hs.reason)}</div>"
        f"{_headers(hs.response_headers, 'sec-websocket-accept')}</div>"
        f"<div class='wslab-wire-accept' style='{mono}'><b>Sec-WebSocket-Accept, "
        "computed (RFC 6455 §4.2.2)</b>"
        f"<div>key          {_e(steps.key)}</div>"
        f"<div>+ GUID       {_e(steps.joined)}</div>"
        f"<div>SHA-1        {_e(steps.sha1_hex)}</div>"
        f"<div>base64       {_e(steps.accept)}</div>"
        f"<div>server sent  {_e(hs.accept or '(nothing)')} "
        f"<span style='color:{color};font-weight:bold;font-size:15px'>{mark}</span></div></div>"
        "</div>"
    )


def _frame_table(frames: list[FrameRecord], max_rows: int) -> str:
    earlier = max(0, len(frames) - max_rows)
    head = (
        "".join(
            f"<th style='{_CELL}'>{name}</th>"
            for name in ("time", "#", "direction", "opcode", "FIN", "MASK", "RSV1", "length")
        )
        + f"<th style='{_CELL}'>first bytes (hex)</th><th style='{_CELL}'>as text</th>"
    )
    rows = []
    if earlier:
        rows.append(
            f"<tr class='wslab-wire-earlier'><td colspan='10' style='{_MUTED}'>"
            f"… {earlier} earlier frame{'s' if earlier != 1 else ''}</td></tr>"
        )
    rows.extend(_frame_row(frame) for frame in frames[earlier:])
    if not frames:
        rows.append(f"<tr><td colspan='10' style='{_MUTED}'>no frames yet</td></tr>")
    return (
        "<table class='wslab-wire-frames' style='font-family:monospace;font-size:12px;"
        f"border-collapse:collapse'><tr style='text-align:left'>{head}</tr>{''.join(rows)}</table>"
    )


def _frame_row(frame: FrameRecord) -> str:
    stamp = clock(frame.time) if frame.time else ""
    text = frame.preview
    if frame.close_code is not None:
        text = f"code {frame.close_code}" + (
            f" “{frame.close_reason}”" if frame.close_reason else ""
        )
    size = f"{frame.length}" + (f" ({frame.size} inflated)" if frame.size != frame.length else "")
    more = "…" if frame.size > len(bytes.fromhex(frame.preview_hex)) else ""
    cells = [
        stamp,
        f"#{frame.connection}",
        _ARROWS[frame.direction],
        frame.opcode,
        int(frame.fin),
        int(frame.masked),
        int(frame.rsv1),
        size,
        frame.preview_hex + more,
    ]
    return (
        f"<tr class='wslab-wire-frame' data-direction='{frame.direction}' "
        f"style='background:{_TINT[frame.direction]}'>"
        + "".join(f"<td style='{_CELL}'>{_e(c)}</td>" for c in cells)
        + f"<td style='{_CELL};white-space:pre'>{_e(text)}</td></tr>"
    )
