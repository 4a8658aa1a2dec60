"""Calling event listeners the way a browser does.

Shared by the browser-shaped :class:`~wslab.clients.websocket.WebSocket` and the
``EventSource`` of lesson 12: listeners run in order; a listener that is a
coroutine function is scheduled as a task (and kept, since the loop holds
tasks only weakly); one that raises is reported and the others still run.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from wslab.state.eventlog import EventLog

__all__ = ["call_listeners"]


def call_listeners(
    listeners: Iterable[Callable[[Any], object]],
    event: object,
    *,
    tasks: set[asyncio.Future[Any]],
    errors: list[BaseException],
    log: EventLog,
    name: str,
) -> None:
    """Call each listener with ``event``; keep async ones in ``tasks``, failures in ``errors``."""
    for listener in list(listeners):
        try:
            result = listener(event)
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        except Exception as exc:
            # As in a browser: report it (the console), and go on with the others.
            errors.append(exc)
            log.record("listener-error", f"{type(exc).__name__}: {exc}", peer=name)
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
