"""wslab.core.reconnect: the delay generator, the close-code policy and the state table."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys

import pytest

from wslab.core import reconnect as backoff_module
from wslab.core.reconnect import (
    AUTH_CLOSE_CODES,
    BACKOFF_FACTOR,
    BACKOFF_INITIAL_DELAY,
    BACKOFF_MAX_DELAY,
    BACKOFF_MAX_RETRIES,
    NO_RECONNECT_CODES,
    TRANSITIONS,
    ClientState,
    backoff,
    can_move,
    should_reconnect,
)

# --- the schedule ---------------------------------------------------------------------


def test_defaults_are_the_seeds_numbers() -> None:
    assert (BACKOFF_INITIAL_DELAY, BACKOFF_FACTOR, BACKOFF_MAX_DELAY, BACKOFF_MAX_RETRIES) == (
        1.0,
        2.0,
        30.0,
        8,
    )


def test_default_schedule() -> None:
    assert list(backoff()) == [1, 2, 4, 8, 16, 30, 30, 30]


def test_default_schedule_is_the_seeds_formula() -> None:
    # const delay = Math.min(1000 * 2 ** retries, 30000), retries = 0..7, in seconds
    assert list(backoff()) == [min(1000 * 2**retries, 30000) / 1000 for retries in range(8)]


def test_delays_are_floats() -> None:
    assert all(type(delay) is float for delay in backoff())


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"max_retries": 3}, [1, 2, 4]),
        ({"max_retries": 0}, []),
        ({"max_retries": 10}, [1, 2, 4, 8, 16, 30, 30, 30, 30, 30]),
        (
            {"initial_delay": 0.5, "factor": 3, "max_delay": 10, "max_retries": 5},
            [0.5, 1.5, 4.5, 10, 10],
        ),
        ({"factor": 1, "max_retries": 4}, [1, 1, 1, 1]),
        ({"initial_delay": 0, "max_retries": 3}, [0, 0, 0]),
        ({"initial_delay": 40, "max_retries": 2}, [30, 30]),
        ({"max_delay": 5, "max_retries": 5}, [1, 2, 4, 5, 5]),
    ],
)
def test_schedules(options: dict[str, float], expected: list[float]) -> None:
    assert list(backoff(**options)) == expected  # type: ignore[arg-type]


def test_endless_without_max_retries() -> None:
    delays = backoff(max_retries=None)
    assert list(itertools.islice(delays, 10)) == [1, 2, 4, 8, 16, 30, 30, 30, 30, 30]
    # Far down the line it is still the cap: no overflow from 2 ** 5000.
    assert list(itertools.islice(delays, 5000, 5002)) == [30, 30]


def test_full_jitter_scales_each_delay_by_a_random_fraction() -> None:
    assert list(backoff(jitter="full", rand=lambda: 0.5)) == [0.5, 1, 2, 4, 8, 15, 15, 15]
    assert list(backoff(jitter="full", rand=lambda: 0.0)) == [0.0] * 8


def test_full_jitter_stays_under_the_caps_and_is_repeatable() -> None:
    first = list(backoff(jitter="full", rand=random.Random(7).random))
    again = list(backoff(jitter="full", rand=random.Random(7).random))
    assert first == again
    assert len(first) == 8
    for delay, cap in zip(first, backoff(), strict=True):
        assert 0 <= delay < cap
    assert first != list(backoff(jitter="full", rand=random.Random(8).random))


def test_each_call_is_a_fresh_schedule() -> None:
    one = backoff(max_retries=3)
    assert next(one) == 1
    assert list(backoff(max_retries=3)) == [1, 2, 4]
    assert list(one) == [2, 4]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"initial_delay": -1}, "delays must not be negative"),
        ({"max_delay": -1}, "delays must not be negative"),
        ({"factor": 0.5}, "the factor must be at least 1"),
        ({"max_retries": -1}, "max_retries must not be negative"),
        ({"jitter": "half"}, 'jitter is None or "full"'),
    ],
)
def test_bad_parameters_raise_at_once(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        backoff(**options)  # type: ignore[arg-type]


def test_parameters_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        backoff(1)  # type: ignore[misc]


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **env},
    )


def test_defaults_come_from_the_environment() -> None:
    done = _run(
        "import json; from wslab.core.reconnect import backoff; print(json.dumps(list(backoff())))",
        WSLAB_BACKOFF_MAX_RETRIES="4",
        WSLAB_BACKOFF_INITIAL_DELAY="0.5",
        WSLAB_BACKOFF_MAX_DELAY="3",
        WSLAB_BACKOFF_FACTOR="3",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [0.5, 1.5, 3, 3]


def test_a_bad_environment_value_is_a_clear_error() -> None:
    done = _run("import wslab.core.reconnect", WSLAB_BACKOFF_FACTOR="two")
    assert done.returncode != 0
    assert "WSLAB_BACKOFF_FACTOR='two' is not a number" in done.stderr


# --- which close codes to retry -------------------------------------------------------

EXPECTED = {
    1000: False,  # normal closure: intentional
    1001: True,  # going away: a restart
    1005: True,  # no status: close() without a code, e.g. a heartbeat's
    1006: True,  # abnormal: a crash or a lost network
    1008: True,
    1009: True,
    1011: True,
    1012: True,
    1013: True,
    4000: True,
    4001: False,  # unauthorized: back to the login
    4002: False,  # token expired
    4003: False,  # banned
    4004: True,
}


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED.items()))
def test_should_reconnect(code: int, expected: bool) -> None:
    assert should_reconnect(code) is expected


def test_no_reconnect_codes() -> None:
    assert set(AUTH_CLOSE_CODES) == {4001, 4002, 4003}
    assert set(NO_RECONNECT_CODES) == {1000, 4001, 4002, 4003}


# --- the states -----------------------------------------------------------------------


def test_client_states() -> None:
    assert [s.value for s in ClientState] == [
        "connecting",
        "open",
        "reconnecting",
        "gave up",
        "closed",
    ]
    assert ClientState("gave up") is ClientState.GAVE_UP
    assert ClientState.OPEN == "open"


def test_transition_table() -> None:
    assert set(TRANSITIONS) == set(ClientState)
    moves = {(old.value, new.value) for old, news in TRANSITIONS.items() for new in news}
    assert moves == {
        ("connecting", "open"),
        ("connecting", "reconnecting"),
        ("connecting", "gave up"),
        ("connecting", "closed"),
        ("open", "reconnecting"),
        ("open", "gave up"),
        ("open", "closed"),
        ("reconnecting", "connecting"),
        ("reconnecting", "closed"),
        ("gave up", "connecting"),
        ("gave up", "closed"),
        ("closed", "connecting"),
    }


def test_can_move() -> None:
    assert can_move(ClientState.OPEN, ClientState.RECONNECTING)
    assert not can_move(ClientState.OPEN, ClientState.CONNECTING)  # always a wait first
    assert not can_move(ClientState.RECONNECTING, ClientState.OPEN)  # always an attempt first
    assert not can_move(ClientState.GAVE_UP, ClientState.RECONNECTING)


# --- pure -----------------------------------------------------------------------------


def test_module_exports() -> None:
    assert set(backoff_module.__all__) >= {"backoff", "should_reconnect", "ClientState"}
