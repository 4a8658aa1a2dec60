"""Every notebook, run in JupyterLab in a real Chromium: what a student sees.

Each test opens one notebook, runs its cells up to the tidy-up cell at the
end (which closes the widgets), checks the lesson's main widget as drawn in
the page and saves a screenshot of it (``test-artifacts/screenshots/``), then
runs the tidy-up too. Along the way it records every state each readyState
badge showed, so a CONNECTING that lasted a few milliseconds still counts.
The ``page`` fixture fails the test on any JavaScript error in the page, and
``run_all``/``run_rest`` on any cell error or unexpected traceback.
"""

from __future__ import annotations

import re
from typing import Any

from browserkit import (
    REPO,
    TIDY_UP,
    Lab,
    badge_states,
    cell,
    image_size,
    js_sockets,
    kernel_value,
    open_notebook,
    run_all,
    run_rest,
    screenshot,
    told_states,
    watch_page,
    widget_output,
    wire_rows,
)

__all__: list[str] = []

# One bar per second waited, this many pixels wide (wslab.widgets.reconnect).
PIXELS_PER_SECOND = 8


def start(page: Any, lab: Lab, notebook: str) -> str:
    """Open ``notebook``, start recording the page, run all but the tidy-up cell."""
    path = f"notebooks/{notebook}.ipynb"
    open_notebook(page, lab, path)
    watch_page(page)
    run_all(page, until=TIDY_UP, expected_stderr=EXPECTED_STDERR.get(notebook, ()))
    return path


def finish(page: Any, notebook: str) -> None:
    """Run the tidy-up cell; check the extra widgets other lessons' cells show."""
    run_rest(page, expected_stderr=EXPECTED_STDERR.get(notebook, ()))
    source = (REPO / "notebooks" / f"{notebook}.ipynb").read_text(encoding="utf-8")
    # The in-page JavaScript WebSocket (JsSocket): it must open, hear the
    # server, and never fail, in every lesson that shows one.
    sockets = js_sockets(page)
    if "JsSocket(" in source:
        assert sockets, "the lesson shows a JsSocket, but none appeared in the page"
    for seen in sockets:
        assert 1 in seen["states"], f"the page's WebSocket never reached OPEN: {seen}"
        assert seen["received"] >= 1, f"the page's WebSocket received nothing: {seen}"
        assert seen["errors"] == [], f"the page's WebSocket failed: {seen}"
    # The wire inspector: its table lists the frames that crossed the wire
    # (or, for encrypted traffic, a note saying why it cannot).
    wires = wire_rows(page)
    if "WireInspector(" in source:
        assert any(w["frames"] >= 1 for w in wires), f"no wire inspector showed frames: {wires}"
    assert all(w["frames"] or w["notes"] for w in wires), f"an empty wire inspector: {wires}"


# Tracebacks a lesson prints on purpose (and explains).
EXPECTED_STDERR = {
    "02-listeners-vs-onmessage": ("this listener fails on purpose",),
}


def lifecycle(states: list[str]) -> bool:
    """True when a badge went CONNECTING → OPEN → ... → CLOSED.

    Anything before the first CONNECTING is ignored: a badge may be told its
    state once before it starts watching its client.
    """
    if "CONNECTING" not in states:
        return False
    states = states[states.index("CONNECTING") :]
    return len(states) >= 3 and states[1] == "OPEN" and states[-1] == "CLOSED"


def drawn_lifecycle(states: list[str]) -> bool:
    """True when a badge was drawn (CONNECTING →) OPEN → ... → CLOSED.

    A connection that opens while the page is still drawing its badge skips
    CONNECTING on screen (the page was told, see :func:`told_states`).
    """
    if states[:1] == ["CONNECTING"]:
        states = states[1:]
    return len(states) >= 2 and states[0] == "OPEN" and states[-1] == "CLOSED"


def badges(page: Any, label: str) -> list[list[str]]:
    """The state sequences of every badge labelled ``label`` the page drew."""
    return [states for name, states in badge_states(page) if name == label]


def assert_badge(page: Any, label: str) -> None:
    """The badge labelled ``label`` went CONNECTING → OPEN → CLOSED, told and drawn."""
    told = told_states(page, label)
    assert lifecycle(told), f"the kernel told badge {label!r}: {told}"
    drawn = badges(page, label)
    assert drawn, f"no badge {label!r} appeared; badges: {badge_states(page)}"
    assert drawn_lifecycle(drawn[0]), f"badge {label!r} was drawn as {drawn[0]}"


