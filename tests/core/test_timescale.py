"""wslab.core.timescale: nominal vs real seconds, from the environment or the API."""

from __future__ import annotations

import math

import pytest

from wslab.core import timescale
from wslab.core.timescale import (
    TIME_SCALE_ENV,
    nominal_seconds,
    real_seconds,
    scaled_time,
    set_time_scale,
    time_scale,
)


@pytest.fixture(autouse=True)
def _no_override() -> None:
    set_time_scale(None)


def test_env_var_name() -> None:
    assert TIME_SCALE_ENV == "WSLAB_TIME_SCALE"


def test_default_is_real_time_without_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TIME_SCALE_ENV, raising=False)
    assert time_scale() == 1.0


def test_blank_env_means_real_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TIME_SCALE_ENV, "   ")
    assert time_scale() == 1.0


@pytest.mark.parametrize(
    ("raw", "expected"), [("0.05", 0.05), (" 0.5 ", 0.5), ("2", 2.0), ("1e-2", 0.01)]
)
def test_env_var_is_parsed(monkeypatch: pytest.MonkeyPatch, raw: str, expected: float) -> None:
    monkeypatch.setenv(TIME_SCALE_ENV, raw)
    assert time_scale() == expected


def test_env_var_is_reread_on_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TIME_SCALE_ENV, "0.1")
    assert time_scale() == 0.1
    monkeypatch.setenv(TIME_SCALE_ENV, "0.25")
    assert time_scale() == 0.25


def test_non_number_env_var_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TIME_SCALE_ENV, "fast")
    with pytest.raises(ValueError) as info:
        time_scale()
    message = str(info.value)
    assert "WSLAB_TIME_SCALE='fast' is not a number" in message
    assert "0.05" in message


@pytest.mark.parametrize("raw", ["0", "-1", "inf", "-inf", "nan"])
def test_non_positive_or_infinite_env_var_is_refused(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv(TIME_SCALE_ENV, raw)
    with pytest.raises(ValueError, match="the time scale must be a positive number"):
        time_scale()


def test_set_time_scale_overrides_env_and_none_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TIME_SCALE_ENV, "0.5")
    set_time_scale(0.01)
    assert time_scale() == 0.01
    # The override wins even when the environment changes.
    monkeypatch.setenv(TIME_SCALE_ENV, "0.25")
    assert time_scale() == 0.01
    set_time_scale(None)
    assert time_scale() == 0.25


def test_set_time_scale_accepts_ints_as_floats() -> None:
    set_time_scale(2)
    value = time_scale()
    assert value == 2.0
    assert isinstance(value, float)


@pytest.mark.parametrize("bad", [0, -0.5, math.inf, math.nan])
def test_set_time_scale_refuses_bad_values_and_keeps_the_old_one(bad: float) -> None:
    set_time_scale(0.5)
    with pytest.raises(ValueError, match="positive number"):
        set_time_scale(bad)
    assert time_scale() == 0.5


def test_set_time_scale_refuses_non_numbers() -> None:
    with pytest.raises((TypeError, ValueError)):
        set_time_scale("fast")  # type: ignore[arg-type]


def test_scaled_time_restores_env_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TIME_SCALE_ENV, "0.5")
    with scaled_time(0.01) as scale:
        assert scale == 0.01
        assert time_scale() == 0.01
    assert time_scale() == 0.5
    assert timescale._override is None


def test_scaled_time_restores_an_earlier_override() -> None:
    set_time_scale(0.3)
    with scaled_time(0.01):
        with scaled_time(0.02):
            assert time_scale() == 0.02
        assert time_scale() == 0.01
    assert time_scale() == 0.3


def test_scaled_time_restores_after_an_exception() -> None:
    set_time_scale(0.3)
    with pytest.raises(RuntimeError, match="boom"), scaled_time(0.01):
        raise RuntimeError("boom")
    assert time_scale() == 0.3


def test_scaled_time_refuses_a_bad_scale_without_changing_anything() -> None:
    set_time_scale(0.3)
    with pytest.raises(ValueError), scaled_time(0):
        pass  # pragma: no cover - never entered
    assert time_scale() == 0.3


def test_real_and_nominal_conversion() -> None:
    with scaled_time(0.05):
        assert real_seconds(0.6) == pytest.approx(0.03)
        assert real_seconds(30) == pytest.approx(1.5)
        assert nominal_seconds(0.03) == pytest.approx(0.6)
        assert nominal_seconds(real_seconds(4.0)) == pytest.approx(4.0)
    with scaled_time(1):
        assert real_seconds(0.6) == 0.6
        assert nominal_seconds(0.6) == 0.6
    with scaled_time(2):
        assert real_seconds(3) == 6.0
        assert nominal_seconds(3) == 1.5


def test_conversion_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TIME_SCALE_ENV, "0.1")
    assert real_seconds(10) == pytest.approx(1.0)
    assert nominal_seconds(1) == pytest.approx(10.0)
