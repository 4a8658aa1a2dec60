"""wslab.widgets.WireInspector: a real server, a wiretap in front of it, real clients."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator

import pytest
from helpers import async_wait_until, sync_connect, wait_until

import wslab
from wslab.core.wire import FrameRecord, decode_streams
from wslab.network.wire import Wiretap, start_wiretap, stop_wiretaps
from wslab.runtime.tls import local_tls
from wslab.widgets import WireInspector
from wslab.widgets.wire import render

Make = Callable[..., wslab.WebSocket]


@pytest.fixture(autouse=True)
def _stop_taps() -> Iterator[None]:
    yield
    stop_wiretaps()


@pytest.fixture
def tap(echo: wslab.RunningServer) -> Wiretap:
    return start_wiretap(echo.port, name="test-wire")


def rows(view: WireInspector) -> list[str]:
    return re.findall(r"<tr class='wslab-wire-frame'.*?</tr>", view.table.value)


def closed_both_ways(view: WireInspector, connection: int = 1) -> bool:
    frames = view.frames(connection)
    return {f.direction for f in frames if f.opcode == "CLOSE"} == {"up", "down"}


async def test_it_fills_live_with_the_handshake_and_frames(
    echo: wslab.RunningServer, tap: Wiretap, make_ws: Make
) -> None:
    view = WireInspector(tap)
    assert "wslab-wire" in view._dom_classes
    assert "no frames yet" in view.table.value and rows(view) == []
    redrawn_on: list[str] = []
    view.table.observe(lambda _: redrawn_on.append(threading.current_thread().name), "value")

    ws = make_ws(tap.url(echo.url))
    await ws.wait_for("open")
    ws.send("Hello!")
    assert (await ws.wait_for("message")).data == "Hello!"
    ws.send(b"\x00\x01\xfe\xff")
    await ws.wait_for("message")
    ws.close(1000, "bye")
    await ws.closed()
    await async_wait_until(lambda: closed_both_ways(view) and len(rows(view)) == 6)

    # The view was redrawn by the tap's chunks, on this (the "kernel's") thread.
    assert redrawn_on and set(redrawn_on) == {threading.current_thread().name}
    hs = view.handshake()
    assert hs is not None and hs.accept_ok and hs.status == 101
    assert view.handshake(1) == hs and view.handshake(2) is None
    html = view.table.value
    assert hs.key in html and hs.accept in html and hs.steps.sha1_hex in html and "✓" in html
    up, down = view.frames(direction="up"), view.frames(direction="down")
    assert [f.opcode for f in up] == ["TEXT", "BINARY", "CLOSE"]
    assert [f.opcode for f in down] == ["TEXT", "BINARY", "CLOSE"]
    assert all(f.masked for f in up) and not any(f.masked for f in down)
    assert up[0].preview == down[0].preview == "Hello!" and up[0].length == 6
    assert (up[2].close_code, up[2].close_reason) == (1000, "bye")
    assert "code 1000 “bye”" in html
    assert sum("client → server" in row for row in rows(view)) == 3
    assert view.notes() == [] and not tap.errors
    view.close()


async def test_rows_are_capped_with_a_count_of_earlier_frames(
    echo: wslab.RunningServer, tap: Wiretap, make_ws: Make
) -> None:
    view = WireInspector(tap, max_rows=4)
    ws = make_ws(tap.url(echo.url))
    await ws.wait_for("open")
    for n in range(5):
        ws.send(f"message {n}")
        await ws.wait_for("message")
    await async_wait_until(lambda: len(view.frames()) == 10)
    view.refresh()
    assert len(rows(view)) == 4
    assert "… 6 earlier frames" in view.table.value
    assert "message 4" in rows(view)[-1]
    view.max_rows = 10
    assert len(rows(view)) == 10 and "earlier" not in view.table.value
    with pytest.raises(Exception, match="at least 1"):
        view.max_rows = 0
    view.close()


async def test_filter_by_connection(echo: wslab.RunningServer, tap: Wiretap, make_ws: Make) -> None:
    view = WireInspector(tap)
    for word in ("apple", "banana"):
        ws = make_ws(tap.url(echo.url))
        await ws.wait_for("open")
        ws.send(word)
        await ws.wait_for("message")
        ws.close()
        await ws.closed()
    await async_wait_until(lambda: closed_both_ways(view, 2))
    view.refresh()
    assert [value for _, value in view.picker.options] == [0, 1, 2]
    view.picker.value = 2  # what a student's click does
    assert view.connection == 2
    assert rows(view) and all("#2" in row for row in rows(view))
    assert "banana" in view.table.value and "apple" not in view.table.value
    view.connection = 1
    assert view.picker.value == 1 and "apple" in view.table.value
    view.refresh()  # a redraw keeps the choice
    assert view.picker.value == 1
    view.connection = 0
    assert len(rows(view)) == len(view.frames()) == 8
    view.close()


async def test_a_late_view_sees_what_came_before_and_values_are_escaped(
    echo: wslab.RunningServer, tap: Wiretap, make_ws: Make
) -> None:
    ws = make_ws(tap.url(echo.url))
    await ws.wait_for("open")
    ws.send("<s>&'\"</s>")
    await ws.wait_for("message")
    view = WireInspector(tap, title="<i>wire</i>")
    assert [f.preview for f in view.frames()] == ["<s>&'\"</s>"] * 2
    html = view.table.value
    assert "<s>" not in html and "&lt;s&gt;&amp;&#x27;&quot;&lt;/s&gt;" in html
    assert "&lt;i&gt;wire&lt;/i&gt;" in html
    view.close()


def test_close_unsubscribes_and_a_cleared_tap_starts_again(
    echo: wslab.RunningServer, tap: Wiretap
) -> None:
    view = WireInspector(tap)
    assert len(tap.observers) == 1
    with sync_connect(tap.url(echo.url)) as ws:
        ws.send("one")
        ws.recv(timeout=5)
    wait_until(lambda: closed_both_ways(view))
    tap.clear()
    assert view.frames() == [] and view.handshake() is None
    with sync_connect(tap.url(echo.url)) as ws:
        ws.send("two")
        ws.recv(timeout=5)
    wait_until(lambda: closed_both_ways(view, 2))
    assert [f.preview for f in view.frames() if f.opcode == "TEXT"] == ["two", "two"]
    view.close()
    assert len(tap.observers) == 0


def test_tls_is_shown_as_ciphertext() -> None:
    tls = local_tls()
    server = wslab.serve("auth", ssl=tls.server)
    token = server.app.issue("alice")
    tap = start_wiretap(server.port, name="test-wire-tls")
    view = WireInspector(tap)
    with sync_connect(tap.url(f"{server.url}?token={token}"), ssl=tls.client) as ws:
        assert "alice" in ws.recv(timeout=5)
    wait_until(lambda: view.notes())
    (note,) = view.notes()
    assert note.kind == "tls" and note.connection == 1
    assert view.frames() == [] and view.handshake() is None
    assert "encrypted" in view.table.value and "no frames yet" in view.table.value
    view.close()


def test_a_forged_accept_gets_a_cross() -> None:
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    request = f"GET / HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Key: {key}\r\n\r\n".encode()
    response = (
        b"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: forged=\r\n\r\n\x81\x02hi"
    )
    records = decode_streams([(1, "up", request), (1, "down", response)]).records
    html = render(records)
    assert "✗" in html and "✓" not in html
    assert "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in html  # what it should have been
    assert [type(r) for r in records][-1] is FrameRecord
    assert html.count("class='wslab-wire-frame'") == 1
