"""wslab.core.broadcast.split_by_backlog: who is too far behind to keep (pure, no sockets)."""

from __future__ import annotations

import pytest

from wslab.core.broadcast import split_by_backlog


def test_split_keeps_order_and_drops_only_those_over_the_limit() -> None:
    backlog = {"a": 0, "b": 100, "c": 101, "d": 5000}
    keep, slow = split_by_backlog(["d", "a", "c", "b"], backlog.__getitem__, 100)
    assert keep == ["a", "b"]  # exactly at the limit is still kept
    assert slow == ["d", "c"]


def test_no_limit_keeps_everyone() -> None:
    assert split_by_backlog([1, 2], lambda _: 10**9, None) == ([1, 2], [])


@pytest.mark.parametrize("limit", [0, -1])
def test_a_limit_must_be_positive(limit: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        split_by_backlog([], len, limit)
