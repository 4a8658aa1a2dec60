"""Background things kept by name, so that re-running a cell never leaves two.

Servers, bot crews, proxies: each is started under a name, and starting the
same name again stops the earlier one first ("never address already in use,
never two left running"). Everything still kept is stopped at interpreter
exit, which is how a kernel shuts down. One :class:`Keeper` per kind of thing.

No sockets or asyncio here: only a lock and a dict.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

__all__ = ["Keeper", "Stoppable"]


class Stoppable(Protocol):
    def stop(self) -> None: ...


T = TypeVar("T", bound=Stoppable)


class Keeper(Generic[T]):
    """A thread-safe, name → thing registry whose things are stopped at exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, T] = {}
        atexit.register(self.stop_all)

    def replace(self, name: str, start: Callable[[], T]) -> T:
        """Stop what is kept under ``name``, then start a new one and keep it."""
        self.stop(name)
        return self.keep(name, start())

    def keep(self, name: str, item: T) -> T:
        """Keep an already started ``item`` under ``name``."""
        with self._lock:
            self._items[name] = item
        return item

    def forget(self, name: str, item: T) -> None:
        """Drop ``item`` from the registry if it is still the one under ``name``.

        Things call this from their own ``stop()``; a newer thing kept under
        the same name is left alone.
        """
        with self._lock:
            if self._items.get(name) is item:
                del self._items[name]

    def stop(self, name: str) -> bool:
        """Stop the thing kept under ``name``; return whether there was one."""
        with self._lock:
            item = self._items.get(name)
        if item is None:
            return False
        item.stop()
        self.forget(name, item)
        return True

    def items(self) -> dict[str, T]:
        """A snapshot of what is kept, by name."""
        with self._lock:
            return dict(self._items)

    def stop_all(self) -> None:
        """Stop everything kept (also run at interpreter exit)."""
        for name, item in self.items().items():
            item.stop()
            self.forget(name, item)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
