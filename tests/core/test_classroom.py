"""Classroom mode's pure part: the rate meter, the snapshot, the URLs and the words."""

from __future__ import annotations

import pytest

from wslab.core.classroom import (
    ClassroomSnapshot,
    RateMeter,
    StudentRow,
    build_snapshot,
    exposure_warning,
    is_exposed,
    is_lan_address,
    join_instructions,
    plan_students,
    sparkline,
    student_urls,
)

# --- RateMeter -----------------------------------------------------------------------------


def test_rate_is_events_in_the_window_over_the_window() -> None:
    meter = RateMeter(window=10.0, start=0.0)
    for t in range(20):  # one event a second for 20 s
        meter.add(float(t))
    assert meter.count(19.0) == 10  # t = 10..19
    assert meter.rate(19.0) == pytest.approx(1.0)
    assert meter.total == 20


def test_rate_before_a_full_window_uses_the_time_since_start() -> None:
    meter = RateMeter(window=10.0, start=100.0)
    meter.add(101.0, 4)
    assert meter.rate(102.0) == pytest.approx(2.0)  # 4 events in 2 s, not 4 in 10
    assert meter.rate(100.0) == 0.0


def test_rate_falls_to_zero_when_the_class_goes_quiet() -> None:
    meter = RateMeter(window=10.0)
    meter.add(5.0, 30)
    assert meter.rate(10.0) == pytest.approx(3.0)
    assert meter.rate(15.0) == 0.0  # the window slid past every event
    assert meter.total == 30  # the total remembers


def test_history_buckets_oldest_first() -> None:
    meter = RateMeter(window=10.0, buckets=3)  # buckets of 2 s: (0,2], (2,4], (4,6]
    meter.add(1.0)
    meter.add(5.0, 4)
    assert meter.history(6.0) == (0.5, 0.0, 2.0)


def test_old_events_are_forgotten_so_memory_stays_bounded() -> None:
    meter = RateMeter(window=1.0, buckets=5)  # keeps at most 1 s of events
    for i in range(10_000):
        meter.add(i / 100)
    assert meter.count(100.0, 1000.0) <= 101
    assert meter.total == 10_000


@pytest.mark.parametrize("kwargs", [{"window": 0}, {"window": -1}, {"buckets": 0}])
def test_rate_meter_refuses_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RateMeter(**kwargs)  # type: ignore[arg-type]


def test_sparkline() -> None:
    assert sparkline([]) == ""
    assert sparkline([0, 0]) == "▁▁"
    assert sparkline([0, 1, 2, 4]) == "▁▃▅█"


# --- the snapshot ----------------------------------------------------------------------------


def test_build_snapshot_lists_students_rooms_and_counts() -> None:
    meter = RateMeter(window=10.0)
    meter.add(9.0, 5)
    snap = build_snapshot(
        [
            ("#1", "Ada", "10.0.0.5:5000", ["general"]),
            ("#2", "#2", "10.0.0.6:5001", []),
        ],
        {"random": ["Ada"], "general": ["Ada", "Grace"]},
        {"#1": 7},
        meter,
        10.0,
        joined=3,
        left=1,
    )
    assert snap.names == ["Ada", "#2"]
    assert snap.student("Ada") == StudentRow("#1", "Ada", "10.0.0.5:5000", ("general",), 7)
    assert snap.student("#2").sent == 0  # a peer missing from ``sent`` sent nothing
    assert [room for room, _ in snap.rooms] == ["general", "random"]  # sorted
    assert snap.room_members == {"general": ["Ada", "Grace"], "random": ["Ada"]}
    assert snap.rate == pytest.approx(0.5)
    assert (snap.total, snap.joined, snap.left) == (5, 3, 1)
    with pytest.raises(KeyError):
        snap.student("Linus")


def test_equal_snapshots_compare_equal() -> None:
    # The monitor redraws only when something changed.
    assert ClassroomSnapshot() == ClassroomSnapshot()
    assert ClassroomSnapshot(total=1) != ClassroomSnapshot()


