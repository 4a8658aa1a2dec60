"""Who is online: the chat server's list of names, as plain data.

Pure: no sockets, asyncio or widgets. The chat server keeps one
:class:`Roster`, keyed by an opaque connection key (the server uses the
connection object itself), and asks it whether a name is free.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["NameTaken", "Roster"]

K = TypeVar("K", bound=Hashable)


class NameTaken(ValueError):
    """The name is already used by another connection."""


class Roster(Generic[K]):
    """Names of the joined connections, in the order they joined.

    Names compare case-insensitively (``"Ada"`` and ``"ada"`` would confuse
    readers), but are shown as given. Not thread-safe: a server touches it from
    its own event loop only.
    """

    def __init__(self) -> None:
        self._names: dict[K, str] = {}

    def join(self, key: K, name: str) -> None:
        """Give ``key`` the ``name``; renaming is allowed.

        Raises:
            NameTaken: if another key already uses that name.
        """
        folded = name.casefold()
        for other, taken in self._names.items():
            if other != key and taken.casefold() == folded:
                raise NameTaken(f"the name {name!r} is already taken")
        self._names[key] = name

    def leave(self, key: K) -> str | None:
        """Forget ``key``; return its name, or None if it had not joined."""
        return self._names.pop(key, None)

    def name_of(self, key: K) -> str | None:
        return self._names.get(key)

    def names(self) -> list[str]:
        """The joined names, in joining order."""
        return list(self._names.values())

    def members(self) -> list[K]:
        return list(self._names)

    def __contains__(self, key: object) -> bool:
        return key in self._names

    def __len__(self) -> int:
        return len(self._names)
