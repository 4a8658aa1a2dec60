"""The notebooks as committed: no outputs, navigation and hub up to date, one H1 each."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from helpers import course_script

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: Notebooks that are not lessons: for instructors (scripts/course.py keeps them clean too).
EXTRAS = ("classroom.ipynb",)
LESSONS_AND_HUB = [p for p in NOTEBOOKS if p.name not in EXTRAS]


def _prose_lines(markdown: str) -> list[str]:
    """The lines of a markdown cell outside fenced code blocks (a `# comment` is no title)."""
    lines, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def test_notebooks_hub_and_readme_are_up_to_date() -> None:
    assert course_script().problems() == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_clean_with_one_title(path: Path) -> None:
    if path.name not in EXTRAS:
        assert re.fullmatch(r"\d\d-[a-z0-9-]+\.ipynb", path.name), "name notebooks NN-slug.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "commit without outputs"
    assert "widgets" not in nb.metadata, "commit without widget state"
    titles = [
        line
        for cell in nb.cells
        if cell.cell_type == "markdown"
        for line in _prose_lines(cell.source)
        if line.startswith("# ")
    ]
    assert len(titles) == 1, titles


@pytest.mark.parametrize("path", LESSONS_AND_HUB[1:], ids=[p.stem for p in LESSONS_AND_HUB[1:]])
def test_lesson_follows_the_skeleton(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for heading in ("## In this lesson", "## Summary", "## Exercises"):
        assert heading in text, f"{path.name} lacks {heading!r}"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "assert " in code, "a lesson checks its claims"
    assert "```js" in text, "a lesson shows the study notes' JavaScript beside the Python"
    assert ".check(" in code and "exercise(" in code
