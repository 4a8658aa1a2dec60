"""Helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from websockets.sync.client import ClientConnection, connect

#: A fast time scale for the tests: a 0.6 s nominal delay becomes 12 ms.
FAST = 0.02
#: One byte more than a lesson server accepts.
TOO_BIG = (1 << 20) + 1


def wslab_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("wslab-"))


def wait_until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Poll ``condition`` from a synchronous test until it is true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


async def async_wait_until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Poll ``condition`` from an async test, letting the loop run meanwhile."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


def sync_connect(url: str, **kwargs: Any) -> ClientConnection:
    """A plain websockets client for contract tests: no proxy, no compression."""
    options: dict[str, Any] = {
        "proxy": None,
        "compression": None,
        "open_timeout": 5,
        "close_timeout": 2,
    }
    options.update(kwargs)
    return connect(url, **options)


def send_json(ws: ClientConnection, obj: dict[str, Any]) -> None:
    ws.send(json.dumps(obj))


def recv_json(ws: ClientConnection, timeout: float = 5.0) -> Any:
    return json.loads(ws.recv(timeout=timeout))


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def course_script() -> Any:
    """scripts/course.py as a module (it is a script, not part of the package)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "course.py"
    spec = importlib.util.spec_from_file_location("course", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["course"] = module
    spec.loader.exec_module(module)
    return module