def test_00_index(page: Any, lab: Lab) -> None:
    start(page, lab, "00-index")
    badge = widget_output(page, 'label="setup check"')
    assert re.search(r"setup check readyState [13] (OPEN|CLOSED)", badge.inner_text())
    assert "Your setup works" in cell(page, 'label="setup check"').inner_text()
    screenshot(badge, "00-setup-check")
    finish(page, "00-index")
    assert_badge(page, "setup check")


def test_01_websocket_basics(page: Any, lab: Lab) -> None:
    start(page, lab, "01-websocket-basics")
    log = widget_output(page, "display(server_log)")
    text = log.inner_text()
    assert "echo server (live)" in text
    assert re.search(r"⬅ in\s+#\d+ Hello!", text) and re.search(r"➡ out\s+#\d+ Hello!", text)
    screenshot(log, "01-echo-log")
    screenshot(widget_output(page, 'label="ws"'), "01-badge")
    finish(page, "01-websocket-basics")
    assert_badge(page, "ws")
    # CLOSING shows too: close() starts the closing handshake.
    assert told_states(page, "ws") == ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]
    assert badges(page, "ws")[0][-3:] == ["OPEN", "CLOSING", "CLOSED"]


def test_02_listeners_vs_onmessage(page: Any, lab: Lab) -> None:
    start(page, lab, "02-listeners-vs-onmessage")
    outputs = cell(page, "display(badge, screen, log_view)").locator(".jp-Cell-outputArea")
    text = outputs.inner_text()
    assert "Latest message: Hello!" in text
    assert "The client's log" in text
    screenshot(outputs, "02-app")
    finish(page, "02-listeners-vs-onmessage")
    assert_badge(page, "app")


def test_03_callbacks_vs_async_await(page: Any, lab: Lab) -> None:
    start(page, lab, "03-callbacks-vs-async-await")
    dashboard = widget_output(page, "display(dashboard, MessageLog(")
    assert re.search(r"sent (\d+) · answered \1\b", dashboard.inner_text())
    screenshot(
        cell(page, "display(dashboard, MessageLog(").locator(".jp-Cell-outputArea"), "03-dashboard"
    )
    finish(page, "03-callbacks-vs-async-await")
    assert_badge(page, "lesson3")


def test_04_live_chat(page: Any, lab: Lab) -> None:
    start(page, lab, "04-live-chat")
    box = widget_output(page, "box = ChatBox(session)")
    text = box.inner_text()
    # The bots' messages, as the student's chat box shows them.
    bot_lines = [line for line in text.splitlines() if re.match(r"(Ada|Grace): \S", line)]
    assert len(bot_lines) >= 2, text
    assert "You: " in text  # the student's own message
    online = re.search(r"Online \((\d+)\)", text)
    assert online, text
    shown = kernel_value(page, "session.online")
    assert int(online.group(1)) == len(shown) and {"Ada", "Grace", "You"} <= set(shown)
    for name in shown:
        assert box.locator("li", has_text=name).count() >= 1, name
    screenshot(box, "04-chat")
    finish(page, "04-live-chat")
    assert_badge(page, "You")


def drawn_attempts(page: Any, timeline: Any) -> list[tuple[int, int, int]]:
    """The attempt rows a timeline shows: (number, bars in the row, bar width)."""
    # Read the whole table at once: the widget redraws it on every change.
    rows = timeline.evaluate(
        """view => [...view.querySelectorAll('tr')]
            .filter(row => row.cells.length >= 4 && row.cells[0].innerText.trim().startsWith('#'))
            .map(row => {
                const bars = row.cells[3].querySelectorAll('div');
                return [Number(row.cells[0].innerText.trim().slice(1)), bars.length,
                        bars.length ? Math.round(bars[0].getBoundingClientRect().width) : 0];
            })"""
    )
    return [(int(number), int(count), int(width)) for number, count, width in rows]


