"""wslab.widgets.ClientBoard: several clients, their readyState and what each received."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
import traitlets
from helpers import async_wait_until

import wslab
from wslab.core.events import Blob, ReadyState
from wslab.widgets import ClientBoard, ClientRow
from wslab.widgets.broadcast import describe

Make = Callable[..., wslab.WebSocket]


def test_an_empty_board() -> None:
    board = ClientBoard(title="<nobody>")
    assert board.rows() == []
    assert "no clients yet" in board.value
    assert "&lt;nobody&gt;" in board.value
    with pytest.raises(KeyError, match="no client called 'Ada' on the board"):
        board.received("Ada")
    with pytest.raises(traitlets.TraitError, match="last must be at least 1"):
        board.last = 0
    board.close()


async def test_the_board_follows_its_clients(make_ws: Make) -> None:
    server = wslab.serve("broadcast")
    ada = make_ws(server.url, name="Ada")
    board = ClientBoard([ada], title="clients", last=2)
    assert board.rows() == [ClientRow("Ada", ReadyState.CONNECTING, ())]
    await ada.wait_for("open")
    bob = make_ws(server.url, name="<b>Bob</b>")
    board.add(bob)
    board.add(bob)  # once is enough
    await bob.wait_for("open")
    assert [row.state for row in board.rows()] == [ReadyState.OPEN, ReadyState.OPEN]
    assert "1 OPEN" in board.value
    assert "&lt;b&gt;Bob&lt;/b&gt;" in board.value and "<b>Bob</b>" not in board.value

    for text in ("one", "two", "<three>"):
        ada.send(text)
    ada.send("")  # refused: an error comes back to Ada
    await async_wait_until(lambda: len(board.received("<b>Bob</b>")) == 3)
    await async_wait_until(lambda: board.received("Ada") == ("error: empty-message",))
    assert board.received("<b>Bob</b>") == ("one", "two", "<three>")
    # The newest two are shown, and how many more there are.
    assert "3: <span style='color:#718096'>(1 more) </span>two · &lt;three&gt;" in board.value

    bob.close()
    assert board.rows()[1].state == ReadyState.CLOSING
    await bob.closed()
    assert board.rows()[1].state == ReadyState.CLOSED
    assert "3 CLOSED" in board.value
    board.close()
    assert len(ada.state_changed) == 0 and len(ada.log.observers) == 0


async def test_the_board_shows_other_messages_as_they_are(make_ws: Make) -> None:
    server = wslab.serve("echo")
    ws = make_ws(server.url, name="echo")
    board = ClientBoard([ws])
    await ws.wait_for("open")
    for data in ("plain text", '{"type": "other"}', b"\x01\x02", "[1, 2]"):
        ws.send(data)
        await ws.wait_for("message")
    assert board.received("echo") == (
        "plain text",
        '{"type": "other"}',
        "<2 bytes: 01 02>",
        "[1, 2]",
    )
    board.close()


async def test_state_changes_from_another_thread_are_applied_on_this_one(make_ws: Make) -> None:
    server = wslab.serve("echo")
    ws = make_ws(server.url, name="ws")
    board = ClientBoard([ws])
    await ws.wait_for("open")
    applied_on: list[str] = []
    board.refresh = lambda: applied_on.append(threading.current_thread().name)  # type: ignore[method-assign]
    await asyncio.to_thread(ws.state_changed.notify, ReadyState.CLOSING)
    await async_wait_until(lambda: applied_on)
    assert applied_on == [threading.current_thread().name]
    board.close()


async def test_messages_before_the_board_are_not_shown_and_close_stops_listening(
    make_ws: Make,
) -> None:
    server = wslab.serve("echo")
    ws = make_ws(server.url, name="ws")
    await ws.wait_for("open")
    ws.send("before")
    await ws.wait_for("message")
    board = ClientBoard([ws])
    ws.send("during")
    await ws.wait_for("message")
    assert board.received("ws") == ("during",)
    board.close()
    ws.send("after")
    await ws.wait_for("message")
    assert board.received("ws") == ("during",)
    assert len(ws.state_changed) == 0


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        ('{"type":"broadcast","text":"hi"}', "hi"),
        ('{"type":"broadcast","text":' + '"' + "y" * 300 + '"}', "y" * 300),
        (
            '{"type":"error","error":"empty-message","message":"' + "z" * 90 + '"}',
            "error: empty-message",
        ),
        ('{"type":"broadcast","text":5}', '{"type":"broadcast","text":5}'),
        ("[1]", "[1]"),
        ("not json", "not json"),
        (b"\x01\x02", "<2 bytes: 01 02>"),
        (Blob(b"\xff"), "<1 bytes: ff>"),
    ],
)
def test_describe(data: str | bytes | Blob, shown: str) -> None:
    assert describe(data) == shown
