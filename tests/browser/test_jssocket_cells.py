"""The JsSocket cells in a real browser: the page's own WebSocket, the kernel's view of it.

test_lessons_in_browser.py checks that every in-page socket opened, heard the
server and never failed. Here, for each lesson that has one: the kernel got
the page's report (the same events the widget lists), the lesson server's log
names the browser's connection, "Run again" starts a new run, and a server
the page cannot reach gives the explanation instead of a hang.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from browserkit import (
    Lab,
    kernel_value,
    open_notebook,
    run_all,
    screenshot,
)

__all__: list[str] = []

# Each lesson runs up to the cell after its JsSocket cells (what comes later
# is the other tests' business, and costs time).
LESSONS = {
    "01-websocket-basics": 'badge = ReadyStateBadge(ws, label="ws")',
    "02-listeners-vs-onmessage": "setup_chat(ws2)  # a second, brand-new lambda",
    "05-reconnect": "theirs = list(itertools.islice(websockets_backoff(), 10))",
    "07-rooms": "def said_in_random(entry):",
    "09-heartbeat": "alb = start_middlebox(server.port",
}
# Tracebacks a lesson prints on purpose (and explains).
EXPECTED_STDERR = {"02-listeners-vs-onmessage": ("this listener fails on purpose",)}

WIDGET = ".wslab-js-socket"
# What the kernel knows of the page's run, in one round trip.
KERNEL_SIDE = (
    "[page.rendered, page.done, page.error, page.run, page.lines(),"
    " [e.text for e in server.log.entries('connect') if '(browser: ' in e.text]]"
)


def dom(page: Any) -> dict[str, Any]:
    """The widget's DOM contract, as the page shows it now."""
    return dict(
        page.locator(WIDGET).evaluate(
            """(root) => ({
                ready: root.getAttribute('data-ready-state'),
                received: Number(root.getAttribute('data-received')),
                error: root.getAttribute('data-error'),
                lines: [...root.querySelectorAll('ol.wslab-js-log > li')].map(li => li.textContent),
                note: root.querySelector('.wslab-js-note').textContent,
            })"""
        )
    )


def kernel_until(page: Any, expression: str, timeout: float = 10.0) -> None:
    """Poll ``expression`` in the kernel until it is true: the page's last
    report may still be on its way when the DOM already shows it."""
    deadline = time.monotonic() + timeout
    while not kernel_value(page, expression):
        assert time.monotonic() < deadline, f"never true in the kernel: {expression}"
        page.wait_for_timeout(50)


def run_lesson(page: Any, lab: Lab, lesson: str) -> None:
    open_notebook(page, lab, f"notebooks/{lesson}.ipynb")
    run_all(page, until=LESSONS[lesson], expected_stderr=EXPECTED_STDERR.get(lesson, ()))


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_page_and_the_kernel_saw_the_same_run(page: Any, lab: Lab, lesson: str) -> None:
    run_lesson(page, lab, lesson)
    assert page.locator(WIDGET).count() == 1
    shown = dom(page)
    rendered, done, error, runs, lines, browser = kernel_value(page, KERNEL_SIDE)
    assert (rendered, done, error, runs) == (True, True, "", 1)
    assert shown["ready"] == "3" and shown["received"] >= 1 and shown["error"] is None
    assert shown["lines"] == lines  # the kernel got every event the page listed, in order
    assert browser, "the lesson server's log shows no browser connection"
    assert re.fullmatch(r"#\d+ connected from 127\.0\.0\.1:\d+ \(browser: Chrome \d+\)", browser[0])
    screenshot(page.locator(WIDGET), f"jssocket-{lesson[:2]}")


def test_run_again_and_a_server_the_page_cannot_reach(page: Any, lab: Lab) -> None:
    run_lesson(page, lab, "01-websocket-basics")
    # Run again: a second run, a second browser connection on the server.
    page.locator(f"{WIDGET} button.wslab-js-run").click()
    page.wait_for_function(
        """() => { const r = document.querySelector('.wslab-js-socket');
                   return r.getAttribute('data-ready-state') === '3'
                       && r.querySelectorAll('ol.wslab-js-log > li').length === 6; }"""
    )
    kernel_until(page, "page.run == 2 and page.done")
    _, done, error, runs, _, browser = kernel_value(page, KERNEL_SIDE)
    assert (done, error, runs, len(browser)) == (True, "", 2, 2)

    # The server goes away: the page says why, instead of spinning.
    port = kernel_value(page, "server.port")
    kernel_value(page, "server.stop() or 0")
    page.locator(f"{WIDGET} button.wslab-js-run").click()
    page.wait_for_function(
        "() => document.querySelector('.wslab-js-socket').hasAttribute('data-error')"
    )
    shown = dom(page)
    assert shown["error"].startswith(f"This page could not reach ws://127.0.0.1:{port}/ — ")
    assert "The Python cells still work" in shown["note"]
    assert shown["lines"][-1] == "gave up: the page could not reach the server (see above)"
    kernel_until(page, "page.run == 3 and page.done")
    assert kernel_value(page, "[page.error == page.explanation, page.done, page.run]") == [
        True,
        True,
        3,
    ]
    screenshot(page.locator(WIDGET), "jssocket-unreachable")
    # The browser reports the refused connection on its console: expected here.
    page.errors.messages[:] = [
        m for m in page.errors.messages if f"ws://127.0.0.1:{port}/" not in m
    ]
