"""Leaks: 10,000 connections opened and closed against one server leave nothing behind.

The server runs in this process (on its own thread, as in a notebook), so
this process's open file descriptors are the server's plus the client's:
after the cycles, once every connection is gone, there must be exactly as
many as before. Memory is measured after a warm-up (the first connections
fill caches and the event log, which keeps a bounded number of entries).
"""

from __future__ import annotations

import base64
import gc
import os
import socket
import struct

import psutil
from counting import Record
from helpers import wait_until

import wslab

CYCLES = 10_000
WARM_UP = 500
#: The most the resident memory may grow over the cycles, after the warm-up.
MAX_RSS_GROWTH = 8 << 20


_CLOSE_1000 = struct.pack("!H", 1000)


def _masked_close() -> bytes:
    # A client's frames are masked: FIN + opcode 8 (close), MASK + length 2.
    mask = os.urandom(4)
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(_CLOSE_1000))
    return b"\x88\x82" + mask + payload


def one_cycle(port: int, clean: bool) -> None:
    """Open a WebSocket by hand, then close it cleanly (close frames) or drop it."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            assert chunk, "the server closed during the handshake"
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 101"), answer[:40]
        if clean:
            sock.sendall(_masked_close())
            reply = answer.split(b"\r\n\r\n", 1)[1]
            while len(reply) < 4:
                chunk = sock.recv(64)
                if not chunk:
                    break
                reply += chunk
            assert reply[:1] == b"\x88", reply  # the server's close frame
        else:
            # An abrupt end: RST instead of FIN, like a process killed mid-session.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_ten_thousand_connect_disconnect_cycles_leak_nothing(counts: Record) -> None:
    server = wslab.serve("echo")
    me = psutil.Process()

    def settle() -> tuple[int, int]:
        wait_until(lambda: not server.app.peers, timeout=10)
        gc.collect()
        return me.num_fds(), me.memory_info().rss

    for n in range(WARM_UP):
        one_cycle(server.port, clean=n % 2 == 0)
    fds_before, rss_before = settle()
    for n in range(CYCLES):
        one_cycle(server.port, clean=n % 2 == 0)
    fds_after, rss_after = settle()
    connections = sum(1 for e in server.log.entries("connect"))  # the log keeps the newest
    growth = rss_after - rss_before
    counts(
        f"{CYCLES:,} connect/disconnect cycles (half clean, half dropped) after {WARM_UP:,} "
        f"warm-up: fds {fds_before} → {fds_after} (leaked {fds_after - fds_before}); "
        f"RSS {rss_before / 2**20:.1f} → {rss_after / 2**20:.1f} MiB "
        f"(growth {growth / 2**10:+.0f} KiB, limit {MAX_RSS_GROWTH >> 20} MiB)"
    )
    assert connections > 0
    assert fds_after == fds_before
    assert growth < MAX_RSS_GROWTH
