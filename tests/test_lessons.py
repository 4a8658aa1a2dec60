"""wslab.lessons: the course catalogue."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from wslab.lessons import LESSONS, Lesson, lesson

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def test_twelve_lessons_and_the_closing_demo_numbered_in_order() -> None:
    assert len(LESSONS) == 13
    assert [item.number for item in LESSONS] == list(range(1, 14))
    assert LESSONS[-1].slug == "all-four-patterns"


def test_slugs_are_unique_and_url_safe() -> None:
    slugs = [item.slug for item in LESSONS]
    assert len(set(slugs)) == len(LESSONS)
    for slug in slugs:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug), slug


def test_titles_and_blurbs_are_filled_in() -> None:
    for item in LESSONS:
        assert item.title.strip() == item.title and item.title
        assert item.blurb.strip()
        assert item.server.strip()


def test_notebook_and_heading() -> None:
    first = lesson(1)
    assert first.notebook == "01-websocket-basics.ipynb"
    assert first.heading == "Lesson 1 — WebSocket basics"
    assert lesson(12).notebook == "12-ws-vs-sse-vs-polling.ipynb"
    assert lesson(10).heading == "Lesson 10 — Binary data"


def test_lesson_servers_for_the_first_four() -> None:
    assert [lesson(n).server for n in (1, 2, 3, 4)] == ["echo", "echo", "slow", "chat"]


def test_lesson_lookup() -> None:
    for item in LESSONS:
        assert lesson(item.number) is item


@pytest.mark.parametrize("number", [0, 14, -1])
def test_unknown_lesson_is_a_key_error(number: int) -> None:
    with pytest.raises(KeyError, match=f"there is no lesson {number}; the course has lessons 1-13"):
        lesson(number)


def test_lesson_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        LESSONS[0].ready = False  # type: ignore[misc]
    assert Lesson(99, "x", "X", "echo", "b").ready is False


def test_ready_lessons_have_a_server() -> None:
    from wslab.servers import SERVERS

    for item in LESSONS:
        if item.ready:
            assert item.server in SERVERS, item


@pytest.mark.parametrize(
    "item", [item for item in LESSONS if item.ready], ids=lambda item: item.notebook
)
def test_ready_lessons_have_their_notebook(item: Lesson) -> None:
    assert (NOTEBOOKS / item.notebook).is_file(), f"missing notebooks/{item.notebook}"


def test_every_numbered_notebook_is_a_lesson() -> None:
    names = {item.notebook for item in LESSONS}
    for path in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"):
        if path.name != "00-index.ipynb":
            assert path.name in names, f"{path.name} is not in wslab.lessons.LESSONS"
