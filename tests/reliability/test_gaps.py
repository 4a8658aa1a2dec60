"""wslab.core.gaps: the notices that tell clients what a Redis gap made them miss (pure)."""

from __future__ import annotations

import pytest

from wslab.core.gaps import NOTICE_EVENTS, redis_back_notice, redis_down_notice


def test_down_notice_says_what_will_be_missed() -> None:
    notice = redis_down_notice("A", 100.12345)
    assert (notice["type"], notice["event"], notice["server"]) == ("notice", "redis-down", "A")
    assert notice["since"] == 100.123
    assert "missed" in notice["text"] and "server A" in notice["text"]


def test_back_notice_says_how_long_the_gap_was() -> None:
    notice = redis_back_notice("B", 100.0, 101.25)
    assert notice["event"] == "redis-back"
    assert (notice["since"], notice["until"], notice["missed_seconds"]) == (100.0, 101.25, 1.25)
    assert "1.25 s" in notice["text"] and "missed" in notice["text"]
    assert {redis_down_notice("A", 0)["event"], notice["event"]} == set(NOTICE_EVENTS)


def test_a_gap_cannot_end_before_it_began() -> None:
    with pytest.raises(ValueError, match="before it began"):
        redis_back_notice("A", 10.0, 9.0)
