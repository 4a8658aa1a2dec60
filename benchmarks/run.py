"""wslab's benchmarks: one command, one run, ratios to reference servers alongside.

    uv run python benchmarks/run.py            # the full run (~5 minutes)
    uv run python benchmarks/run.py --quick    # tiny sizes, seconds: proves it still runs

Against three servers in the same run: wslab's lesson server, a minimal raw
websockets server (the library's own floor) and Node's ``ws`` server
(installed from npm at run time into ``benchmarks/node/node_modules``, never
committed):

1. Echo: concurrent clients in a closed loop for a fixed time: messages/s,
   p50/p99 round trip.
2. Broadcast: 1,000 clients and one sender: deliveries/s as fast as the server
   keeps up, and p50/p99 delivery latency at a paced rate.
3. Idle capacity: 10,000 then 50,000 idle connections to one server process:
   time to open, server RSS, memory per connection.
4. Server start-up, and every notebook executed headless at the CI time scale.

The load comes from ``benchmarks/loadgen.py``: raw sockets, frames built once
with a fixed mask, several processes; its CPU use is reported beside every
figure (a generator using its cores in full would be measuring itself).
Compression is off on both sides except in the rows marked ``deflate``.
The machine may be shared and noisy: reference and subject are interleaved,
repeated, and the medians compared; read the ratios more than the figures.
Results: ``benchmarks/results/`` (``latest.json``, ``benchmarks.md``, PNG plots).
Not part of the test suite; ``tests/test_benchmarks.py`` runs ``--quick``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
NODE_DIR = HERE / "node"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from loadgen import (  # noqa: E402
    Workers,
    client_frame,
    cpu_seconds,
    deflate_payload,
    raise_fd_limit,
    source_addresses,
)

__all__ = ["main"]


# --- the servers, each in its own process ---------------------------------------------


@dataclass(frozen=True)
class Subject:
    """One server configuration under test."""

    label: str
    kind: str  # "raw", "wslab" or "node"
    deflate: bool = False
    uvloop: bool = False

    def command(self, role: str) -> list[str]:
        if self.kind == "node":
            cmd = [shutil.which("node") or "node", str(NODE_DIR / "server.js"), role]
        else:
            cmd = [sys.executable, str(HERE / "servers.py"), self.kind, role]
            cmd += ["--uvloop"] if self.uvloop else []
        return cmd + (["--deflate"] if self.deflate else [])


class ServerProcess:
    """A server under test, running until :meth:`stop`; its CPU and RSS via psutil."""

    def __init__(self, subject: Subject, role: str) -> None:
        import psutil

        self.subject = subject
        self.proc = subprocess.Popen(
            subject.command(role),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"{subject.label} did not start: {line!r}")
        self.port = int(line.split()[1])
        self.ps = psutil.Process(self.proc.pid)

    def cpu(self) -> float:
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    def stop(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def node_status() -> str | None:
    """None if Node's ws server can run; otherwise why not (its rows are skipped).

    Installs ``ws`` with npm into ``benchmarks/node/node_modules`` (ignored by
    git) the first time, without writing a lock file. Under CI (``CI`` set)
    Node must be there: a missing Node raises instead of skipping.
    """
    reason = None
    if shutil.which("node") is None or shutil.which("npm") is None:
        reason = "node or npm is not installed"
    elif not (NODE_DIR / "node_modules" / "ws").is_dir():
        done = subprocess.run(
            [
                shutil.which("npm") or "npm",
                "install",
                "--no-package-lock",
                "--no-audit",
                "--no-fund",
                "--silent",
            ],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            reason = f"npm install ws failed: {(done.stderr or done.stdout).strip()[-300:]}"
    if reason and os.environ.get("CI"):
        raise RuntimeError(f"CI needs Node's ws server for the benchmark: {reason}")
    return reason


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- 1. echo ---------------------------------------------------------------------------


def bench_echo(
    subjects: list[Subject], clients: int, seconds: float, rounds: int, processes: int
) -> list[dict[str, Any]]:
    """Closed-loop echo, each subject in turn, ``rounds`` times interleaved."""
    payload = b"x" * 32
    runs: dict[str, list[dict[str, float]]] = {s.label: [] for s in subjects}
    servers = {s.label: ServerProcess(s, "echo") for s in subjects}
    try:
        for _ in range(rounds):
            for subject in subjects:
                server = servers[subject.label]
                frame = (
                    client_frame(deflate_payload(payload), rsv1=True)
                    if subject.deflate
                    else client_frame(payload)
                )
                workers = Workers(processes, "127.0.0.1", server.port, deflate=subject.deflate)
                try:
                    opened = workers.open(clients, ["127.0.0.1"])
                    if opened["error"]:
                        raise RuntimeError(f"{subject.label}: {opened['error']}")
                    # A short warm-up, then the measured window.
                    workers.all("echo", frame=frame, start_at=time.time(), duration=seconds / 5)
                    cpu0 = server.cpu()
                    answers = workers.all(
                        "echo", frame=frame, start_at=time.time() + 0.1, duration=seconds
                    )
                    server_cpu = server.cpu() - cpu0
                finally:
                    workers.close()
                errors = [a["error"] for a in answers if "error" in a]
                if errors:
                    raise RuntimeError(f"{subject.label}: {errors[0]}")
                rtts = [x for a in answers for x in a["rtts"]]
                messages = sum(a["messages"] for a in answers)
                runs[subject.label].append(
                    {
                        "rate": messages / seconds,
                        "p50": _pct(rtts, 0.5) * 1000,
                        "p99": _pct(rtts, 0.99) * 1000,
                        "loadgen_cpu": sum(a["cpu"] for a in answers) / seconds,
                        "server_cpu": server_cpu / seconds,
                        # CPU per message: what contention on a shared machine
                        # moves least (throughput depends on who got the cores).
                        "server_us": server_cpu / max(1, messages) * 1e6,
                    }
                )
    finally:
        for server in servers.values():
            server.stop()
    return _rows("echo", "messages/s", subjects, runs, extra={"clients": clients})


def _rows(
    bench: str,
    unit: str,
    subjects: list[Subject],
    runs: dict[str, list[dict[str, float]]],
    extra: dict[str, Any],
) -> list[dict[str, Any]]:
    """Medians per subject; the ratio to the raw websockets server of the same loop."""
    medians = {
        label: {key: _median([r[key] for r in rs]) for key in rs[0]}
        for label, rs in runs.items()
        if rs
    }
    raw = medians.get("raw websockets", {}).get("rate")
    node = medians.get("node ws", {}).get("rate")
    raw_us = medians.get("raw websockets", {}).get("server_us")
    node_us = medians.get("node ws", {}).get("server_us")
    rows = []
    for subject in subjects:
        m = medians.get(subject.label)
        if m is None:
            continue
        rows.append(
            {
                "bench": bench,
                "server": subject.label,
                "unit": unit,
                **{k: round(v, 3) for k, v in m.items()},
                "vs_raw": round(m["rate"] / raw, 2) if raw else None,
                "vs_node": round(m["rate"] / node, 2) if node else None,
                # Server CPU per message (or delivery) over the raw server's: the cost.
                "cost_vs_raw": round(m["server_us"] / raw_us, 2) if raw_us else None,
                "cost_vs_node": round(m["server_us"] / node_us, 2) if node_us else None,
                "rounds": len(runs[subject.label]),
                **extra,
            }
        )
    return rows


# --- 2. broadcast ----------------------------------------------------------------------


def bench_broadcast(
    subjects: list[Subject],
    clients: int,
    burst: int,
    window: int,
    paced: int,
    rate: float,
    rounds: int,
    processes: int,
) -> list[dict[str, Any]]:
    """One sender, ``clients`` receivers: a windowed burst, then a paced stream."""
    frame = client_frame(b"x" * 32)
    runs: dict[str, list[dict[str, float]]] = {s.label: [] for s in subjects}
    for _ in range(rounds):
        for subject in subjects:
            server = ServerProcess(subject, "broadcast")
            receivers = Workers(processes, "127.0.0.1", server.port)
            sender = Workers(1, "127.0.0.1", server.port)
            try:
                opened = receivers.open(clients, ["127.0.0.1"])
                if opened["error"] or sender.open(1, ["127.0.0.1"])["error"]:
                    raise RuntimeError(f"{subject.label}: {opened['error']}")
                time.sleep(0.2)  # let the server register the last connections
                # Throughput: the sender stays `window` messages ahead of its own copies.
                cpu0 = server.cpu()
                receivers.start("recv", expected=burst, deadline=time.time() + 60)
                sent = sender.all(
                    "send",
                    frame=frame,
                    count=burst,
                    rate=0,
                    window=window,
                    start_at=time.time() + 0.1,
                )[0]
                got = receivers.collect()
                server_cpu = server.cpu() - cpu0
                _check(subject, [sent, *got])
                arrivals = [conn for a in got for conn in a["arrivals"]]
                last = max(conn[burst - 1] for conn in arrivals if len(conn) >= burst)
                elapsed = last - sent["sent"][0]
                delivered = sum(min(len(conn), burst) for conn in arrivals)
                loadgen_cpu = (sent["cpu"] + sum(a["cpu"] for a in got)) / elapsed
                # Latency at a paced rate, well below what any of them can do.
                receivers.start("recv", expected=paced, deadline=time.time() + 30 + paced / rate)
                sent = sender.all(
                    "send",
                    frame=frame,
                    count=paced,
                    rate=rate,
                    window=0,
                    start_at=time.time() + 0.1,
                )[0]
                got = receivers.collect()
                _check(subject, [sent, *got])
                latencies = [
                    conn[k] - sent["sent"][k]
                    for a in got
                    for conn in a["arrivals"]
                    for k in range(min(len(conn), paced))
                ]
            finally:
                sender.close()
                receivers.close()
                server.stop()
            runs[subject.label].append(
                {
                    "rate": delivered / elapsed,
                    "p50": _pct(latencies, 0.5) * 1000,
                    "p99": _pct(latencies, 0.99) * 1000,
                    "loadgen_cpu": loadgen_cpu,
                    "server_cpu": server_cpu / elapsed,
                    "server_us": server_cpu / max(1, delivered) * 1e6,
                }
            )
    return _rows(
        "broadcast",
        "deliveries/s",
        subjects,
        runs,
        extra={"clients": clients, "paced_messages_per_s": rate},
    )


def _check(subject: Subject, answers: list[dict[str, Any]]) -> None:
    errors = [a["error"] for a in answers if "error" in a]
    if errors:
        raise RuntimeError(f"{subject.label}: {errors[0]}")


# --- 3. idle capacity --------------------------------------------------------------------


def bench_idle(subjects: list[Subject], steps: list[int], processes: int) -> list[dict[str, Any]]:
    """Open ``steps`` idle connections (cumulative) to one server process each."""
    from wslab.core.cluster import bytes_per_connection

    limit = raise_fd_limit(2 * steps[-1] + 1000)
    # Above the hard limit only a privileged process may go (root with
    # CAP_SYS_RESOURCE; a container often drops it); Windows has no such limit.
    limit_why = "the hard limit; raising it needs CAP_SYS_RESOURCE"
    sources = source_addresses(max(1, steps[-1] // 12_000 + 1))
    reachable = limit - 200
    if len(sources) == 1 and sources[0] == "127.0.0.1":
        reachable = min(reachable, 28_000)  # one source address: the ephemeral ports
    rows = []
    for subject in subjects:
        server = ServerProcess(subject, "echo")
        workers = Workers(processes, "127.0.0.1", server.port)
        counts, rss, timings = [0], [server.rss()], []
        note = None
        try:
            for target in steps:
                wanted = min(target, reachable) - counts[-1]
                if target > reachable:
                    note = (
                        f"stopped at {reachable:,}: the open-file limit is {limit:,} "
                        f"and could not be raised ({limit_why}); "
                        f"{len(sources)} loopback source address(es)"
                    )
                if wanted <= 0:
                    break
                opened = workers.open(wanted, sources, window=32, timeout=30)
                time.sleep(0.5)  # let the server finish what the last handshakes started
                counts.append(counts[-1] + opened["opened"])
                rss.append(server.rss())
                timings.append(round(opened["seconds"], 2))
                if opened["error"]:
                    note = f"stopped at {counts[-1]}: {opened['error']}"
                    break
        finally:
            workers.close()
            server.stop()
        per = bytes_per_connection(counts, rss) if len(counts) > 1 else float("nan")
        rows.append(
            {
                "bench": "idle",
                "server": subject.label,
                "connections": counts[1:],
                "open_seconds": timings,
                "rss_mb": [round(r / 2**20, 1) for r in rss],
                "bytes_per_connection": round(per) if per == per else None,  # NaN: none opened
                "kb_per_connection": round(per / 1024, 1) if per == per else None,
                "held": counts[-1],
                "note": note,
            }
        )
    return rows


# --- 4. start-up and notebooks ---------------------------------------------------------


def _connect_once(url: str) -> None:
    from websockets.sync.client import connect

    with connect(url, open_timeout=5, proxy=None) as ws:
        ws.send("x")
        ws.recv(timeout=5)


def bench_startup(rounds: int) -> dict[str, float]:
    from websockets.asyncio.server import serve as ws_serve

    from wslab import serve, stop_all
    from wslab.runtime.loopthread import LoopThread

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


# --- the report ----------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float | int) and digits == 0:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def write_report(results: dict[str, Any], out_dir: Path) -> Path:
    """Write ``benchmarks.md`` (the tables) and PNG plots; return the markdown's path."""
    lines = [
        "# wslab benchmarks",
        "",
        f"Run {results['when']} on {results['machine']}. Ratios are to the raw websockets "
        "server on asyncio in the same run (and to Node's ws); loadgen and server CPU are "
        "in cores (1.0 = one core busy).",
        "",
    ]
    for bench, title in (("echo", "Echo"), ("broadcast", "Broadcast fan-out")):
        rows = [r for r in results["rows"] if r["bench"] == bench]
        if not rows:
            continue
        lines += [
            f"## {title} ({rows[0]['clients']} clients, {rows[0]['unit']})",
            "",
            "| server | " + rows[0]["unit"] + " | x raw | x node | p50 ms | p99 ms "
            "| loadgen CPU | server CPU | server µs each | cost x raw | cost x node |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            lines.append(
                f"| {r['server']} | {_fmt(r['rate'])} | {_fmt(r['vs_raw'], 2)} "
                f"| {_fmt(r['vs_node'], 2)} | {_fmt(r['p50'], 2)} | {_fmt(r['p99'], 2)} "
                f"| {_fmt(r['loadgen_cpu'], 2)} | {_fmt(r['server_cpu'], 2)} "
                f"| {_fmt(r['server_us'], 1)} | {_fmt(r['cost_vs_raw'], 2)} "
                f"| {_fmt(r['cost_vs_node'], 2)} |"
            )
        if bench == "broadcast":
            lines.append(
                f"\nLatency at a paced {rows[0]['paced_messages_per_s']:g} messages/s "
                f"({rows[0]['paced_messages_per_s'] * rows[0]['clients']:,.0f} deliveries/s)."
            )
        lines.append("")
    idle = [r for r in results["rows"] if r["bench"] == "idle"]
    if idle:
        lines += [
            "## Idle connections (one server process)",
            "",
            "| server | connections | seconds to open | RSS MB | KB per connection | note |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for r in idle:
            lines.append(
                f"| {r['server']} | {' → '.join(f'{c:,}' for c in r['connections'])} "
                f"| {' + '.join(str(s) for s in r['open_seconds'])} "
                f"| {' → '.join(str(m) for m in r['rss_mb'])} | {r['kb_per_connection']} "
                f"| {r['note'] or ''} |"
            )
        lines.append("")
    for label, reason in results.get("skipped", {}).items():
        lines.append(f"*{label} skipped: {reason}*\n")
    if "startup" in results:
        s = results["startup"]
        lines += [
            "## Server start-up",
            "",
            f"`serve('echo')` ready in {s['wslab_ms']} ms (p90 {s['wslab_p90_ms']} ms); "
            f"a bare websockets server on a fresh thread: {s['reference_ms']} ms "
            f"(x {s['ratio']}).",
            "",
        ]
    if "notebooks" in results:
        nbs = results["notebooks"]
        lines += [
            f"## Notebooks at WSLAB_TIME_SCALE={nbs['time_scale']}",
            "",
            f"Total {nbs['total_seconds']} s; an empty notebook takes "
            f"{nbs['empty_notebook_seconds']} s (kernel start and stop).",
            "",
            "| notebook | seconds | x empty |",
            "|---|---:|---:|",
        ]
        for name, row in nbs["notebooks"].items():
            lines.append(f"| {name} | {row['seconds']} | {row['ratio_to_empty']} |")
        lines.append("")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "benchmarks.md"
    path.write_text("\n".join(lines) + "\n")
    _plots(results, out_dir)
    return path


def _plots(results: dict[str, Any], out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for bench in ("echo", "broadcast"):
        rows = [r for r in results["rows"] if r["bench"] == bench]
        if not rows:
            continue
        names = [r["server"] for r in rows]
        fig, (left, right) = plt.subplots(1, 2, sharey=True, figsize=(10, 0.8 + 0.45 * len(rows)))
        left.barh(names, [r["vs_raw"] or 0 for r in rows], color="#4c72b0")
        left.set_xlabel(f"{rows[0]['unit']} x raw websockets (higher is better)")
        right.barh(names, [r["cost_vs_raw"] or 0 for r in rows], color="#dd8452")
        right.set_xlabel("server CPU per message x raw (lower is better)")
        for ax in (left, right):
            ax.axvline(1.0, color="grey", lw=1)
        left.invert_yaxis()
        fig.suptitle(f"{bench}: {rows[0]['clients']} clients")
        fig.tight_layout()
        fig.savefig(out_dir / f"{bench}.png", dpi=100)
        plt.close(fig)
    idle = [r for r in results["rows"] if r["bench"] == "idle"]
    if idle:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for r in idle:
            ax.plot([0, *r["connections"]], r["rss_mb"], marker="o", label=r["server"])
        ax.set_xlabel("idle connections")
        ax.set_ylabel("server RSS (MB)")
        ax.legend()
        ax.set_title("memory per idle connection: the slope")
        fig.tight_layout()
        fig.savefig(out_dir / "idle.png", dpi=100)
        plt.close(fig)
    nbs = results.get("notebooks", {}).get("notebooks", {})
    if nbs:
        fig, ax = plt.subplots(figsize=(7, 0.5 + 0.3 * len(nbs)))
        ax.barh(list(nbs), [r["seconds"] for r in nbs.values()], color="#55a868")
        ax.axvline(5.0, color="red", lw=1)
        ax.invert_yaxis()
        ax.set_xlabel("seconds, headless (bar: 5 s)")
        fig.tight_layout()
        fig.savefig(out_dir / "notebooks.png", dpi=100)
        plt.close(fig)


def _print_rows(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        if r["bench"] == "idle":
            print(
                f"  idle       {r['server']:<26} held {r['held']:>6,}  "
                f"{r['kb_per_connection']:>6} KB/conn  open {r['open_seconds']} s  "
                f"{r['note'] or ''}"
            )
        else:
            print(
                f"  {r['bench']:<10} {r['server']:<26} {r['rate']:>10,.0f} {r['unit']:<13} "
                f"xraw {_fmt(r['vs_raw'], 2):>5} xnode {_fmt(r['vs_node'], 2):>5}  "
                f"p50 {r['p50']:.2f} p99 {r['p99']:.2f} ms  "
                f"loadgen {r['loadgen_cpu']:.2f} server {r['server_cpu']:.2f} cores  "
                f"{r['server_us']:.1f} us each, cost xraw {_fmt(r['cost_vs_raw'], 2)} "
                f"xnode {_fmt(r['cost_vs_node'], 2)}",
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["echo", "broadcast", "idle", "startup", "notebooks"],
        help="run only these parts",
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repeats (full run)")
    args = parser.parse_args(argv)
    parts = set(args.only or ["echo", "broadcast", "idle", "startup", "notebooks"])
    quick = args.quick
    started = time.perf_counter()
    cpu0 = cpu_seconds()
    raise_fd_limit(120_000)

    skipped: dict[str, str] = {}
    why_no_node = node_status()
    raw = Subject("raw websockets", "raw")
    wslab = Subject("wslab", "wslab")
    node = Subject("node ws", "node")
    have_node = why_no_node is None
    if not have_node:
        skipped["node ws"] = str(why_no_node)
    like = [raw, wslab, *([node] if have_node else [])]
    fast = [
        Subject("raw websockets + uvloop", "raw", uvloop=True),
        Subject("wslab + uvloop", "wslab", uvloop=True),
    ]
    deflate = [
        Subject("raw websockets deflate", "raw", deflate=True),
        *([Subject("node ws deflate", "node", deflate=True)] if have_node else []),
    ]
    rounds = 1 if quick else args.rounds
    processes = 1 if quick else max(2, min(4, os.cpu_count() or 2))
    if quick:  # one of each kind of row: the code paths, not the figures
        fast, deflate = fast[:1], deflate[:1]

    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} cores, {sys.platform}, Python {sys.version.split()[0]}",
        "quick": quick,
        "rows": [],
        "skipped": skipped,
    }
    if "echo" in parts:
        rows = bench_echo(
            [*like, *fast, *deflate],
            clients=10 if quick else 100,
            seconds=0.3 if quick else 3.0,
            rounds=rounds,
            processes=processes,
        )
        _print_rows(rows)
        results["rows"] += rows
    if "broadcast" in parts:
        rows = bench_broadcast(
            [*like, *([] if quick else fast)],
            clients=20 if quick else 1000,
            burst=20 if quick else 300,
            window=10,
            paced=5 if quick else 60,
            rate=50.0 if quick else 20.0,
            rounds=1 if quick else max(1, rounds - 1),
            processes=processes,
        )
        _print_rows(rows)
        results["rows"] += rows
    if "idle" in parts:
        rows = bench_idle(
            like,
            steps=[50, 100] if quick else [10_000, 50_000],
            processes=1 if quick else 4,
        )
        _print_rows(rows)
        results["rows"] += rows
    if "startup" in parts:
        results["startup"] = startup = bench_startup(rounds=3 if quick else 30)
        print(
            f"  start-up   wslab {startup['wslab_ms']} ms, bare websockets "
            f"{startup['reference_ms']} ms, x{startup['ratio']}",
            flush=True,
        )
    if "notebooks" in parts:
        paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
        # Quick: only the empty notebook, the reference (one kernel started).
        results["notebooks"] = nbs = bench_notebooks([] if quick else paths)
        for name, row in nbs["notebooks"].items():
            print(f"  notebook   {name:<40} {row['seconds']:>6} s", flush=True)
        print(f"  notebooks total {nbs['total_seconds']} s", flush=True)
    results["benchmark_seconds"] = round(time.perf_counter() - started, 1)
    results["benchmark_cpu_seconds"] = round(cpu_seconds() - cpu0, 1)

    out_dir = RESULTS / "quick" if quick else RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / ("quick.json" if quick else "latest.json")).write_text(
        json.dumps(results, indent=2) + "\n"
    )
    report = write_report(results, out_dir)
    print(f"wrote {report.relative_to(ROOT)} and its plots", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
