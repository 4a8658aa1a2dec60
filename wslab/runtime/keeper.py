"""Background things kept by name, so that re-running a cell never leaves two.

Servers, bot crews, proxies: each is started under a name, and starting the
same name again stops the earlier one first ("never address already in use,
never two left running"). Everything still kept is stopped at interpreter
exit, which is how a kernel shuts down. One :class:`Keeper` per kind of thing.

A module publishes its keeper's bound methods under its own names, so the
start/stop/list functions are written once, here::

    _kept: Keeper[Middlebox] = Keeper("middleboxes", default="middlebox")
    stop_middlebox = _kept.stop
    running_middleboxes = _kept.items
    stop_middleboxes = _kept.stop_all

which is why the docstrings below speak of "things".

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
    """A thread-safe, name → thing registry whose things are stopped at exit.

    Args:
        kind: what it keeps, in the plural (``"servers"``), for its repr.
        default: the name :meth:`stop` stops when given none: the one the
            module's ``start_...`` function keeps a thing under by default.
            None: :meth:`stop` needs a name.
    """

    def __init__(self, kind: str = "things", *, default: str | None = None) -> None:
        self.kind = kind
        self.default = default
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

    def stop(self, name: str | None = None) -> bool:
        """Stop the thing kept under ``name``; return whether there was one.

        Args:
            name: what it is kept under; None: the keeper's ``default`` name.

        Raises:
            TypeError: no name is given and the keeper has no default.
        """
        if name is None:
            if self.default is None:
                raise TypeError(f"which of the {self.kind}? stop() needs a name")
            name = self.default
        with self._lock:
            item = self._items.get(name)
        if item is None:
            return False
        item.stop()
        self.forget(name, item)
        return True

    def items(self) -> dict[str, T]:
        """The things started and not yet stopped, by name (a snapshot)."""
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

    def __repr__(self) -> str:
        return f"<Keeper of {self.kind}: {', '.join(self.items()) or 'none'}>"
