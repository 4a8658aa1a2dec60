"""One knob that compresses the course's real durations.

The lessons talk in *nominal* seconds: a 600 ms processing delay, a 1-30 s
reconnect backoff, a 30 s heartbeat. A student at full scale waits for them;
CI cannot. Every duration in wslab is written in nominal seconds and turned
into real seconds by :func:`real_seconds` at the moment it is waited for, so
one factor speeds up a whole notebook while widgets and printed text keep
showing the nominal figures a student would see.

The factor comes from the environment variable ``WSLAB_TIME_SCALE`` (``1`` is
real time, ``0.01`` is a hundred times faster) or from :func:`set_time_scale`.
It is read on every call, so changing it affects servers already running.

This module is pure: no sockets, no asyncio.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "TIME_SCALE_ENV",
    "nominal_seconds",
    "real_seconds",
    "scaled_time",
    "set_time_scale",
    "time_scale",
]

TIME_SCALE_ENV = "WSLAB_TIME_SCALE"

# None means "not set by the API": fall back to the environment on each read.
# No lock: the value is one module global, read and replaced whole (a single
# reference store), so every thread sees the old value or the new one.
_override: float | None = None


def _parse(value: str) -> float:
    try:
        scale = float(value)
    except ValueError:
        raise ValueError(
            f"{TIME_SCALE_ENV}={value!r} is not a number; use 1 for real time "
            "or a fraction such as 0.05 to run twenty times faster"
        ) from None
    _check(scale)
    return scale


def _check(scale: float) -> None:
    # A zero or negative scale would turn every wait into a busy loop or an error.
    if not (scale > 0 and scale < float("inf")):
        raise ValueError(f"the time scale must be a positive number, got {scale!r}")


def time_scale() -> float:
    """Return the current factor from nominal to real seconds.

    Thread-safe; re-reads ``WSLAB_TIME_SCALE`` unless :func:`set_time_scale`
    has set a value.
    """
    override = _override
    if override is not None:
        return override
    value = os.environ.get(TIME_SCALE_ENV, "").strip()
    return _parse(value) if value else 1.0


def set_time_scale(scale: float | None) -> None:
    """Set the factor for this process; ``None`` goes back to the environment.

    Raises:
        ValueError: if ``scale`` is not a positive finite number.
    """
    global _override
    if scale is not None:
        _check(float(scale))
        scale = float(scale)
    _override = scale


@contextmanager
def scaled_time(scale: float) -> Iterator[float]:
    """Run a block at another time scale, then restore the previous one."""
    global _override
    _check(float(scale))
    previous = _override
    _override = float(scale)
    try:
        yield float(scale)
    finally:
        _override = previous


def real_seconds(nominal: float) -> float:
    """Convert nominal seconds (what the lesson says) to real seconds to wait."""
    return nominal * time_scale()


def nominal_seconds(real: float) -> float:
    """Convert measured real seconds back to the nominal seconds a student sees."""
    return real / time_scale()
