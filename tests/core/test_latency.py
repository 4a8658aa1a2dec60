"""wslab.core.latency: percentiles and counts for delivery measurements (pure)."""

from __future__ import annotations

import math

import pytest

from wslab.core.latency import Summary, delivered_by, percentile, summarize


def test_percentile_matches_numpys_linear_definition() -> None:
    values = [15.0, 20.0, 35.0, 40.0, 50.0]
    # numpy.percentile(values, [0, 25, 40, 50, 95, 100]) gives these.
    assert [percentile(values, q) for q in (0, 25, 40, 50, 95, 100)] == [
        15.0,
        20.0,
        29.0,
        35.0,
        48.0,
        50.0,
    ]


def test_percentile_ignores_order_and_does_not_sort_in_place() -> None:
    values = [3.0, 1.0, 2.0]
    assert percentile(values, 50) == 2.0
    assert values == [3.0, 1.0, 2.0]


def test_percentile_of_one_value_and_of_an_even_count() -> None:
    assert percentile([7.0], 0) == percentile([7.0], 95) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5


@pytest.mark.parametrize("q", [-1, 100.5, math.nan])
def test_percentile_refuses_q_out_of_range(q: float) -> None:
    with pytest.raises(ValueError, match="q must be between 0 and 100"):
        percentile([1.0], q)


def test_percentile_refuses_an_empty_or_non_finite_sample() -> None:
    with pytest.raises(ValueError, match="empty"):
        percentile([], 50)
    with pytest.raises(ValueError, match="finite"):
        percentile([1.0, math.nan], 50)
    with pytest.raises(ValueError, match="finite"):
        percentile([1.0, math.inf], 50)


def test_summarize() -> None:
    summary = summarize([0.004, 0.001, 0.003, 0.002, 0.5])
    assert summary == Summary(count=5, median=0.003, p95=pytest.approx(0.4008), max=0.5)
    with pytest.raises(ValueError):
        summarize([])


def test_delivered_by_counts_arrivals_up_to_and_at_the_deadline() -> None:
    arrivals = [0.1, 0.2, 0.2, 0.9]
    assert delivered_by(arrivals, 0.0) == 0
    assert delivered_by(arrivals, 0.2) == 3
    assert delivered_by(iter(arrivals), 1.0) == 4
    assert delivered_by([], 1.0) == 0
