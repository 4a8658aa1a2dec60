"""Run All twice in one kernel: nothing fails, nothing is left behind.

nbval runs each notebook once in a fresh kernel. Students re-run cells and
whole notebooks; this runs every notebook twice in the same kernel, then
counts what is still alive: lesson servers, bot crews, wslab threads and
open clients must be back to none.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

# The lessons, the hub, and the instructors' notebook (classroom.ipynb).
NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))

COUNT_LEFTOVERS = """
import json, threading, wslab, wslab.bots
print(json.dumps({
    "servers": sorted(wslab.running_servers()),
    "bots": sorted(wslab.bots.running_crews()),
    "threads": sorted(t.name for t in threading.enumerate() if t.name.startswith("wslab-")),
    "clients": len(wslab.live_clients()),
}))
"""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_run_all_twice_in_one_kernel(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    twice = nbformat.v4.new_notebook(metadata=nb.metadata)
    twice.cells = [*code, *code, nbformat.v4.new_code_cell(COUNT_LEFTOVERS)]
    client = NotebookClient(
        twice, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    # Join the stream: under load one print can arrive as several outputs.
    text = "".join(o.get("text", "") for o in twice.cells[-1].outputs if o.get("name") == "stdout")
    leftovers = json.loads(text.strip().splitlines()[-1])
    assert leftovers == {"servers": [], "bots": [], "threads": [], "clients": 0}, leftovers
