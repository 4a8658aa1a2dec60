"""A lean WebSocket load generator: raw sockets, precomputed frames, several processes.

websockets' own client tops out near 40k messages/s on a core, below what the
servers under test can do, so the benchmark would measure its client. This
generator does the least a client must: every frame it sends is built once,
masked with one fixed key (RFC 6455 requires a mask, not a fresh one per
frame), and it reads replies by their two-byte headers without decoding them.
Connections are spread over several worker processes, each with its own
``selectors`` loop, and every answer carries the CPU seconds the worker used,
so the report can show the generator was not the bottleneck.

A :class:`Workers` pool drives the workers by commands over pipes:

- ``open``: open more connections (bound to several loopback source
  addresses, so that 50,000 fit past the ~28,000 ephemeral ports per address);
- ``echo``: closed loop, one message in flight per connection, for a fixed
  time: messages and round-trip times;
- ``recv``: record when each frame arrives on each connection (broadcast);
- ``send``: one connection sends a number of messages, paced or windowed;
- ``close``: reset every connection (no TIME_WAIT left behind) and exit.
"""

from __future__ import annotations

import base64
import contextlib
import multiprocessing
import multiprocessing.connection
import os
import selectors
import socket
import struct
import sys
import time
import zlib
from array import array
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MASK",
    "Workers",
    "client_frame",
    "cpu_seconds",
    "deflate_payload",
    "frames_in",
    "handshake_request",
    "raise_fd_limit",
    "source_addresses",
]

#: The one masking key every frame uses: a fixed key is valid (the server
#: unmasks whatever key it is given) and lets each frame be built once.
MASK = b"\x5a\x3c\x96\x0f"
_KEY = base64.b64encode(b"wslab-benchmark!").decode()
_IP_BIND_ADDRESS_NO_PORT = 24  # Linux: choose the port at connect(), per destination


def cpu_seconds() -> float:
    """User + system CPU seconds this process used so far."""
    times = os.times()
    return times.user + times.system


def raise_fd_limit(wanted: int) -> int:
    """Raise this process's open-file limit towards ``wanted``; return the limit now.

    Children inherit it, so the benchmark raises it once, before starting the
    servers and workers. Root may raise the hard limit too, up to the kernel's
    ``fs.nr_open``. Where ``resource`` is missing (Windows) nothing changes.
    """
    try:
        import resource
    except ImportError:
        return 512  # Windows: select() and the C runtime's own limits apply
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    for new_hard in (max(hard, wanted), hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, new_hard), new_hard))
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def source_addresses(count: int) -> list[str]:
    """Loopback source addresses that can be bound here: 127.0.0.2, 127.0.0.3, ...

    Linux routes all of 127/8 to the loopback interface; macOS and Windows do
    not (only 127.0.0.1 unless aliased), and there the list is just
    ``["127.0.0.1"]``, which caps a run near the ephemeral-port range.
    """
    found = []
    for i in range(2, 2 + count):
        address = f"127.0.0.{i}"
        with socket.socket() as probe:
            try:
                probe.bind((address, 0))
            except OSError:
                break
        found.append(address)
    return found or ["127.0.0.1"]


def handshake_request(host: str, port: int, path: str = "/", deflate: bool = False) -> bytes:
    """The opening HTTP request, with a fixed key (the accept value is not checked)."""
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {_KEY}",
        "Sec-WebSocket-Version: 13",
        f"Origin: http://{host}:{port}",
    ]
    if deflate:
        # What a browser offers, plus client_no_context_takeover so that each
        # of our messages compresses alone and can be built once.
        lines.append(
            "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; "
            "client_max_window_bits"
        )
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def deflate_payload(payload: bytes) -> bytes:
    """``payload`` compressed as permessage-deflate sends it (no context kept)."""
    compressor = zlib.compressobj(wbits=-15)
    data = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return data[:-4]  # the empty stored block's 00 00 ff ff is implied


def client_frame(payload: bytes, opcode: int = 1, rsv1: bool = False) -> bytes:
    """One final, masked client frame carrying ``payload``."""
    head = bytearray([0x80 | (0x40 if rsv1 else 0) | opcode])
    n = len(payload)
    if n < 126:
        head.append(0x80 | n)
    elif n < 65536:
        head.append(0x80 | 126)
        head += struct.pack("!H", n)
    else:
        head.append(0x80 | 127)
        head += struct.pack("!Q", n)
    mask = (MASK * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big")
    return bytes(head) + MASK + masked


def frames_in(buffer: bytearray) -> int:
    """Count the complete server frames at the start of ``buffer`` and remove them.

    Server frames are unmasked, so the header says everything: two bytes, plus
    two or eight for a long payload. The payload itself is never decoded.
    """
    count = 0
    offset = 0
    size = len(buffer)
    while size - offset >= 2:
        n = buffer[offset + 1] & 0x7F
        head = 2
        if n == 126:
            if size - offset < 4:
                break
            n = (buffer[offset + 2] << 8) | buffer[offset + 3]
            head = 4
        elif n == 127:
            if size - offset < 10:
                break
            n = int.from_bytes(buffer[offset + 2 : offset + 10], "big")
            head = 10
        if size - offset < head + n:
            break
        offset += head + n
        count += 1
    if offset:
        del buffer[:offset]
    return count


# --- the worker process ---------------------------------------------------------------


@dataclass
class _Conn:
    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)
    sent_at: float = 0.0
    arrivals: array[float] = field(default_factory=lambda: array("d"))


