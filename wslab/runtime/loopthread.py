"""An asyncio event loop on its own daemon thread.

The kernel's loop stops whenever a cell blocks (``time.sleep(3)``), and so
would any server sharing it. A :class:`LoopThread` gives a server a loop of
its own, in the manner of httpx's ``serve_in_thread``: start the thread, wait
until the loop runs, hand it coroutines, and on stop cancel what is left,
stop the loop and join the thread, so nothing is left behind.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["LoopThread", "call_on_loop", "new_event_loop"]

T = TypeVar("T")


def call_on_loop(loop: asyncio.AbstractEventLoop, callback: Callable[[], object]) -> bool:
    """Run ``callback`` on ``loop``: now if we are on it, else soon from its thread.

    What a client's ``send()``/``close()`` needs when a cell, a widget button
    or another thread calls it. Returns False, doing nothing, when the loop is
    closed (the kernel restarted, say).
    """
    if loop.is_closed():
        return False
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        callback()
    else:
        loop.call_soon_threadsafe(callback)
    return True


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop: uvloop's if ``WSLAB_UVLOOP=1`` and it is installed, else asyncio's.

    uvloop makes a busy server about 1.3-1.5 times faster (``benchmarks/``),
    but it is opt-in: asyncio's loop is the one the lessons explain, it runs
    everywhere (uvloop has no Windows build), and one loop for everything
    keeps a surprise from hiding in the other. Without uvloop, or on Windows,
    the variable is ignored.
    """
    if os.environ.get("WSLAB_UVLOOP") == "1" and sys.platform != "win32":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


class LoopThread:
    """A daemon thread running an event loop until :meth:`stop`.

    Daemon, so that a kernel killed abruptly (nbval does so at the end of a
    notebook) never waits for it; :mod:`wslab.runtime.runner` still stops every
    server cleanly at normal interpreter exit.

    Args:
        name: the thread's name, shown by ``threading.enumerate()``.
        on_exception: called with asyncio's exception-handler context instead
            of printing it (a background thread must not print in a kernel).
    """

    def __init__(
        self, name: str, on_exception: Callable[[dict[str, Any]], object] | None = None
    ) -> None:
        self.name = name
        self._on_exception = on_exception
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError(f"{self.name}: the loop thread is not started")
        return self._loop

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def start(self) -> LoopThread:
        """Start the thread and return once its loop is running."""
        self._thread.start()
        self._ready.wait()
        return self

    def _run(self) -> None:
        loop = new_event_loop()
        if self._on_exception is not None:
            handler = self._on_exception
            loop.set_exception_handler(lambda _loop, context: handler(context))
        self._loop = loop
        asyncio.set_event_loop(loop)
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
        finally:
            try:
                self._cancel_all(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    @staticmethod
    def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
        tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on this loop from any thread. Thread-safe."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on this loop and wait for its result from another thread."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("LoopThread.run() would deadlock on its own thread")
        return self.submit(coro).result(timeout)

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` on the loop's thread. Thread-safe."""
        self.loop.call_soon_threadsafe(callback)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel remaining tasks, stop the loop and join the thread.

        Idempotent; safe to call from any thread but the loop's own.
        """
        loop = self._loop
        if loop is not None and not loop.is_closed():
            # The loop may close between the check and the call.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
