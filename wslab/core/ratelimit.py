"""A per-connection rate limit: a token bucket, in real seconds.

Every lesson server gives each connection a :class:`TokenBucket`. A message
takes one token; tokens come back at ``rate`` per second up to ``burst``. A
client that runs out has sent far more than any lesson does, and is closed
with :data:`~wslab.core.messages.POLICY_VIOLATION` (1008) and a reason that
says why::

    >>> limit = RateLimit(rate=2, burst=3)
    >>> bucket = limit.bucket(now=0.0)
    >>> [bucket.take(0.0) for _ in range(4)]
    [True, True, True, False]
    >>> bucket.take(0.5)           # half a second later: one token back
    True
    >>> limit.reason
    'rate limit: over 2 messages/s'

Real seconds, not the course's nominal ones (:mod:`wslab.core.timescale`): a
flood is a flood at any time scale, and a lesson running twenty times faster
in the tests must not trip a limit meant for people. The clock is passed in
(``time.monotonic()`` in the servers), so this module is pure and its tests
need no sleeping. Pure: no sockets, asyncio or widgets.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEFAULT_BURST",
    "DEFAULT_RATE",
    "DEFAULT_RATE_LIMIT",
    "RateLimit",
    "TokenBucket",
]

#: Messages per second a connection may keep up for ever. A person types a
#: few a second; lesson 6 sends 200 in one go, lesson 10 sends a file as
#: 64 KiB chunks, and the benchmarks run clients at a few hundred a second.
DEFAULT_RATE = 1000.0
#: How many messages may arrive at once after a quiet spell.
DEFAULT_BURST = 2000.0


@dataclass(frozen=True)
class RateLimit:
    """How fast one connection may send: ``rate`` messages/s, bursts of ``burst``.

    Args:
        rate: tokens (messages) given back per real second; more than 0.
        burst: the bucket's size, and how full it starts; at least 1.

    Raises:
        ValueError: for a rate not above 0 or a burst below 1.
    """

    rate: float = DEFAULT_RATE
    burst: float = DEFAULT_BURST

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"rate must be more than 0 messages per second, not {self.rate!r}")
        if not self.burst >= 1:
            raise ValueError(f"burst must be at least 1 message, not {self.burst!r}")

    @property
    def reason(self) -> str:
        """The close reason a client over the limit gets (well under 123 bytes)."""
        return f"rate limit: over {self.rate:g} messages/s"

    def bucket(self, now: float) -> TokenBucket:
        """A full bucket for a new connection, its clock starting at ``now``."""
        return TokenBucket(self.rate, self.burst, now)


_SLACK = 1e-6

#: What every lesson server uses unless told otherwise.
DEFAULT_RATE_LIMIT = RateLimit()


class TokenBucket:
    """The tokens one connection has left. Not thread-safe: one per connection.

    Args:
        rate: tokens given back per second.
        burst: the most tokens the bucket holds (it starts full).
        now: the current time, in seconds on any monotonic clock.
    """

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._last = now

    def take(self, now: float, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens at time ``now``; return False (taking none) if too few.

        Called once per message, so it is kept to a few arithmetic steps.
        A clock that goes backwards gives nothing back rather than failing.
        """
        elapsed = now - self._last
        if elapsed > 0:
            self._last = now
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        # A millionth of a token of slack: times are floats, and a sender at
        # exactly the rate must not be refused for a rounding error.
        if self._tokens + _SLACK >= cost:
            self._tokens -= cost
            return True
        return False

    @property
    def tokens(self) -> float:
        """How many tokens are left (as of the last :meth:`take`)."""
        return self._tokens

    def __repr__(self) -> str:
        return f"<TokenBucket {self._tokens:g}/{self.burst:g}, +{self.rate:g}/s>"
