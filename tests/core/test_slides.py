"""The slide rule (wslab.core.slides) and the slide types committed in the notebooks."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from helpers import course_script

from wslab.core.slides import SlideCell, slide_type, slide_types

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def md(source: str, *tags: str) -> SlideCell:
    return SlideCell("markdown", source, tags)


def code(source: str) -> SlideCell:
    return SlideCell("code", source)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("# Lesson 1 — WebSocket basics\n\nA web page ...", "slide"),
        ("## The four lifecycle events\n\nEvery WebSocket ...", "slide"),
        ("### Text and bytes", "subslide"),
        ("\n## After a blank line", "slide"),
        ("#### A small heading", None),
        ("#hashtag is no heading", None),
        ("Some prose that mentions ## in the middle", None),
        ("```js\n// # not a heading\nws.send('hi');\n```", None),
        ("", None),
    ],
)
def test_markdown_headings_decide_slides(source: str, expected: str | None) -> None:
    assert slide_type(md(source)) == expected


def test_code_continues_the_slide_even_if_it_starts_with_a_comment() -> None:
    assert slide_type(code("# Step 1: const ws = new WebSocket(url)")) is None
    assert slide_type(code("## not markdown")) is None


def test_navigation_cells_are_skipped() -> None:
    assert slide_type(md("[Contents](00-index.ipynb)", "nav-top")) == "skip"
    assert slide_type(md("**Next:** ...", "nav-bottom")) == "skip"
    assert slide_type(md("# A title", "other-tag")) == "slide"


def test_course_checks_are_skipped_note_and_code() -> None:
    cells = [
        md("### Exercise 4.2"),
        code('ex = exercise("4.2")\nprint(ex)'),
        code("answer = ...\n\nex.check(answer)"),
        md("*Course check* (you can skip this cell): the checker accepts ..."),
        code("assert ex.check(ex.reference, quiet=True)"),
        code("print('the cell after the check is shown again')"),
        code("# Course check (you can skip this cell).\nassert ex.check(ex.reference)"),
        md("*Course check* note followed by prose"),
        md("## Tidy up"),
    ]
    assert slide_types(cells) == [
        "subslide",
        None,
        None,
        "skip",
        "skip",
        None,
        "skip",
        "skip",
        "slide",
    ]


def test_a_whole_lesson_shape() -> None:
    cells = [
        md("[◀ Lesson 3](03.ipynb) | [Contents](00-index.ipynb)", "nav-top"),
        md("# Lesson 4 — Mini project: live chat\n\nTime to build ..."),
        code("from wslab import serve"),
        md("## Join the room"),
        code("box = ChatBox(session)\ndisplay(box)"),
        md("### What the server sees"),
        code("display(server_log)"),
        md("**Next:** ...", "nav-bottom"),
    ]
    assert slide_types(cells) == ["skip", "slide", None, "slide", None, "subslide", None, "skip"]


def _committed_types(nb: nbformat.NotebookNode) -> list[str | None]:
    return [c.metadata.get("slideshow", {}).get("slide_type") for c in nb.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebooks_carry_the_rule(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    cells = [SlideCell(c.cell_type, c.source, tuple(c.metadata.get("tags", []))) for c in nb.cells]
    assert _committed_types(nb) == slide_types(cells)
    shown = [t for t in _committed_types(nb) if t != "skip"]
    assert shown[0] == "slide", "the first cell the audience sees opens a slide"
    if path.name != "00-index.ipynb":
        assert shown.count("slide") >= 4, "a lesson has a title and sections"
        assert "skip" in _committed_types(nb), "navigation is not shown"


def test_course_script_rewrites_stale_slide_metadata() -> None:
    course = course_script()
    lesson = ROOT / "notebooks" / "01-websocket-basics.ipynb"
    nb = nbformat.read(lesson, as_version=4)
    expected = _committed_types(nb)
    title = next(i for i, t in enumerate(expected) if t == "slide")
    plain = expected.index(None)
    nb.cells[title].metadata["slideshow"] = {"slide_type": "fragment"}
    nb.cells[plain].metadata["slideshow"] = {"slide_type": "-"}
    assert _committed_types(nb) != expected  # what --check reports as stale
    course._with_slides(nb)
    assert _committed_types(nb) == expected
    assert "slideshow" not in nb.cells[plain].metadata
