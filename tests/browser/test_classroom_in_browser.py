"""The instructors' notebook, run in JupyterLab in a real Chromium: what they see.

notebooks/classroom.ipynb rehearses a class: a rooms server, about 30
simulated students, and the live ``ClassroomDashboard``. nbval proves its
cells run and that the widget's HTML names every student; here the page
itself must show it: the URL line, as many students connected as the kernel
counts, every one of them in the students table with their rooms, the rooms
with their members, and a message rate above zero. The ``page`` fixture fails
the test on any JavaScript error, ``run_all``/``run_rest`` on any cell error.
"""

from __future__ import annotations

import re
from typing import Any

from browserkit import (
    TIDY_UP,
    Lab,
    kernel_value,
    open_notebook,
    run_all,
    run_rest,
    screenshot,
    widget_output,
)

__all__: list[str] = []

NOTEBOOK = "notebooks/classroom.ipynb"
DASHBOARD_CELL = "dash = ClassroomDashboard(server)"

# The dashboard as the page draws it, in one evaluate call: it redraws up to
# four times a second while the students chat, so piecemeal reads could mix
# two redraws.
DRAWN = """(output) => {
    const root = output.querySelector('.wslab-classroom');
    if (!root) return null;
    const rows = (selector, cells) => {
        const table = root.querySelector(selector);
        return table ? [...table.querySelectorAll('tr')].filter(r => r.cells.length === cells
                                                          && r.cells[0].tagName === 'TD') : [];
    };
    return {
        text: root.innerText,
        urls: [...root.querySelectorAll('code.wslab-classroom-url')].map(c => c.innerText.trim()),
        counts: (root.querySelector('.wslab-classroom-counts') || {innerText: ''}).innerText,
        students: rows('.wslab-classroom-students', 4).map(r => ({
            name: r.cells[0].innerText.trim(), address: r.cells[1].innerText.trim(),
            rooms: r.cells[2].innerText.trim(), sent: Number(r.cells[3].innerText.trim())})),
        rooms: rows('.wslab-classroom-rooms', 2).map(r => [
            r.cells[0].innerText.trim(),
            [...r.cells[1].querySelectorAll('span')].map(s => s.innerText.trim())]),
    };
}"""

# What the kernel's dashboard drew last (one snapshot, read in one round trip),
# and the rehearsal's own plan: who stayed, and in which rooms.
KERNEL_SIDE = (
    "{'urls': dash.urls, 'names': dash.shown.names, 'rooms': dash.shown.room_members,"
    " 'student_rooms': {s.name: list(s.rooms) for s in dash.shown.students},"
    " 'rate': dash.shown.rate, 'peers': len(server.app.peers),"
    " 'stayers': {p.name: list(p.rooms) for p in stayers}}"
)

COUNTS = re.compile(r"(\d+)\s+connected · (\d+)\s+rooms · ([\d.]+)\s+messages/s")


def drawn_vs_kernel(dashboard: Any, page: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read the page and the kernel until they agree on who is where (bounded wait)."""
    for _ in range(40):
        drawn = dashboard.evaluate(DRAWN)
        kernel = kernel_value(page, KERNEL_SIDE)
        if drawn is not None and (
            sorted(s["name"] for s in drawn["students"]) == sorted(kernel["names"])
            and rooms_by_name(drawn) == kernel["rooms"]
        ):
            break
        page.wait_for_timeout(250)
    assert drawn is not None, "no .wslab-classroom element in the dashboard's output"
    return drawn, kernel


def rooms_by_name(drawn: dict[str, Any]) -> dict[str, list[str]]:
    """The rooms table as ``{room: [members]}`` ("general (10)" → "general")."""
    return {re.sub(r" \(\d+\)$", "", room): members for room, members in drawn["rooms"]}


def test_classroom_dashboard(page: Any, lab: Lab) -> None:
    open_notebook(page, lab, NOTEBOOK)
    run_all(page, until=TIDY_UP)
    dashboard = widget_output(page, DASHBOARD_CELL)
    drawn, kernel = drawn_vs_kernel(dashboard, page)

    # The URL line: the server's loopback URL, and what it means for a class.
    assert drawn["urls"] == kernel["urls"] and drawn["urls"], (drawn["urls"], kernel["urls"])
    assert all(re.fullmatch(r"ws://127\.0\.0\.1:\d+/", url) for url in drawn["urls"])
    assert "Listening on this machine only:" in drawn["text"], drawn["text"]

    # Students connected: the count line, the table and the kernel agree, and
    # they are exactly the rehearsal's stayers (the leavers have gone).
    counts = COUNTS.search(drawn["counts"])
    assert counts, drawn["counts"]
    connected, room_count, rate = int(counts[1]), int(counts[2]), float(counts[3])
    stayers = kernel["stayers"]
    assert connected == len(kernel["names"]) == kernel["peers"] == len(stayers), (
        connected,
        kernel["names"],
        kernel["peers"],
        sorted(stayers),
    )
    table = {row["name"]: row for row in drawn["students"]}
    assert len(table) == len(drawn["students"]) == connected, drawn["students"]
    assert sorted(table) == sorted(kernel["names"]) == sorted(stayers), (
        sorted(table),
        sorted(kernel["names"]),
    )
    for name, rooms in stayers.items():
        row = table[name]
        assert row["rooms"] == ", ".join(rooms), (name, row, rooms)
        assert re.fullmatch(r"127\.0\.0\.1:\d+", row["address"]), row
        assert row["sent"] >= 2, row  # a hello and a join at least

    # Rooms and their members: as the kernel has them, and each stayer in
    # every room they joined.
    page_rooms = rooms_by_name(drawn)
    assert page_rooms == kernel["rooms"], (page_rooms, kernel["rooms"])
    assert sorted(page_rooms) == ["general", "help", "random"] and room_count == 3
    for room, members in drawn["rooms"]:
        assert room.endswith(f" ({len(members)})"), (room, members)
    for name, rooms in stayers.items():
        assert all(name in page_rooms[room] for room in rooms), (name, rooms, page_rooms)

    # Busy: messages per second shown above zero.
    assert rate > 0, drawn["counts"]
    assert kernel["rate"] > 0, kernel["rate"]

    screenshot(dashboard, "classroom-dashboard")
    run_rest(page)
    # The tidy-up stopped the server and closed the dashboard.
    assert kernel_value(page, "[server.running, dash.monitor is None]") == [False, True]