class _Worker:
    def __init__(self, host: str, port: int, path: str, deflate: bool) -> None:
        self.address = (host, port)
        self.request = handshake_request(host, port, path, deflate)
        self.conns: list[_Conn] = []

    # --- open -----------------------------------------------------------------------

    def open(self, count: int, sources: list[str], window: int, timeout: float) -> dict[str, Any]:
        """Open ``count`` connections, at most ``window`` handshakes in flight."""
        sel = selectors.DefaultSelector()
        started_at = time.perf_counter()
        started = done = 0
        error = None
        pending: dict[socket.socket, bytearray | None] = {}
        try:
            while done < count:
                while len(pending) < window and started < count:
                    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    sock.setblocking(False)
                    if sys.platform == "linux":
                        sock.setsockopt(socket.SOL_IP, _IP_BIND_ADDRESS_NO_PORT, 1)
                    # Reset on close: no TIME_WAIT to block the ports next run.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    sock.bind((sources[(len(self.conns) + started) % len(sources)], 0))
                    sock.connect_ex(self.address)
                    sel.register(sock, selectors.EVENT_WRITE)
                    pending[sock] = None
                    started += 1
                events = sel.select(timeout)
                if not events:
                    raise TimeoutError(f"no handshake finished in {timeout} s")
                for key, _mask in events:
                    sock = key.fileobj  # type: ignore[assignment]
                    got = pending[sock]
                    if got is None:
                        failed = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if failed:
                            raise OSError(failed, os.strerror(failed))
                        sock.send(self.request)
                        pending[sock] = bytearray()
                        sel.modify(sock, selectors.EVENT_READ)
                        continue
                    chunk = sock.recv(4096)
                    if not chunk:
                        raise ConnectionError("the server closed during the handshake")
                    got += chunk
                    end = got.find(b"\r\n\r\n")
                    if end < 0:
                        continue
                    if not got.startswith(b"HTTP/1.1 101"):
                        raise ConnectionError(f"handshake refused: {bytes(got[:40])!r}")
                    sel.unregister(sock)
                    del pending[sock]
                    self.conns.append(_Conn(sock, bytearray(got[end + 4 :])))
                    done += 1
        except OSError as exc:
            error = f"{type(exc).__name__}: {exc}"
            for sock in pending:
                sock.close()
        finally:
            sel.close()
        return {"opened": done, "seconds": time.perf_counter() - started_at, "error": error}

    # --- echo -----------------------------------------------------------------------

    def echo(self, frame: bytes, start_at: float, duration: float) -> dict[str, Any]:
        """Closed loop: one frame in flight per connection; count replies in the window."""
        sel = selectors.DefaultSelector()
        for conn in self.conns:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sel.register(conn.sock, selectors.EVENT_READ, conn)
        rtts = array("d")
        _sleep_until(start_at)
        cpu0 = cpu_seconds()
        clock = time.perf_counter
        for conn in self.conns:
            conn.sent_at = clock()
            conn.sock.send(frame)
        end = start_at + duration
        count = 0
        while True:
            now = time.time()
            if now >= end:
                break
            for key, _mask in sel.select(end - now):
                conn = key.data
                chunk = conn.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("the server closed an echo connection")
                conn.buffer += chunk
                got = frames_in(conn.buffer)
                if got:
                    t = clock()
                    count += got
                    rtts.append(t - conn.sent_at)
                    conn.sent_at = t
                    conn.sock.send(frame)
        cpu = cpu_seconds() - cpu0
        sel.close()
        return {"messages": count, "rtts": rtts, "cpu": cpu}

    # --- broadcast: receive and send ---------------------------------------------------

    def recv(self, expected: int, deadline: float, first: int = 0, last: int = 0) -> dict[str, Any]:
        """Record each frame's arrival on connections [first, len-last) until ``expected`` each."""
        conns = self.conns[first : len(self.conns) - last]
        sel = selectors.DefaultSelector()
        for conn in conns:
            sel.register(conn.sock, selectors.EVENT_READ, conn)
        cpu0 = cpu_seconds()
        clock = time.perf_counter
        remaining = len(conns)
        while remaining and time.time() < deadline:
            for key, _mask in sel.select(max(0.0, deadline - time.time())):
                conn = key.data
                chunk = conn.sock.recv(262144)
                if not chunk:
                    raise ConnectionError("the server closed a broadcast connection")
                conn.buffer += chunk
                got = frames_in(conn.buffer)
                if got:
                    t = clock()
                    before = len(conn.arrivals)
                    conn.arrivals.extend([t] * got)
                    if before < expected <= len(conn.arrivals):
                        remaining -= 1
                        sel.unregister(conn.sock)
        cpu = cpu_seconds() - cpu0
        sel.close()
        arrivals = [conn.arrivals for conn in conns]
        for conn in conns:
            conn.arrivals = array("d")
        return {"arrivals": arrivals, "cpu": cpu, "complete": remaining == 0}

    def send(
        self, frame: bytes, count: int, rate: float, window: int, start_at: float
    ) -> dict[str, Any]:
        """The last connection sends ``count`` frames: at ``rate``/s, or ``window`` ahead.

        Windowed (rate 0): it receives its own copies too (the server sends to
        everyone) and stays at most ``window`` messages ahead of them, so the
        server's buffers cannot grow without bound.
        """
        conn = self.conns[-1]
        sock = conn.sock
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(True)
        clock = time.perf_counter
        sent = array("d")
        received = 0
        _sleep_until(start_at)
        cpu0 = cpu_seconds()
        begin = clock()
        for i in range(count):
            if rate:
                wait = begin + i / rate - clock()
                if wait > 0:
                    time.sleep(wait)
            else:
                while i - received >= window:
                    chunk = sock.recv(262144)
                    if not chunk:
                        raise ConnectionError("the server closed the sender")
                    conn.buffer += chunk
                    received += frames_in(conn.buffer)
            sent.append(clock())
            sock.sendall(frame)
        while received < count:  # its own copies, so the next phase starts clean
            sock.settimeout(30)
            chunk = sock.recv(262144)
            if not chunk:
                break
            conn.buffer += chunk
            received += frames_in(conn.buffer)
        sock.setblocking(False)
        return {"sent": sent, "cpu": cpu_seconds() - cpu0}

    def close(self) -> dict[str, Any]:
        for conn in self.conns:
            conn.sock.close()
        closed = len(self.conns)
        self.conns = []
        return {"closed": closed}


