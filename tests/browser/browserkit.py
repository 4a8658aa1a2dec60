"""Helpers for the real-browser tests: start JupyterLab, open and run notebooks.

nbval proves that every cell runs; it cannot see a widget. The tests in this
folder open each notebook in JupyterLab in a real (headless) Chromium, run all
its cells and look at the page the way a student does. The fixtures (``lab``,
``browser``, ``page``) are in ``conftest.py``; a test imports the helpers:
``from browserkit import open_notebook, run_all, screenshot``.

JupyterLab is configured for tests the way Galata (JupyterLab's own browser
test kit) does it: no token or password, a fresh workspaces directory, the
news and update pop-ups off, and ``window.jupyterapp`` exposed so a test can
run JupyterLab commands. Autosave is off too, so running the notebooks never
writes their outputs back into the repository.

Chromium is Debian's ``chromium`` (Playwright's own browser download is not
used). When Chromium or JupyterLab cannot start (a student's machine without
Chromium, say) the tests skip with the reason; when ``CI`` is set they fail.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "ARTIFACTS",
    "CHROMIUM_ARGS",
    "REPO",
    "TIDY_UP",
    "Lab",
    "PageErrors",
    "badge_states",
    "cell",
    "close_kernels",
    "find_cell",
    "find_chromium",
    "image_size",
    "js_sockets",
    "kernel_value",
    "last_code_cell",
    "open_notebook",
    "record_widget_messages",
    "run_all",
    "run_rest",
    "screenshot",
    "start_lab",
    "told_states",
    "unavailable",
    "watch_badges",
    "watch_page",
    "widget_output",
    "wire_rows",
]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "screenshots"

# Chromium flags: no sandbox (CI runs as root, where the sandbox refuses to
# start), no GPU (headless machines have none), and none of Chromium's own
# background traffic (updates, sync, field trials): on a machine without
# internet access it would otherwise keep retrying and fill the log.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
CHROMIUM_PATHS = [
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
]

# Lesson durations are nominal seconds; the kernels run them 20 times faster,
# as nbval does in the rest of the test suite.
TIME_SCALE = "0.05"

# JupyterLab user settings for tests (what Galata sets, plus autosave off and
# every cell in the page so a test can see and screenshot any of them).
LAB_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

#: ``run_all(page, until=TIDY_UP)`` runs every cell but the last code cell.
TIDY_UP = "\x00tidy-up"

LAB_START_TIMEOUT = 60.0
OPEN_TIMEOUT_MS = 60_000
RUN_TIMEOUT_MS = 90_000


def unavailable(reason: str) -> None:
    """Skip the test on a student's machine, fail it in CI.

    Args:
        reason: Why the browser tests cannot run here.

    Raises:
        pytest.fail.Exception: When the ``CI`` environment variable is set.
        pytest.skip.Exception: Otherwise.
    """
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"browser tests need {reason}")


def find_chromium() -> str | None:
    """Return the path of a Chromium (or Chrome) to drive, or None.

    ``WSLAB_CHROMIUM`` wins when set; then the usual install paths and PATH.

    Returns:
        An executable path, or None when there is none.
    """
    wanted = os.environ.get("WSLAB_CHROMIUM")
    if wanted:
        return wanted if os.access(wanted, os.X_OK) else None
    for path in CHROMIUM_PATHS:
        if os.access(path, os.X_OK):
            return path
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Lab:
    """A running JupyterLab server for the tests.

    Attributes:
        url: The server's root address, ending in ``/``.
        base: The address of the lab page itself (``url + "lab"``).
        process: The ``jupyter lab`` process.
        log: The file the server writes its log to.
    """

    url: str
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def api(self, method: str, path: str) -> Any:
        """Call the server's REST API.

        Args:
            method: HTTP method (GET, DELETE, ...).
            path: Path under ``/api/``, for example ``"sessions"``.

        Returns:
            The decoded JSON answer, or None for an empty one.
        """
        request = urllib.request.Request(self.url + "api/" + path, method=method)
        with urllib.request.urlopen(request, timeout=10) as answer:
            body = answer.read()
        return json.loads(body) if body else None


def _wait_for_lab(lab: Lab) -> None:
    deadline = time.monotonic() + LAB_START_TIMEOUT
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            tail = lab.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"jupyter lab exited with {lab.process.returncode}:\n{tail}")
        try:
            lab.api("GET", "status")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise RuntimeError(f"jupyter lab did not answer within {LAB_START_TIMEOUT:.0f} s")


@contextlib.contextmanager
def start_lab() -> Iterator[Lab]:
    """Start a headless JupyterLab serving the repository; stop it afterwards.

    Yields:
        The running lab.

    Raises:
        pytest.skip.Exception: When it cannot start (pytest.fail in CI).
    """
    if shutil.which("jupyter", path=str(Path(sys.executable).parent)) is None:
        unavailable("JupyterLab installed in this environment")
    tmp = Path(tempfile.mkdtemp(prefix="wslab-lab-"))
    settings = tmp / "settings"
    for name, values in LAB_SETTINGS.items():
        file = settings / name
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps(values))
    port = _free_port()
    command = [
        str(Path(sys.executable).parent / "jupyter"),
        "lab",
        "--no-browser",
        "--ServerApp.token=",
        "--ServerApp.password=",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={REPO}",
        f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
        f"--LabApp.user_settings_dir={settings}",
        "--LabApp.expose_app_in_browser=True",
        # The server side of "is there a newer JupyterLab?": never ask.
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    env = dict(os.environ)
    env["WSLAB_TIME_SCALE"] = TIME_SCALE
    # A private Jupyter runtime dir: no clash with a lab the student runs.
    env["JUPYTER_RUNTIME_DIR"] = str(tmp / "runtime")
    env.pop("JUPYTER_TOKEN", None)
    log = tmp / "lab.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    running = Lab(url=url, base=url + "lab", process=process, log=log)
    try:
        try:
            _wait_for_lab(running)
        except RuntimeError as error:
            unavailable(f"a JupyterLab that starts ({error})")
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class PageErrors:
    """Everything the page reported as an error: console errors, uncaught exceptions."""

    messages: list[str] = field(default_factory=list)


def close_kernels(lab: Lab, wait: bool = True) -> None:
    """Shut down every kernel session of the lab (each test starts afresh).

    Args:
        lab: The running lab.
        wait: Wait for the kernels to exit; with False, the shutdowns run on
            a thread while the next test starts (the list of sessions is
            taken now, so the next test's kernel is never among them).
    """
    ids = [session["id"] for session in lab.api("GET", "sessions") or []]

    def shut_down() -> None:
        for session_id in ids:
            # A session that ended by itself in the meantime answers 404.
            with contextlib.suppress(urllib.error.URLError, OSError):
                lab.api("DELETE", f"sessions/{session_id}")

    if wait:
        shut_down()
    else:
        threading.Thread(target=shut_down, name="browser-test-kernel-shutdown", daemon=True).start()


def open_notebook(page: Any, lab: Lab, path: str) -> None:
    """Open ``path`` in JupyterLab (a fresh workspace) and wait for its kernel.

    Args:
        page: The Playwright page.
        lab: The running lab.
        path: Notebook path relative to the repository, e.g. ``notebooks/04-live-chat.ipynb``.
    """
    # A workspace of its own, so JupyterLab does not restore the previous
    # test's notebook (and start its kernel again).
    workspace = f"t-{uuid.uuid4().hex[:8]}"
    page.goto(f"{lab.url}lab/workspaces/{workspace}/tree/{path}", timeout=OPEN_TIMEOUT_MS)
    page.wait_for_function(
        """(path) => {
            const app = window.jupyterapp;
            const w = app && app.shell && app.shell.currentWidget;
            return !!(w && w.context && w.context.path === path && w.sessionContext
                && w.sessionContext.session && w.sessionContext.session.kernel
                && w.sessionContext.session.kernel.status === 'idle');
        }""",
        arg=path,
        timeout=OPEN_TIMEOUT_MS,
    )


def _execute(page: Any, command: str, timeout_ms: int) -> str:
    # A run command's promise resolves when its last cell finished: true when
    # every cell succeeded. Kept on window, so the wait below can poll it.
    page.evaluate(
        """(command) => { window.__wslabRun = null;
            window.jupyterapp.commands.execute(command)
            .then(ok => { window.__wslabRun = ok ? 'ok' : 'failed'; },
                  err => { window.__wslabRun = 'error: ' + err; }); }""",
        command,
    )
    page.wait_for_function("() => window.__wslabRun !== null", timeout=timeout_ms)
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
        " === 'idle'",
        timeout=timeout_ms,
    )
    return str(page.evaluate("() => window.__wslabRun"))


def _cell_report(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => {
            const nb = window.jupyterapp.shell.currentWidget;
            const cells = nb.content.widgets.filter(c => c.model.type === 'code');
            const outputs = cells.flatMap(c => c.model.outputs.toJSON());
            return {
                notRun: cells.map((c, i) => [i, c.model.executionCount])
                             .filter(([i, n]) => n === null).map(([i]) => i),
                errors: outputs.filter(o => o.output_type === 'error')
                               .map(o => o.ename + ': ' + o.evalue + '\\n' +
                                    (o.traceback || []).join('\\n')),
                tracebacks: outputs.filter(o => o.output_type === 'stream' &&
                                                o.name === 'stderr' &&
                                                String(o.text).includes('Traceback'))
                                   .map(o => String(o.text)),
            };
        }"""
        )
    )


