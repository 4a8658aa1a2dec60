"""Which web pages may open a lesson server's WebSocket: the ``Origin`` check.

A browser puts the page's origin in every WebSocket handshake, and a page
cannot fake it. WebSockets have no CORS: without a check, any site the
student visits could open ``ws://127.0.0.1:PORT`` and talk to the kernel's
servers (cross-site WebSocket hijacking). So the servers accept:

- no ``Origin`` at all: not a browser (Python, ``wscat``, curl);
- loopback origins, any port: ``http(s)://localhost``, ``127.0.0.1``,
  ``[::1]`` — a JupyterLab page on the student's own machine;
- the origins a server is told to add (``serve(..., origins=[...])``), or
  every origin with ``origins="*"`` (a classroom on one network);

and refuse every other origin with HTTP 403 before the handshake completes::

    >>> policy = OriginPolicy()
    >>> policy.allows(None), policy.allows("http://localhost:8888")
    (True, True)
    >>> policy.allows("https://evil.example")
    False

Pure: no sockets, asyncio or widgets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ALLOW_ALL", "LOOPBACK_ORIGIN", "OriginPolicy", "origin_policy"]

#: A loopback origin, any port. fullmatch only: "http://localhost.evil.example"
#: and "http://127.0.0.1@evil.example" are not loopback.
LOOPBACK_ORIGIN = re.compile(r"https?://(?:localhost|127\.0\.0\.1|\[::1\])(?::[0-9]{1,5})?")
#: The value of ``origins`` that lets every page connect.
ALLOW_ALL = "*"


@dataclass(frozen=True)
class OriginPolicy:
    """The origins a server accepts besides "none" and loopback.

    Attributes:
        extra: exact origins to accept as well (``"https://app.example"``).
        allow_all: accept every origin (``origins="*"``).
    """

    extra: frozenset[str] = frozenset()
    allow_all: bool = False

    def allows(self, origin: str | None) -> bool:
        """Whether a handshake carrying ``origin`` (None: no header) may proceed."""
        if origin is None or self.allow_all or origin in self.extra:
            return True
        return LOOPBACK_ORIGIN.fullmatch(origin) is not None

    def describe(self) -> str:
        """One line for the log: what this policy lets in."""
        if self.allow_all:
            return "every origin"
        added = f", {', '.join(sorted(self.extra))}" if self.extra else ""
        return f"no Origin, loopback origins{added}"


def origin_policy(origins: str | Iterable[str] | None = ()) -> OriginPolicy:
    """Make the policy for a server's ``origins=`` option.

    Args:
        origins: ``"*"`` for every origin; otherwise origins to accept on top
            of no Origin and loopback (a single string counts as one origin).

    Raises:
        ValueError: for an origin with a path or a trailing slash, which a
            browser never sends and so would never match.
    """
    if origins is None:
        return OriginPolicy()
    if isinstance(origins, str):
        origins = [origins]
    chosen = frozenset(origins)
    if ALLOW_ALL in chosen:
        return OriginPolicy(allow_all=True)
    for origin in chosen:
        if not re.fullmatch(r"[a-z][a-z0-9+.-]*://[^/?#\s]+", origin):
            raise ValueError(
                f"an origin is scheme://host[:port] with no path, like "
                f"'https://app.example', not {origin[:80]!r}"
            )
    return OriginPolicy(extra=chosen)
