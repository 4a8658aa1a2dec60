"""``echo``: lessons 1 and 2. Every message comes back unchanged."""

from __future__ import annotations

from websockets.asyncio.server import ServerConnection

from wslab.servers.base import LessonServer

__all__ = ["EchoServer"]


class EchoServer(LessonServer):
    """Returns every text and binary message unchanged, as the same frame type."""

    name = "echo"
    lessons = (1, 2)
    summary = "returns every text and binary message unchanged"

    async def on_message(self, ws: ServerConnection, peer: str, message: str | bytes) -> None:
        await self.send(ws, message)
