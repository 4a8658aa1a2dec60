"""Exercises: prompt, hint, check and solution kept together, one module per lesson.

In a notebook::

    ex = exercise("1.2")
    ex.hint()
    ex.check(answer)      # prints ✅ or what is wrong, returns True or False
    ex.solution()         # when stuck

    ex = exercise("1.1")  # a code exercise: you write a function
    await ex.check(three_echoes)   # runs it live against a real server

A check never raises on a wrong answer: a student's notebook must keep
running. ``Ellipsis`` (``answer = ...``, the placeholder, or a function whose
body is still ``...``) means "not tried yet".
"""

from __future__ import annotations

from wslab.exercises._code import CodeExercise, PendingCheck
from wslab.exercises._core import Exercise, Verdict, all_exercises, exercise

__all__ = ["CodeExercise", "Exercise", "PendingCheck", "Verdict", "all_exercises", "exercise"]
