"""The keeper: kept by name, replaced on re-run, stopped at exit."""

from __future__ import annotations

from wslab.runtime.keeper import Keeper


class Thing:
    def __init__(self, keeper: Keeper[Thing], name: str) -> None:
        self.keeper, self.name, self.stops = keeper, name, 0

    def stop(self) -> None:
        self.stops += 1
        self.keeper.forget(self.name, self)


def test_replace_stops_the_earlier_one_first() -> None:
    keeper: Keeper[Thing] = Keeper()
    first = keeper.replace("a", lambda: Thing(keeper, "a"))
    started: list[int] = []

    def start_second() -> Thing:
        started.append(first.stops)  # the first one is stopped before the second starts
        return Thing(keeper, "a")

    second = keeper.replace("a", start_second)
    assert started == [1]
    assert keeper.items() == {"a": second}
    assert second.stops == 0


def test_forget_leaves_a_newer_thing_alone() -> None:
    keeper: Keeper[Thing] = Keeper()
    old = Thing(keeper, "a")
    new = keeper.keep("a", Thing(keeper, "a"))
    keeper.forget("a", old)
    assert keeper.items() == {"a": new}


def test_stop_and_stop_all() -> None:
    keeper: Keeper[Thing] = Keeper()
    a = keeper.replace("a", lambda: Thing(keeper, "a"))
    b = keeper.replace("b", lambda: Thing(keeper, "b"))
    assert keeper.stop("a") is True
    assert keeper.stop("a") is False
    assert "a" not in keeper and len(keeper) == 1
    keeper.stop_all()
    assert keeper.items() == {}
    assert (a.stops, b.stops) == (1, 1)
