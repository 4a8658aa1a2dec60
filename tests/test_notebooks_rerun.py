"""Run All twice in one kernel: nothing fails, nothing is left behind, nothing leaks.

nbval runs each notebook once in a fresh kernel. Students re-run cells and
whole notebooks; this runs every notebook twice in the same kernel and counts
what is alive after each pass. After the second pass the lesson servers, bot
crews, wslab threads and open clients must be back to none, and nothing may
have grown since the first pass (the warm-up, which imports and caches what a
lesson needs): listening ports, threads, ``threading.Timer`` objects, asyncio tasks
and timers on the kernel's loop, open file descriptors, child processes.
The counts are printed in the run's summary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from counting import recorder
from nbclient import NotebookClient

# The lessons, the hub, and the instructors' notebook (classroom.ipynb).
NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))

#: Counted in the kernel. ``gc.collect()`` first, so that what is only waiting
#: for the collector is not counted; the loop is ipykernel's, where cells run.
COUNT_LEFTOVERS = """
import asyncio as _asyncio, gc as _gc, json as _json, threading as _threading
import psutil as _psutil, wslab as _wslab, wslab.clients.bots as _bots
_gc.collect()
_me, _loop = _psutil.Process(), _asyncio.get_event_loop()
print(_json.dumps({
    "servers": sorted(_wslab.running_servers()),
    "bots": sorted(_bots.running_crews()),
    "wslab_threads": sorted(t.name for t in _threading.enumerate() if t.name.startswith("wslab-")),
    "clients": len(_wslab.live_clients()),
    "listening": sorted(
        c.laddr.port for c in _me.net_connections("inet") if c.status == _psutil.CONN_LISTEN
    ),
    "threads": _threading.active_count(),
    "timer_threads": sum(isinstance(t, _threading.Timer) for t in _threading.enumerate()),
    "tasks": sum(not t.done() for t in _asyncio.all_tasks(_loop)),
    "loop_timers": sum(not h.cancelled() for h in _loop._scheduled),
    "fds": _me.num_fds(),
    "children": len(_me.children(recursive=True)),
}))
"""

#: What must be back to none after a pass.
NONE_LEFT = {"servers": [], "bots": [], "wslab_threads": [], "clients": 0}
#: What may not grow from the first pass to the second.
COUNTED = ("threads", "timer_threads", "tasks", "loop_timers", "fds", "children")


def counted(cell: Any) -> dict[str, Any]:
    """The JSON a COUNT_LEFTOVERS cell printed."""
    # Join the stream: under load one print can arrive as several outputs.
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")
    result: dict[str, Any] = json.loads(text.strip().splitlines()[-1])
    return result


def leaked(first: dict[str, Any], second: dict[str, Any]) -> dict[str, int]:
    """How much each count grew from ``first`` to ``second`` (new listening ports counted)."""
    growth = {key: second[key] - first[key] for key in COUNTED}
    growth["listening"] = len(set(second["listening"]) - set(first["listening"]))
    return growth


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_run_all_twice_in_one_kernel(path: Path, request: pytest.FixtureRequest) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    twice = nbformat.v4.new_notebook(metadata=nb.metadata)
    first_count = nbformat.v4.new_code_cell(COUNT_LEFTOVERS)
    second_count = nbformat.v4.new_code_cell(COUNT_LEFTOVERS)
    twice.cells = [*code, first_count, *code, second_count]
    client = NotebookClient(
        twice, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    first, second = counted(twice.cells[len(code)]), counted(twice.cells[-1])
    for after in (first, second):
        assert {key: after[key] for key in NONE_LEFT} == NONE_LEFT, after
    growth = leaked(first, second)
    recorder(request)(
        "Run All twice: leaked "
        + ", ".join(f"{key} {growth[key]}" for key in ("listening", *COUNTED))
        + f" (after pass 2: {second['threads']} threads, {second['tasks']} tasks, "
        f"{second['loop_timers']} loop timers, {second['fds']} fds, "
        f"{len(second['listening'])} listening ports: the kernel's own)"
    )
    assert all(n <= 0 for n in growth.values()), (growth, first, second)
