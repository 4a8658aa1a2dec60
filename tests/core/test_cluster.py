"""wslab.core.cluster: lesson 11's pure logic, without sockets."""

from __future__ import annotations

import pytest

from wslab.core.cluster import (
    GIB,
    KIB,
    MIB,
    Keys,
    MemoryRooms,
    RoundRobin,
    bytes_per_connection,
    connections_that_fit,
    round_robin_order,
    server_label,
    validate_client_id,
    validate_room,
)
from wslab.core.messages import MessageError

# --- round-robin ----------------------------------------------------------------------


def test_round_robin_cycles_through_the_backends() -> None:
    picker = RoundRobin(3)
    assert picker.peek == 0
    assert [picker.next() for _ in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    assert picker.peek == 1
    assert picker.handed_out == 7


def test_round_robin_order() -> None:
    assert round_robin_order(2, 5) == [0, 1, 0, 1, 0]
    assert round_robin_order(3, 5, start=2) == [2, 0, 1, 2, 0]
    assert round_robin_order(1, 3) == [0, 0, 0]
    assert round_robin_order(4, 0) == []


@pytest.mark.parametrize(("backends", "start"), [(0, 0), (-1, 0), (2, 2), (2, -1)])
def test_round_robin_refuses_impossible_settings(backends: int, start: int) -> None:
    with pytest.raises(ValueError):
        RoundRobin(backends, start)


def test_server_labels() -> None:
    assert [server_label(i) for i in range(3)] == ["A", "B", "C"]
    assert server_label(25) == "Z"
    assert server_label(26) == "S26"
    with pytest.raises(ValueError):
        server_label(-1)


# --- ids and room names -----------------------------------------------------------------


@pytest.mark.parametrize("good", ["alice", "Bob", "a", "room-1", "x_y.z", "9lives", "a" * 32])
def test_good_ids_and_rooms(good: str) -> None:
    assert validate_client_id(good) == good
    assert validate_room(good) == good


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "a" * 33,
        "has space",
        "a:b",  # would split a Redis key
        "room*",  # a SCAN glob
        "-leading",
        ".hidden",
        "ünïcode",
        "tab\t",
        "new\nline",
        None,
        42,
        ["general"],
    ],
)
def test_bad_ids_and_rooms(bad: object) -> None:
    with pytest.raises(MessageError) as info:
        validate_client_id(bad)
    assert info.value.code == "invalid-client"
    with pytest.raises(MessageError) as info:
        validate_room(bad)
    assert info.value.code == "invalid-room"


def test_a_long_bad_name_is_shortened_in_the_message() -> None:
    with pytest.raises(MessageError) as info:
        validate_room("x" * 500 + "!")
    assert len(info.value.message) < 200
    assert "…" in info.value.message


# --- Redis key names ---------------------------------------------------------------------


def test_keys_without_a_prefix_are_the_study_notes_names() -> None:
    keys = Keys()
    assert keys.channel == "messages"
    assert keys.client_rooms("alice") == "client:alice:rooms"
    assert keys.room_members("general") == "room:general:members"
    assert keys.presence == "presence"
    assert keys.pattern == "*"


def test_keys_with_a_prefix() -> None:
    keys = Keys("wslab:1a2b:")
    assert keys.channel == "wslab:1a2b:messages"
    assert keys.room_members("general") == "wslab:1a2b:room:general:members"
    assert keys.client_rooms("bob") == "wslab:1a2b:client:bob:rooms"
    assert keys.presence == "wslab:1a2b:presence"
    assert keys.pattern == "wslab:1a2b:*"


def test_room_of_key() -> None:
    keys = Keys("p:")
    assert keys.room_of_key(keys.room_members("general")) == "general"
    assert keys.room_of_key("p:room::members") is None
    assert keys.room_of_key("other:room:general:members") is None
    assert keys.room_of_key(keys.client_rooms("general")) is None


# --- rooms in memory -------------------------------------------------------------------------


def test_memory_rooms_join_leave() -> None:
    rooms = MemoryRooms()
    assert rooms.join("alice", "general") == ["general"]
    assert rooms.join("alice", "dev") == ["dev", "general"]
    assert rooms.join("alice", "dev") == ["dev", "general"]  # twice is harmless
    assert rooms.join("bob", "general") == ["general"]
    assert rooms.members("general") == {"alice", "bob"}
    assert rooms.snapshot() == {"dev": ["alice"], "general": ["alice", "bob"]}
    assert rooms.leave("alice", "dev") == ["general"]
    assert rooms.leave("alice", "nowhere") == ["general"]
    assert rooms.snapshot() == {"general": ["alice", "bob"]}  # the empty room is gone
    assert rooms.rooms_of("carol") == []
    assert rooms.members("nowhere") == set()


def test_memory_rooms_limit() -> None:
    rooms = MemoryRooms(max_rooms=2)
    rooms.join("alice", "a")
    rooms.join("alice", "b")
    with pytest.raises(MessageError) as info:
        rooms.join("alice", "c")
    assert info.value.code == "too-many-rooms"
    assert rooms.join("alice", "a") == ["a", "b"]  # already in: not a new room


def test_memory_rooms_members_is_a_copy() -> None:
    rooms = MemoryRooms()
    rooms.join("alice", "general")
    rooms.members("general").add("mallory")
    assert rooms.members("general") == {"alice"}


# --- memory estimates --------------------------------------------------------------------------


def test_bytes_per_connection_is_the_slope() -> None:
    counts = [0, 100, 200, 300]
    rss = [50 * MIB + c * 20 * KIB for c in counts]
    assert bytes_per_connection(counts, rss) == pytest.approx(20 * KIB)


def test_bytes_per_connection_averages_noise() -> None:
    # One noisy sample moves a least-squares slope less than a two-point one.
    counts = [0, 100, 200, 300, 400]
    rss = [1000, 3000, 5000, 7000, 9000]  # 20 bytes per connection...
    rss[-1] += 1000  # ...and one noisy sample
    two_point = (rss[-1] - rss[0]) / (counts[-1] - counts[0])
    assert two_point == 22.5
    assert bytes_per_connection(counts, rss) == pytest.approx(22.0)


@pytest.mark.parametrize(("counts", "rss"), [([0], [1]), ([], []), ([5, 5], [1, 2]), ([0, 1], [1])])
def test_bytes_per_connection_needs_two_different_counts(counts: list[int], rss: list[int]) -> None:
    with pytest.raises(ValueError):
        bytes_per_connection(counts, rss)


def test_connections_that_fit() -> None:
    assert connections_that_fit(GIB, 40 * KIB, 60 * MIB) == 24678
    assert connections_that_fit(GIB, 16 * KIB) == 65536
    assert connections_that_fit(MIB, 1, baseline=2 * MIB) == 0  # the baseline alone is too big
    with pytest.raises(ValueError):
        connections_that_fit(GIB, 0)
