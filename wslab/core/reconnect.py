"""The reconnect policy of lesson 5, as pure functions and data.

Theory of operation: a reconnecting client does not decide anything itself.
When its connection closes, it asks :func:`should_reconnect` whether the close
code calls for a retry; if so, it reads the next delay from a
:func:`backoff` generator, one generator per outage, made fresh when ``open``
fires (the seed's ``retries = 0``). When the generator is exhausted, the
client gives up and asks the user to refresh. The client's states and the
moves between them are the table :data:`TRANSITIONS`.

The seed's JavaScript, and what it becomes here::

    if (event.code === 1000) return;                      // should_reconnect(code)
    if (retries >= maxRetries) return;                    // the generator ends
    const delay = Math.min(1000 * 2 ** retries, 30000);   // next(delays)
    retries++;

The defaults are module constants, overridable by environment variables (as
websockets does for its own ``backoff()``), so that the client, the widget and
the lesson's tables all read one schedule. Delays are nominal seconds; the
caller turns them into real ones with :func:`wslab.core.timescale.real_seconds`.

Pure: no sockets, no asyncio, no widgets.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Literal

__all__ = [
    "AUTH_CLOSE_CODES",
    "BACKOFF_FACTOR",
    "BACKOFF_INITIAL_DELAY",
    "BACKOFF_MAX_DELAY",
    "BACKOFF_MAX_RETRIES",
    "NO_RECONNECT_CODES",
    "TRANSITIONS",
    "ClientState",
    "Jitter",
    "backoff",
    "can_move",
    "should_reconnect",
]


def _env_number(name: str, default: str) -> float:
    value = os.environ.get(name, default)
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number") from None


#: The first retry waits this long (nominal seconds): the seed's ``1000`` ms.
BACKOFF_INITIAL_DELAY = _env_number("WSLAB_BACKOFF_INITIAL_DELAY", "1")
#: Each retry waits this many times longer than the one before: ``2 ** retries``.
BACKOFF_FACTOR = _env_number("WSLAB_BACKOFF_FACTOR", "2")
#: No retry waits longer than this: the seed's ``30000`` ms cap.
BACKOFF_MAX_DELAY = _env_number("WSLAB_BACKOFF_MAX_DELAY", "30")
#: After this many retries without an ``open``, give up: golden rule 2.
BACKOFF_MAX_RETRIES = int(_env_number("WSLAB_BACKOFF_MAX_RETRIES", "8"))

#: ``None``: every client waits the same delays. ``"full"``: each waits a
#: random time between 0 and the delay (AWS's "full jitter"), which spreads a
#: crowd of clients out instead of letting them retry in lockstep.
Jitter = Literal["full"] | None

#: Lesson 8's authentication codes: 4001 unauthorized, 4002 token expired,
#: 4003 banned. Retrying with the same token would fail again, forever: the
#: client goes back to its login instead.
AUTH_CLOSE_CODES = frozenset({4001, 4002, 4003})
#: Close codes after which a client must not reconnect: 1000 (normal closure,
#: golden rule 4: someone meant it) and the authentication codes.
NO_RECONNECT_CODES = frozenset({1000}) | AUTH_CLOSE_CODES


def backoff(
    *,
    initial_delay: float = BACKOFF_INITIAL_DELAY,
    factor: float = BACKOFF_FACTOR,
    max_delay: float = BACKOFF_MAX_DELAY,
    max_retries: int | None = BACKOFF_MAX_RETRIES,
    jitter: Jitter = None,
    rand: Callable[[], float] = random.random,
) -> Iterator[float]:
    """Generate the delays before each retry: ``min(initial · factorⁿ, max)``.

    With the defaults this is the seed's schedule, 1, 2, 4, 8, 16, then 30 s
    (the cap) three times, and then it ends: eight retries, and the client
    gives up::

        >>> list(backoff())
        [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]

    Args:
        initial_delay: nominal seconds before the first retry.
        factor: how much longer each retry waits than the one before.
        max_delay: the cap on any one delay.
        max_retries: how many delays to yield; ``None`` for an endless
            generator (websockets' own ``backoff()`` never ends).
        jitter: ``"full"`` to wait a uniformly random time between 0 and the
            delay instead (the cap and the number of retries stay the same).
        rand: the source of randomness for jitter, returning a float in
            [0, 1): pass ``random.Random(seed).random`` for a repeatable run.

    Returns:
        An iterator of nominal seconds, one per retry.

    Raises:
        ValueError: a negative delay or retry count, a factor below 1, or an
            unknown jitter.
    """
    if initial_delay < 0 or max_delay < 0:
        raise ValueError("delays must not be negative")
    if factor < 1:
        raise ValueError("the factor must be at least 1, or delays would shrink")
    if max_retries is not None and max_retries < 0:
        raise ValueError("max_retries must not be negative")
    if jitter not in (None, "full"):
        raise ValueError(f'jitter is None or "full", not {jitter!r}')
    return _delays(initial_delay, factor, max_delay, max_retries, jitter, rand)


def _delays(
    initial_delay: float,
    factor: float,
    max_delay: float,
    max_retries: int | None,
    jitter: Jitter,
    rand: Callable[[], float],
) -> Iterator[float]:
    # A separate generator, so that bad arguments raise when backoff() is
    # called, not later at the first next().
    retries = 0
    delay = float(initial_delay)
    while max_retries is None or retries < max_retries:
        capped = min(delay, float(max_delay))
        yield rand() * capped if jitter == "full" else capped
        retries += 1
        # Stop growing once capped: 2 ** 1000 would overflow a float.
        if delay < max_delay:
            delay *= factor


def should_reconnect(code: int) -> bool:
    """Say whether a connection closed with ``code`` should be retried.

    Reconnect after 1001 (the server is going away, say for a restart), 1006
    (the connection dropped: a crash, a lost network), 1011 and 1012 (a
    server error or restart) and anything else unexpected; never after 1000
    (a normal, intentional closure) or the authentication codes 4001-4003.

    Args:
        code: the close event's code.

    Returns:
        True if a reconnecting client should try again.
    """
    return code not in NO_RECONNECT_CODES


class ClientState(str, Enum):
    """Where a reconnecting client is: what its "Reconnecting…" UI shows."""

    CONNECTING = "connecting"
    OPEN = "open"
    RECONNECTING = "reconnecting"
    GAVE_UP = "gave up"
    CLOSED = "closed"


#: The moves a reconnecting client may make. ``CONNECTING`` is one attempt;
#: when it fails or an open connection drops, the client waits
#: (``RECONNECTING``) and tries again, or gives up after the last retry.
#: ``CLOSED`` is final unless the user starts it again (a refresh), and so is
#: ``GAVE_UP``.
TRANSITIONS: dict[ClientState, frozenset[ClientState]] = {
    ClientState.CONNECTING: frozenset(
        {ClientState.OPEN, ClientState.RECONNECTING, ClientState.GAVE_UP, ClientState.CLOSED}
    ),
    ClientState.OPEN: frozenset(
        {ClientState.RECONNECTING, ClientState.GAVE_UP, ClientState.CLOSED}
    ),
    ClientState.RECONNECTING: frozenset({ClientState.CONNECTING, ClientState.CLOSED}),
    ClientState.GAVE_UP: frozenset({ClientState.CONNECTING, ClientState.CLOSED}),
    ClientState.CLOSED: frozenset({ClientState.CONNECTING}),
}


def can_move(old: ClientState, new: ClientState) -> bool:
    """Say whether :data:`TRANSITIONS` allows a client to go from ``old`` to ``new``."""
    return new in TRANSITIONS[old]