# --- where students connect -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "exposed"),
    [
        ("127.0.0.1", False),
        ("127.0.0.2", False),
        ("::1", False),
        ("[::1]", False),
        ("localhost", False),
        ("0.0.0.0", True),
        ("::", True),
        ("192.168.1.10", True),
        ("teacher.local", True),
    ],
)
def test_is_exposed(host: str, exposed: bool) -> None:
    assert is_exposed(host) is exposed


@pytest.mark.parametrize(
    ("address", "lan"),
    [
        ("192.168.1.10", True),
        ("10.1.2.3", True),
        ("2001:db8::5", True),
        ("127.0.0.1", False),
        ("::1", False),
        ("169.254.3.4", False),
        ("fe80::1%eth0", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("not an address", False),
    ],
)
def test_is_lan_address(address: str, lan: bool) -> None:
    assert is_lan_address(address) is lan


ADDRESSES = ["127.0.0.1", "::1", "fe80::1%wlan0", "2001:db8::5", "192.168.1.10", "169.254.0.9"]


def test_wildcard_v4_gives_one_url_per_lan_ipv4_address() -> None:
    assert student_urls("0.0.0.0", 8082, [*ADDRESSES, "10.0.0.2", "192.168.1.10"]) == [
        "ws://192.168.1.10:8082/",
        "ws://10.0.0.2:8082/",
    ]


def test_wildcard_v6_gives_ipv4_then_ipv6_urls_in_brackets() -> None:
    assert student_urls("::", 8082, ADDRESSES, secure=True) == [
        "wss://192.168.1.10:8082/",
        "wss://[2001:db8::5]:8082/",
    ]


def test_a_specific_host_is_its_own_url() -> None:
    assert student_urls("192.168.1.10", 9000, ADDRESSES) == ["ws://192.168.1.10:9000/"]
    assert student_urls("127.0.0.1", 9000, ADDRESSES) == ["ws://127.0.0.1:9000/"]


def test_no_network_no_urls() -> None:
    assert student_urls("0.0.0.0", 8082, ["127.0.0.1", "::1"]) == []


def test_exposure_warning_says_who_can_connect_and_how_to_stop() -> None:
    text = exposure_warning("0.0.0.0", 8082, ["ws://192.168.1.10:8082/"], stop="Ctrl-C")
    assert "anyone on this network can connect" in text
    assert "ws://192.168.1.10:8082/" in text
    assert "Ctrl-C" in text
    assert exposure_warning("127.0.0.1", 8082, ["ws://127.0.0.1:8082/"], stop="Ctrl-C") == ""
    assert "port 8082" in exposure_warning("0.0.0.0", 8082, [], stop="x")


def test_join_instructions_are_code_a_student_can_run() -> None:
    text = join_instructions("ws://192.168.1.10:8082/", room="lab")
    compile(text, "<student>", "exec", flags=0x2000)  # PyCF_ALLOW_TOP_LEVEL_AWAIT
    assert 'WebSocket("ws://192.168.1.10:8082/")' in text
    assert '"hello"' in text and '"room": "lab"' in text


# --- simulated students -------------------------------------------------------------------


def test_plan_students_unique_names_rooms_and_leavers() -> None:
    plans = plan_students(100, ("a", "b", "c", "d"), every=4.0, leavers=0.25, seed=3)
    assert len({p.name for p in plans}) == 100
    assert all(1 <= len(p.rooms) <= 2 and set(p.rooms) <= {"a", "b", "c", "d"} for p in plans)
    assert {p.rooms[0] for p in plans} == {"a", "b", "c", "d"}  # spread out
    assert sum(1 for p in plans if p.leave_after) == 25
    assert all(3.0 <= p.every <= 5.0 and 0.0 <= p.first <= 4.0 for p in plans)
    assert plans == plan_students(100, ("a", "b", "c", "d"), every=4.0, leavers=0.25, seed=3)
    assert plans != plan_students(100, ("a", "b", "c", "d"), every=4.0, leavers=0.25, seed=4)


@pytest.mark.parametrize(
    "kwargs", [{"count": -1}, {"count": 3, "rooms": ()}, {"count": 3, "leavers": 1.5}]
)
def test_plan_students_refuses_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        plan_students(**kwargs)  # type: ignore[arg-type]
