"""The browser's own ``WebSocket``, live in the notebook page, against a kernel-side server.

The lessons teach the browser's API with a Python twin that runs in the
kernel. :class:`JsSocket` runs the study notes' JavaScript itself, in the page
that shows the notebook, so a student sees both speak to the same server::

    js = JsSocket(server.url, snippet=HELLO, name="lesson 1")
    display(js)
    await js.wait()            # bounded; returns at once when no browser shows it
    print(js.report())

The snippet runs with ``url`` bound, the widget listening to every socket it
makes (open / message / error / close), and ``log(...)`` / ``console.log``
lines shown in the widget too. Its timers (``setTimeout``, ``setInterval``,
``sleep``) run in nominal time, like the kernel's, and are cleared when the
run stops. What the page saw comes back as the ``events`` trait.

Where the page cannot reach the kernel's port (a kernel on JupyterHub, Binder
or another machine), the widget says so after ``unreachable_after`` nominal
seconds instead of hanging. Where no front-end shows the widget at all (nbval
runs notebooks with no browser), :meth:`JsSocket.wait` returns at once and
:meth:`JsSocket.report` says :data:`~wslab.core.jssocket.NOT_RENDERED`.

Waiting works inside the cell that displays the widget: ipykernel 7 handles
the front-end's widget messages while a cell awaits (not while it blocks:
never ``time.sleep`` for it). The page reports with custom messages, not
synced traits (see :class:`~wslab.core.jssocket.PageReport` for why).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import anywidget
import traitlets

from wslab.core.jssocket import (
    NOT_RENDERED,
    NOT_SHOWN,
    JsEvent,
    PageReport,
    describe,
    is_notebook_ui_request,
    parse_report,
    unreachable_explanation,
)
from wslab.core.timescale import real_seconds, time_scale
from wslab.runtime.keeper import Keeper

__all__ = ["HELLO", "JsSocket", "Until", "frontend_connected"]

#: The smallest snippet: lesson 1's four steps, in the browser.
HELLO = """\
const socket = new WebSocket(url);
socket.addEventListener("open", () => socket.send("Hello from the browser"));
socket.addEventListener("message", (event) => {
  log("Server said:", event.data);
  socket.close(1000, "bye");
});
"""

#: What :meth:`JsSocket.wait` may wait for: the first ``open``, the first
#: ``message``, or ``done`` (the snippet finished, every socket closed, no
#: timer pending; or the run failed).
Until = Literal["open", "message", "done"]

_JS = (Path(__file__).with_name("jssocket.js")).read_text(encoding="utf-8")

_CSS = """
.wslab-js-socket { font-family: monospace; font-size: 12px; border: 1px solid #cbd5e0;
  border-radius: 4px; padding: 6px 8px; }
