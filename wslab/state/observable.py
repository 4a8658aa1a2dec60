"""A small, thread-safe observer list.

Servers run on their own threads and clients on the kernel's loop; widgets
watch both. Plain objects own their state and call :meth:`Observers.notify`;
views subscribe. No sockets, asyncio or widgets; the lock is why it is in
``state/`` and not ``core/``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Observers"]

T = TypeVar("T")


class Observers(Generic[T]):
    """Callbacks that receive a value each time something changes.

    ``subscribe`` returns a function that unsubscribes; calling it twice is
    harmless. ``notify`` calls every callback on the calling thread, outside
    the lock, so a callback may subscribe or unsubscribe. A callback that
    raises is dropped from this notification only: one broken view must not
    stop a server thread from recording.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[T], object]] = []

    def subscribe(self, callback: Callable[[T], object]) -> Callable[[], None]:
        with self._lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    def notify(self, value: T) -> list[BaseException]:
        """Call every callback with ``value``; return the exceptions raised."""
        if not self._callbacks:
            # Nobody listens (a server's log with no widget): skip the lock and
            # the copy; this runs for every message a server logs. Reading a
            # list's length is atomic, and a subscriber arriving meanwhile
            # would have missed this value under the lock too.
            return []
        with self._lock:
            callbacks = list(self._callbacks)
        errors: list[BaseException] = []
        for callback in callbacks:
            try:
                callback(value)
            except Exception as exc:
                errors.append(exc)
        return errors

    def __len__(self) -> int:
        with self._lock:
            return len(self._callbacks)
