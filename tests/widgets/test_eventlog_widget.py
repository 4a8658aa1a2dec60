"""wslab.widgets.MessageLog: an event log as a live table, updated from any thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
import traitlets
from helpers import async_wait_until

import wslab
from wslab.state.eventlog import EventLog
from wslab.widgets import MessageLog
from wslab.widgets._kernel import OnKernelThread

Make = Callable[..., wslab.WebSocket]


def test_message_log_rows_and_escaping() -> None:
    log = EventLog()
    view = MessageLog(log, title="<b>Server</b>")
    assert view.rows == 0
    assert "nothing yet" in view.value
    log.record("connect", "#1 connected", peer="#1")
    log.message("in", "<script>alert('x')</script>", peer="<#1>")
    log.message("out", b"\x00\x01")
    assert view.rows == 3
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in view.value
    assert "<script>" not in view.value
    assert "&lt;#1&gt;" in view.value
    assert "&lt;b&gt;Server&lt;/b&gt;" in view.value
    assert "⬅ in" in view.value
    assert "➡ out" in view.value
    assert "27 B" in view.value  # the size of the text message in bytes
    assert "binary" in view.value
    assert "2 B" in view.value
    assert [e.kind for e in view.shown()] == ["connect", "message", "message"]
    view.close()


def test_message_log_kinds_and_max_rows() -> None:
    log = EventLog()
    for n in range(5):
        log.record("connect", f"c{n}")
        log.message("in", f"m{n}")
    view = MessageLog(log, kinds=["message"], max_rows=3)
    assert view.rows == 3
    assert [e.text for e in view.shown()] == ["m2", "m3", "m4"]
    assert "c4" not in view.value
    view.max_rows = 1
    assert view.rows == 1
    assert [e.text for e in view.shown()] == ["m4"]
    with pytest.raises(traitlets.TraitError, match="max_rows must be at least 1"):
        view.max_rows = 0
    assert view.max_rows == 1
    view.close()


def test_message_log_close_unsubscribes() -> None:
    log = EventLog()
    view = MessageLog(log)
    log.record("a")
    assert view.rows == 1
    view.close()
    assert len(log.observers) == 0
    log.record("b")
    assert view.rows == 1


async def test_message_log_updates_from_a_server_thread(echo: wslab.RunningServer) -> None:
    view = MessageLog(echo.log, kinds=["connect"])
    assert view.rows == 0
    applied_on: list[str] = []
    view.observe(lambda change: applied_on.append(threading.current_thread().name), "rows")
    await asyncio.to_thread(echo.log.record, "connect", "#9 from a thread")
    await async_wait_until(lambda: view.rows == 1)
    assert applied_on == [threading.current_thread().name]
    view.close()


def test_on_kernel_thread_without_a_loop_calls_directly() -> None:
    calls: list[tuple[object, ...]] = []
    wrap = OnKernelThread()
    wrapped = wrap(lambda *args: calls.append(args))
    thread = threading.Thread(target=wrapped, args=(1, 2))
    thread.start()
    thread.join()
    assert calls == [(1, 2)]
