"""Lesson 5 exercises: the backoff schedule, and which close codes to retry."""

from __future__ import annotations

from typing import Any

from wslab.exercises._core import Exercise

__all__ = ["CANDIDATE_CODES", "EXERCISES"]

#: The seed's schedule: min(1 s · 2ⁿ, 30 s) for retries n = 0..7.
_SCHEDULE = [1, 2, 4, 8, 16, 30, 30, 30]

#: The close codes exercise 5.2 asks about, with what each means.
CANDIDATE_CODES: dict[int, str] = {
    1000: "normal closure: someone closed on purpose",
    1001: "going away: the server is shutting down or restarting",
    1006: "abnormal closure: the connection dropped without a close frame",
    1012: "service restart: the server will be back shortly",
    4001: "unauthorized (lesson 8)",
    4003: "banned (lesson 8)",
}
_RECONNECT = {1001, 1006, 1012}


# --- 5.1: the delays -------------------------------------------------------------


def _verify_schedule(answer: Any) -> str | None:
    if isinstance(answer, str | bytes) or not isinstance(answer, list | tuple):
        return "answer with a list of numbers, one delay per retry, such as [1, 2, ...]"
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in answer):
        return "every delay should be a number of seconds"
    if len(answer) != len(_SCHEDULE):
        return f"there should be one delay per retry: {len(_SCHEDULE)} retries, so 8 numbers"
    if [float(x) for x in answer] == [x * 1000.0 for x in _SCHEDULE]:
        return "those are milliseconds (the JavaScript's 1000 * 2 ** retries): give seconds"
    if any(x > 30 for x in answer):
        return "no delay is longer than the cap: Math.min(..., 30000) means at most 30 s"
    if [float(x) for x in answer] == [float(min(2**n, 30)) for n in range(1, 9)]:
        return "the first retry waits 2 ** 0 = 1 second: retries starts at 0"
    if [float(x) for x in answer] != [float(x) for x in _SCHEDULE]:
        return "not quite: compute min(1 * 2 ** n, 30) for n = 0, 1, ..., 7"
    return None


_SOLUTION_51 = """\
answer = [min(1 * 2**n, 30) for n in range(8)]   # the seed's formula, in seconds
# or, from the generator the client itself reads:
answer = list(backoff())
ex.check(answer)"""


# --- 5.2: which codes to retry ------------------------------------------------


def _verify_codes(answer: Any) -> str | None:
    if isinstance(answer, str | bytes) or not isinstance(answer, set | frozenset | list | tuple):
        return "answer with a set of close codes, such as {1001}"
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in answer):
        return "every close code is an integer"
    codes = set(answer)
    unknown = codes - set(CANDIDATE_CODES)
    if unknown:
        return f"choose among {sorted(CANDIDATE_CODES)}, not {sorted(unknown)}"
    if 1000 in codes:
        return "1000 is a normal closure: someone meant it, so never reconnect (golden rule 4)"
    if codes & {4001, 4003}:
        return (
            "4001 and 4003 are about who you are: retrying with the same token fails again, "
            "forever; go back to the login instead"
        )
    if 1006 not in codes:
        return "1006 is a crash or a lost network: exactly what reconnecting is for"
    missing = _RECONNECT - codes
    if missing:
        return f"{sorted(missing)[0]} means the server will be back: reconnect (with backoff)"
    return None


_SOLUTION_52 = """\
answer = {code for code in CANDIDATE_CODES if should_reconnect(code)}
print(answer)   # {1001, 1006, 1012}
ex.check(answer)"""


EXERCISES = (
    Exercise(
        id="5.1",
        prompt=(
            "With the study notes' rule delay = Math.min(1000 * 2 ** retries, 30000), list the "
            "delays in seconds before each of the 8 retries, in order: answer = [..8 numbers..]."
        ),
        hints=(
            "retries is 0 before the first retry, then 1, 2, ... up to 7.",
            "2 ** 0 = 1 s, 2 ** 1 = 2 s, ...; from 2 ** 5 = 32 s on, the cap of 30 s wins.",
            "In Python: [min(1 * 2**n, 30) for n in range(8)], or list(backoff()).",
        ),
        verify=_verify_schedule,
        reference=list(_SCHEDULE),
        solution_code=_SOLUTION_51,
    ),
    Exercise(
        id="5.2",
        prompt=(
            "Which of these close codes should make a client reconnect? "
            + "; ".join(f"{code} {meaning}" for code, meaning in CANDIDATE_CODES.items())
            + ". Set answer to the set of codes, such as {1001}."
        ),
        hints=(
            "Golden rule 4: one code means the closure was intentional.",
            "Lesson 8's codes 4001-4003 are about the user's token: would trying again help?",
            "Everything that means 'the server is gone for now' deserves a retry, with backoff.",
        ),
        verify=_verify_codes,
        reference={1001, 1006, 1012},
        solution_code=_SOLUTION_52,
    ),
)
