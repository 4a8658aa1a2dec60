"""The servers under test, each started in a process of its own.

    python benchmarks/servers.py KIND ROLE [--deflate] [--uvloop]

KIND is ``raw`` (a minimal websockets server: the library's own floor) or
``wslab`` (the course's lesson server, started with ``wslab.serve``); ROLE is
``echo`` or ``broadcast``. The process prints ``PORT <n>`` once it listens and
runs until its standard input closes. Node's ``ws`` server is
``benchmarks/node/server.js``, with the same interface.

Every broadcast server sends ``{"type": "broadcast", "text": ...}`` to every
open client, the sender included, so all three put the same bytes on the wire.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent


def _raise_fd_limit() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from loadgen import raise_fd_limit

    raise_fd_limit(200_000)


async def _raw(role: str, deflate: bool, ready: threading.Event, port: list[int]) -> None:
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    # The generator resets its connections at the end: nothing worth a traceback.
    logging.getLogger("websockets").setLevel(logging.CRITICAL)

    clients: dict[ServerConnection, None] = {}  # insertion-ordered, like Node's Set

    async def echo(ws: ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    async def relay(ws: ServerConnection) -> None:
        clients[ws] = None
        try:
            async for message in ws:
                out = json.dumps({"type": "broadcast", "text": message}, separators=(",", ":"))
                broadcast(clients, out)
        finally:
            del clients[ws]

    server = await serve(
        echo if role == "echo" else relay,
        "127.0.0.1",
        0,
        compression="deflate" if deflate else None,
        backlog=1024,
    )
    port.append(server.sockets[0].getsockname()[1])
    ready.set()
    await asyncio.Future()


def main(argv: list[str] | None = None) -> int:
    """Start one server, print its port, serve until stdin closes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["raw", "wslab"])
    parser.add_argument("role", choices=["echo", "broadcast"])
    parser.add_argument("--deflate", action="store_true", help="permessage-deflate on (raw only)")
    parser.add_argument("--uvloop", action="store_true", help="run the server on uvloop")
    args = parser.parse_args(argv)
    _raise_fd_limit()
    if args.uvloop:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())  # the raw server's loop
        os.environ["WSLAB_UVLOOP"] = "1"  # wslab's switch for its server threads

    if args.kind == "raw":
        ready = threading.Event()
        port: list[int] = []
        thread = threading.Thread(
            target=lambda: asyncio.run(_raw(args.role, args.deflate, ready, port)), daemon=True
        )
        thread.start()
        ready.wait(30)
        number = port[0]
    else:
        sys.path.insert(0, str(ROOT))
        from wslab import serve

        options: dict[str, Any] = {"mode": "all"} if args.role == "broadcast" else {}
        number = serve(args.role, **options).port
    print(f"PORT {number}", flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin
    return 0


if __name__ == "__main__":
    sys.exit(main())
