"""Keep the notebooks tidy: navigation cells, the hub, and no committed outputs.

    python scripts/course.py          # rewrite nav cells and 00-index, strip outputs
    python scripts/course.py --check  # exit 1 and say what is stale (the tests run this)

Safe to re-run: it writes a notebook only when its content changes. Lessons
come from ``wslab.lessons.LESSONS``, so the hub and the navigation cannot
drift from the catalogue.

Notebooks are committed without outputs, execution counts or widget state:
those are noise in a diff and stale the moment a student runs a cell. CI
runs every notebook, so nothing is lost by not storing results.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from wslab.core.slides import SlideCell, slide_types
from wslab.lessons import LESSONS, Lesson

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
INDEX = "00-index.ipynb"
#: Notebooks that are not lessons (for instructors): kept clean, with a link to the hub.
EXTRAS = ("classroom.ipynb",)
NAV_TOP, NAV_BOTTOM = "nav-top", "nav-bottom"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


# --- what the generated cells say ----------------------------------------------


def _link(lesson: Lesson | None, arrow: str) -> str:
    if lesson is None or not lesson.ready:
        return ""
    text = f"Lesson {lesson.number}: {lesson.title}"
    return (
        f"[{arrow} {text}]({lesson.notebook})"
        if arrow == "◀"
        else f"[{text} {arrow}]({lesson.notebook})"
    )


def _neighbours(lesson: Lesson) -> tuple[Lesson | None, Lesson | None]:
    i = LESSONS.index(lesson)
    prev = LESSONS[i - 1] if i > 0 else None
    nxt = LESSONS[i + 1] if i + 1 < len(LESSONS) else None
    return prev, nxt


def nav_top(lesson: Lesson) -> str:
    prev, nxt = _neighbours(lesson)
    parts = [_link(prev, "◀"), f"[Contents]({INDEX})", _link(nxt, "▶")]
    return " | ".join(part for part in parts if part)


def nav_bottom(lesson: Lesson) -> str:
    _, nxt = _neighbours(lesson)
    if nxt is not None and nxt.ready:
        return f"**Next:** {_link(nxt, '▶')} · back to the [contents]({INDEX})"
    if nxt is not None:
        return (
            f"**Next:** Lesson {nxt.number}, *{nxt.title}*, is coming soon. "
            f"Back to the [contents]({INDEX})."
        )
    return f"That was the last lesson. Back to the [contents]({INDEX})."


def index_cells() -> list[NotebookNode]:
    rows = []
    for item in LESSONS:
        title = (
            f"[{item.title}]({item.notebook})" if item.ready else f"{item.title} *(coming soon)*"
        )
        rows.append(f"| {item.number} | {title} | `{item.server}` | {item.blurb} |")
    table = "\n".join(["| # | Lesson | Server | What you will do |", "|---|---|---|---|", *rows])
    return [
        nbformat.v4.new_markdown_cell(
            "# WebSockets in Jupyter: the course hub\n\n"
            "Twelve short lessons, and a closing demo, that teach WebSockets with "
            "**real servers running inside this notebook's kernel**. Every lesson starts "
            "its server in the background, talks to it from Python with a client shaped "
            "like the browser's `WebSocket`, and shows what happens live in widgets.\n\n"
            "Run the cell below first: it checks that everything works on your machine."
        ),
        nbformat.v4.new_code_cell(
            "from wslab import serve, WebSocket\n"
            "from wslab.widgets import ReadyStateBadge\n\n"
            'server = serve("echo")            # an echo server, in the background\n'
            "ws = WebSocket(server.url)         # like `new WebSocket(url)` in a browser\n"
            'badge = ReadyStateBadge(ws, label="setup check")\n'
            "display(badge)\n\n"
            'await ws.wait_for("open")\n'
            'ws.send("ping from the hub")\n'
            'reply = await ws.wait_for("message")\n'
            'ws.close(1000, "setup check done")\n'
            "await ws.closed()\n\n"
            'assert reply.data == "ping from the hub", reply\n'
            'print(f"✅ Your setup works: the echo server at {server.url} "\n'
            '      f"answered {reply.data!r} (ready in {server.ready_seconds * 1000:.0f} ms).")'
        ),
        nbformat.v4.new_markdown_cell(
            "## Lessons\n\n" + table + "\n\n"
            "Each lesson follows the same path: *In this lesson* → the idea, with the study "
            "notes' JavaScript beside the Python that really runs → a live server and widgets → "
            "checks → *Summary* → exercises with `hint()` and `check()`.\n\n"
            "## Good to know\n\n"
            "- **Run cells from the top.** Re-running a cell, or the whole notebook, is always "
            "safe: a server started again replaces the earlier one.\n"
            "- **Time scale.** Durations (a 600 ms delay, a 30 s heartbeat) are real at "
            "`WSLAB_TIME_SCALE=1`, the default. The tests run them faster; text and widgets "
            "still show the nominal seconds.\n"
            "- **Outside the notebook.** `python -m wslab serve echo --port 8082` runs the same "
            "server for a browser page, `wscat`, or the study notes' JavaScript.\n"
            "- **For instructors.** [Classroom mode](classroom.ipynb): one server for the whole "
            "class, which students join from their own notebooks, with a live dashboard."
        ),
        nbformat.v4.new_code_cell("server.stop()  # tidy up: the lessons start their own servers"),
    ]


# --- reading and writing -------------------------------------------------------


def _tagged(cell: NotebookNode, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", [])


def _nav_cell(source: str, tag: str) -> NotebookNode:
    cell = nbformat.v4.new_markdown_cell(source)
    cell.metadata["tags"] = [tag]
    return cell


def _strip(nb: NotebookNode) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}


def _with_nav(nb: NotebookNode, lesson: Lesson) -> None:
    cells = [c for c in nb.cells if not (_tagged(c, NAV_TOP) or _tagged(c, NAV_BOTTOM))]
    old = {
        c.metadata["tags"][0]: c for c in nb.cells if _tagged(c, NAV_TOP) or _tagged(c, NAV_BOTTOM)
    }
    top, bottom = _nav_cell(nav_top(lesson), NAV_TOP), _nav_cell(nav_bottom(lesson), NAV_BOTTOM)
    # Keep cell ids stable across runs so re-running changes nothing.
    for cell, tag in ((top, NAV_TOP), (bottom, NAV_BOTTOM)):
        if tag in old:
            cell.id = old[tag].id
    nb.cells = [top, *cells, bottom]


def _with_hub_nav(nb: NotebookNode) -> None:
    """A notebook that is not a lesson: a link back to the hub, top and bottom."""
    link = "[◀ Contents](00-index.ipynb) | *For instructors*"
    cells = [c for c in nb.cells if not (_tagged(c, NAV_TOP) or _tagged(c, NAV_BOTTOM))]
    old = {c.metadata["tags"][0]: c.id for c in nb.cells if c not in cells}
    top, bottom = _nav_cell(link, NAV_TOP), _nav_cell(link, NAV_BOTTOM)
    for cell, tag in ((top, NAV_TOP), (bottom, NAV_BOTTOM)):
        cell.id = old.get(tag, cell.id)  # stable ids: re-running changes nothing
    nb.cells = [top, *cells, bottom]


def _with_slides(nb: NotebookNode) -> None:
    """Set every cell's slide type (wslab.core.slides), so a lesson can be presented as slides."""
    kinds = slide_types(
        SlideCell(c.cell_type, c.source, tuple(c.get("metadata", {}).get("tags", [])))
        for c in nb.cells
    )
    for cell, kind in zip(nb.cells, kinds, strict=True):
        if kind is None:
            cell.metadata.pop("slideshow", None)
        else:
            cell.metadata["slideshow"] = {"slide_type": kind}


