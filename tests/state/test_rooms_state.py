"""wslab.state.rooms: the thread-safe rooms registry, without any socket."""

from __future__ import annotations

import threading

import pytest

from wslab.core.rooms import (
    MAX_ROOM_CHARS,
    MAX_ROOMS,
    MAX_ROOMS_PER_MEMBER,
    RoomEvent,
    RoomLimitError,
)
from wslab.state.rooms import Rooms


def record(rooms: Rooms[str]) -> list[tuple[str, str, str, int]]:
    """Subscribe to ``rooms`` and return the list its events are appended to."""
    seen: list[tuple[str, str, str, int]] = []
    rooms.changed.subscribe(lambda e: seen.append((e.kind, e.room, e.member, e.members)))
    return seen


def test_a_new_registry_is_empty() -> None:
    rooms: Rooms[str] = Rooms()
    assert rooms.rooms() == []
    assert rooms.snapshot() == {}
    assert rooms.members("general") == []
    assert rooms.rooms_of("Ada") == []
    assert len(rooms) == 0
    assert "general" not in rooms
    assert (rooms.max_rooms_per_member, rooms.max_rooms) == (20, 100)
    assert (MAX_ROOMS_PER_MEMBER, MAX_ROOMS, MAX_ROOM_CHARS) == (20, 100, 32)


def test_join_creates_the_room_and_keeps_joining_order() -> None:
    rooms: Rooms[str] = Rooms()
    seen = record(rooms)
    assert rooms.join("Ada", "general") is True
    assert rooms.join("Grace", "general") is True
    assert rooms.join("Linus", "random") is True
    assert rooms.snapshot() == {"general": ["Ada", "Grace"], "random": ["Linus"]}
    assert rooms.rooms() == ["general", "random"]
    assert rooms.members("general") == ["Ada", "Grace"]
    assert rooms.is_member("Ada", "general")
    assert not rooms.is_member("Ada", "random")
    assert "general" in rooms and len(rooms) == 2
    assert seen == [
        ("join", "general", "Ada", 1),
        ("join", "general", "Grace", 2),
        ("join", "random", "Linus", 1),
    ]


def test_joining_twice_changes_nothing_and_tells_no_one() -> None:
    rooms: Rooms[str] = Rooms()
    rooms.join("Ada", "general")
    seen = record(rooms)
    assert rooms.join("Ada", "general") is False
    assert rooms.snapshot() == {"general": ["Ada"]}
    assert seen == []


def test_one_member_many_rooms() -> None:
    rooms: Rooms[str] = Rooms()
    for room in ("general", "random", "help"):
        rooms.join("Ada", room)
    rooms.join("Grace", "random")
    assert rooms.rooms_of("Ada") == ["general", "random", "help"]
    assert rooms.rooms_of("Grace") == ["random"]
    assert rooms.snapshot() == {"general": ["Ada"], "random": ["Ada", "Grace"], "help": ["Ada"]}


def test_leave_and_empty_rooms_disappear() -> None:
    rooms: Rooms[str] = Rooms()
    rooms.join("Ada", "general")
    rooms.join("Grace", "general")
    rooms.join("Ada", "random")
    seen = record(rooms)
    assert rooms.leave("Ada", "general") is True
    assert rooms.snapshot() == {"general": ["Grace"], "random": ["Ada"]}
    assert rooms.leave("Ada", "random") is True
    assert rooms.snapshot() == {"general": ["Grace"]}
    assert "random" not in rooms
    assert rooms.rooms_of("Ada") == []
    assert seen == [("leave", "general", "Ada", 1), ("leave", "random", "Ada", 0)]


def test_leaving_a_room_one_is_not_in_is_a_no_op() -> None:
    rooms: Rooms[str] = Rooms()
    rooms.join("Ada", "general")
    seen = record(rooms)
    assert rooms.leave("Grace", "general") is False
    assert rooms.leave("Ada", "nowhere") is False
    assert rooms.leave("Nobody", "nowhere") is False
    assert rooms.snapshot() == {"general": ["Ada"]}
    assert seen == []


def test_leave_all_is_the_cleanup_on_close() -> None:
    rooms: Rooms[str] = Rooms()
    for room in ("general", "random", "help"):
        rooms.join("Ada", room)
    rooms.join("Grace", "random")
    seen = record(rooms)
    assert rooms.leave_all("Ada") == ["general", "random", "help"]
    assert rooms.snapshot() == {"random": ["Grace"]}
    assert rooms.rooms_of("Ada") == []
    assert seen == [
        ("leave", "general", "Ada", 0),
        ("leave", "random", "Ada", 1),
        ("leave", "help", "Ada", 0),
    ]
    # Again, or for someone in no room: nothing to do.
    assert rooms.leave_all("Ada") == []
    assert rooms.leave_all("Nobody") == []
    assert len(seen) == 3


