"""Servers stop cleanly when the kernel shuts down, and never leave a port behind.

A real kernel serves echo; a client outside the kernel is connected; the kernel
is asked to shut down as JupyterLab does. The client must get a clean 1001
"going away" close frame from wslab's exit handler, not a dropped connection,
and the port must be free again.
"""

from __future__ import annotations

import socket
import sys

import pytest
from jupyter_client.manager import KernelManager
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def _execute(km: KernelManager, code: str) -> str:
    client = km.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive(code, timeout=30, output_hook=_collect)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
    return "".join(_collected)


_collected: list[str] = []


def _collect(msg: dict[str, object]) -> None:
    content = msg.get("content", {})
    if msg["msg_type"] == "stream" and isinstance(content, dict):
        _collected.append(str(content.get("text", "")))


@pytest.mark.skipif(sys.platform == "win32", reason="graceful kernel shutdown differs on Windows")
def test_kernel_shutdown_closes_clients_with_1001_and_frees_the_port() -> None:
    _collected.clear()
    km = KernelManager(kernel_name="python3")
    km.start_kernel()
    try:
        out = _execute(km, "from wslab import serve\nprint(serve('echo').port)")
        port = int(out.strip().splitlines()[-1])
        with connect(f"ws://127.0.0.1:{port}/", proxy=None, open_timeout=10) as ws:
            ws.send("still there?")
            assert ws.recv(timeout=10) == "still there?"
            km.shutdown_kernel(now=False)  # a shutdown_request, as JupyterLab sends
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=20)
        assert closed.value.rcvd is not None, "the kernel dropped the connection without a close"
        assert closed.value.rcvd.code == 1001
    finally:
        if km.is_alive():
            km.shutdown_kernel(now=True)
    with socket.socket() as probe:
        # Free again for a new server (which, like asyncio's, sets SO_REUSEADDR so
        # the closed connections' TIME_WAIT does not block it): nothing listens.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.listen()
