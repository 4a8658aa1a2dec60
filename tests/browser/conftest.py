"""Fixtures for the real-browser tests: one JupyterLab, one Chromium, a page per test.

Every test in this folder is marked ``browser``; the helpers are in
``browserkit.py``. See its docstring for how JupyterLab is set up.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browserkit import (
    CHROMIUM_ARGS,
    Lab,
    PageErrors,
    close_kernels,
    find_chromium,
    record_widget_messages,
    start_lab,
    unavailable,
)

__all__ = ["browser", "lab", "page"]


# Module scope: the lab and its kernels stop when a module's tests are done,
# so the tests that run next (some count child processes) find none left.
@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """One headless JupyterLab (serving the repository) per test module."""
    with start_lab() as running:
        yield running


# Module scope, not session: while Playwright's sync API runs, its event loop
# counts as running in this thread, and every asyncio test after it would fail
# ("Runner.run() cannot be called from a running event loop").
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Launch one headless Chromium per test module; stop it after the module."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        unavailable("the playwright package (uv sync installs it with the dev group)")
    path = find_chromium()
    if path is None:
        unavailable("Chromium (Debian: apt-get install chromium; or set WSLAB_CHROMIUM)")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        except Error as error:
            unavailable(f"a Chromium that starts ({path}: {error.message.splitlines()[0]})")
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, lab: Lab) -> Iterator[Any]:
    """A fresh browser page; the test fails on any JavaScript error in it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    new_page = context.new_page()
    errors = PageErrors()
    new_page.on(
        "console",
        lambda message: (
            errors.messages.append(f"console.{message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    new_page.on("pageerror", lambda error: errors.messages.append(f"page error: {error}"))
    new_page.errors = errors
    record_widget_messages(new_page)
    yield new_page
    context.close()
    close_kernels(lab, wait=False)
    assert errors.messages == [], "JavaScript errors in the page:\n" + "\n".join(errors.messages)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder ``browser`` (``-m "not browser"`` skips them)."""
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)