def _sleep_until(when: float) -> None:
    wait = when - time.time()
    if wait > 0:
        time.sleep(wait)


def _serve(
    pipe: multiprocessing.connection.Connection, host: str, port: int, path: str, deflate: bool
) -> None:
    worker = _Worker(host, port, path, deflate)
    while True:
        command, kwargs = pipe.recv()
        try:
            answer = getattr(worker, command)(**kwargs)
        except Exception as exc:  # reported to the parent, which decides
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        pipe.send(answer)
        if command == "close":
            return


class Workers:
    """A pool of generator processes aimed at one server.

    Args:
        processes: how many worker processes.
        host, port, path: the server.
        deflate: offer permessage-deflate in every handshake.
    """

    def __init__(
        self, processes: int, host: str, port: int, path: str = "/", deflate: bool = False
    ) -> None:
        method = "fork" if sys.platform == "linux" else "spawn"
        context = multiprocessing.get_context(method)
        self.pipes: list[multiprocessing.connection.Connection] = []
        self.procs: list[Any] = []
        for _ in range(processes):
            ours, theirs = context.Pipe()
            proc = context.Process(
                target=_serve, args=(theirs, host, port, path, deflate), daemon=True
            )
            proc.start()
            self.pipes.append(ours)
            self.procs.append(proc)

    def all(self, command: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Send ``command`` to every worker at once; return their answers in order."""
        for pipe in self.pipes:
            pipe.send((command, kwargs))
        return [pipe.recv() for pipe in self.pipes]

    def each(self, command: str, kwargs_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send each worker its own arguments; return their answers in order."""
        for pipe, kwargs in zip(self.pipes, kwargs_list, strict=True):
            pipe.send((command, kwargs))
        return [pipe.recv() for pipe in self.pipes]

    def start(self, command: str, **kwargs: Any) -> None:
        """Send ``command`` to every worker; collect the answers with :meth:`collect`."""
        for pipe in self.pipes:
            pipe.send((command, kwargs))

    def collect(self) -> list[dict[str, Any]]:
        """The answers to the command :meth:`start` sent, in worker order."""
        return [pipe.recv() for pipe in self.pipes]

    def open(
        self, total: int, sources: list[str], window: int = 16, timeout: float = 20.0
    ) -> dict[str, Any]:
        """Open ``total`` more connections, split evenly over the workers."""
        n = len(self.pipes)
        shares = [total // n + (1 if i < total % n else 0) for i in range(n)]
        # Each worker its own source addresses, so two never race for one port.
        started = time.perf_counter()
        answers = self.each(
            "open",
            [
                {
                    "count": share,
                    "sources": sources[i::n] or sources,
                    "window": window,
                    "timeout": timeout,
                }
                for i, share in enumerate(shares)
            ],
        )
        errors = [a["error"] for a in answers if a.get("error")]
        return {
            "opened": sum(a.get("opened", 0) for a in answers),
            "seconds": time.perf_counter() - started,
            "error": errors[0] if errors else None,
        }

    def close(self) -> None:
        """Reset every connection and end the workers."""
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("close", {}))
        for pipe in self.pipes:
            try:
                if pipe.poll(10):
                    pipe.recv()
            except (OSError, EOFError):
                pass
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
