"""The :class:`Exercise` type and the lookup across lessons."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wslab.exercises._code import CodeExercise

__all__ = ["Exercise", "Verdict", "all_exercises", "exercise"]


@dataclass(frozen=True)
class Verdict:
    """What :meth:`Exercise.check` found: true when the answer is right.

    The feedback is printed by ``check`` itself, so a ``check(...)`` on the last
    line of a cell does not show a second, bare ``True`` or ``False``.
    """

    correct: bool
    problem: str | None = None

    def __bool__(self) -> bool:
        return self.correct

    def _ipython_display_(self) -> None:
        pass  # already printed


@dataclass(frozen=True)
class Exercise:
    """One exercise.

    Attributes:
        id: ``"<lesson>.<n>"``, such as ``"1.1"``.
        prompt: what to do.
        hints: given one at a time by :meth:`hint`.
        verify: returns None if the answer is right, else what is wrong.
        reference: a right answer, shown by :meth:`solution` and used by the
            course's own tests to prove the check accepts it.
        solution_code: the code of a solution, to show.
    """

    id: str
    prompt: str
    hints: tuple[str, ...]
    verify: Callable[[Any], str | None]
    reference: Any
    solution_code: str = ""

    def check(self, answer: Any, *, quiet: bool = False) -> Verdict:
        """Say whether ``answer`` is right; never raises for a wrong answer.

        Returns a :class:`Verdict`, true when the answer is right.
        """
        if answer is Ellipsis:
            problem: str | None = "not tried yet: replace the ... with your answer"
        else:
            try:
                problem = self.verify(answer)
            except Exception as exc:  # a wrong answer may be of any shape
                problem = f"that answer could not be checked ({type(exc).__name__}: {exc})"
        if not quiet:
            print(
                f"✅ Exercise {self.id}: correct!"
                if problem is None
                else f"❌ Exercise {self.id}: {problem}"
            )
        return Verdict(problem is None, problem)

    def hint(self, n: int = 1) -> None:
        """Print hint ``n`` (1-based)."""
        n = max(1, min(n, len(self.hints)))
        print(f"💡 Hint {n}/{len(self.hints)}: {self.hints[n - 1]}")

    def solution(self) -> None:
        """Print a solution."""
        print(self.solution_code or repr(self.reference))

    def __repr__(self) -> str:
        return f"Exercise {self.id}: {self.prompt}"


def all_exercises() -> dict[str, Exercise | CodeExercise]:
    """Every exercise of every lesson module in this package, by id."""
    found: dict[str, Exercise | CodeExercise] = {}
    for info in pkgutil.iter_modules(_package_path()):
        if info.name.startswith("lesson"):
            module = importlib.import_module(f"{__package__}.{info.name}")
            for ex in getattr(module, "EXERCISES", ()):
                found[ex.id] = ex
    return found


def _package_path() -> list[str]:
    package = importlib.import_module(__package__ or "wslab.exercises")
    return list(package.__path__)


def exercise(exercise_id: str) -> Exercise | CodeExercise:
    """Look an exercise up by id. Raises ``KeyError`` listing the ids."""
    exercises = all_exercises()
    try:
        return exercises[exercise_id]
    except KeyError:
        raise KeyError(
            f"no exercise {exercise_id!r}; there are: {', '.join(sorted(exercises))}"
        ) from None