.wslab-js-head { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.wslab-js-state { border-radius: 4px; padding: 1px 6px; color: white; background: #b7791f; }
.wslab-js-state[data-state="OPEN"] { background: #2f855a; }
.wslab-js-state[data-state="CLOSING"] { background: #c05621; }
.wslab-js-state[data-state="CLOSED"] { background: #718096; }
.wslab-js-note { margin: 6px 0; padding: 4px 6px; background: #fff5f5; color: #9b2c2c;
  border-left: 3px solid #c53030; white-space: normal; }
.wslab-js-log { margin: 4px 0 0 0; padding-left: 2.5em; }
.wslab-js-log li.wslab-js-event-log { color: #2b6cb0; }
.wslab-js-log li.wslab-js-event-exception,
.wslab-js-log li.wslab-js-event-unreachable { color: #9b2c2c; }
.wslab-js-code { margin: 2px 0; }
"""

#: How long (nominal seconds) :meth:`JsSocket.wait_rendered` waits for a view
#: when no widget front-end has said hello to this kernel (nbval: none will).
HEADLESS_RENDER_WAIT = 1.0
#: How long (real seconds) it waits when a front-end is there: loading a
#: widget's JavaScript is the browser's time, not the lesson's.
FRONTEND_RENDER_WAIT = 10.0
#: The least (real seconds) :meth:`JsSocket.wait` gives a rendered page: the
#: browser's handshakes run in real time, however fast the lesson's clock.
MIN_PAGE_WAIT = 5.0
#: The least (real milliseconds) the page waits for an ``open`` before it
#: explains that it cannot reach the server, for the same reason.
MIN_UNREACHABLE_MS = 2000.0
#: How often (real seconds) a wait looks at the synced traits.
_POLL = 0.02

_kept: Keeper[JsSocket] = Keeper()


def frontend_connected() -> bool:
    """Whether a widget front-end (JupyterLab, Notebook 7) probably shows this notebook.

    Two signs, either is enough: JupyterLab's widget manager opened the
    ``jupyter.widget.control`` comm (it does when it first connects to a
    kernel, not after a restart), or the running cell's request came from
    JupyterLab's notebook (its metadata has ``deletedCells``/``recordTiming``,
    which nbval and nbclient never send). A heuristic, used only to decide
    how long to wait for a view: a wrong guess costs time, never a hang.

    Returns:
        True if a front-end is probably there.
    """
    from ipywidgets import Widget

    if getattr(Widget, "_control_comm", None) is not None:
        return True
    try:
        from IPython import get_ipython

        kernel = getattr(get_ipython(), "kernel", None)
        parent = kernel.get_parent("shell") if kernel is not None else {}
    except (AttributeError, TypeError, ValueError):
        return False
    return is_notebook_ui_request(parent.get("metadata") if isinstance(parent, dict) else None)


class JsSocket(anywidget.AnyWidget):
    """Run a JavaScript snippet with the browser's ``WebSocket``, in the page.

    Args:
        url: the server's ``ws://`` address (``server.url``), bound as ``url``.
        snippet: the body of an async function: the study notes' JavaScript,
            with ``url``, ``log(...)``, ``sleep(ms)`` and (nominal-time)
            ``setTimeout``/``setInterval`` in scope.
        name: shown as the widget's title, and the name it is kept under:
            making another with the same name closes this one (and its
            browser socket), so re-running a cell leaves one behind, not two.
        unreachable_after: nominal seconds without any ``open`` before the
            widget explains that the page cannot reach the kernel.

    Idempotent to close; not thread-safe (make and read it on the kernel's thread).
    """

    _esm = _JS
    _css = _CSS

    url = traitlets.Unicode("", help="The address the snippet dials.").tag(sync=True)
    snippet = traitlets.Unicode(HELLO, help="The JavaScript the page runs.").tag(sync=True)
    label = traitlets.Unicode("", help="The widget's title.").tag(sync=True)
    explanation = traitlets.Unicode("", help="Shown when the page cannot reach the server.").tag(
        sync=True
    )
    unreachable_ms = traitlets.Float(
        3000.0, help="Real milliseconds without an open before giving up."
    ).tag(sync=True)
    time_scale = traitlets.Float(1.0, help="Real seconds per nominal second, for the timers.").tag(
        sync=True
    )
    # --- what the page reported (kernel-side only: the page sends custom
    # messages, see PageReport; these are not synced back to it) ------------
    rendered = traitlets.Bool(False, help="A view has shown the widget.")
    run = traitlets.Int(0, help="How many runs the page has started.")
    events = traitlets.List(traitlets.Dict(), help="What the page saw this run, one dict each.")
    ready_state = traitlets.Int(-1, help="The latest socket's readyState; -1 before any run.")
    received = traitlets.Int(0, help="Messages the page received this run.")
    error = traitlets.Unicode("", help="Why the run failed; empty when it did not.")
    done = traitlets.Bool(False, help="The run is over: all closed and no timer left, or failed.")

    def __init__(
        self,
        url: str,
        snippet: str = HELLO,
        *,
        name: str = "JsSocket",
        unreachable_after: float = 3.0,
        **kwargs: Any,
    ) -> None:
        if unreachable_after <= 0:
            raise ValueError(f"unreachable_after must be positive, not {unreachable_after}")
        super().__init__(
            url=url,
            snippet=snippet,
            label=name,
            explanation=unreachable_explanation(url),
            unreachable_ms=max(MIN_UNREACHABLE_MS, real_seconds(unreachable_after) * 1000),
            time_scale=time_scale(),
            **kwargs,
        )
        self.name = name
        self._view = ""  # the view whose run is the current one
        # The events of this run, parsed once as they arrive: waits read them
        # every few milliseconds, and re-parsing the whole list each time
        # would grow with every message the page reports.
        self._parsed: list[JsEvent] = []
        self._ui_expected = False  # whether the last wait thought a page was there
        self.on_msg(self._on_page_message)
        _kept.replace(name, lambda: self)

    # --- the page's reports ---------------------------------------------------

    def _on_page_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        report = parse_report(content)
        if report is not None:
            self.apply(report)

    def apply(self, report: PageReport) -> None:
        """Take in one report from the page (called for each custom message).

        A new run (``reset``) replaces the last one's events; reports from
        any other view or an older run are ignored, so two views of the same
        widget never mix their events.

        Args:
            report: what the page said.
        """
        if report.rendered:
            self.rendered = True
        if report.reset:
            self._view = report.view
            self.run += 1
            self.events, self.received, self.error, self.done = [], 0, "", False
            self._parsed = []
            self.ready_state = 0
        elif report.view != self._view:
            return
        if report.raw_event is not None and report.event is not None:
            # In place: nothing observes this list, and a copy per event
            # would make a long run quadratic.
            self.events.append(report.raw_event)
            self._parsed.append(report.event)
        if report.ready_state is not None:
            self.ready_state = report.ready_state
        if report.received is not None:
            self.received = report.received
        if report.error:
            self.error = report.error
        if report.done:
            self.done = True

    # --- what the page saw ----------------------------------------------------

    @property
    def js_events(self) -> list[JsEvent]:
        """The events of the current run, parsed (anything malformed skipped)."""
        return list(self._parsed)

    @property
    def kinds(self) -> list[str]:
        """The event types in order, such as ``["open", "message", "close"]``."""
        return [event.type for event in self.js_events]

    @property
    def messages(self) -> list[str]:
        """The data of every message the page received this run."""
        return [event.data for event in self.js_events if event.type == "message"]

    @property
    def logged(self) -> list[str]:
        """The lines the snippet logged (``console.log`` or ``log``), in order."""
        return [event.text for event in self.js_events if event.type == "log"]

    @property
    def closes(self) -> list[JsEvent]:
        """Every close event of this run (one per socket that closed)."""
        return [event for event in self.js_events if event.type == "close"]

    def lines(self) -> list[str]:
        """The widget's log lines, in words, as the page shows them."""
        return [describe(event) for event in self.js_events]

    def report(self) -> str:
        """A one-paragraph account: not shown, failed, or what happened."""
        if not self.rendered:
            return NOT_SHOWN if self._ui_expected else NOT_RENDERED
        if self.error:
            return self.error
        return "\n".join(self.lines()) or "the page has not reported anything yet"

    # --- waiting, bounded -------------------------------------------------------

    async def wait_rendered(self, timeout: float | None = None) -> bool:
        """Wait until a view shows the widget; False if none does in time.

        Without a widget front-end (nbval) this gives up after
        :data:`HEADLESS_RENDER_WAIT` nominal seconds; with one, after
        :data:`FRONTEND_RENDER_WAIT` real seconds (or ``timeout``, real).
        Awaits, so the kernel keeps handling the page's messages meanwhile.

        Args:
            timeout: real seconds, instead of the defaults above.

        Returns:
            Whether a view rendered.
        """
        if timeout is None:
            self._ui_expected = frontend_connected()
            timeout = (
                FRONTEND_RENDER_WAIT if self._ui_expected else real_seconds(HEADLESS_RENDER_WAIT)
            )
        return await self._poll(lambda: bool(self.rendered), timeout)

    async def wait(self, until: Until = "done", timeout: float = 10.0) -> bool:
        """Wait for the page's run to reach ``until``; never longer than ``timeout``.

        Args:
            until: ``"open"``, ``"message"`` or ``"done"`` (see :data:`Until`).
            timeout: nominal seconds, after the widget rendered (at least
                :data:`MIN_PAGE_WAIT` real seconds).

        Returns:
            True if it got there; False if it did not render, failed first
            (see :attr:`error`) or ran out of time.

        Raises:
            ValueError: an unknown ``until``.
        """
        checks: dict[str, Callable[[], bool]] = {
            "open": lambda: "open" in self.kinds,
            "message": lambda: "message" in self.kinds,
            "done": lambda: bool(self.done),
        }
        if until not in checks:
            raise ValueError(f"until is one of {sorted(checks)}, not {until!r}")
        if not await self.wait_rendered():
            return False
        reached = checks[until]
        limit = max(real_seconds(timeout), MIN_PAGE_WAIT)
        await self._poll(lambda: reached() or bool(self.error), limit)
        return reached() and not self.error

    async def _poll(self, condition: Callable[[], bool], timeout: float) -> bool:
        # Poll rather than observe: the page's updates arrive as comm messages
        # that ipykernel handles between our awaits, on this same thread.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(_POLL)
        return True

    # --- asking the page ----------------------------------------------------------

    def rerun(self) -> None:
        """Ask every view to run the snippet again (the Run again button)."""
        self.send({"cmd": "run"})

    def close_socket(self, code: int = 1000, reason: str = "") -> None:
        """Ask the page to close its sockets (and stop its timers).

        Args:
            code: 1000 or 3000-4999: the only codes a page may send (the
                browser's ``close()`` throws ``InvalidAccessError`` on others).
            reason: at most 123 bytes of UTF-8 (RFC 6455, section 5.5).

        Raises:
            ValueError: a code or reason a browser would refuse.
        """
        if code != 1000 and not 3000 <= code <= 4999:
            raise ValueError(f"a page may close with 1000 or 3000-4999, not {code}")
        if len(reason.encode("utf-8")) > 123:
            raise ValueError("a close reason is at most 123 bytes of UTF-8")
        self.send({"cmd": "close", "code": code, "reason": reason})

    def stop(self) -> None:
        """Close the widget: its views go, and with them the browser's sockets."""
        _kept.forget(self.name, self)
        self.close()

    def __repr__(self) -> str:
        state = "not rendered" if not self.rendered else f"readyState {self.ready_state}"
        return f"<JsSocket {self.name!r} {self.url} {state}, {len(self.events)} events>"
