"""Lesson 13 exercises: choosing a pattern, and ids on the live ``slow`` server.

The closing notebook runs one job (a user, their orders, the first order's
details) in five styles against one ``slow`` server: listeners, the
``onmessage`` handler, callbacks, ``async``/``await`` and websockets' own
``async with connect(...)``.
"""

from __future__ import annotations

import inspect
from typing import Any

from wslab.core.slow import DETAILS, ORDERS, USERS
from wslab.exercises._core import Exercise

__all__ = ["EXERCISES", "JOB_NAMES", "PATTERNS", "SITUATIONS"]

#: The five client styles, by the names the notebook and the exercises use.
PATTERNS: tuple[str, ...] = ("listeners", "onmessage", "callbacks", "async", "websockets")

# Other spellings a student may reasonably use for the same pattern.
_ALIASES: dict[str, str] = {
    "addeventlistener": "listeners",
    "listener": "listeners",
    "event listeners": "listeners",
    "ws.onmessage": "onmessage",
    "handler": "onmessage",
    "callback": "callbacks",
    "await": "async",
    "async/await": "async",
    "async await": "async",
    "asyncio": "async",
    "async with": "websockets",
    "async for": "websockets",
    "connect": "websockets",
    "native": "websockets",
}


def _normalise(name: str) -> str:
    key = name.strip().lower()
    return _ALIASES.get(key, key)


# --- 13.1: which pattern for which situation --------------------------------------------

#: Exercise 13.1: a situation, the pattern that fits it best, and why.
SITUATIONS: tuple[tuple[str, str, str], ...] = (
    (
        "A page where the chat view, an unread-message counter and a debug panel, "
        "written by three different people, all react to every message on one socket.",
        "listeners",
        "each part adds its own listener, and no part can knock another one out",
    ),
    (
        "A 20-line demo page with exactly one function that shows whatever the server sends.",
        "onmessage",
        "one slot is all it needs, and nobody else will ever assign it",
    ),
    (
        "You must plug into an older library whose every function takes a last "
        "argument function (err, result).",
        "callbacks",
        "that library speaks callback(err, result): answer it in its own style",
    ),
    (
        "A web app logs the user in, then loads their settings, then their first "
        "project, and shows one error message if any of the three steps fails.",
        "async",
        "steps that depend on each other read top to bottom, with one try/catch",
    ),
    (
        "A Python script, no browser anywhere, connects, asks the server three "
        "questions one after another, prints the answers and disconnects.",
        "websockets",
        "`async with connect(...)` closes the connection for you, and there are no "
        "listeners to set up",
    ),
)


def _verify_patterns(answer: Any) -> str | None:
    if not isinstance(answer, list | tuple):
        return (
            f"expected a list of {len(SITUATIONS)} pattern names, such as "
            f'["listeners", ...], got {type(answer).__name__}'
        )
    if len(answer) != len(SITUATIONS):
        return f"expected {len(SITUATIONS)} names, one per situation, got {len(answer)}"
    if not all(isinstance(name, str) for name in answer):
        return f"give each pattern as a string, one of {', '.join(PATTERNS)}"
    names = [_normalise(name) for name in answer]
    unknown = [name for name in names if name not in PATTERNS]
    if unknown:
        return f"{unknown[0]!r} is not a pattern; use one of {', '.join(PATTERNS)}"
    wrong = [
        i
        for i, (name, (_, want, _)) in enumerate(zip(names, SITUATIONS, strict=True))
        if name != want
    ]
    if wrong:
        first = wrong[0]
        return (
            f"{len(SITUATIONS) - len(wrong)} of {len(SITUATIONS)} right; look again at "
            f"situation {first + 1}"
        )
    return None


_SITUATION_LIST = "\n".join(
    f"  {number}. {text}" for number, (text, _, _) in enumerate(SITUATIONS, start=1)
)

_SOLUTION_131 = "answer = [\n" + "".join(
    f"    {pattern!r},  # {number}: {why}\n"
    for number, (_, pattern, why) in enumerate(SITUATIONS, start=1)
)
_SOLUTION_131 += "]\nex.check(answer)"


# --- 13.2: several jobs on one connection ---------------------------------------------

#: Exercise 13.2: whose jobs run together on one connection, in this order.
JOB_NAMES: tuple[str, ...] = ("Alice", "Bob", "Nobody")


def _outcome(name: str) -> tuple[str, Any]:
    """What the job gives for ``name``: the first order's details, or the error code."""
    if name not in USERS:
        return ("error", "not-found")
    return ("ok", DETAILS[ORDERS[USERS[name]["id"]][0]])


def _verify_outcomes(answer: Any) -> str | None:
    expected = [_outcome(name) for name in JOB_NAMES]
    if inspect.isawaitable(answer):
        if inspect.iscoroutine(answer):
            answer.close()  # never awaited: close it so Python does not warn
        return "that is something to wait for, not its result: put `await` in front of it"
    if not isinstance(answer, list | tuple):
        return f"expected a list of {len(JOB_NAMES)} outcomes, got {type(answer).__name__}"
    if len(answer) != len(JOB_NAMES):
        return (
            f"expected {len(JOB_NAMES)} outcomes, one each for {', '.join(JOB_NAMES)}, "
            f"got {len(answer)}"
        )
    for position, (got, want, name) in enumerate(
        zip(answer, expected, JOB_NAMES, strict=True), start=1
    ):
        if not isinstance(got, list | tuple) or len(got) != 2:
            return (
                f'outcome {position} should be a pair such as ("ok", {{...}}) or '
                f'("error", "not-found"), as the job returns it'
            )
        if tuple(got) != want:
            return f"outcome {position} should be {name}'s: {want!r}"
    return None


EXERCISES = (
    Exercise(
        id="13.1",
        prompt=(
            "Which pattern would you pick? For each situation, name one of "
            f"{', '.join(PATTERNS)}:\n"
            f"{_SITUATION_LIST}\n"
            f"Your answer: a list of {len(SITUATIONS)} names, in order."
        ),
        hints=(
            "Look at the comparison table: the last column says when each pattern fits.",
            "Several independent parts listening to one socket: which pattern lets "
            "each of them add a function without touching the others?",
            "No browser at all means there is no addEventListener and no onmessage "
            "either: what does Python's websockets library give you instead?",
        ),
        verify=_verify_patterns,
        reference=[pattern for _, pattern, _ in SITUATIONS],
        solution_code=_SOLUTION_131,
    ),
    Exercise(
        id="13.2",
        prompt=(
            "Requests with ids let several jobs share one connection. With the "
            'async/await client (`job = panels["async"].job`), run the jobs for '
            f"{', '.join(JOB_NAMES)} at the same time, on that one connection "
            "(`asyncio.gather`). Your answer: the list of the three outcomes, in "
            "that order."
        ),
        hints=(
            'Each `job(name)` is a coroutine: `job("Alice")` on its own does nothing '
            "until it is awaited.",
            '`asyncio.gather(job("Alice"), job("Bob"), job("Nobody"))` starts all three; '
            "`await` it to wait for all of them at once.",
            "The job never raises: an error comes back as a pair, "
            '("error", "not-found"), so gather does not stop at Nobody.',
        ),
        verify=_verify_outcomes,
        reference=[_outcome(name) for name in JOB_NAMES],
        solution_code=(
            'job = panels["async"].job\n'
            'answer = await asyncio.gather(job("Alice"), job("Bob"), job("Nobody"))\n'
            "ex.check(answer)"
        ),
    ),
)
