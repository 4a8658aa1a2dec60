"""wslab.clients.websocket: the browser-shaped WebSocket, on the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from helpers import TOO_BIG, async_wait_until, free_port

import wslab
from wslab.clients.websocket import (
    CLIENT_MAX_SIZE,
    InvalidAccessError,
    InvalidStateError,
    live_clients,
)
from wslab.core.events import Blob, CloseEvent, ErrorEvent, Event, MessageEvent, ReadyState

Make = Callable[..., wslab.WebSocket]


async def opened(make_ws: Make, url: str, **kwargs: object) -> wslab.WebSocket:
    ws = make_ws(url, **kwargs)
    await ws.wait_for("open")
    return ws


async def echo_of(ws: wslab.WebSocket, data: object) -> MessageEvent:
    waiting = asyncio.ensure_future(ws.wait_for("message"))
    ws.send(data)  # type: ignore[arg-type]
    event = await waiting
    assert isinstance(event, MessageEvent)
    return event


# --- construction -----------------------------------------------------------------


def test_constructing_without_a_running_loop_is_a_helpful_error() -> None:
    with pytest.raises(RuntimeError) as info:
        wslab.WebSocket("ws://127.0.0.1:9/")
    assert str(info.value) == (
        "WebSocket() needs a running event loop: create it in a notebook cell "
        "(the kernel's loop is running there) or inside async code"
    )


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8082/", "127.0.0.1:8082", "ws://", "wss:///path", "", "ftp://x/"]
)
async def test_bad_url_is_a_value_error(url: str) -> None:
    with pytest.raises(
        ValueError, match="is not a WebSocket URL: it must start with ws:// or wss://"
    ):
        wslab.WebSocket(url)


async def test_url_with_a_fragment_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="must not contain a #fragment"):
        wslab.WebSocket("ws://127.0.0.1:8082/#top")


def test_ready_state_constants() -> None:
    assert wslab.WebSocket.CONNECTING == 0
    assert wslab.WebSocket.OPEN == 1
    assert wslab.WebSocket.CLOSING == 2
    assert wslab.WebSocket.CLOSED == 3


# --- the lifecycle ---------------------------------------------------------------------


async def test_event_order_open_message_close(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = make_ws(echo.url, name="alice")
    assert ws.ready_state is ReadyState.CONNECTING
    assert ws.readyState is ReadyState.CONNECTING
    seen: list[Event] = []
    for kind in ("open", "message", "error", "close"):
        ws.add_event_listener(kind, seen.append)  # type: ignore[arg-type]
    ws.onopen = lambda event: ws.send("Hello!")
    message = await ws.wait_for("message")
    ws.close()
    close = await ws.closed()
    assert [event.type for event in seen] == ["open", "message", "close"]
    assert ws.events == ["open", "message", "close"]
    assert isinstance(message, MessageEvent)
    assert message.data == "Hello!"
    assert message.target is ws
    assert seen[1] is message
    assert seen[2] is close
    assert ws.ready_state is ReadyState.CLOSED
    assert ws.protocol == ""
    kinds = ws.log.kinds()
    assert kinds[:2] == ["connecting", "open"]
    assert kinds[-1] == "close"
    assert sorted(e.direction for e in ws.log.entries("message")) == ["in", "out"]
    assert {e.peer for e in ws.log.entries()} == {"alice"}


async def test_open_and_close_wait_return_the_same_event(
    echo: wslab.RunningServer, make_ws: Make
) -> None:
    ws = make_ws(echo.url)
    first = await ws.wait_for("open")
    assert await ws.wait_for("open") is first
    ws.close()
    close = await ws.closed()
    assert await ws.wait_for("close") is close
    assert await ws.closed() is close


async def test_refused_port_gives_error_then_close_1006(make_ws: Make) -> None:
    ws = make_ws(f"ws://127.0.0.1:{free_port()}/")
    states: list[ReadyState] = []
    ws.state_changed.subscribe(states.append)
    errors: list[Event] = []
    ws.onerror = errors.append
    close = await ws.closed()
    assert ws.events == ["error", "close"]
    assert isinstance(close, CloseEvent)
    assert (close.code, close.reason, close.was_clean) == (1006, "", False)
    assert len(errors) == 1
    assert isinstance(errors[0], ErrorEvent)
    assert "could not connect" in errors[0].message
    assert states == [ReadyState.CLOSED]
    assert ws.log.kinds() == ["connecting", "error", "close"]
    assert ws.log.entries("close")[0].code == 1006
    with pytest.raises(ConnectionError, match="closed before it opened"):
        await ws.wait_for("open")


async def test_ready_state_sequence(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = make_ws(echo.url)
    states = [ws.ready_state]
    ws.state_changed.subscribe(states.append)
    await ws.wait_for("open")
    assert ws.ready_state is ReadyState.OPEN
    ws.close()
    assert ws.ready_state is ReadyState.CLOSING
    await ws.closed()
    assert states == [
        ReadyState.CONNECTING,
        ReadyState.OPEN,
        ReadyState.CLOSING,
        ReadyState.CLOSED,
    ]


async def test_close_without_code_is_1005(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = await opened(make_ws, echo.url)
    ws.close()
    close = await ws.closed()
    assert (close.code, close.reason, close.was_clean) == (1005, "", True)
    await async_wait_until(lambda: echo.log.entries("close"))
    assert echo.log.entries("close")[0].code == 1005


async def test_close_with_code_and_reason(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = await opened(make_ws, echo.url)
    ws.close(1000, "bye")
    close = await ws.closed()
    assert (close.code, close.reason, close.was_clean) == (1000, "bye", True)
    await async_wait_until(lambda: echo.log.entries("close"))
    entry = echo.log.entries("close")[0]
    assert (entry.code, entry.text) == (1000, "#1 closed: 1000 bye")


async def test_close_with_reason_only_uses_1000(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = await opened(make_ws, echo.url)
    ws.close(reason="done")
    close = await ws.closed()
    assert (close.code, close.reason) == (1000, "done")


@pytest.mark.parametrize("code", [3000, 4000, 4999])
async def test_application_close_codes(echo: wslab.RunningServer, make_ws: Make, code: int) -> None:
    ws = await opened(make_ws, echo.url)
    ws.close(code, "app")
    close = await ws.closed()
    assert (close.code, close.reason, close.was_clean) == (code, "app", True)


async def test_close_is_idempotent(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = await opened(make_ws, echo.url)
    ws.close(1000, "first")
    ws.close(4000, "second")
    close = await ws.closed()
    ws.close()
    assert (close.code, close.reason) == (1000, "first")
    assert ws.events.count("close") == 1


@pytest.mark.parametrize("code", [0, 999, 1001, 1005, 1006, 1011, 2999, 5000, -1])
async def test_invalid_close_code_is_invalid_access(
    echo: wslab.RunningServer, make_ws: Make, code: int
) -> None:
    ws = await opened(make_ws, echo.url)
    with pytest.raises(InvalidAccessError, match=f"close code {code} is not allowed"):
        ws.close(code)
    assert isinstance(InvalidAccessError("x"), ValueError)
    assert ws.ready_state is ReadyState.OPEN


async def test_close_reason_longer_than_123_bytes(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = await opened(make_ws, echo.url)
    with pytest.raises(ValueError, match="at most 123 bytes"):
        ws.close(1000, "x" * 124)
    with pytest.raises(ValueError, match="at most 123 bytes"):
        ws.close(1000, "é" * 62)  # 62 characters, 124 bytes
    assert ws.ready_state is ReadyState.OPEN
    ws.close(1000, "é" * 61 + "x")  # 123 bytes: allowed
    close = await ws.closed()
    assert close.reason == "é" * 61 + "x"


async def test_close_while_connecting_fails_the_connection(
    echo: wslab.RunningServer, make_ws: Make
) -> None:
    ws = make_ws(echo.url)
    ws.close()
    assert ws.ready_state is ReadyState.CLOSING
    close = await ws.closed()
    assert ws.events == ["error", "close"]
    assert (close.code, close.was_clean) == (1006, False)
    assert ws.ready_state is ReadyState.CLOSED


async def test_server_stop_gives_1001(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = await opened(make_ws, echo.url)
    await asyncio.to_thread(echo.stop)
    close = await ws.closed()
    assert (close.code, close.was_clean) == (1001, True)
    assert ws.events == ["open", "close"]


async def test_server_stop_from_a_blocked_loop_still_gives_1001(
    echo: wslab.RunningServer, make_ws: Make
) -> None:
    ws = await opened(make_ws, echo.url)
    echo.stop()  # blocks this loop, as stop_server() in a cell blocks the kernel's
    close = await ws.closed()
    assert close.code == 1001
    # The server dropped the blocked client after the grace period; its log
    # still says why it closed.
    assert [e.code for e in echo.log.entries("close")] == [1001]


async def test_message_over_one_mebibyte_is_closed_1009(
    echo: wslab.RunningServer, make_ws: Make
) -> None:
    ws = await opened(make_ws, echo.url)
    ws.send("x" * TOO_BIG)
    close = await ws.closed()
    assert close.code == 1009
    assert ws.events == ["open", "close"]
    assert CLIENT_MAX_SIZE == 16 * (1 << 20)


# --- sending -------------------------------------------------------------------------------


async def test_send_while_connecting_is_invalid_state(
    echo: wslab.RunningServer, make_ws: Make
) -> None:
    ws = make_ws(echo.url)
    with pytest.raises(InvalidStateError, match="wait for the 'open' event first"):
        ws.send("too early")
    await ws.wait_for("open")


async def test_send_after_close_is_discarded(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = await opened(make_ws, echo.url)
    ws.close()
    ws.send("while closing")
    await ws.closed()
    ws.send("after closed")
    assert [e.text for e in ws.log.entries("discarded")] == [
        "send() after close(): message discarded"
    ] * 2
    assert ws.buffered_amount == 0
    assert ws.log.entries("message") == []
    await async_wait_until(lambda: echo.log.entries("close"))
    assert echo.log.entries("message") == []


async def test_send_wrong_type_is_a_type_error(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = await opened(make_ws, echo.url)
    with pytest.raises(TypeError, match="send\\(\\) takes str, bytes or Blob, not int"):
        ws.send(42)  # type: ignore[arg-type]


async def test_text_and_binary_frames(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = await opened(make_ws, echo.url)
    assert (await echo_of(ws, "héllo")).data == "héllo"
    assert (await echo_of(ws, b"\x00\xff")).data == b"\x00\xff"
    assert (await echo_of(ws, bytearray(b"ab"))).data == b"ab"
    assert (await echo_of(ws, memoryview(b"cd"))).data == b"cd"
    assert (await echo_of(ws, Blob(b"ef"))).data == b"ef"
    await async_wait_until(lambda: len(echo.log.entries("message")) == 10)
    frames = [(e.direction, e.binary) for e in echo.log.entries("message")]
    assert frames == [("in", False), ("out", False)] + [("in", True), ("out", True)] * 4


async def test_binary_type_blob(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = await opened(make_ws, echo.url, binary_type="blob")
    event = await echo_of(ws, b"\x01\x02\x03")
    assert event.data == Blob(b"\x01\x02\x03")
    assert isinstance(event.data, Blob)
    assert event.data.size == 3
    # Text frames stay text.
    assert (await echo_of(ws, "text")).data == "text"


async def test_buffered_amount(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = await opened(make_ws, echo.url)
    assert ws.buffered_amount == 0
    waiting = asyncio.ensure_future(ws.wait_for("message"))
    ws.send("héllo")
    assert ws.buffered_amount == 6
    await waiting
    assert ws.buffered_amount == 0


async def test_send_and_close_from_another_thread(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = await opened(make_ws, echo.url)
    waiting = asyncio.ensure_future(ws.wait_for("message"))
    await asyncio.to_thread(ws.send, "from a thread")
    assert (await waiting).data == "from a thread"  # type: ignore[attr-defined]
    await asyncio.to_thread(ws.close, 1000, "thread")
    close = await ws.closed()
    assert (close.code, close.reason) == (1000, "thread")


async def test_messages_sent_before_close_are_sent_first(
    echo: wslab.RunningServer, make_ws: Make
) -> None:
    ws = await opened(make_ws, echo.url)
    for n in range(5):
        ws.send(f"m{n}")
    ws.close()
    await ws.closed()
    await async_wait_until(lambda: echo.log.entries("close"))
    assert [e.text for e in echo.log.entries("message") if e.direction == "in"] == [
        f"m{n}" for n in range(5)
    ]


# --- listeners ---------------------------------------------------------------------------


async def test_listeners_order_duplicates_removal_and_handler_slot(
    echo: wslab.RunningServer, make_ws: Make
) -> None:
    ws = await opened(make_ws, echo.url)
    calls: list[str] = []

    def a(event: Event) -> None:
        calls.append("a")

    def b(event: Event) -> None:
        calls.append("b")

    def c(event: Event) -> None:
        calls.append("c")

    def on1(event: Event) -> None:
        calls.append("on1")

    def on2(event: Event) -> None:
        calls.append("on2")

    ws.add_event_listener("message", a)
    ws.addEventListener("message", b)
    ws.add_event_listener("message", a)  # a duplicate is ignored
    ws.onmessage = on1
    ws.add_event_listener("message", c)
    ws.onmessage = on2  # replaces on1 in place: still before c
    assert ws.onmessage is on2
    await echo_of(ws, "one")
    assert calls == ["a", "b", "on2", "c"]

    calls.clear()
    ws.removeEventListener("message", b)
    ws.remove_event_listener("message", b)  # unknown ones are ignored
    ws.onmessage = None
    assert ws.onmessage is None
    ws.onmessage = None  # removing twice is harmless
    await echo_of(ws, "two")
    assert calls == ["a", "c"]

    calls.clear()
    ws.onmessage = on1  # a new slot goes to the end
    await echo_of(ws, "three")
    assert calls == ["a", "c", "on1"]


async def test_unknown_event_type(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = await opened(make_ws, echo.url)
    with pytest.raises(ValueError, match="unknown event type 'msg'"):
        ws.add_event_listener("msg", print)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown event type"):
        await ws.wait_for("opened")  # type: ignore[arg-type]


async def test_a_raising_listener_does_not_stop_the_others(
    echo: wslab.RunningServer, make_ws: Make, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = await opened(make_ws, echo.url)
    calls: list[str] = []
    boom = RuntimeError("listener bug")

    def broken(event: Event) -> None:
        calls.append("broken")
        raise boom

    ws.add_event_listener("message", broken)
    ws.add_event_listener("message", lambda event: calls.append("after"))
    await echo_of(ws, "x")
    assert calls == ["broken", "after"]
    assert ws.listener_errors == [boom]
    assert [e.text for e in ws.log.entries("listener-error")] == ["RuntimeError: listener bug"]
    # Reported like a browser console would, and the connection carries on.
    assert "RuntimeError: listener bug" in capsys.readouterr().err
    assert ws.ready_state is ReadyState.OPEN
    await echo_of(ws, "y")
    assert calls == ["broken", "after", "broken", "after"]
    assert ws.listener_errors == [boom, boom]


async def test_async_listeners_run(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = await opened(make_ws, echo.url)
    got: list[object] = []

    async def on_message(event: MessageEvent) -> None:
        await asyncio.sleep(0)
        got.append(event.data)

    ws.add_event_listener("message", on_message)
    await echo_of(ws, "async")
    await async_wait_until(lambda: got)
    assert got == ["async"]
    await async_wait_until(lambda: not ws._listener_tasks)


async def test_wait_for_timeout(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = await opened(make_ws, echo.url)
    with pytest.raises(asyncio.TimeoutError):
        await ws.wait_for("message", timeout=0.02)
    assert ws._waiters["message"] == []


async def test_waiting_for_a_message_when_the_connection_closes(
    echo: wslab.RunningServer, make_ws: Make
) -> None:
    ws = await opened(make_ws, echo.url)
    waiting = asyncio.ensure_future(ws.wait_for("message"))
    await asyncio.sleep(0)
    ws.close()
    with pytest.raises(ConnectionError, match="closed"):
        await waiting


async def test_live_clients(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = make_ws(echo.url)
    assert ws in live_clients()
    await ws.wait_for("open")
    assert ws in live_clients()
    ws.close()
    await ws.closed()
    assert ws not in live_clients()


async def test_repr(echo: wslab.RunningServer, make_ws: Make) -> None:
    ws = make_ws(echo.url)
    assert repr(ws) == f"<WebSocket {echo.url} CONNECTING>"
    await ws.wait_for("open")
    assert repr(ws) == f"<WebSocket {echo.url} OPEN>"


async def test_subprotocols_offered_but_not_chosen(
    echo: wslab.RunningServer, make_ws: Make
) -> None:
    ws = await opened(make_ws, echo.url, protocols=["chat.v1", "chat.v2"])
    assert ws.protocol == ""
    assert ws._protocols == ["chat.v1", "chat.v2"]
    single = await opened(make_ws, echo.url, protocols="chat.v1")
    assert single._protocols == ["chat.v1"]
