"""Lesson 8's accounts and ban list, shared by the login route and the WebSocket.

The auth server checks passwords on one thread and bans on another while a
cell adds accounts on the kernel's: :class:`UserTable` holds a lock. The
token logic itself is pure and lives in :mod:`wslab.core.auth`.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Iterable

from wslab.core.auth import (
    DEMO_USERS,
    UserRecord,
    hash_password,
)

__all__ = [
    "UserTable",
]


_DEMO_BANNED = ("mallory",)


#: Compared against when the user does not exist, so that a wrong name costs
#: as much time as a wrong password and timing does not reveal who has an account.
_DUMMY = UserRecord("", b"\x00" * 16, b"\x00" * 32)


class UserTable:
    """Accounts and the ban list. Thread-safe.

    Args:
        users: the accounts; the demo accounts by default.
        banned: names that may log in but not connect; ``("mallory",)`` by default.
    """

    def __init__(
        self, users: Iterable[UserRecord] | None = None, banned: Iterable[str] | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._users = {u.name: u for u in (DEMO_USERS if users is None else users)}
        default = _DEMO_BANNED if users is None else ()
        self._banned = set(default if banned is None else banned)

    def add(self, name: str, password: str) -> None:
        """Add (or replace) an account, storing a salted hash of the password."""
        salt = secrets.token_bytes(16)
        with self._lock:
            self._users[name] = UserRecord(name, salt, hash_password(password, salt))

    def verify(self, name: str, password: str) -> bool:
        """Whether ``password`` is ``name``'s password, compared in constant time."""
        with self._lock:
            record = self._users.get(name, _DUMMY)
        candidate = hash_password(password, record.salt)
        # compare_digest takes as long for a near miss as for a total miss.
        return hmac.compare_digest(candidate, record.password_hash) and record is not _DUMMY

    def ban(self, name: str) -> None:
        """Ban ``name``: from now on their tokens are refused with 4003. Idempotent."""
        with self._lock:
            self._banned.add(name)

    def unban(self, name: str) -> None:
        """Lift a ban. Idempotent."""
        with self._lock:
            self._banned.discard(name)

    def is_banned(self, name: str) -> bool:
        with self._lock:
            return name in self._banned

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._users)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._users
