"""Exercises: prompt, hint, check and solution kept together, one module per lesson.

In a notebook::

    ex = exercise("1.1")
    ex.hint()
    ex.check(answer)      # prints ✅ or what is wrong, returns True or False
    ex.solution()         # when stuck

A check never raises on a wrong answer: a student's notebook must keep
running. ``Ellipsis`` (``answer = ...``, the placeholder) means "not tried yet".
"""

from __future__ import annotations

from wslab.exercises._core import Exercise, Verdict, all_exercises, exercise

__all__ = ["Exercise", "Verdict", "all_exercises", "exercise"]
