"""A server on its own, outside a notebook: one line per event, stopped by Ctrl-C or SIGTERM.

``python -m wslab serve NAME`` runs a lesson server this way, and so does each
of lesson 11's server processes (:func:`wslab.servers.cluster.node_main`),
whose parent (:mod:`wslab.network.cluster`) reads the lines back with
:data:`LISTENING` and :data:`EVENT`: the format is written and parsed here,
in one place.
"""

from __future__ import annotations

import _thread
import contextlib
import re
import signal
import sys
import threading
import time
from types import FrameType

from wslab.core.eventlog import Direction, LogEntry
from wslab.runtime.runner import RunningServer

__all__ = [
    "DIRECTIONS",
    "EVENT",
    "LISTENING",
    "format_entry",
    "run_until_stopped",
    "stop_when_stdin_closes",
]

#: The line a server prints once it listens: ``echo server listening on ws://...``.
LISTENING = re.compile(r"listening on (wss?://\S+)")
#: An event line: ``12:00:01 <- message   hello`` (time, arrow, kind, text).
EVENT = re.compile(r"^\d\d:\d\d:\d\d (<-|->|  ) (\S+) *(.*)$")
#: Arrow in an event line → the entry's direction.
DIRECTIONS: dict[str, Direction] = {"<-": "in", "->": "out", "  ": "-"}
_ARROWS = {"in": "<-", "out": "->"}


def format_entry(entry: LogEntry) -> str:
    """One event as a printed line (what :data:`EVENT` parses)."""
    stamp = time.strftime("%H:%M:%S", time.localtime(entry.time))
    return f"{stamp} {_ARROWS.get(entry.direction, '  ')} {entry.kind:<9} {entry.text}"


def _print_entry(entry: LogEntry) -> None:
    print(format_entry(entry), flush=True)


def run_until_stopped(running: RunningServer, *, label: str, quiet: bool = False) -> int:
    """Print ``running``'s events until Ctrl-C or SIGTERM, then stop it cleanly.

    Call from the main thread (signal handlers can only be set there).

    Returns:
        0, the exit status of a clean stop.
    """
    if not quiet:
        running.log.subscribe(_print_entry)
    stop = threading.Event()

    def _terminate(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # SIGTERM (from a process manager) stops as cleanly as Ctrl-C does.
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _terminate)
    try:
        # Said inside the try: a Ctrl-C the moment this line appears still stops cleanly.
        print(f"{label} server listening on {running.url} (Ctrl-C to stop)", flush=True)
        # Wait in short slices: on Windows a bare wait() does not see Ctrl-C.
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    running.stop(grace=2.0)
    print(f"{label} server stopped", flush=True)
    return 0


def stop_when_stdin_closes(timeout: float = 30.0) -> threading.Thread:
    """Stop this process cleanly once its standard input closes.

    A child process whose parent goes away (stopped, or killed) sees its
    stdin pipe close; a guard thread then raises SIGTERM, which
    :func:`run_until_stopped` turns into a clean stop, but only once that
    handler is in place (earlier, SIGTERM would kill the process mid-start).
    After ``timeout`` seconds without a handler, or where there is no SIGTERM,
    it interrupts the main thread (Ctrl-C) instead.
    """

    def guard() -> None:
        with contextlib.suppress(OSError, ValueError):
            sys.stdin.buffer.read()
        deadline = time.monotonic() + timeout
        sigterm = getattr(signal, "SIGTERM", None)
        while sigterm is not None and signal.getsignal(sigterm) in (signal.SIG_DFL, None):
            if time.monotonic() > deadline:
                sigterm = None
            time.sleep(0.01)
        if sigterm is not None:
            signal.raise_signal(sigterm)
        else:
            _thread.interrupt_main()

    thread = threading.Thread(target=guard, name="stdin-guard", daemon=True)
    thread.start()
    return thread
