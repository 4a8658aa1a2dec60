"""Lesson 1's exercises, proven here and not in the student's notebook.

1.1 is a code exercise (tests/exercises/test_code_exercises.py runs its wrong
clients); 1.2 checks a value: each wrong answer a student really gives is
refused with the rule it breaks. The notebook holds only the student's cells;
test_the_notebook_passes_with_the_reference fills them with the reference and
runs the whole notebook.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from wslab.exercises import CodeExercise, Exercise, exercise

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01-websocket-basics.ipynb"


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ([0, 1, 3], "between OPEN (1) and CLOSED (3) the connection is CLOSING (2)"),
        ([1, 2, 3], "every connection starts CONNECTING (0)"),
        (["CONNECTING", "OPEN", "CLOSING", "CLOSED"], "use the numbers 0-3"),
        ([0, 2, 1, 3], "readyState only ever moves forward"),
        ([0, 1, 1, 2, 3], "list each state once"),
    ],
)
def test_1_2_refuses_each_wrong_sequence_with_its_rule(answer: object, says: str) -> None:
    ex = exercise("1.2")
    assert isinstance(ex, Exercise)
    verdict = ex.check(answer, quiet=True)
    assert not verdict and says in (verdict.problem or ""), verdict.problem


def test_no_solution_runs_in_the_students_notebook() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    assert "ex.reference" not in code and "Course check" not in code
    assert "async def three_echoes(url):\n    ..." in code


def test_the_notebook_passes_with_the_reference_in_the_students_cell() -> None:
    """Fill 1.1's cell with the reference client, run the notebook, read the verdict."""
    ex = exercise("1.1")
    assert isinstance(ex, CodeExercise)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    [cell] = [c for c in nb.cells if c.source.startswith("async def three_echoes(url):")]
    reference = inspect.getsource(ex.reference).replace("_three_echoes", "three_echoes")
    cell.source = (
        "from typing import Any\n"
        "from wslab.core.events import MessageEvent\n\n"
        f"{reference}\n\n"
        "verdict = await ex.check(three_echoes)\n"
        "assert verdict, verdict.problem"
    )
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=False).execute()
    outputs = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")
    assert outputs == "✅ Exercise 1.1: correct!\n", json.dumps(cell.outputs)[:500]
