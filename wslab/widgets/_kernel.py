"""Run widget updates on the kernel's thread.

Servers record from their own threads, but a widget is best updated from one
thread only (its traits are not locked). :class:`OnKernelThread` captures the
loop running where the view was made (the kernel's) and hands later calls to
it; they are then sent while the kernel is idle between cells. Without a
running loop (plain Python, tests) calls run directly.

:class:`UnsubscribeOnClose` is the other half of a view's life: what it
subscribed to is unsubscribed when it closes, so a closed view is neither
redrawn nor kept alive by the objects it watched.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import traitlets

__all__ = ["AtLeastOne", "OnKernelThread", "UnsubscribeOnClose"]


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


class UnsubscribeOnClose(widgets.Widget):  # type: ignore[misc]
    """A widget that unsubscribes from what it watches when it closes.

    Mix it in first (``class View(UnsubscribeOnClose, widgets.HTML)``) and
    hand what ``subscribe`` returned to :meth:`_until_close`; :meth:`close`
    calls each once, in order, then closes the widget. A view that owns more
    (a child widget, a monitor) closes it in its own ``close`` and then calls
    ``super().close()``.
    """

    # A class-level default: ipywidgets calls close() from __del__, even after
    # an __init__ that failed before subscribing to anything.
    _unsubscribes: tuple[Callable[[], None], ...] = ()

    def _until_close(self, *unsubscribes: Callable[[], None]) -> None:
        """Call each of ``unsubscribes`` when the widget closes."""
        self._unsubscribes = (*self._unsubscribes, *unsubscribes)

    def close(self) -> None:
        # Emptied before calling: close() again (or from __del__) unsubscribes nothing twice.
        unsubscribes, self._unsubscribes = self._unsubscribes, ()
        for unsubscribe in unsubscribes:
            unsubscribe()
        super().close()


class AtLeastOne(traitlets.Int[int, int]):
    """An ``Int`` trait that is a count of rows or items: at least 1.

    A 0 or a negative number is refused in words ("max_rows must be at least
    1"), the same for every view, instead of each writing its own validator.
    """

    def validate(self, obj: Any, value: Any) -> int:
        value = super().validate(obj, value)
        if value < 1:
            raise traitlets.TraitError(f"{self.name} must be at least 1")
        return int(value)
