"""``slow``: lesson 3. A server that takes its time, like real work does.

Requests are JSON with an ``id`` the answer repeats, so a client can match
answers to questions even when they arrive out of order::

    → {"id": 1, "type": "process", "data": "hello"}
    ← {"id": 1, "type": "result", "request": "process", "result": {"result": "hello"}, "took": 0.6}

``getUser`` → ``getOrders`` → ``getDetails`` is the seed's callback-hell
chain; a missing user or order, or ``"fail": true`` on ``process``, gives the
error path: ``{"id": 1, "type": "error", "error": "not-found", ...}``.
Each answer comes after :data:`PROCESSING_DELAY` nominal seconds, and requests
are worked on concurrently.
"""

from __future__ import annotations

import asyncio
from typing import Any

from websockets.asyncio.server import ServerConnection

from wslab.core.messages import MessageError, parse_message
from wslab.core.slow import PROCESSING_DELAY, answer
from wslab.core.timescale import real_seconds
from wslab.servers.base import LessonServer

__all__ = [
    "SlowServer",
]


class SlowServer(LessonServer):
    """Answers each request after a processing delay (600 ms nominal)."""

    name = "slow"
    lessons = (3,)
    summary = "answers each JSON request after a 600 ms processing delay"
    types = ("process", "getUser", "getOrders", "getDetails")

    def __init__(self, *args: Any, delay: float = PROCESSING_DELAY, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delay = delay
        self._work: dict[ServerConnection, set[asyncio.Task[None]]] = {}

    async def on_connect(self, ws: ServerConnection, peer: str) -> None:
        self._work[ws] = set()

    async def on_message(self, ws: ServerConnection, peer: str, message: str | bytes) -> None:
        try:
            request = parse_message(message, self.types)
        except MessageError as error:
            await self.send_error(ws, error)
            return
        # Work on each request in its own task: a slow answer must not hold up
        # the next request, which is why requests carry an id.
        task = asyncio.create_task(self._reply(ws, request))
        tasks = self._work[ws]
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _reply(self, ws: ServerConnection, request: dict[str, Any]) -> None:
        ident = request.get("id")
        await asyncio.sleep(real_seconds(self.delay))
        try:
            result = answer(request)
        except MessageError as error:
            error.extra["id"] = ident
            await self.send_error(ws, error)
            return
        await self.send_json(
            ws,
            {
                "id": ident,
                "type": "result",
                "request": request["type"],
                "result": result,
                "took": self.delay,
            },
        )

    async def on_disconnect(self, ws: ServerConnection, peer: str) -> None:
        for task in self._work.pop(ws, set()):
            task.cancel()