def assert_timeline(page: Any, snippet: str, widget: str) -> Any:
    """The timeline draws one row per attempt and one bar per retry it waited for."""
    timeline = widget_output(page, snippet)
    # The widget's own data: the client's attempts, the newest max_rows of them
    # (compared once the page has drawn the latest, as a client may still be live).
    for _ in range(20):
        drawn = drawn_attempts(page, timeline)
        attempts = kernel_value(
            page, f"[(a.number, a.delay) for a in {widget}.client.attempts[-{widget}.max_rows :]]"
        )
        if [number for number, _, _ in drawn] == [number for number, _ in attempts]:
            break
        page.wait_for_timeout(250)
    in_widget = kernel_value(page, f"__import__('re').findall(r'>#(\\d+)<', {widget}.table.value)")
    assert [number for number, _, _ in drawn] == [number for number, _ in attempts], (
        f"the page shows attempts {[n for n, _, _ in drawn]}, the widget's HTML {in_widget}, "
        f"the client has {[n for n, _ in attempts]}"
    )
    for (number, bar_count, width), (_, delay) in zip(drawn, attempts, strict=True):
        if delay > 0:
            assert bar_count == 1, f"attempt #{number} waited {delay} s: one bar"
            assert width == max(2, round(delay * PIXELS_PER_SECOND)), (number, delay, width)
        else:
            assert bar_count == 0, f"attempt #{number} did not wait: no bar"
    return timeline


def test_05_reconnect(page: Any, lab: Lab) -> None:
    start(page, lab, "05-reconnect")
    timeline = assert_timeline(page, "timeline = BackoffTimeline(client)", "timeline")
    assert kernel_value(page, "len(client.attempts)") >= 6  # the outages the lesson stages
    screenshot(timeline, "05-backoff-timeline")
    reliable = assert_timeline(
        page, "reliable_timeline = BackoffTimeline(reliable.client)", "reliable_timeline"
    )
    screenshot(reliable, "05-reliable-timeline")
    finish(page, "05-reconnect")
    assert_badge(page, "you")
    # Every outage shows: CONNECTING again after each drop, and back to OPEN.
    you = badges(page, "you")[0]
    assert you.count("OPEN") >= 3 and you.count("CONNECTING") >= 3, you


def test_06_broadcasting(page: Any, lab: Lab) -> None:
    start(page, lab, "06-broadcasting")
    board = widget_output(page, 'board = ClientBoard(title="clients (live)"')
    # Read the whole table at once: the board redraws it on every message.
    names = board.evaluate(
        "view => [...view.querySelectorAll('tr')].filter(r => r.cells.length && r.cells[0]"
        ".tagName === 'TD').map(r => r.cells[0].innerText)"
    )
    assert names[:3] == ["Ada", "Bob", "Cy"], names
    text = board.inner_text()
    assert "hello, everyone!" in text and re.search(r"\d OPEN", text), text
    screenshot(board, "06-client-board")
    plot = cell(page, "plt.subplots(1, 2, figsize=(11, 3.8))").locator("img")
    assert min(image_size(plot)) > 100
    finish(page, "06-broadcasting")


def test_07_rooms(page: Any, lab: Lab) -> None:
    start(page, lab, "07-rooms")
    view = widget_output(page, "view = RoomsView(server.app.rooms")

    def drawn() -> dict[str, list[str]]:
        # Read the whole table at once: the widget redraws it on every change.
        rows = view.evaluate(
            """view => [...view.querySelectorAll('tr')]
                .filter(row => row.querySelectorAll('td').length === 2)
                .map(row => [row.cells[0].innerText,
                             [...row.cells[1].querySelectorAll('span')].map(s => s.innerText)])"""
        )
        return {re.sub(r" \(\d+\)$", "", room): members for room, members in rows}

    # The bots keep moving between rooms: the page and the widget's own data
    # agree once the page has drawn the latest change.
    for _ in range(20):
        page_rooms, shown = drawn(), kernel_value(page, "view.shown")
        if page_rooms == shown:
            break
        page.wait_for_timeout(250)
    assert page_rooms == shown, (page_rooms, shown)
    assert any(page_rooms.values()), page_rooms  # rooms with members listed
    assert "recently:" in view.inner_text()
    screenshot(view, "07-rooms")
    finish(page, "07-rooms")


def test_08_authentication(page: Any, lab: Lab) -> None:
    start(page, lab, "08-authentication")
    status = widget_output(page, "status_line = widgets.HTML(")
    assert "page:" in status.inner_text()
    log = widget_output(page, "display(server_log)")
    assert "auth server" in log.inner_text()
    screenshot(log, "08-auth-log")
    finish(page, "08-authentication")
    assert_badge(page, "alice")


