"""Presenting a lesson as slides (jupyterlab-deck) with its widgets live.

jupyterlab-deck turns the open notebook itself into slides, inside
JupyterLab: the widgets on a slide are the notebook's own widget views, so
they keep updating, and the presenter can run cells (and type in a chat box)
on the slide. These tests present lesson 4, step to the chat box's slide,
chat with a bot from the slide, and check an anywidget (JavaScript widget)
on a slide too. Why deck and not RISE or Voilà: see the README, "Presenting
as slides".
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from browserkit import ARTIFACTS, REPO, Lab, open_notebook, run_all

LESSON = "notebooks/04-live-chat.ipynb"
CHAT_CELL = "box = ChatBox(session)"
MAX_STEPS = 60
WAIT_MS = 30_000


@pytest.fixture
def deck(page: Any) -> Iterator[Any]:
    """The page, once jupyterlab-deck is installed; deck mode is stopped afterwards."""
    if importlib.util.find_spec("jupyterlab_deck") is None:
        if os.environ.get("CI"):
            pytest.fail("needs jupyterlab-deck (the slides tool the course presents with)")
        pytest.skip("needs jupyterlab-deck")
    yield page
    page.evaluate("() => window.jupyterapp.commands.execute('deck:stop')")


def _command(page: Any, command: str) -> None:
    page.evaluate("(c) => window.jupyterapp.commands.execute(c)", command)


def _cell_index(page: Any, snippet: str) -> int:
    index = page.evaluate(
        """(snippet) => window.jupyterapp.shell.currentWidget.content.widgets
            .findIndex(c => c.model.sharedModel.getSource().includes(snippet))""",
        snippet,
    )
    assert index >= 0, f"no cell contains {snippet!r}"
    return int(index)


def _on_slide(page: Any) -> list[int]:
    """The indices of the cells deck shows on the current slide."""
    return [
        int(i)
        for i in page.evaluate(
            """() => window.jupyterapp.shell.currentWidget.content.widgets
                .map((c, i) => [i, c.node]).filter(([i, node]) =>
                    node.classList.contains('jp-deck-mod-visible') &&
                    getComputedStyle(node).visibility === 'visible')
                .map(([i]) => i)"""
        )
    ]


def _start_deck(page: Any) -> None:
    page.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0; }")
    _command(page, "deck:start")
    page.wait_for_function("() => document.body.dataset.jpDeckMode === 'presenting'")


def _step_to(page: Any, index: int) -> int:
    """Press "forward" until cell ``index`` is on the slide; return how many steps it took."""
    for steps in range(MAX_STEPS):
        if index in _on_slide(page):
            return steps
        _command(page, "deck:forward")
        page.wait_for_timeout(150)
    raise AssertionError(f"cell {index} never came on a slide in {MAX_STEPS} steps")


def _screenshot(page: Any, name: str) -> None:
    # The whole window: in deck mode the page body itself counts as hidden
    # (only the cells on the slide are visible), so no element screenshot.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), animations="disabled")


def _run_through(page: Any, index: int) -> None:
    """Run the cells from the top through cell ``index``, as a presenter does."""
    outcome = page.evaluate(
        """async (i) => {
            const app = window.jupyterapp;
            app.shell.currentWidget.content.activeCellIndex = i + 1;
            return await app.commands.execute('notebook:run-all-above') ? 'ok' : 'failed';
        }""",
        index,
    )
    assert outcome == "ok", f"running the cells above {index}: {outcome}"


def test_lesson_4_chat_box_is_live_on_its_slide(deck: Any, lab: Lab) -> None:
    page = deck
    open_notebook(page, lab, LESSON)
    run_all(page)  # the whole lesson runs with its slide metadata
    # Present it: run the lesson again from the top through the chat box
    # (the last cell of a lesson stops its servers), then show the slides.
    chat = _cell_index(page, CHAT_CELL)
    _run_through(page, chat)
    _start_deck(page)

    title = _on_slide(page)
    assert 0 not in title, "the navigation cell is skipped on the slides"
    assert any("# Lesson 4" in t for t in _sources(page, title))

    steps = _step_to(page, chat)
    assert steps >= 2, "the chat box is a few slides into the lesson"
    slide = _on_slide(page)
    assert any(s.startswith("## Join the room") for s in _sources(page, slide))

    box = (
        page.locator(".jp-Notebook .jp-Cell")
        .nth(chat)
        .locator(".jp-OutputArea-output:has(.jupyter-widgets)")
    )
    send = box.locator("button", has_text="Send")
    typing = box.locator(".widget-text input")
    assert send.is_visible() and typing.is_visible()
    page.wait_for_function(
        "(i) => window.jupyterapp.shell.currentWidget.content.widgets[i].node"
        ".textContent.includes('You readyState 1 OPEN')",
        arg=chat,
        timeout=WAIT_MS,
    )
    # The box shows the newest 30 lines, and the bots talk fast in tests, so
    # look at who is online rather than at the first line.
    assert "Online (3)" in box.inner_text()

    # Live: chat from the slide; Ada answers whoever mentions her.
    assert "you called?" not in box.inner_text()
    typing.fill("hi Ada, from the slides")
    send.click()
    page.wait_for_function(
        """(i) => {
            const text = window.jupyterapp.shell.currentWidget.content.widgets[i].node.textContent;
            return text.includes('hi Ada, from the slides') && text.includes('you called?');
        }""",
        arg=chat,
        timeout=WAIT_MS,
    )
    assert chat in _on_slide(page), "the chat box is still on the slide"
    _screenshot(page, "slides-04-chat")


ANYWIDGET_NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    "cells": [
        {
            "id": "title",
            "cell_type": "markdown",
            "metadata": {"slideshow": {"slide_type": "slide"}},
            "source": "# A JavaScript widget on a slide",
        },
        {
            "id": "section",
            "cell_type": "markdown",
            "metadata": {"slideshow": {"slide_type": "slide"}},
            "source": "## It counts",
        },
        {
            "id": "counter",
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": (
                "import asyncio\n"
                "import anywidget, traitlets\n\n"
                "class Counter(anywidget.AnyWidget):\n"
                "    _esm = '''\n"
                "    export default { render({ model, el }) {\n"
                "      const span = document.createElement('span');\n"
                "      span.className = 'slides-counter';\n"
                "      const draw = () => { span.textContent = 'count ' + model.get('value'); };\n"
                "      draw(); model.on('change:value', draw); el.appendChild(span);\n"
                "    } };\n"
                "    '''\n"
                "    value = traitlets.Int(0).tag(sync=True)\n\n"
                "counter = Counter()\n"
                "display(counter)\n\n"
                "async def count():\n"
                "    while counter.value < 10_000:\n"
                "        await asyncio.sleep(0.2)\n"
                "        counter.value += 1\n\n"
                "ticking = asyncio.get_running_loop().create_task(count())"
            ),
        },
    ],
}


def _sources(page: Any, indices: list[int]) -> list[str]:
    sources = page.evaluate(
        """(indices) => indices.map(i => window.jupyterapp.shell.currentWidget.content
            .widgets[i].model.sharedModel.getSource())""",
        indices,
    )
    return [str(s) for s in sources]


def test_an_anywidget_renders_and_updates_on_a_slide(deck: Any, lab: Lab) -> None:
    page = deck
    path = REPO / "test-artifacts" / "slides-anywidget.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(ANYWIDGET_NOTEBOOK), encoding="utf-8")
    open_notebook(page, lab, "test-artifacts/slides-anywidget.ipynb")
    _start_deck(page)
    # Present with the keys the README gives: an arrow to the next slide (in
    # command mode), then Shift+Enter runs a cell on the slide and moves on.
    page.locator(".jp-Notebook").first.click()
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.activeCellIndex === 1"
    )
    assert 2 in _on_slide(page), "the code cell continues the second slide"
    page.keyboard.press("Shift+Enter")  # the heading
    page.keyboard.press("Shift+Enter")  # the counter's cell
    page.wait_for_selector(".slides-counter", timeout=WAIT_MS)

    counter = page.locator(".slides-counter")
    assert counter.is_visible()
    first = int(counter.inner_text().split()[-1])
    page.wait_for_function(
        "(n) => Number(document.querySelector('.slides-counter').textContent.split(' ')[1]) > n",
        arg=first + 2,
        timeout=WAIT_MS,
    )
    _screenshot(page, "slides-anywidget")