def find_cell(page: Any, snippet: str) -> int:
    """Return the index of the first cell (any type) whose source contains ``snippet``.

    Args:
        page: The Playwright page with the notebook open.
        snippet: Text to look for in the cells' sources.

    Returns:
        The cell's index in the notebook.

    Raises:
        AssertionError: When no cell contains it.
    """
    index = page.evaluate(
        """(snippet) => window.jupyterapp.shell.currentWidget.content.widgets
            .findIndex(c => c.model.sharedModel.getSource().includes(snippet))""",
        snippet,
    )
    assert index >= 0, f"no cell contains {snippet!r}"
    return int(index)


def last_code_cell(page: Any) -> int:
    """Return the index of the notebook's last code cell (its tidy-up, in every lesson).

    Args:
        page: The Playwright page with the notebook open.

    Returns:
        The cell's index in the notebook.
    """
    return int(
        page.evaluate(
            """() => window.jupyterapp.shell.currentWidget.content.widgets
                .map(c => c.model.type).lastIndexOf('code')"""
        )
    )


def cell(page: Any, snippet: str) -> Any:
    """Return a locator for the first cell whose source contains ``snippet``.

    Args:
        page: The Playwright page with the notebook open.
        snippet: Text to look for in the cells' sources.

    Returns:
        A Playwright locator of the whole cell (input and outputs).
    """
    return page.locator(".jp-Notebook .jp-Cell").nth(find_cell(page, snippet))


