"""Run widget updates on the kernel's thread.

Servers record from their own threads, but a widget is best updated from one
thread only (its traits are not locked). :class:`OnKernelThread` captures the
loop running where the view was made (the kernel's) and hands later calls to
it; they are then sent while the kernel is idle between cells. Without a
running loop (plain Python, tests) calls run directly.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["OnKernelThread"]


class OnKernelThread:
    """Wrap callbacks so they run on the thread that created this object."""

    def __init__(self) -> None:
        self._thread = threading.current_thread()
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None

    def __call__(self, callback: Callable[..., Any]) -> Callable[..., None]:
        def marshalled(*args: Any) -> None:
            loop = self._loop
            if loop is None or threading.current_thread() is self._thread:
                callback(*args)
            elif not loop.is_closed():
                loop.call_soon_threadsafe(callback, *args)

        return marshalled
