"""Which slide each notebook cell is, when an instructor presents a lesson.

``scripts/course.py`` writes the answer into every cell's
``metadata.slideshow.slide_type``, the field slideshow tools read
(jupyterlab-deck, nbconvert's slides, RISE, Voilà's reveal template):

- the title (``#``) and each section (``##``) start a new **slide**;
- a ``###`` heading starts a **subslide** (below its section's slide);
- what an audience does not need is **skipped**: the generated navigation
  cells, and the exercises' *course check* cells (they prove the checker
  works; students are told they can skip them too);
- every other cell continues the slide above it: it gets **no** slide type.

Why no ``"-"`` for a continuing cell: nbformat defines a missing slide type as
``"-"``, and jupyterlab-deck 0.2 (the tool the course presents with) shows a
cell without one but hides a cell marked ``"-"``. Leaving it out means the
same thing everywhere and works with every tool.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["SKIPPED_TAGS", "SlideCell", "slide_type", "slide_types"]

# The generated navigation cells (scripts/course.py tags them).
SKIPPED_TAGS = frozenset({"nav-top", "nav-bottom"})

_COURSE_CHECK_MARKDOWN = "*Course check*"
_COURSE_CHECK_CODE = "# Course check"


@dataclass(frozen=True)
class SlideCell:
    """What the slide rule needs to know about one notebook cell.

    Attributes:
        cell_type: ``"markdown"``, ``"code"`` or ``"raw"``.
        source: The cell's text.
        tags: The cell's ``metadata.tags``.
    """

    cell_type: str
    source: str
    tags: Sequence[str] = field(default_factory=tuple)


def _heading_level(source: str) -> int:
    """Return the level of the heading the cell starts with (0 if none)."""
    first = source.lstrip("\n").split("\n", 1)[0]
    hashes = len(first) - len(first.lstrip("#"))
    return hashes if 0 < hashes <= 6 and first[hashes : hashes + 1] == " " else 0


def _is_course_check(cell: SlideCell) -> bool:
    text = cell.source.lstrip()
    if cell.cell_type == "markdown":
        return text.startswith(_COURSE_CHECK_MARKDOWN)
    return cell.cell_type == "code" and text.startswith(_COURSE_CHECK_CODE)


def slide_type(cell: SlideCell, after_course_check_note: bool = False) -> str | None:
    """Return the slide type of one cell.

    Args:
        cell: The cell.
        after_course_check_note: True when the cell right above is a markdown
            *course check* note: the code cell it introduces is skipped too.

    Returns:
        ``"slide"``, ``"subslide"`` or ``"skip"``; None for a cell that
        continues the slide above it.
    """
    if SKIPPED_TAGS.intersection(cell.tags) or _is_course_check(cell):
        return "skip"
    if cell.cell_type == "code" and after_course_check_note:
        return "skip"
    if cell.cell_type == "markdown":
        level = _heading_level(cell.source)
        if level in (1, 2):
            return "slide"
        if level == 3:
            return "subslide"
    return None


def slide_types(cells: Iterable[SlideCell]) -> list[str | None]:
    """Return the slide type of every cell of a notebook, in order.

    Args:
        cells: The notebook's cells, in order.

    Returns:
        One entry per cell, as :func:`slide_type` gives it.
    """
    result: list[str | None] = []
    after_note = False
    for cell in cells:
        result.append(slide_type(cell, after_note))
        after_note = cell.cell_type == "markdown" and _is_course_check(cell)
    return result
