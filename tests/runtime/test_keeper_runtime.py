"""The keeper: kept by name, replaced on re-run, stopped at exit."""

from __future__ import annotations

import types

import pytest

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


def test_stop_without_a_name_stops_the_default() -> None:
    keeper: Keeper[Thing] = Keeper("things", default="a")
    a = keeper.replace("a", lambda: Thing(keeper, "a"))
    assert keeper.stop() is True
    assert keeper.stop() is False
    assert a.stops == 1


def test_stop_without_a_name_or_a_default_is_an_error() -> None:
    keeper: Keeper[Thing] = Keeper("servers")
    keeper.replace("a", lambda: Thing(keeper, "a"))
    with pytest.raises(TypeError, match="which of the servers"):
        keeper.stop()
    assert "a" in keeper
    keeper.stop_all()


def test_the_public_functions_are_the_keepers_methods() -> None:
    # Notebooks call these by their own names; they are written once, in Keeper.
    from wslab.network import cluster, middlebox, redisbox, wire
    from wslab.runtime import runner

    published: list[tuple[object, str]] = [
        (runner.stop_server, "stop"),
        (runner.running_servers, "items"),
        (runner.stop_all, "stop_all"),
        (middlebox.stop_middlebox, "stop"),
        (middlebox.running_middleboxes, "items"),
        (middlebox.stop_middleboxes, "stop_all"),
        (wire.stop_wiretap, "stop"),
        (wire.running_wiretaps, "items"),
        (wire.stop_wiretaps, "stop_all"),
        (redisbox.stop_redis, "stop"),
        (redisbox.running_redis, "items"),
        (cluster.stop_cluster, "stop"),
        (cluster.running_clusters, "items"),
    ]
    for function, method in published:
        assert isinstance(function, types.MethodType), function
        assert isinstance(function.__self__, Keeper), function
        assert function.__func__ is getattr(Keeper, method), function
    # Each default is the name its start_...() keeps a thing under by default.
    assert (redisbox._kept.default, cluster._kept.default) == ("redis", "cluster")
    assert (middlebox._kept.default, wire._kept.default) == ("middlebox", "wiretap")
    assert runner._kept.default is None  # a server is kept under its own name


def test_repr_names_what_is_kept() -> None:
    keeper: Keeper[Thing] = Keeper("things")
    assert repr(keeper) == "<Keeper of things: none>"
    keeper.replace("a", lambda: Thing(keeper, "a"))
    assert repr(keeper) == "<Keeper of things: a>"
    keeper.stop_all()