def run_all(
    page: Any,
    until: str | None = None,
    expected_stderr: tuple[str, ...] = (),
    timeout_ms: int = RUN_TIMEOUT_MS,
) -> None:
    """Run every cell (Run All), or every cell above ``until``; wait until done.

    Most lessons close their widgets in their last cell (a tidy notebook
    leaves nothing running), so a test that wants to look at a widget runs
    the cells above that cell, looks, then calls :func:`run_rest`.

    Args:
        page: The Playwright page with the notebook open.
        until: Stop before the first cell whose source contains this text;
            :data:`TIDY_UP` stops before the last code cell (every lesson
            ends with one that closes its widgets and stops its servers).
        expected_stderr: Tracebacks the lesson prints on purpose (each
            allowed traceback must contain one of these texts).
        timeout_ms: How long the cells may take.

    Raises:
        AssertionError: When a cell failed, printed an unexpected traceback,
            or (without ``until``) not every code cell ran.
    """
    if until is None:
        outcome = _execute(page, "notebook:run-all-cells", timeout_ms)
    else:
        index = last_code_cell(page) if until is TIDY_UP else find_cell(page, until)
        page.evaluate(
            "(i) => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = i; }",
            index,
        )
        outcome = _execute(page, "notebook:run-all-above", timeout_ms)
    _check(page, outcome, expected_stderr, everything=until is None)


def run_rest(
    page: Any, expected_stderr: tuple[str, ...] = (), timeout_ms: int = RUN_TIMEOUT_MS
) -> None:
    """Run the cells :func:`run_all` stopped before, to the end; check all ran.

    Args:
        page: The Playwright page with the notebook open.
        expected_stderr: As for :func:`run_all`.
        timeout_ms: How long the cells may take.
    """
    outcome = _execute(page, "notebook:run-all-below", timeout_ms)
    _check(page, outcome, expected_stderr, everything=True)


def _check(page: Any, outcome: str, expected_stderr: tuple[str, ...], everything: bool) -> None:
    report = _cell_report(page)
    # Tracebacks come coloured for a terminal: keep the text.
    for key in ("errors", "tracebacks"):
        report[key] = [re.sub(r"\x1b\[[0-9;]*m", "", text) for text in report[key]]
    assert report["errors"] == [], "cells raised:\n" + "\n".join(report["errors"])
    unexpected = [
        text for text in report["tracebacks"] if not any(e in text for e in expected_stderr)
    ]
    assert unexpected == [], "tracebacks printed:\n" + "\n".join(unexpected)
    assert outcome == "ok", f"running the cells: {outcome}"
    if everything:
        assert report["notRun"] == [], f"code cells that did not run: {report['notRun']}"


