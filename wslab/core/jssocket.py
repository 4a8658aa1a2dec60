"""What the browser's own ``WebSocket`` did, as data (the page side of lesson cells).

:class:`~wslab.widgets.jssocket.JsSocket` runs a study-notes snippet in the
notebook page and syncs back one small dict per thing that happened: a
socket's ``open``, ``message``, ``error`` and ``close`` (with ``code``,
``reason``, ``wasClean``), a line the snippet logged, an exception it threw.
This module turns those dicts into :class:`JsEvent` values, describes them
in words, explains a page that could not reach the kernel, and tells a
browser's ``User-Agent`` from a Python client's. Pure: no sockets, asyncio or
widgets, so all of it is tested without a browser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from wslab.core.eventlog import preview

__all__ = [
    "EVENT_TYPES",
    "NOT_RENDERED",
    "NOT_SHOWN",
    "REPORT_TYPE",
    "JsEvent",
    "PageReport",
    "browser_product",
    "describe",
    "is_notebook_ui_request",
    "parse_event",
    "parse_events",
    "parse_report",
    "unreachable_explanation",
]

#: Every kind of event the page sends: the four WebSocket events, a line the
#: snippet logged (``console.log`` or ``log``), an exception it threw, and the
#: widget's own verdict that the kernel's port could not be reached.
EVENT_TYPES: Final = frozenset(
    {"open", "message", "error", "close", "log", "exception", "unreachable"}
)

#: Said instead of waiting when no front-end showed the widget: nbval runs a
#: notebook with no browser at all, so no JavaScript ran.
NOT_RENDERED: Final = (
    "no browser is showing this notebook (e.g. run by nbval): the JavaScript did not run"
)

#: Said when a notebook UI seems to be there but no view of the widget
#: appeared in time (for example, a JupyterLab without anywidget's extension).
NOT_SHOWN: Final = (
    "the notebook page did not show the widget in time (does this JupyterLab have "
    "the anywidget extension?): the JavaScript did not run"
)


@dataclass(frozen=True)
class JsEvent:
    """One thing the page's snippet saw, as the widget's JavaScript reported it.

    Attributes:
        type: one of :data:`EVENT_TYPES`.
        socket: which ``new WebSocket(...)`` of the run it concerns (1, 2, ...;
            0 for a log line or an exception).
        t: milliseconds since the run started, in the page's clock.
        data: a message's text (binary data arrives as ``"<N bytes>"``).
        code: a close event's code.
        reason: a close event's reason.
        was_clean: a close event's ``wasClean``.
        text: a log line, an exception's ``name: message``, or an explanation.
    """

    type: str
    socket: int = 0
    t: float = 0.0
    data: str = ""
    code: int | None = None
    reason: str = ""
    was_clean: bool | None = None
    text: str = ""


def parse_event(raw: Mapping[str, Any]) -> JsEvent:
    """Turn one dict from the page into a :class:`JsEvent`.

    The page is untrusted input (any JavaScript could set the trait), so each
    field is checked and coerced rather than passed on.

    Args:
        raw: ``{"type": "close", "socket": 1, "t": 12.5, "code": 1000, ...}``;
            camelCase ``wasClean`` as the browser's ``CloseEvent`` spells it.

    Returns:
        The event.

    Raises:
        ValueError: not a mapping, or an unknown ``type``.
    """
    if not isinstance(raw, Mapping):
        raise ValueError(f"an event is a dict, not {type(raw).__name__}")
    kind = raw.get("type")
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown event type {kind!r}: expected one of {sorted(EVENT_TYPES)}")
    code = raw.get("code")
    clean = raw.get("wasClean", raw.get("was_clean"))
    return JsEvent(
        type=str(kind),
        socket=_int(raw.get("socket"), 0),
        t=_float(raw.get("t")),
        data=_text(raw.get("data")),
        code=_int(code, None) if code is not None else None,
        reason=_text(raw.get("reason")),
        was_clean=bool(clean) if isinstance(clean, bool) else None,
        text=_text(raw.get("text")),
    )


def parse_events(raws: Iterable[Any]) -> list[JsEvent]:
    """Parse every event the page sent, skipping any that is not one.

    Args:
        raws: the widget's ``events`` trait.

    Returns:
        The events, in the order the page recorded them.
    """
    events = []
    for raw in raws:
        try:
            events.append(parse_event(raw))
        except ValueError:
            continue  # not from our JavaScript: nothing to show or count
    return events


#: The ``type`` of every message the page's JavaScript sends to the kernel.
REPORT_TYPE: Final = "wslab-js"


@dataclass(frozen=True)
class PageReport:
    """One message from the page: a patch to what the kernel knows of the run.

    The page reports with custom widget messages, not by setting synced
    traits: ipywidgets' front-end sends a trait update only once the kernel
    has said "idle" after the previous one, and ipykernel 7 handles a widget
    message that arrives while a cell awaits without any busy/idle at all,
    so every update after that one would be held back for good. Custom
    messages are not held back.

    Attributes:
        view: which view (and run) sent it: a run's reports share it.
        rendered: a view shows the widget.
        reset: a new run starts (its events replace the last run's).
        event: something the snippet's sockets did, or the snippet logged.
        ready_state: the latest socket's ``readyState``.
        received: messages received so far in the run.
        error: why the run failed.
        done: the run is over.
    """

    view: str = ""
    rendered: bool = False
    reset: bool = False
    event: JsEvent | None = None
    raw_event: dict[str, Any] | None = None
    ready_state: int | None = None
    received: int | None = None
    error: str = ""
    done: bool = False


def parse_report(message: Any) -> PageReport | None:
    """Read one custom message from the page; None if it is not a report.

    Args:
        message: the content of a custom widget message:
            ``{"type": "wslab-js", "view": "v1", "event": {...}, "received": 1}``.

    Returns:
        The report, with anything malformed dropped (an event of an unknown
        type, a ``readyState`` outside 0-3, a negative count).
    """
    if not isinstance(message, Mapping) or message.get("type") != REPORT_TYPE:
        return None
    event: JsEvent | None = None
    raw_event: dict[str, Any] | None = None
    raw = message.get("event")
    if isinstance(raw, Mapping):
        try:
            event = parse_event(raw)
        except ValueError:
            event = None
        else:
            raw_event = dict(raw)
    state = _int(message.get("ready_state"), None)
    received = _int(message.get("received"), None)
    return PageReport(
        view=_text(message.get("view")),
        rendered=message.get("rendered") is True,
        reset=message.get("reset") is True,
        event=event,
        raw_event=raw_event,
        ready_state=state if state in (0, 1, 2, 3) else None,
        received=received if received is not None and received >= 0 else None,
        error=_text(message.get("error")),
        done=message.get("done") is True,
    )


def describe(event: JsEvent) -> str:
    """One line for a person, the same words the widget shows in the page.

    Args:
        event: what happened.

    Returns:
        For example ``'socket 1: close 1000 "bye" (clean)'``: JSON quotes,
        as the page shows them.
    """
    who = f"socket {event.socket}: " if event.socket else ""
    if event.type == "message":
        data = event.data
        return f"{who}message {preview(data)}"
    if event.type == "close":
        clean = "clean" if event.was_clean else "not clean"
        reason = f" {json.dumps(event.reason, ensure_ascii=False)}" if event.reason else ""
        return f"{who}close {event.code}{reason} ({clean})"
    if event.type in ("open", "error"):
        return f"{who}{event.type}"
    if event.type == "log":
        return event.text
    if event.type == "unreachable":
        return "gave up: the page could not reach the server (see above)"
    return f"{event.type}: {event.text}"


def unreachable_explanation(url: str) -> str:
    """What the widget says when the page could not reach the kernel's server.

    Args:
        url: the ``ws://`` address the snippet dialled.

    Returns:
        A short explanation: why it happens, that the Python cells are not
        affected, and how to see the browser's side anyway.
    """
    return (
        f"This page could not reach {url} — the kernel is probably on another "
        "machine (JupyterHub, Binder, a remote server), or the browser blocked a "
        "connection to your own computer (an https page, or local network access "
        "turned off). The Python cells still work: they run next to the server. "
        "To see the browser's side too, run the course on your own machine "
        "(uv run jupyter lab) and run this cell again."
    )


# Product tokens of the browsers a student may use, most specific first:
# Edge and Opera also say "Chrome/", and Chrome also says "Safari/".
_BROWSERS: Final = (
    ("Edg", "Edge"),
    ("OPR", "Opera"),
    ("Firefox", "Firefox"),
    ("(?:Headless)?Chrome", "Chrome"),
    ("Chromium", "Chromium"),
    ("Version", "Safari"),
)


def is_notebook_ui_request(metadata: Any) -> bool:
    """Whether an ``execute_request``'s metadata comes from JupyterLab's notebook.

    JupyterLab (and Notebook 7, built on it) sends ``deletedCells`` and
    ``recordTiming`` with every cell it runs; nbval and nbclient never do.

    Args:
        metadata: the request's ``metadata`` dict (anything else: False).

    Returns:
        True when a notebook UI, and so a browser, probably sent it.
    """
    return isinstance(metadata, Mapping) and (
        "deletedCells" in metadata or "recordTiming" in metadata
    )


def browser_product(user_agent: str | None) -> str | None:
    """Name the browser behind a ``User-Agent`` header, or None if it is not one.

    Every browser's header starts with ``Mozilla/5.0`` (a fossil of the
    1990s); Python clients send ``Python/3.11 websockets/17.4`` and the like.

    Args:
        user_agent: the handshake's ``User-Agent`` header, if any.

    Returns:
        ``"Chrome 156"``, ``"Firefox 140"``, ``"Safari 18"``, ``"a browser"``
        for an unknown one, or None for a non-browser (or no header).
    """
    if not user_agent or not user_agent.startswith("Mozilla/"):
        return None
    for token, name in _BROWSERS:
        match = re.search(rf"\b{token}/(\d+)", user_agent)
        if match:
            return f"{name} {match.group(1)}"
    return "a browser"


def _int(value: Any, default: int | None) -> Any:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return default


def _float(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return 0.0


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