def test_09_heartbeat(page: Any, lab: Lab) -> None:
    start(page, lab, "09-heartbeat")
    beat = widget_output(page, "display(beat_view)")
    assert re.search(r"app readyState \d [A-Z]+", beat.inner_text())
    # One bar per ping, as the widget's own HTML has them (it may still be
    # beating: compare once the page has drawn the latest ping).
    for _ in range(20):
        drawn = beat.locator("div[title^='ping #']").evaluate_all("bars => bars.map(b => b.title)")
        widget = kernel_value(
            page, "__import__('re').findall(r\"title='(ping #[^']*)'\", beat_view.bars.value)"
        )
        if drawn == widget:
            break
        page.wait_for_timeout(250)
    assert drawn == widget and drawn, (drawn, widget)
    # ...which are the heartbeat's pings, oldest first (the newest may not be drawn yet).
    numbers = [int(re.match(r"ping #(\d+)", title).group(1)) for title in drawn]  # type: ignore[union-attr]
    beats = kernel_value(page, "[b.number for b in beat_view.heartbeat.beats]")
    newest = (beats[-len(numbers) :], beats[-len(numbers) - 1 : -1])
    assert numbers in newest, (numbers, beats)
    # The silent drop shows as a ping with no pong in time: a ✗ instead of a bar.
    assert sum(title.endswith(": no pong") for title in drawn) >= 1, drawn
    screenshot(beat, "09-heartbeat")
    timeline = assert_timeline(page, "beat_timeline = BackoffTimeline(app)", "beat_timeline")
    screenshot(timeline, "09-reconnect-timeline")
    finish(page, "09-heartbeat")
    app = badges(page, "app")
    # The silent drop: the heartbeat noticed, the client reconnected, then closed.
    assert app and all(
        s[-1] == "CLOSED" and "CONNECTING" in s and s[s.index("CONNECTING") + 1] == "OPEN"
        for s in app
    ), app


def test_10_binary_data(page: Any, lab: Lab) -> None:
    start(page, lab, "10-binary-data")
    outputs = cell(page, "display(sent_bar, received_bar)").locator(".jp-Cell-outputArea")
    bars = outputs.locator(".progress-bar")
    assert bars.count() == 2
    for i in range(2):
        # The bar is full: as wide as its track, and the caption says 100 %.
        filled, track = bars.nth(i).evaluate(
            "b => [b.getBoundingClientRect().width, b.parentElement.getBoundingClientRect().width]"
        )
        assert track > 0 and abs(filled - track) < 1, (filled, track)
    captions = outputs.locator(".widget-html-content").all_inner_texts()
    assert sum("(100%) ✔" in caption for caption in captions) == 2, captions
    screenshot(outputs, "10-progress")
    picture = cell(page, "display(Image(data=image.bytes()))").locator("img")
    assert min(image_size(picture)) > 50
    finish(page, "10-binary-data")


def test_11_scaling(page: Any, lab: Lab) -> None:
    start(page, lab, "11-scaling")
    view = widget_output(page, 'cluster = start_cluster(2, mode="redis"')
    text = view.inner_text()
    assert "Balancer" in text and "server A" in text and "server B" in text
    assert re.search(r"clients \(2\): alice, bob", text), text
    screenshot(view, "11-cluster")
    chart = widget_output(page, "display(MemoryChart(profile))")
    # One dot per measurement, and the measured and fitted lines.
    assert chart.locator("svg circle").count() >= 3
    assert chart.locator("svg polyline").count() == 2
    screenshot(chart, "11-memory-chart")
    finish(page, "11-scaling")


def test_12_ws_vs_sse_vs_polling(page: Any, lab: Lab) -> None:
    start(page, lab, "12-ws-vs-sse-vs-polling")
    board = widget_output(page, "display(board)")
    columns = board.locator("td")
    assert columns.count() == 3
    for i, transport in enumerate(["WebSocket", "SSE", "long polling"]):
        text = columns.nth(i).inner_text()
        assert text.startswith(transport), text
        received = re.search(r"\n(\d+)\nmessages", text)
        assert received and int(received.group(1)) > 0, text
    screenshot(board, "12-feed-board")
    plot = cell(page, "right.plot(stats[t].seqs").locator("img")
    assert min(image_size(plot)) > 100
    box = plot.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100
    screenshot(plot, "12-latency-plot")
    finish(page, "12-ws-vs-sse-vs-polling")


def test_13_all_four_patterns(page: Any, lab: Lab) -> None:
    start(page, lab, "13-all-four-patterns")
    board = widget_output(page, "display(board, server_view)")
    assert board.locator(".widget-gridbox").count() == 1
    assert board.inner_text().count("✅ Alice: order 101") >= 4
    screenshot(board, "13-all-patterns")
    plot = cell(page, "from matplotlib.patches import Patch").locator("img")
    assert min(image_size(plot)) > 100
    finish(page, "13-all-four-patterns")
    seen = badge_states(page)
    labels = {label for label, _ in seen}
    assert len(labels) >= 5, seen
    for label in labels:
        assert_badge(page, label)
