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

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
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
    "Lab",
    "PageErrors",
    "badge_states",
    "close_kernels",
    "find_chromium",
    "open_notebook",
    "run_all",
    "screenshot",
    "start_lab",
    "unavailable",
    "watch_badges",
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


def close_kernels(lab: Lab) -> None:
    """Shut down every kernel session of the lab (each test starts afresh).

    Args:
        lab: The running lab.
    """
    for session in lab.api("GET", "sessions") or []:
        # A session that ended by itself in the meantime answers 404.
        with contextlib.suppress(urllib.error.HTTPError):
            lab.api("DELETE", f"sessions/{session['id']}")


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


def run_all(page: Any, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    """Run every cell (Run All) and wait until all ran and the kernel is idle.

    Args:
        page: The Playwright page with the notebook open.
        timeout_ms: How long the whole notebook may take.

    Raises:
        AssertionError: When a cell failed (Run All stops there) or not every
            code cell ran.
    """
    page.evaluate("() => { window.__wslabRunAll = null; }")
    # Run All's promise resolves when the last cell finished: true when
    # every cell succeeded. Kept on window, so the wait below can poll it.
    page.evaluate(
        """() => { window.jupyterapp.commands.execute('notebook:run-all-cells')
            .then(ok => { window.__wslabRunAll = ok ? 'ok' : 'failed'; },
                  err => { window.__wslabRunAll = 'error: ' + err; }); }"""
    )
    page.wait_for_function("() => window.__wslabRunAll !== null", timeout=timeout_ms)
    outcome = page.evaluate("() => window.__wslabRunAll")
    state = page.evaluate(
        """() => {
            const nb = window.jupyterapp.shell.currentWidget;
            const cells = nb.content.widgets.filter(c => c.model.type === 'code');
            return {
                notRun: cells.map((c, i) => [i, c.model.executionCount])
                             .filter(([i, n]) => n === null).map(([i]) => i),
                errors: cells.flatMap(c => c.model.outputs.toJSON()
                             .filter(o => o.output_type === 'error')
                             .map(o => o.ename + ': ' + o.evalue + '\\n' +
                                  (o.traceback || []).join('\\n'))),
            };
        }"""
    )
    assert state["errors"] == [], "cells raised:\n" + "\n".join(state["errors"])
    assert outcome == "ok", f"Run All: {outcome}"
    assert state["notRun"] == [], f"code cells that did not run: {state['notRun']}"
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
        " === 'idle'",
        timeout=timeout_ms,
    )


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
    locator.screenshot(path=str(path), animations="disabled")
    return path


# Installed before Run All: records every readyState text each badge shows,
# in order, so a test sees CONNECTING even when it lasted a few milliseconds
# (by the time the notebook finished, the badge shows only the last state).
_WATCH_BADGES = r"""() => {
    const pattern = /^(.*?)\s*readyState (\d) (CONNECTING|OPEN|CLOSING|CLOSED)$/;
    const badges = new Map();
    window.__wslabBadges = badges;
    const look = () => {
        for (const el of document.querySelectorAll('.widget-html-content')) {
            const match = pattern.exec(el.textContent.trim());
            if (!match) continue;
            let record = badges.get(el);
            if (!record) {
                record = {label: match[1], states: []};
                badges.set(el, record);
            }
            if (record.states[record.states.length - 1] !== match[3]) {
                record.states.push(match[3]);
            }
        }
    };
    new MutationObserver(look).observe(document.body,
        {subtree: true, childList: true, characterData: true});
    look();
}"""


def watch_badges(page: Any) -> None:
    """Start recording what every readyState badge in the page shows.

    Call it before :func:`run_all`; read the record with :func:`badge_states`.

    Args:
        page: The Playwright page with the notebook open.
    """
    page.evaluate(_WATCH_BADGES)


def badge_states(page: Any) -> list[tuple[str, list[str]]]:
    """Return, for each badge seen (in order of appearance), its label and states.

    Args:
        page: The page :func:`watch_badges` was called on.

    Returns:
        ``[(label, ["CONNECTING", "OPEN", ...]), ...]``; the label is the
        badge's text before "readyState" (for example ``"ws"``).
    """
    records = page.evaluate(
        "() => [...window.__wslabBadges.values()].map(r => [r.label, r.states])"
    )
    return [(str(label), [str(s) for s in states]) for label, states in records]
