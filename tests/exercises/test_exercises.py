"""wslab.exercises: every lesson's exercises, and the Exercise type itself."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

import wslab.exercises
from wslab.exercises import CodeExercise, Exercise, Verdict, all_exercises, exercise
from wslab.lessons import LESSONS

PACKAGE_DIR = Path(wslab.exercises.__file__).resolve().parent
LESSON_MODULES = sorted(path.stem for path in PACKAGE_DIR.glob("lesson*.py"))
EXERCISES = all_exercises()
#: Exercises whose answer is a value (the code exercises: test_code_exercises.py).
VALUE_EXERCISES = sorted(i for i, ex in EXERCISES.items() if isinstance(ex, Exercise))


# --- every exercise that exists -----------------------------------------------------


def test_lesson_modules_are_named_after_lessons() -> None:
    numbers = {item.number for item in LESSONS}
    for name in LESSON_MODULES:
        match = re.fullmatch(r"lesson(\d\d)", name)
        assert match, f"{name}.py: lesson modules are lessonNN.py"
        assert int(match.group(1)) in numbers


@pytest.mark.parametrize("name", LESSON_MODULES)
def test_all_exercises_finds_every_lesson_module(name: str) -> None:
    module = importlib.import_module(f"wslab.exercises.{name}")
    exercises = module.EXERCISES
    assert exercises, f"{name}.py has no EXERCISES"
    lesson_number = int(name.removeprefix("lesson"))
    for ex in exercises:
        assert isinstance(ex, Exercise | CodeExercise)
        assert EXERCISES[ex.id] is ex
        assert re.fullmatch(rf"{lesson_number}\.[1-9]\d*", ex.id), ex.id


def test_exercise_ids_are_unique() -> None:
    total = 0
    for name in LESSON_MODULES:
        total += len(importlib.import_module(f"wslab.exercises.{name}").EXERCISES)
    assert len(EXERCISES) == total


@pytest.mark.parametrize("exercise_id", VALUE_EXERCISES)
def test_reference_passes_and_placeholder_does_not(
    exercise_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ex = exercise(exercise_id)
    assert ex is EXERCISES[exercise_id]
    assert ex.prompt.strip()
    assert ex.hints
    assert ex.verify(ex.reference) is None
    assert ex.check(ex.reference) == Verdict(True, None)
    assert capsys.readouterr().out == f"✅ Exercise {exercise_id}: correct!\n"
    placeholder = ex.check(...)
    assert not placeholder
    assert placeholder.problem == "not tried yet: replace the ... with your answer"
    assert capsys.readouterr().out == (
        f"❌ Exercise {exercise_id}: not tried yet: replace the ... with your answer\n"
    )


@pytest.mark.parametrize("exercise_id", VALUE_EXERCISES)
@pytest.mark.parametrize("wrong", [None, 0, "", [], {}, object()])
def test_wrong_answers_of_any_shape_are_refused_without_raising(
    exercise_id: str, wrong: object
) -> None:
    ex = exercise(exercise_id)
    verdict = ex.check(wrong, quiet=True)
    assert isinstance(verdict, Verdict)
    assert verdict.correct is False
    assert verdict.problem


def test_unknown_exercise_lists_the_ids() -> None:
    with pytest.raises(KeyError) as info:
        exercise("99.9")
    message = info.value.args[0]
    assert message.startswith("no exercise '99.9'; there are: ")
    assert message == f"no exercise '99.9'; there are: {', '.join(sorted(EXERCISES))}"


# --- the Exercise type ------------------------------------------------------------------


def _verify_double(answer: object) -> str | None:
    if answer == 42:
        return None
    return f"expected 42, got {answer!r}"


SAMPLE = Exercise(
    id="0.1",
    prompt="Double 21.",
    hints=("Multiply.", "By two."),
    verify=_verify_double,
    reference=42,
)


def test_check_says_what_is_wrong(capsys: pytest.CaptureFixture[str]) -> None:
    assert SAMPLE.check(42) == Verdict(True, None)
    assert SAMPLE.check(41) == Verdict(False, "expected 42, got 41")
    assert SAMPLE.check(41, quiet=True) == Verdict(False, "expected 42, got 41")
    assert capsys.readouterr().out == (
        "✅ Exercise 0.1: correct!\n❌ Exercise 0.1: expected 42, got 41\n"
    )


def test_check_never_raises(capsys: pytest.CaptureFixture[str]) -> None:
    def broken(answer: object) -> str | None:
        return str(1 / 0)

    ex = Exercise("0.2", "p", ("h",), broken, None)
    assert ex.check("anything") == Verdict(
        False, "that answer could not be checked (ZeroDivisionError: division by zero)"
    )
    assert capsys.readouterr().out == (
        "❌ Exercise 0.2: that answer could not be checked (ZeroDivisionError: division by zero)\n"
    )


def test_hints_are_numbered_and_clamped(capsys: pytest.CaptureFixture[str]) -> None:
    SAMPLE.hint()
    SAMPLE.hint(2)
    SAMPLE.hint(5)
    SAMPLE.hint(0)
    assert capsys.readouterr().out == (
        "💡 Hint 1/2: Multiply.\n💡 Hint 2/2: By two.\n"
        "💡 Hint 2/2: By two.\n💡 Hint 1/2: Multiply.\n"
    )


def test_solution_prints_the_code_or_the_reference(capsys: pytest.CaptureFixture[str]) -> None:
    SAMPLE.solution()
    Exercise("0.3", "p", ("h",), _verify_double, 42, solution_code="answer = 21 * 2").solution()
    assert capsys.readouterr().out == "42\nanswer = 21 * 2\n"


def test_verdict_is_truthy_only_when_correct() -> None:
    assert bool(Verdict(True)) is True
    assert bool(Verdict(False, "wrong")) is False
    # Shown by check() already: displaying it in a notebook adds nothing.
    assert Verdict(True)._ipython_display_() is None


def test_repr() -> None:
    assert repr(SAMPLE) == "Exercise 0.1: Double 21."


def test_discovery_picks_up_a_new_lesson_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lesson99.py").write_text(
        "from wslab.exercises import Exercise\n"
        "EXERCISES = (Exercise('99.1', 'p', ('h',), lambda a: None, 1),)\n",
        encoding="utf-8",
    )
    (tmp_path / "notes.py").write_text("raise AssertionError('not a lesson module')\n")
    monkeypatch.setattr(wslab.exercises, "__path__", [*wslab.exercises.__path__, str(tmp_path)])
    importlib.invalidate_caches()
    try:
        found = all_exercises()
        assert found["99.1"].prompt == "p"
        assert set(found) == {*EXERCISES, "99.1"}
        assert exercise("99.1").check(1, quiet=True)
    finally:
        sys.modules.pop("wslab.exercises.lesson99", None)
