"""Lesson 9 exercises: the timings behind a load balancer, and the worst case to notice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wslab.core.heartbeat import PRESETS
from wslab.exercises._core import Exercise

__all__ = ["ALB_IDLE_LIMIT", "EXERCISES", "worst_case_reference"]

#: AWS's Application Load Balancer closes connections idle this long (seconds).
ALB_IDLE_LIMIT = 60


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


# --- 9.1: the preset behind an AWS ALB --------------------------------------------


def _verify_alb(answer: Any) -> str | None:
    if isinstance(answer, str | bytes) or not isinstance(answer, tuple | list):
        return "answer with a tuple of two numbers: (interval, timeout), in seconds"
    if len(answer) != 2 or not all(_is_number(x) for x in answer):
        return "answer with exactly two numbers: (interval, timeout), in seconds"
    interval, timeout = (float(x) for x in answer)
    expected = PRESETS["aws-alb"].seconds
    if (interval, timeout) == expected:
        return None
    if (interval, timeout) == tuple(x * 1000 for x in expected):
        return "those are milliseconds (setInterval's 55000): give seconds"
    if (timeout, interval) == expected:
        return "the interval comes first, then the timeout"
    if interval >= ALB_IDLE_LIMIT:
        return (
            f"a ping every {interval:g} s lets the load balancer see {ALB_IDLE_LIMIT} s of "
            "silence: it drops the connection before your ping goes out"
        )
    if (interval, timeout) == PRESETS["default"].seconds:
        return (
            "that is the default row: it works behind an ALB, but the guide has a row for it "
            "that pings less often, just under the ALB's limit"
        )
    if (interval, timeout) == PRESETS["mobile"].seconds:
        return "that is the mobile row; look for the load balancer's"
    return "not the guide's row for an AWS ALB: look at the timing guide (or PRESETS)"


# --- 9.2: how long until a dead connection is noticed ------------------------------


def worst_case_reference(interval: float, timeout: float) -> float:
    """The reference answer of 9.2: ``interval + timeout``."""
    return interval + timeout


_CASES = ((30.0, 10.0), (15.0, 5.0), (55.0, 10.0), (1.0, 0.25))


def _verify_worst(answer: Any) -> str | None:
    if not callable(answer):
        return (
            "answer with a function of (interval, timeout), such as lambda interval, timeout: ..."
        )
    fn: Callable[[float, float], Any] = answer
    for interval, timeout in _CASES:
        got = fn(interval, timeout)
        if not _is_number(got):
            return f"worst({interval:g}, {timeout:g}) should be a number of seconds, not {got!r}"
        expected = interval + timeout
        if abs(float(got) - expected) < 1e-9:
            continue
        if abs(float(got) - timeout) < 1e-9:
            return (
                "only the timeout? The connection may die just after a pong: the next ping "
                "goes out up to one interval later"
            )
        if abs(float(got) - interval) < 1e-9:
            return "the ping goes out after at most one interval; then its pong still has time"
        if abs(float(got) - (2 * interval + timeout)) < 1e-9:
            return "one missing pong is enough: the notes close at the first"
        return f"worst({interval:g}, {timeout:g}) gave {got!r}; think about the worst moment to die"
    return None


EXERCISES = (
    Exercise(
        id="9.1",
        prompt=(
            "Your server sits behind an AWS Application Load Balancer, which drops connections "
            f"idle for {ALB_IDLE_LIMIT} s. Which ping interval and pong timeout does the study "
            "notes' timing guide give for it? answer = (interval, timeout), in seconds."
        ),
        hints=(
            "The timing guide has three rows: Default, Mobile, Behind AWS ALB.",
            f"The interval must be shorter than the ALB's {ALB_IDLE_LIMIT} s idle limit, "
            "with some margin.",
            'In Python: PRESETS["aws-alb"].seconds.',
        ),
        verify=_verify_alb,
        reference=PRESETS["aws-alb"].seconds,
        solution_code=(
            'answer = (55, 10)   # or PRESETS["aws-alb"].seconds\n'
            "# 55 s < the ALB's 60 s: it never sees a minute of silence\n"
            "ex.check(answer)"
        ),
    ),
    Exercise(
        id="9.2",
        prompt=(
            "A heartbeat pings every `interval` seconds and closes when a pong takes longer than "
            "`timeout`. The connection dies silently at the worst possible moment. Write a "
            "function answer = lambda interval, timeout: ... that gives the most seconds that "
            "can pass before the heartbeat notices."
        ),
        hints=(
            "What is the worst moment to die? Just before a ping, or just after a pong?",
            "Right after a pong: the next ping goes out one whole interval later...",
            "...and only `timeout` seconds after that is its pong declared missing.",
        ),
        verify=_verify_worst,
        reference=worst_case_reference,
        solution_code=(
            "answer = lambda interval, timeout: interval + timeout\n"
            "print(answer(30, 10))   # 40 s with the default preset\n"
            "ex.check(answer)"
        ),
    ),
)
