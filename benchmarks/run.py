"""Measure wslab's bars on this machine, as ratios to a reference run alongside.

    uv run python benchmarks/run.py            # full run
    uv run python benchmarks/run.py --quick    # a few seconds: proves it still runs

1. Server start-up: how long ``serve("echo")`` takes until a client can connect,
   against the floor: a bare websockets server started on a fresh thread and loop
   the same way, in the same process. Bar: ready within 50 ms.
2. Notebooks: each notebook executed headless at the CI time scale, against an
   empty notebook in the same run (the kernel's own start and stop). Bar: each
   notebook within 5 s.

Timings are noisy on a shared machine, so the ratios matter more than the
absolute figures. Results go to ``benchmarks/results/latest.json``.
Not part of the test suite; ``tests/test_benchmarks.py`` runs ``--quick``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def _connect_once(url: str) -> None:
    from websockets.sync.client import connect

    with connect(url, open_timeout=5, proxy=None) as ws:
        ws.send("x")
        ws.recv(timeout=5)


def bench_startup(rounds: int) -> dict[str, float]:
    from websockets.asyncio.server import serve as ws_serve

    from wslab import serve, stop_all
    from wslab.loopthread import LoopThread

    async def echo(ws):  # type: ignore[no-untyped-def]
        async for message in ws:
            await ws.send(message)

    def reference() -> float:
        started = time.perf_counter()
        thread = LoopThread("bench-reference").start()

        async def listen():  # type: ignore[no-untyped-def]
            return await ws_serve(echo, "127.0.0.1", 0, compression=None)

        server = thread.run(listen())
        ready = time.perf_counter() - started
        _connect_once(f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/")

        async def close() -> None:
            server.close()
            await server.wait_closed()

        thread.run(close())
        thread.stop()
        return ready

    def wslab_ready() -> float:
        started = time.perf_counter()
        running = serve("echo", name="bench-echo")
        ready = time.perf_counter() - started
        _connect_once(running.url)
        return ready

    ref, ours = [], []
    for _ in range(rounds):  # interleaved, so drift hits both alike
        ref.append(reference())
        ours.append(wslab_ready())
    stop_all()
    ref_ms, ours_ms = statistics.median(ref) * 1000, statistics.median(ours) * 1000
    return {
        "rounds": rounds,
        "reference_ms": round(ref_ms, 2),
        "wslab_ms": round(ours_ms, 2),
        "wslab_p90_ms": round(sorted(ours)[int(0.9 * (len(ours) - 1))] * 1000, 2),
        "ratio": round(ours_ms / ref_ms, 2),
    }


def bench_notebooks(paths: list[Path]) -> dict[str, object]:
    import nbformat
    from nbclient import NotebookClient

    os.environ.setdefault("WSLAB_TIME_SCALE", "0.05")

    def run(nb: nbformat.NotebookNode, cwd: Path) -> float:
        started = time.perf_counter()
        NotebookClient(
            nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
        ).execute()
        return time.perf_counter() - started

    empty = nbformat.v4.new_notebook()
    empty.cells = [nbformat.v4.new_code_cell("pass")]
    reference = run(empty, ROOT)
    rows = {}
    for path in paths:
        seconds = run(nbformat.read(path, as_version=4), path.parent)
        rows[path.name] = {
            "seconds": round(seconds, 2),
            "net_seconds": round(seconds - reference, 2),
            "ratio_to_empty": round(seconds / reference, 2),
        }
    total = sum(float(r["seconds"]) for r in rows.values())  # type: ignore[arg-type]
    return {
        "time_scale": os.environ["WSLAB_TIME_SCALE"],
        "empty_notebook_seconds": round(reference, 2),
        "notebooks": rows,
        "total_seconds": round(total, 2),
        "slowest": max(rows, key=lambda k: rows[k]["seconds"]) if rows else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))

    startup = bench_startup(rounds=5 if args.quick else 50)
    print(
        f"server start-up: wslab {startup['wslab_ms']} ms (p90 {startup['wslab_p90_ms']} ms), "
        f"bare websockets {startup['reference_ms']} ms, ratio {startup['ratio']}x  [bar: 50 ms]"
    )
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    if args.quick:
        notebooks = notebooks[:1]
    nbs = bench_notebooks(notebooks)
    print(
        f"notebooks at WSLAB_TIME_SCALE={nbs['time_scale']} "
        f"(empty notebook: {nbs['empty_notebook_seconds']} s)  [bar: 5 s each]"
    )
    for name, row in nbs["notebooks"].items():  # type: ignore[attr-defined]
        print(
            f"  {name:<40} {row['seconds']:>6} s  net {row['net_seconds']:>6} s  "
            f"{row['ratio_to_empty']}x empty"
        )
    print(f"  total {nbs['total_seconds']} s")

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("quick.json" if args.quick else "latest.json")
    out.write_text(json.dumps({"startup": startup, "notebooks": nbs}, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