def test_a_room_can_be_made_again_after_it_disappeared() -> None:
    rooms: Rooms[str] = Rooms()
    rooms.join("Ada", "general")
    rooms.join("Ada", "random")
    rooms.leave("Ada", "general")
    rooms.join("Grace", "general")
    # Rooms come in the order they were (re)created.
    assert rooms.rooms() == ["random", "general"]


def test_snapshot_is_a_copy() -> None:
    rooms: Rooms[str] = Rooms()
    rooms.join("Ada", "general")
    snap = rooms.snapshot()
    snap["general"].append("Mallory")
    snap["hacked"] = ["Mallory"]
    members = rooms.members("general")
    members.append("Eve")
    assert rooms.snapshot() == {"general": ["Ada"]}
    assert repr(rooms) == "<Rooms {'general': ['Ada']}>"


def test_members_may_be_any_hashable() -> None:
    class Conn:
        pass

    a, b = Conn(), Conn()
    rooms: Rooms[Conn] = Rooms()
    rooms.join(a, "general")
    rooms.join(b, "general")
    assert rooms.members("general") == [a, b]
    assert rooms.leave_all(a) == ["general"]
    assert rooms.members("general") == [b]


def test_cap_on_rooms_per_member() -> None:
    rooms: Rooms[str] = Rooms(max_rooms_per_member=3)
    for n in range(3):
        rooms.join("Ada", f"r{n}")
    with pytest.raises(RoomLimitError) as info:
        rooms.join("Ada", "r3")
    assert info.value.code == "too-many-rooms"
    assert str(info.value) == "you are in 3 rooms already, the most allowed: leave one first"
    assert "r3" not in rooms
    assert rooms.rooms_of("Ada") == ["r0", "r1", "r2"]
    # A room one is in already is fine, and others are not affected.
    assert rooms.join("Ada", "r0") is False
    assert rooms.join("Grace", "r3") is True
    rooms.leave("Ada", "r1")
    assert rooms.join("Ada", "r3") is True


def test_cap_on_rooms_in_all() -> None:
    rooms: Rooms[str] = Rooms(max_rooms=2)
    rooms.join("Ada", "a")
    rooms.join("Grace", "b")
    with pytest.raises(RoomLimitError) as info:
        rooms.join("Linus", "c")
    assert info.value.code == "no-more-rooms"
    assert str(info.value) == "there are 2 rooms already, the most allowed: join one of them"
    assert rooms.rooms() == ["a", "b"]
    assert rooms.rooms_of("Linus") == []
    # Joining a room that exists is always fine; once a room is gone, there is space.
    assert rooms.join("Linus", "a") is True
    rooms.leave("Grace", "b")
    assert rooms.join("Linus", "c") is True


def test_the_default_caps() -> None:
    rooms: Rooms[int] = Rooms()
    for n in range(MAX_ROOMS_PER_MEMBER):
        rooms.join(0, f"r{n}")
    with pytest.raises(RoomLimitError, match="20 rooms already"):
        rooms.join(0, "one-more")
    for member in range(1, 5):
        for n in range(MAX_ROOMS_PER_MEMBER):
            rooms.join(member, f"m{member}-{n}")
    assert len(rooms) == MAX_ROOMS
    with pytest.raises(RoomLimitError, match="100 rooms already"):
        rooms.join(99, "one-more")


def test_no_caps() -> None:
    rooms: Rooms[str] = Rooms(max_rooms_per_member=None, max_rooms=None)
    for n in range(500):
        rooms.join("Ada", f"r{n}")
    assert len(rooms.rooms_of("Ada")) == 500


def test_a_broken_observer_does_not_break_the_registry() -> None:
    rooms: Rooms[str] = Rooms()

    def broken(event: RoomEvent[str]) -> None:
        raise RuntimeError("a view crashed")

    rooms.changed.subscribe(broken)
    seen = record(rooms)
    assert rooms.join("Ada", "general")
    assert rooms.snapshot() == {"general": ["Ada"]}
    assert seen == [("join", "general", "Ada", 1)]


def test_observers_may_read_the_registry() -> None:
    # Observers run outside the lock: reading the registry from one must not deadlock.
    rooms: Rooms[str] = Rooms()
    snapshots: list[dict[str, list[str]]] = []
    rooms.changed.subscribe(lambda event: snapshots.append(rooms.snapshot()))
    rooms.join("Ada", "general")
    rooms.leave_all("Ada")
    assert snapshots == [{"general": ["Ada"]}, {}]


def test_threads_joining_and_leaving_at_once() -> None:
    rooms: Rooms[int] = Rooms(max_rooms_per_member=None, max_rooms=None)

    def churn(member: int) -> None:
        for n in range(200):
            rooms.join(member, f"r{n % 7}")
            rooms.snapshot()
            if n % 3 == 0:
                rooms.leave(member, f"r{n % 7}")
        rooms.leave_all(member)

    threads = [threading.Thread(target=churn, args=(m,)) for m in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert rooms.snapshot() == {}
