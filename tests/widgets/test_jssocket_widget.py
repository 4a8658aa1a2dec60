"""JsSocket, the browser's own WebSocket in the page: its Python side, without a browser.

The page talks to the kernel with custom widget messages; here they are fed to
the widget exactly as ipywidgets delivers them (``_handle_msg`` with method
``custom``), in the order the widget's JavaScript sends them. What the
JavaScript does in a real browser is checked by tests/browser/.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

import wslab
from wslab.core.jssocket import (
    NOT_RENDERED,
    NOT_SHOWN,
    REPORT_TYPE,
    JsEvent,
    browser_product,
    describe,
    is_notebook_ui_request,
    parse_event,
    parse_events,
    parse_report,
    unreachable_explanation,
)
from wslab.core.timescale import scaled_time
from wslab.widgets import JsSocket
from wslab.widgets import jssocket as jssocket_module

JS = Path(jssocket_module.__file__).with_name("jssocket.js").read_text(encoding="utf-8")
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)

SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Safari/605.1.15"
)

# --- the pure part: events from the page ---------------------------------------------


def test_parse_event_reads_a_close_event_as_the_browser_spells_it() -> None:
    raw = {"type": "close", "socket": 1, "t": 12, "code": 1000, "reason": "bye", "wasClean": True}
    assert parse_event(raw) == JsEvent("close", 1, 12.0, "", 1000, "bye", True, "")


def test_parse_event_coerces_and_drops_what_is_not_its_type() -> None:
    raw = {"type": "message", "socket": "1", "t": "soon", "data": 42, "code": 2.0, "wasClean": 1}
    event = parse_event(raw)
    assert (event.socket, event.t, event.data, event.code, event.was_clean) == (
        0,
        0.0,
        "",
        2,
        None,
    )


@pytest.mark.parametrize("raw", [{"type": "click"}, {}, {"type": None}, ["open"], "open"])
def test_parse_event_refuses_what_the_page_does_not_send(raw: Any) -> None:
    with pytest.raises(ValueError):
        parse_event(raw)


def test_parse_events_skips_malformed_entries_and_keeps_the_order() -> None:
    events = parse_events([{"type": "open", "socket": 1}, {"type": "?"}, 7, {"type": "error"}])
    assert [e.type for e in events] == ["open", "error"]


@pytest.mark.parametrize(
    ("event", "line"),
    [
        (JsEvent("open", 1), "socket 1: open"),
        (JsEvent("error", 2), "socket 2: error"),
        (JsEvent("message", 1, data="Hello!"), "socket 1: message Hello!"),
        (JsEvent("close", 1, code=1000, reason="bye", was_clean=True),
         'socket 1: close 1000 "bye" (clean)'),
        (JsEvent("close", 3, code=1006, was_clean=False), "socket 3: close 1006 (not clean)"),
        (JsEvent("log", text="Connected! 🎉"), "Connected! 🎉"),
        (JsEvent("exception", text="TypeError: x is not a function"),
         "exception: TypeError: x is not a function"),
    ],
)  # fmt: skip
def test_describe_says_what_the_page_shows(event: JsEvent, line: str) -> None:
    assert describe(event) == line


def test_describe_cuts_a_long_message_and_keeps_markup_as_text() -> None:
    assert describe(JsEvent("message", 1, data="x" * 200)).endswith("x…")
    # Markup stays characters (the page puts lines in with textContent).
    assert describe(JsEvent("log", text="<img src=x onerror=alert(1)>")) == (
        "<img src=x onerror=alert(1)>"
    )


def test_unreachable_explanation_names_the_address_and_the_way_out() -> None:
    text = unreachable_explanation("ws://127.0.0.1:8765/")
    assert text.startswith("This page could not reach ws://127.0.0.1:8765/ — ")
    assert "JupyterHub" in text and "Binder" in text
    assert "The Python cells still work" in text
    assert "uv run jupyter lab" in text


@pytest.mark.parametrize(
    ("agent", "product"),
    [
        (CHROME, "Chrome 156"),
        (CHROME.replace("Chrome/", "HeadlessChrome/"), "Chrome 156"),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0", "Firefox 140"),
        (SAFARI, "Safari 18"),
        (CHROME + " Edg/140.0.0.0", "Edge 140"),
        ("Mozilla/5.0 (compatible; something new)", "a browser"),
        ("Python/3.11 websockets/17.4", None),
        ("", None),
        (None, None),
    ],
)  # fmt: skip
def test_browser_product(agent: str | None, product: str | None) -> None:
    assert browser_product(agent) == product


def test_a_notebook_ui_request_is_told_from_a_test_runners() -> None:
    jupyterlab = {"trusted": False, "deletedCells": [], "recordTiming": False, "cellId": "a1"}
    assert is_notebook_ui_request(jupyterlab)
    assert not is_notebook_ui_request({"cellId": "a1"})  # nbclient
    assert not is_notebook_ui_request({})  # nbval
    assert not is_notebook_ui_request(None)


def test_parse_report_keeps_what_is_valid_only() -> None:
    assert parse_report({"type": "something else", "rendered": True}) is None
    assert parse_report("wslab-js") is None
    report = parse_report(
        {
            "type": REPORT_TYPE,
            "view": "v:1",
            "event": {"type": "bogus"},
            "ready_state": 7,
            "received": -2,
            "done": "yes",
            "rendered": 1,
        }
    )
    assert report is not None
    assert report.view == "v:1"
    assert (report.event, report.ready_state, report.received, report.done, report.rendered) == (
        None,
        None,
        None,
        False,
        False,
    )


# --- the widget, fed the page's messages ------------------------------------------------


class FakePage:
    """Sends a widget the custom messages its JavaScript sends, the way they arrive."""

    def __init__(self, widget: JsSocket, view: str = "view-a") -> None:
        self.widget = widget
        self.view = view
        self.runs = 0
        self.t = 0

    def send(self, run_id: str, **patch: Any) -> None:
        content = {"type": REPORT_TYPE, "view": run_id, **patch}
        self.widget._handle_msg(
            {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
        )

    def render(self) -> str:
        """A view shows the widget and starts a run, as render() does."""
        self.send(self.view, rendered=True)
        return self.start()

    def start(self) -> str:
        self.runs += 1
        run = f"{self.view}:{self.runs}"
        self.send(run, reset=True, ready_state=0)
        return run

    def event(self, run: str, **event: Any) -> None:
        self.t += 1
        received = sum(1 for e in self.widget.events if e["type"] == "message")
        received += event["type"] == "message"
        self.send(run, event={**event, "t": self.t}, received=received)

    def echo_run(self, run: str, text: str = "Hello from the browser") -> None:
        """What HELLO does against an echo server: open, message, close 1000."""
        self.send(run, ready_state=1)
        self.event(run, type="open", socket=1)
        self.event(run, type="message", socket=1, data=text)
        self.event(run, type="log", text=f"Server said: {text}")
        self.send(run, ready_state=2)
        self.send(run, ready_state=3)
        self.event(run, type="close", socket=1, code=1000, reason="bye", wasClean=True)
        self.send(run, done=True)


@pytest.fixture
def page_widget() -> Any:
    widget = JsSocket("ws://127.0.0.1:8765/", name="test page")
    yield widget
    widget.stop()


def test_the_widget_carries_what_the_page_needs(page_widget: JsSocket) -> None:
    assert page_widget.url == "ws://127.0.0.1:8765/"
    assert "new WebSocket(url)" in page_widget.snippet
    assert page_widget.explanation == unreachable_explanation("ws://127.0.0.1:8765/")
    assert page_widget.label == "test page"
    state = page_widget.get_state()
    for synced in ("url", "snippet", "label", "explanation", "unreachable_ms", "time_scale"):
        assert synced in state
    # What the page reports comes by custom message, never as a synced trait
    # (ipywidgets would hold those updates back while a cell awaits).
    for reported in ("events", "rendered", "ready_state", "received", "error", "done"):
        assert reported not in state


def test_before_any_page_nothing_is_pretended(page_widget: JsSocket) -> None:
    assert not page_widget.rendered
    assert page_widget.events == [] and page_widget.ready_state == -1
    assert page_widget.report() == NOT_RENDERED
    assert NOT_RENDERED.startswith("no browser is showing this notebook (e.g. run by nbval)")


def test_a_run_reported_by_the_page_is_read_back(page_widget: JsSocket) -> None:
    page = FakePage(page_widget)
    run = page.render()
    assert page_widget.rendered and page_widget.run == 1 and page_widget.ready_state == 0
    page.echo_run(run)
    assert page_widget.kinds == ["open", "message", "log", "close"]
    assert page_widget.messages == ["Hello from the browser"]
    assert page_widget.logged == ["Server said: Hello from the browser"]
    close = page_widget.closes[0]
    assert (close.code, close.reason, close.was_clean) == (1000, "bye", True)
    assert (page_widget.ready_state, page_widget.received, page_widget.done) == (3, 1, True)
    assert page_widget.error == ""
    assert page_widget.report().splitlines() == [
        "socket 1: open",
        "socket 1: message Hello from the browser",
        "Server said: Hello from the browser",
        'socket 1: close 1000 "bye" (clean)',
    ]


def test_a_new_run_replaces_the_last_and_late_reports_are_ignored(page_widget: JsSocket) -> None:
    page = FakePage(page_widget)
    first = page.render()
    page.echo_run(first, "one")
    second = page.start()  # the Run again button
    assert page_widget.events == [] and not page_widget.done and page_widget.run == 2
    page.event(first, type="message", socket=1, data="late, from the first run")
    other = FakePage(page_widget, view="view-b")
    other.send("view-b:9", event={"type": "message", "data": "another view"})
    assert page_widget.events == []  # neither the old run nor a view that did not reset
    page.echo_run(second, "two")
    assert page_widget.messages == ["two"]


def test_a_failed_run_reports_why(page_widget: JsSocket) -> None:
    page = FakePage(page_widget)
    run = page.render()
    page.event(run, type="error", socket=1)
    page.event(run, type="close", socket=1, code=1006, reason="", wasClean=False)
    text = page_widget.explanation
    page.event(run, type="unreachable", text=text)
    page.send(run, error=text, done=True, ready_state=3)
    assert page_widget.error == text and page_widget.done
    assert page_widget.report() == text
    assert page_widget.lines()[-1] == "gave up: the page could not reach the server (see above)"


def test_messages_that_are_not_reports_are_left_alone(page_widget: JsSocket) -> None:
    page_widget._handle_msg(
        {
            "content": {"data": {"method": "custom", "content": {"kind": "anywidget-command"}}},
            "buffers": [],
        }
    )
    assert not page_widget.rendered and page_widget.events == []


def test_making_another_with_the_same_name_closes_the_first() -> None:
    first = JsSocket("ws://127.0.0.1:1/", name="same")
    assert first.comm is not None
    second = JsSocket("ws://127.0.0.1:2/", name="same")
    assert first.comm is None  # closed: its views go, and with them the page's sockets
    assert second.comm is not None
    second.stop()
    second.stop()  # idempotent
    assert second.comm is None


def test_unreachable_after_is_scaled_but_never_below_the_floor() -> None:
    with scaled_time(1.0):
        slow = JsSocket("ws://127.0.0.1:1/", name="slow", unreachable_after=5)
    with scaled_time(0.05):
        fast = JsSocket("ws://127.0.0.1:1/", name="fast", unreachable_after=5)
    assert slow.unreachable_ms == 5000
    assert fast.unreachable_ms == jssocket_module.MIN_UNREACHABLE_MS  # 250 ms would be too short
    assert fast.time_scale == 0.05
    slow.stop()
    fast.stop()
    with pytest.raises(ValueError):
        JsSocket("ws://127.0.0.1:1/", name="never", unreachable_after=0)


def test_rerun_and_close_ask_the_page(page_widget: JsSocket, monkeypatch: Any) -> None:
    sent: list[Any] = []
    monkeypatch.setattr(page_widget, "send", lambda content, buffers=None: sent.append(content))
    page_widget.rerun()
    page_widget.close_socket(4000, "enough")
    assert sent == [{"cmd": "run"}, {"cmd": "close", "code": 4000, "reason": "enough"}]
    for code in (1001, 1006, 2999, 5000):  # a page's close() throws on these
        with pytest.raises(ValueError):
            page_widget.close_socket(code)
    with pytest.raises(ValueError):
        page_widget.close_socket(1000, "x" * 124)
    assert len(sent) == 2


# --- waiting: bounded, and quick without a browser ---------------------------------


async def test_wait_returns_false_at_once_when_no_front_end_shows_it(
    page_widget: JsSocket, fast: float
) -> None:
    assert not jssocket_module.frontend_connected()  # no JupyterLab here
    # Bounded: the test itself would fail if it waited for the page's done.
    assert await asyncio.wait_for(page_widget.wait(), timeout=5) is False
    assert await asyncio.wait_for(page_widget.wait("open", timeout=3600), timeout=5) is False
    assert page_widget.report() == NOT_RENDERED


async def test_a_front_end_that_never_shows_it_is_reported_as_such(
    page_widget: JsSocket, monkeypatch: Any
) -> None:
    monkeypatch.setattr(jssocket_module, "frontend_connected", lambda: True)
    monkeypatch.setattr(jssocket_module, "FRONTEND_RENDER_WAIT", 0.05)
    assert await page_widget.wait() is False
    assert page_widget.report() == NOT_SHOWN


async def test_wait_follows_the_page_while_the_cell_awaits(
    page_widget: JsSocket, fast: float
) -> None:
    # The page's messages arrive while the cell awaits (ipykernel dispatches
    # them between our awaits): here, from callbacks on the same loop.
    loop = asyncio.get_running_loop()
    page = FakePage(page_widget)
    run = f"{page.view}:1"
    loop.call_later(0.01, page.render)
    loop.call_later(0.03, page.echo_run, run)
    assert await page_widget.wait("open") is True
    assert await page_widget.wait() is True
    assert page_widget.done and page_widget.kinds[-1] == "close"


async def test_wait_says_false_when_the_run_failed(page_widget: JsSocket, fast: float) -> None:
    loop = asyncio.get_running_loop()
    page = FakePage(page_widget)
    loop.call_later(0.01, page.render)
    loop.call_later(0.02, lambda: page.send(f"{page.view}:1", error="gave up", done=True))
    assert await page_widget.wait("message") is False
    assert page_widget.error == "gave up"


async def test_wait_refuses_an_unknown_goal(page_widget: JsSocket) -> None:
    with pytest.raises(ValueError):
        await page_widget.wait("closed")  # type: ignore[arg-type]


# --- the JavaScript keeps the DOM contract and never parses data as HTML ------------------


def test_the_javascript_keeps_the_dom_contract() -> None:
    for piece in (
        '"wslab-js-socket"',
        "dataset.readyState",
        "dataset.received",
        "dataset.error",
        'element("ol", "wslab-js-log")',
        'element("li",',
        'element("button", "wslab-js-run"',
        'element("button", "wslab-js-close"',
    ):
        assert piece in JS, piece
    # data-error is removed at the start of every run: set only when it failed.
    assert "delete root.dataset.error" in JS


def test_the_javascript_never_puts_data_in_as_html() -> None:
    code = re.sub(r"//.*", "", JS)  # the comments may name what the code never does
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", code)
    assert "textContent" in JS


def test_the_javascript_cleans_up_when_its_view_goes() -> None:
    # render() returns a cleanup that hangs up, with a code a page may send
    # (close(1001) would throw InvalidAccessError, and leave the socket open).
    assert re.search(r"return \(\) => \{\s*if \(current\)", JS)
    assert 'current.stop(1000, "the page closed this view", true)' in JS
    assert not re.search(r"\.stop\(1001|close\(1001", JS)


# --- the server's log tells the browser from the Python clients ------------------------


async def test_the_log_marks_a_browsers_connection() -> None:
    server = wslab.serve("echo")
    async with connect(server.url, user_agent_header=CHROME, proxy=None) as conn:
        await conn.send("hi")
        await conn.recv()
    async with connect(server.url, proxy=None) as conn:  # websockets' own User-Agent
        await conn.send("hi")
        await conn.recv()
    connects = [entry.text for entry in server.log.entries("connect")]
    assert connects[0].startswith("#1 connected from 127.0.0.1:")
    assert connects[0].endswith(" (browser: Chrome 156)")
    assert "(browser:" not in connects[1]
