"""Small statistics for delivery measurements: percentiles and counts.

Lesson 6 measures how long messages take to reach fast clients while one
client has stopped reading. The maths lives here, away from sockets, so it
tests with plain lists. Times are floats in any unit; the functions never
look at a clock. Pure: no sockets, asyncio or widgets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Summary", "delivered_by", "percentile", "summarize"]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile of ``values``, interpolating between neighbours.

    The same definition as ``numpy.percentile``'s default ("linear"): the
    0th is the smallest value, the 100th the largest, the 50th the median.

    Args:
        values: the sample, in any order.
        q: from 0 to 100.

    Raises:
        ValueError: ``values`` is empty, ``q`` is outside 0-100, or a value is
            not finite (NaN would make the order meaningless).
    """
    if not values:
        raise ValueError("percentile of an empty sample")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be between 0 and 100, not {q!r}")
    ordered = sorted(values)
    if not all(math.isfinite(v) for v in ordered):
        raise ValueError("every value must be a finite number")
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    """A sample in four numbers.

    Attributes:
        count: how many values.
        median: the 50th percentile.
        p95: the 95th percentile: all but the slowest twentieth.
        max: the largest value.
    """

    count: int
    median: float
    p95: float
    max: float


def summarize(values: Sequence[float]) -> Summary:
    """Count, median, 95th percentile and maximum of ``values``.

    Raises:
        ValueError: as :func:`percentile` does (an empty sample has no median).
    """
    return Summary(len(values), percentile(values, 50), percentile(values, 95), max(values))


def delivered_by(arrivals: Iterable[float], deadline: float) -> int:
    """How many of ``arrivals`` (times) happened at or before ``deadline``."""
    return sum(1 for t in arrivals if t <= deadline)
