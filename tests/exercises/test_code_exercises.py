"""Code exercises: each checker accepts its reference and rejects real wrong functions.

The wrong functions are what students really write: each is rejected with its
own sentence, naming the rule it broke. None of this runs in a student's
notebook (no solution runs there); the notebooks only hold the student's cell.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from wslab import WebSocket, live_clients, running_servers
from wslab.core.events import MessageEvent
from wslab.exercises import CodeExercise, PendingCheck, Verdict, all_exercises, exercise

CODE_EXERCISES = sorted(i for i, ex in all_exercises().items() if isinstance(ex, CodeExercise))


@pytest.mark.parametrize("exercise_id", CODE_EXERCISES)
async def test_the_reference_passes(exercise_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    ex = exercise(exercise_id)
    assert isinstance(ex, CodeExercise)
    verdict = await ex.check(ex.reference)
    assert verdict == Verdict(True, None)
    assert capsys.readouterr().out == f"✅ Exercise {exercise_id}: correct!\n"
    assert live_clients() == [] and running_servers() == {}  # the check left nothing behind


@pytest.mark.parametrize("exercise_id", CODE_EXERCISES)
@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (..., "not tried yet: write your function"),
        (["red", "green", "blue"], "checks a function you wrote, not a value (list)"),
        ("red green blue", "not a value (str)"),
        (42, "not a value (int)"),
        (CodeExercise, "not a value (type)"),
    ],
)
async def test_a_literal_never_passes(exercise_id: str, answer: object, says: str) -> None:
    verdict = await exercise(exercise_id).check(answer, quiet=True)  # type: ignore[misc]
    assert not verdict and says in (verdict.problem or "")


async def test_a_plain_def_and_an_untouched_placeholder_are_named() -> None:
    ex = exercise("1.1")

    def three_echoes(url: str) -> list[str]:
        return ["red", "green", "blue"]

    async def untouched(url: str) -> None: ...

    verdict = await ex.check(three_echoes, quiet=True)  # type: ignore[misc]
    assert verdict.problem == "three_echoes must be `async def`: it awaits the connection"
    verdict = await ex.check(untouched, quiet=True)  # type: ignore[misc]
    assert verdict.problem == "not tried yet: untouched is still `...`; write its body"


def test_a_check_that_is_not_awaited_says_so() -> None:
    pending = exercise("1.1").check(...)
    assert isinstance(pending, PendingCheck)
    assert "must be awaited: `await ex.check(...)`" in repr(pending)


async def test_hints_come_one_by_one_and_the_solution_only_when_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ex = exercise("1.1")
    assert isinstance(ex, CodeExercise)
    ex._hints_given[0] = 0
    for n in range(1, len(ex.hints) + 2):
        ex.hint()
        shown = min(n, len(ex.hints))
        assert capsys.readouterr().out.startswith(f"💡 Hint {shown}/{len(ex.hints)}:")
    assert "return echoes" not in " ".join(ex.hints)  # the last hint is not the answer
    ex.solution()
    assert "async def _three_echoes" in capsys.readouterr().out


# --- 1.1: three echoes, a normal close --------------------------------------------------


async def _opened(url: str) -> WebSocket:
    ws = WebSocket(url)
    await ws.wait_for("open")
    return ws


async def _echoes(ws: WebSocket, texts: list[Any]) -> list[Any]:
    """Send each text and collect its echo's data: the part these clients get right."""
    echoes = []
    for text in texts:
        ws.send(text)
        echo = await ws.wait_for("message")
        assert isinstance(echo, MessageEvent)
        echoes.append(echo.data)
    return echoes


async def closes_without_a_code(url: str) -> list[Any]:
    ws = await _opened(url)
    echoes = await _echoes(ws, ["red", "green", "blue"])
    ws.close()  # no code: the server records 1005
    await ws.closed()
    return echoes


async def sends_in_the_wrong_order(url: str) -> list[Any]:
    ws = await _opened(url)
    echoes = await _echoes(ws, ["blue", "green", "red"])
    ws.close(1000)
    await ws.closed()
    return echoes


async def returns_the_events(url: str) -> list[Any]:
    ws = WebSocket(url)
    await ws.wait_for("open")
    events = []
    for colour in ["red", "green", "blue"]:
        ws.send(colour)
        events.append(await ws.wait_for("message"))
    ws.close(1000)
    await ws.closed()
    return events


async def never_closes(url: str) -> list[Any]:
    ws = await _opened(url)
    return await _echoes(ws, ["red", "green", "blue"])  # and no close


async def returns_nothing(url: str) -> None:
    ws = await _opened(url)
    await _echoes(ws, ["red", "green", "blue"])
    ws.close(1000)
    await ws.closed()


async def sends_bytes(url: str) -> list[Any]:
    ws = await _opened(url)
    echoes = await _echoes(ws, [b"red", b"green", b"blue"])
    ws.close(1000)
    await ws.closed()
    return echoes


async def sends_before_open(url: str) -> list[Any]:
    ws = WebSocket(url)
    ws.send("red")  # InvalidStateError: still CONNECTING
    return []


async def never_connects(url: str) -> list[str]:
    return ["red", "green", "blue"]  # the answer, typed in: no socket


async def waits_for_a_fourth_echo(url: str) -> list[Any]:
    ws = WebSocket(url)
    await ws.wait_for("open")
    for colour in ["red", "green", "blue"]:
        ws.send(colour)
    await ws.wait_for("message", timeout=None)
    await ws.wait_for("message", timeout=None)
    await ws.wait_for("message", timeout=None)
    await ws.wait_for("message", timeout=None)  # never comes
    return []


WRONG_1_1 = [
    (closes_without_a_code, "your client closed with no code at all: a bare `ws.close()`"),
    (sends_in_the_wrong_order, "(the right ones, in the wrong order)"),
    (returns_the_events, "put each event's `.data` in the list, not the event itself"),
    (never_closes, "your client never closed the connection (the check closed it for you)"),
    (returns_nothing, "your function returned nothing"),
    (sends_bytes, "send text (`str`), not bytes"),
    (sends_before_open, "your function raised InvalidStateError"),
    (never_connects, "your function never opened a connection"),
]


@pytest.mark.parametrize(("wrong", "says"), WRONG_1_1, ids=[w.__name__ for w, _ in WRONG_1_1])
async def test_1_1_rejects_each_wrong_client_with_its_own_reason(wrong: Any, says: str) -> None:
    verdict = await exercise("1.1").check(wrong, quiet=True)  # type: ignore[misc]
    assert not verdict
    assert says in (verdict.problem or ""), verdict.problem
    assert live_clients() == [] and running_servers() == {}


async def test_1_1_a_raise_names_the_students_line() -> None:
    verdict = await exercise("1.1").check(sends_before_open, quiet=True)  # type: ignore[misc]
    assert "in sends_before_open" in (verdict.problem or "")
    assert 'ws.send("red")' in (verdict.problem or "")


async def test_1_1_a_function_that_hangs_gets_a_verdict_within_its_bound(fast: float) -> None:
    ex = exercise("1.1")
    assert isinstance(ex, CodeExercise)
    started = time.monotonic()
    verdict = await ex.check(waits_for_a_fourth_echo, quiet=True)
    assert not verdict
    assert f"did not finish within {ex.timeout:g} s" in (verdict.problem or "")
    assert time.monotonic() - started < ex.timeout  # nominal bound, run faster here
    await asyncio.sleep(0)
    assert live_clients() == [] and running_servers() == {}