def _render(nb: NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def expected() -> dict[Path, str]:
    """Every notebook file as it should be."""
    result: dict[Path, str] = {}
    index_path = NOTEBOOKS / INDEX
    index = nbformat.v4.new_notebook()
    if index_path.exists():
        old = nbformat.read(index_path, as_version=4)
        index.cells = index_cells()
        for new, prev in zip(index.cells, old.cells, strict=False):
            new.id = prev.id  # stable ids: no churn when nothing changed
    else:
        index.cells = index_cells()
    _strip(index)
    _with_slides(index)
    result[index_path] = _render(index)
    for lesson in LESSONS:
        path = NOTEBOOKS / lesson.notebook
        if not path.exists():
            continue
        nb = nbformat.read(path, as_version=4)
        _with_nav(nb, lesson)
        _strip(nb)
        _with_slides(nb)
        result[path] = _render(nb)
    for name in EXTRAS:
        path = NOTEBOOKS / name
        if path.exists():
            nb = nbformat.read(path, as_version=4)
            _with_hub_nav(nb)
            _strip(nb)
            _with_slides(nb)
            result[path] = _render(nb)
    return result


README = ROOT / "README.md"
README_START, README_END = "<!-- lessons:start -->", "<!-- lessons:end -->"


def readme_table() -> str:
    rows = ["| # | Lesson | Server | Status |", "|---|---|---|---|"]
    for item in LESSONS:
        title = f"[{item.title}](notebooks/{item.notebook})" if item.ready else item.title
        rows.append(
            f"| {item.number} | {title} | `{item.server}` | "
            f"{'ready' if item.ready else 'coming soon'} |"
        )
    return "\n".join(rows)


def expected_readme() -> str | None:
    """README.md with its generated lesson table, or None if it has no markers."""
    if not README.exists():
        return None
    return _with_generated(README, README_START, README_END, readme_table())


CONTRIBUTING = ROOT / "CONTRIBUTING.md"
LAYOUT_START, LAYOUT_END = "<!-- layout:start -->", "<!-- layout:end -->"
#: The package's layers, bottom first: the order a lesson's files are listed in.
LAYERS = ("core", "state", "runtime", "clients", "servers", "network", "widgets")
#: Not a lesson, but a concept with modules in several layers.
CLASSROOM_STEMS = ("classroom",)


def stem_modules(stem: str) -> list[str]:
    """``wslab/<layer>/<stem>.py`` for each layer that has one, bottom layer first."""
    package = ROOT / "wslab"
    return [f"{layer}/{stem}.py" for layer in LAYERS if (package / layer / f"{stem}.py").exists()]


def layout_table() -> str:
    """CONTRIBUTING.md's "where lesson N lives": each lesson's stems and their modules."""
    rows = ["| # | Lesson | Stems | Modules (in `wslab/`) |", "|---|---|---|---|"]
    for item in LESSONS:
        stems = ", ".join(f"`{stem}`" for stem in item.stems)
        modules = [m for stem in item.stems for m in stem_modules(stem)]
        modules.append(f"exercises/lesson{item.number:02d}.py")
        rows.append(
            f"| {item.number} | [{item.title}](notebooks/{item.notebook}) | {stems} | "
            + ", ".join(f"`{m}`" for m in modules)
            + " |"
        )
    modules = [m for stem in CLASSROOM_STEMS for m in stem_modules(stem)]
    rows.append(
        "| — | [Classroom mode](notebooks/classroom.ipynb) | "
        + ", ".join(f"`{stem}`" for stem in CLASSROOM_STEMS)
        + " | "
        + ", ".join(f"`{m}`" for m in modules)
        + " |"
    )
    return "\n".join(rows)


def _with_generated(path: Path, start: str, end: str, body: str) -> str | None:
    """``path``'s text with ``body`` between the markers, or None if it has none."""
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    if start not in text or end not in text:
        return None
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def expected_contributing() -> str | None:
    """CONTRIBUTING.md with its generated layout table, or None if it has no markers."""
    return _with_generated(CONTRIBUTING, LAYOUT_START, LAYOUT_END, layout_table())


def problems() -> list[str]:
    """What is stale or missing, in words; empty when all is in order."""
    found = []
    for path, text in expected().items():
        if not path.exists():
            found.append(f"{path.name}: missing")
        elif path.read_text(encoding="utf-8") != text:
            found.append(f"{path.name}: outputs, metadata or navigation are stale")
    readme = expected_readme()
    if readme is not None and README.read_text(encoding="utf-8") != readme:
        found.append("README.md: the lesson table is stale")
    contributing = expected_contributing()
    if contributing is None:
        found.append("CONTRIBUTING.md: the layout table's markers are missing")
    elif CONTRIBUTING.read_text(encoding="utf-8") != contributing:
        found.append("CONTRIBUTING.md: the 'where lesson N lives' table is stale")
    for lesson in LESSONS:
        for stem in lesson.stems:
            if not stem_modules(stem):
                found.append(f"lesson {lesson.number}: no module wslab/*/{stem}.py for its stem")
    for lesson in LESSONS:
        if lesson.ready and not (NOTEBOOKS / lesson.notebook).exists():
            found.append(f"{lesson.notebook}: lesson {lesson.number} is marked ready but missing")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if stale")
    args = parser.parse_args(argv)
    if args.check:
        found = problems()
        for line in found:
            print(line)
        if found:
            print("run: uv run python scripts/course.py")
        return 1 if found else 0
    for path, text in expected().items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    readme = expected_readme()
    if readme is not None and README.read_text(encoding="utf-8") != readme:
        README.write_text(readme, encoding="utf-8")
        print("wrote README.md")
    contributing = expected_contributing()
    if contributing is not None and CONTRIBUTING.read_text(encoding="utf-8") != contributing:
        CONTRIBUTING.write_text(contributing, encoding="utf-8")
        print("wrote CONTRIBUTING.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