def screenshot(locator: Any, name: str) -> Path:
    """Save a screenshot of ``locator`` as a test artifact.

    Args:
        locator: What to photograph (a Playwright locator).
        name: File name without extension, e.g. ``"04-chat"``.

    Returns:
        The path of the PNG written under ``test-artifacts/screenshots/``.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page = locator.page
    viewport = page.viewport_size
    box = locator.bounding_box()
    # The notebook scrolls inside JupyterLab, not the page: a widget taller
    # than the window would come out cut. Grow the window to fit it first.
    tall = viewport is not None and box is not None and box["height"] > viewport["height"] - 200
    if tall:
        page.set_viewport_size({"width": viewport["width"], "height": int(box["height"]) + 300})
        page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
    try:
        locator.scroll_into_view_if_needed()
        locator.screenshot(path=str(path), animations="disabled")
    finally:
        if tall:
            page.set_viewport_size(viewport)
    return path


# Installed before Run All: records what the page shows while the cells run,
# so a test sees states that lasted a few milliseconds (by the time the
# notebook finished, a badge shows only its last state):
# - every readyState text each badge shows, in order;
# - each in-page JavaScript socket's readyStates, messages received, errors;
# - the most frame rows (and notes) each wire inspector showed.
_WATCH = r"""() => {
    const pattern = /^(.*?)\s*readyState (\d) (CONNECTING|OPEN|CLOSING|CLOSED)$/;
    const badges = new Map(), sockets = new Map(), wires = new Map();
    window.__wslabSeen = {badges, sockets, wires};
    const look = () => {
        for (const el of document.querySelectorAll('.widget-html-content')) {
            const match = pattern.exec(el.textContent.trim());
            if (!match) continue;
            if (!badges.has(el)) badges.set(el, {label: match[1], states: []});
            const states = badges.get(el).states;
            if (states[states.length - 1] !== match[3]) states.push(match[3]);
        }
        for (const el of document.querySelectorAll('.wslab-js-socket')) {
            if (!sockets.has(el)) sockets.set(el, {states: [], received: 0, errors: []});
            const seen = sockets.get(el);
            const state = el.getAttribute('data-ready-state');
            if (state !== null && seen.states[seen.states.length - 1] !== Number(state)) {
                seen.states.push(Number(state));
            }
            seen.received = Math.max(seen.received,
                                     Number(el.getAttribute('data-received') || 0));
            const error = el.getAttribute('data-error');
            if (error && !seen.errors.includes(error)) seen.errors.push(error);
        }
        for (const el of document.querySelectorAll('.wslab-wire')) {
            const seen = wires.get(el) || {frames: 0, notes: 0};
            seen.frames = Math.max(seen.frames, el.querySelectorAll('tr.wslab-wire-frame').length);
            seen.notes = Math.max(seen.notes, el.querySelectorAll('.wslab-wire-note').length);
            wires.set(el, seen);
        }
    };
    new MutationObserver(look).observe(document.body,
        {subtree: true, childList: true, characterData: true, attributes: true});
    look();
}"""


def watch_page(page: Any) -> None:
    """Start recording what the badges, JavaScript sockets and wire inspectors show.

    Call it before :func:`run_all`; read the record with :func:`badge_states`,
    :func:`js_sockets` and :func:`wire_rows`.

    Args:
        page: The Playwright page with the notebook open.
    """
    page.evaluate(_WATCH)


#: The old name: badges are recorded with the rest.
watch_badges = watch_page


def badge_states(page: Any) -> list[tuple[str, list[str]]]:
    """Return, for each badge seen (in order of appearance), its label and states.

    Args:
        page: The page :func:`watch_page` was called on.

    Returns:
        ``[(label, ["CONNECTING", "OPEN", ...]), ...]``; the label is the
        badge's text before "readyState" (for example ``"ws"``).
    """
    records = page.evaluate(
        "() => [...window.__wslabSeen.badges.values()].map(r => [r.label, r.states])"
    )
    return [(str(label), [str(s) for s in states]) for label, states in records]


def js_sockets(page: Any) -> list[dict[str, Any]]:
    """Return what each in-page JavaScript socket widget showed during the run.

    Args:
        page: The page :func:`watch_page` was called on.

    Returns:
        One ``{"states": [0, 1, 3], "received": 2, "errors": []}`` per widget.
    """
    return list(page.evaluate("() => [...window.__wslabSeen.sockets.values()]"))


def wire_rows(page: Any) -> list[dict[str, int]]:
    """Return, per wire inspector seen, the most frame rows and notes it showed.

    Args:
        page: The page :func:`watch_page` was called on.

    Returns:
        One ``{"frames": 5, "notes": 0}`` per inspector, in order of appearance
        (an inspector of TLS traffic shows notes, not frames: it is encrypted).
    """
    return [
        {"frames": int(w["frames"]), "notes": int(w["notes"])}
        for w in page.evaluate("() => [...window.__wslabSeen.wires.values()]")
    ]


def kernel_value(page: Any, expression: str) -> Any:
    """Evaluate ``expression`` in the notebook's kernel; return it (JSON-able).

    It uses ``user_expressions`` of a silent execute request: nothing is
    printed, no cell changes, the execution count stays.

    Args:
        page: The Playwright page with the notebook open.
        expression: A Python expression whose value ``json.dumps`` can encode.

    Returns:
        The value, decoded from JSON.

    Raises:
        AssertionError: When the expression raised in the kernel.
    """
    reply = page.evaluate(
        """async (expr) => {
            const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            const future = kernel.requestExecute({code: '', silent: true, store_history: false,
                                                  user_expressions: {v: expr}});
            const result = (await future.done).content.user_expressions.v;
            return result.status === 'ok' ? {value: result.data['text/plain']}
                                          : {error: result.ename + ': ' + result.evalue};
        }""",
        f"__import__('json').dumps({expression})",
    )
    assert "error" not in reply, f"{expression}: {reply['error']}"
    return json.loads(ast.literal_eval(reply["value"]))


def widget_output(page: Any, snippet: str, nth: int = 0) -> Any:
    """Return a locator of a widget output of the cell whose source contains ``snippet``.

    Args:
        page: The Playwright page with the notebook open.
        snippet: Text to look for in the cells' sources.
        nth: Which of the cell's widget outputs (0: the first).

    Returns:
        A Playwright locator of that output (what to assert on, or screenshot).
    """
    outputs = cell(page, snippet).locator(".jp-OutputArea-output")
    return outputs.filter(has=page.locator(".jupyter-widgets")).nth(nth)


def image_size(locator: Any) -> tuple[int, int]:
    """Return the natural size of the image ``locator`` points at (0, 0 if broken).

    Args:
        locator: A Playwright locator of an ``<img>``.

    Returns:
        ``(width, height)`` in pixels, as decoded by the browser.
    """
    width, height = locator.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    return int(width), int(height)


# A readyState badge's HTML as it travels to the page inside a widget message
# (JSON-encoded, so its quotes arrive as \").
_BADGE_IN_MESSAGE = re.compile(
    r'font-family:monospace\\?">(.*?) ?readyState <span[^>]*>\d (CONNECTING|OPEN|CLOSING|CLOSED)<'
)


def record_widget_messages(page: Any) -> None:
    """Record every badge state the kernel sends to the page, per badge label.

    A badge whose connection opens while the page is still drawing it is
    first drawn as OPEN: the page was told CONNECTING, but too early to show
    it. This keeps what the page was told (from the kernel's WebSocket), next
    to what it drew (:func:`badge_states`). Call it before the page opens
    anything; read it with :func:`told_states`.

    Args:
        page: A fresh Playwright page.
    """
    told: dict[str, list[str]] = {}
    page.wslab_told = told

    def on_frame(payload: str | bytes) -> None:
        text = payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
        if "readyState" not in text:
            return
        for label, state in _BADGE_IN_MESSAGE.findall(text):
            name = json.loads(f'"{label}"') if "\\" in label else label
            states = told.setdefault(name, [])
            if not states or states[-1] != state:
                states.append(state)

    page.on("websocket", lambda socket: socket.on("framereceived", on_frame))


def told_states(page: Any, label: str) -> list[str]:
    """Return the states the kernel sent for badges labelled ``label``, in order.

    Args:
        page: The page :func:`record_widget_messages` was called on.
        label: The badge's label (its text before "readyState").

    Returns:
        For example ``["CONNECTING", "OPEN", "CLOSING", "CLOSED"]``.
    """
    return list(page.wslab_told.get(label, []))
