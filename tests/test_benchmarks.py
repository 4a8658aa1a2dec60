"""The benchmark still runs (tiny sizes, seconds) and its generator speaks WebSocket.

Its figures are never asserted: speed belongs in ``benchmarks/results``, read
as ratios. What is checked: every server answered, counts are positive, the
table and plots were written. Node's ``ws`` server may be missing on a
student's machine (its rows are then skipped, with the reason recorded); in CI
(``CI`` set) it must be there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from loadgen import MASK, client_frame, deflate_payload, frames_in  # noqa: E402


def test_client_frame_is_masked_with_the_fixed_key() -> None:
    frame = client_frame(b"hello")
    assert frame[0] == 0x81 and frame[1] == 0x80 | 5
    assert frame[2:6] == MASK
    unmasked = bytes(b ^ MASK[i % 4] for i, b in enumerate(frame[6:]))
    assert unmasked == b"hello"
    long = client_frame(b"x" * 300)
    assert long[1] == 0x80 | 126 and int.from_bytes(long[2:4], "big") == 300


def test_deflated_payload_inflates_back() -> None:
    data = deflate_payload(b"abc" * 50)
    assert zlib.decompressobj(wbits=-15).decompress(data + b"\x00\x00\xff\xff") == b"abc" * 50


def test_frames_in_counts_complete_frames_and_keeps_the_rest() -> None:
    buffer = bytearray(b"\x81\x02hi" + b"\x81\x7e\x01\x00" + b"y" * 256 + b"\x81\x05ab")
    assert frames_in(buffer) == 2
    assert buffer == bytearray(b"\x81\x05ab")  # the incomplete third frame waits
    buffer += b"cde"
    assert frames_in(buffer) == 1 and not buffer


def test_quick_benchmark_runs_every_server_and_writes_the_report() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = ROOT / "benchmarks" / "results" / "quick"
    results = json.loads((out / "quick.json").read_text())
    rows = results["rows"]
    servers = {r["server"] for r in rows if r["bench"] == "echo"}
    assert {"raw websockets", "wslab"} <= servers
    if "node ws" in results["skipped"]:
        assert not os.environ.get("CI"), "CI must run Node's ws server"
        pytest.skip(f"Node rows skipped here: {results['skipped']['node ws']}")
    for bench in ("echo", "broadcast", "idle"):
        answered = {r["server"] for r in rows if r["bench"] == bench}
        assert {"raw websockets", "wslab", "node ws"} <= answered, bench
    for row in rows:
        if row["bench"] == "idle":
            # The slope's sign is not checked: a few connections may fit in
            # memory the server had already (Node's heap especially).
            assert row["held"] == row["connections"][-1] == 100, row
            assert len(row["rss_mb"]) == 3 and isinstance(row["bytes_per_connection"], int), row
        else:
            assert row["rate"] > 0 and row["p50"] > 0 and row["p99"] >= row["p50"], row
            assert row["loadgen_cpu"] >= 0 and row["vs_raw"] is not None, row
    assert results["startup"]["ratio"] > 0
    assert results["notebooks"]["empty_notebook_seconds"] > 0  # a kernel ran a notebook
    table = (out / "benchmarks.md").read_text()
    assert "## Echo" in table and "## Broadcast" in table and "## Idle" in table
    assert all((out / f"{name}.png").stat().st_size > 0 for name in ("echo", "broadcast", "idle"))


def test_uvloop_is_opt_in_and_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    from websockets.sync.client import connect

    from wslab import serve
    from wslab.runtime.loopthread import new_event_loop

    monkeypatch.delenv("WSLAB_UVLOOP", raising=False)
    loop = new_event_loop()
    assert type(loop).__module__.startswith("asyncio")  # the default: asyncio's own
    loop.close()
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed here")
    if sys.platform == "win32":
        pytest.skip("uvloop has no Windows build")
    monkeypatch.setenv("WSLAB_UVLOOP", "1")
    loop = new_event_loop()
    assert isinstance(loop, uvloop.Loop)
    loop.close()
    running = serve("echo", name="uvloop-echo")  # its thread's loop is uvloop's now
    try:
        assert isinstance(running._thread.loop, uvloop.Loop)
        with connect(running.url, proxy=None) as ws:
            ws.send("hello")
            assert ws.recv(timeout=5) == "hello"
    finally:
        running.stop()
