"""Coding exercises: the student writes a function, and the check runs it live.

A :class:`CodeExercise` never compares values a student typed: ``await
ex.check(my_function)`` runs the function, in bounded time, against a real
lesson server (or real test clients), reads what happened from the server's
log, and names in one sentence the first rule it broke. A literal can never
pass; a function that hangs, raises or forgets to close gets a verdict within
the exercise's bound, and the kernel stays usable: whatever the function left
open is closed after the check.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from wslab.core.handler import describe_error
from wslab.core.timescale import real_seconds
from wslab.exercises._core import Verdict
from wslab.servers.handler import is_library_file

__all__ = ["CodeExercise", "PendingCheck", "Trial"]

#: What a check runs: the student's function in, the first broken rule out
#: (None when every rule holds).
Trial = Callable[[Callable[..., Any]], Awaitable[str | None]]


async def _placeholder(*args: Any) -> None: ...


def _is_placeholder(fn: Callable[..., Any]) -> bool:
    """A function whose body is still only ``...`` (or ``pass``, or a docstring)."""
    code = getattr(fn, "__code__", None)
    empty = _placeholder.__code__
    return code is not None and code.co_code == empty.co_code and code.co_names == ()


@dataclass(frozen=True)
class CodeExercise:
    """One coding exercise: write a function; the check runs it against real servers.

    Attributes:
        id: ``"<lesson>.<n>"``.
        prompt: what to write, with the function's signature.
        hints: given one at a time, the next on each :meth:`hint` call; the
            last one points the way without giving the answer.
        trial: runs a function and returns the first rule it broke, or None.
        reference: a right function (shown by :meth:`solution` only when
            asked; the course's tests prove the check accepts it).
        timeout: nominal seconds a check may take, all in all.
    """

    kind: ClassVar[str] = "code"

    id: str
    prompt: str
    hints: tuple[str, ...]
    trial: Trial
    reference: Callable[..., Any]
    timeout: float = 20.0
    _hints_given: list[int] = field(default_factory=lambda: [0], repr=False, compare=False)

    def check(self, fn: Any, *, quiet: bool = False) -> PendingCheck:
        """Run ``fn`` live and say whether it keeps every rule: ``await ex.check(fn)``.

        Never raises for a wrong function: a verdict says what went wrong.
        """
        return PendingCheck(self, fn, quiet)

    async def run(self, fn: Any) -> Verdict:
        """The verdict on ``fn``, without printing it."""
        problem = _shape_problem(fn)
        if problem is None:
            try:
                problem = await asyncio.wait_for(self.trial(fn), real_seconds(self.timeout))
            except TimeoutError:
                problem = (
                    f"your function did not finish within {self.timeout:g} s: does it wait "
                    "for a message that never comes, or for a close it never asked for?"
                )
            except Exception as exc:  # the student's code, of any shape
                error = describe_error(exc, "your function", skip=is_library_file)
                where = f"\n{chr(10).join(error.lines)}" if error.lines else ""
                problem = f"your function raised {error.kind}: {error.message}{where}"
        return Verdict(problem is None, problem)

    def hint(self, n: int | None = None) -> None:
        """Print the next hint (or hint ``n``, 1-based)."""
        given = self._hints_given
        if n is None:
            given[0] = min(given[0] + 1, len(self.hints))
            n = given[0]
        n = max(1, min(n, len(self.hints)))
        print(f"💡 Hint {n}/{len(self.hints)}: {self.hints[n - 1]}")

    def solution(self) -> None:
        """Print a solution (only when asked)."""
        print(inspect.getsource(self.reference))

    def __repr__(self) -> str:
        return f"Exercise {self.id} (write code): {self.prompt}"


def _shape_problem(fn: Any) -> str | None:
    if fn is Ellipsis:
        return "not tried yet: write your function, then check it"
    if not callable(fn) or isinstance(fn, type):
        return (
            f"a code exercise checks a function you wrote, not a value ({type(fn).__name__}): "
            "pass the function itself, as in `await ex.check(my_function)`"
        )
    if not inspect.iscoroutinefunction(fn):
        name = getattr(fn, "__name__", "it")
        return f"{name} must be `async def`: it awaits the connection"
    if _is_placeholder(fn):
        return f"not tried yet: {fn.__name__} is still `...`; write its body"
    return None


class PendingCheck:
    """A check that runs when awaited: ``await ex.check(fn)``.

    Shown without ``await`` (the cell's last line), it says so instead of
    silently doing nothing.
    """

    def __init__(self, exercise: CodeExercise, fn: Any, quiet: bool) -> None:
        self._exercise = exercise
        self._fn = fn
        self._quiet = quiet

    def __await__(self) -> Generator[Any, None, Verdict]:
        return self._verdict().__await__()

    async def _verdict(self) -> Verdict:
        verdict = await self._exercise.run(self._fn)
        if not self._quiet:
            exercise_id = self._exercise.id
            print(
                f"✅ Exercise {exercise_id}: correct!"
                if verdict.correct
                else f"❌ Exercise {exercise_id}: {verdict.problem}"
            )
        return verdict

    def __repr__(self) -> str:
        return (
            f"⚠️ Exercise {self._exercise.id} was not checked: a code check runs your "
            "function live, so it must be awaited: `await ex.check(...)`"
        )

    def _ipython_display_(self) -> None:
        print(repr(self))
