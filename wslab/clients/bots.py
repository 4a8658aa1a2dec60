"""Bot clients, so that one student alone still sees a live chat room.

Each bot is a real WebSocket client (websockets' asyncio API) on a thread and
loop of its own: it joins the chat server, says its lines every few nominal
seconds, and answers anyone who mentions its name. Bots are kept by key like
servers are: starting them again replaces the earlier crew.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from wslab.core.eventlog import EventLog
from wslab.core.messages import dumps
from wslab.core.timescale import real_seconds
from wslab.runtime.keeper import Keeper
from wslab.runtime.loopthread import LoopThread

__all__ = [
    "DEFAULT_BOTS",
    "Bot",
    "BotCrew",
    "register_crew",
    "running_crews",
    "start_bots",
    "stop_bots",
]


@dataclass(frozen=True)
class Bot:
    """A scripted chat participant.

    Attributes:
        name: its display name.
        lines: what it says, one line every ``every`` nominal seconds, over and
            over (a student who reads slowly should still find a live room).
        every: nominal seconds between lines.
        first: nominal seconds before its first line.
    """

    name: str
    lines: tuple[str, ...]
    every: float = 4.0
    first: float = 1.0


DEFAULT_BOTS: tuple[Bot, ...] = (
    Bot(
        "Ada",
        (
            "Hi all! Anyone else on lesson 4?",
            "WebSockets keep the line open, nice.",
            "Say my name and I'll answer.",
        ),
        every=5.0,
        first=0.5,
    ),
    Bot(
        "Grace",
        (
            "Hello from the other side of the socket!",
            "Messages here arrive without a refresh.",
            "Try closing your connection: I'll see you leave.",
        ),
        every=6.0,
        first=1.5,
    ),
)


class BotCrew:
    """Some bots connected to one chat server, on their own loop thread."""

    def __init__(self, key: str, url: str, bots: Sequence[Bot]) -> None:
        self.key = key
        self.url = url
        self.bots = tuple(bots)
        self.log = EventLog()
        self._thread = LoopThread(
            f"wslab-{key}",
            on_exception=lambda ctx: self.log.record("error", str(ctx.get("message"))),
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = False

    def start(self, timeout: float = 10.0) -> BotCrew:
        """Connect every bot; return once all have joined."""
        self._thread.start()
        self._thread.run(self._start(), timeout)
        return self

    async def _start(self) -> None:
        joined = [asyncio.Event() for _ in self.bots]
        self._tasks = [
            asyncio.create_task(self._live(bot, done))
            for bot, done in zip(self.bots, joined, strict=True)
        ]
        await asyncio.gather(*(done.wait() for done in joined))

    async def _live(self, bot: Bot, joined: asyncio.Event) -> None:
        try:
            async with connect(self.url, compression=None, proxy=None, close_timeout=1) as ws:
                await ws.send(dumps({"type": "join", "name": bot.name}))
                self.log.record("join", f"{bot.name} joined", peer=bot.name)
                joined.set()
                talker = asyncio.create_task(self._talk(bot, ws))
                try:
                    await self._listen(bot, ws)
                finally:
                    talker.cancel()
        except (OSError, ConnectionClosed) as exc:
            self.log.record("error", f"{bot.name}: {type(exc).__name__}: {exc}", peer=bot.name)
        finally:
            joined.set()  # never leave start() waiting

    async def _talk(self, bot: Bot, ws: ClientConnection) -> None:
        await asyncio.sleep(real_seconds(bot.first))
        for line in itertools.cycle(bot.lines):
            await ws.send(dumps({"type": "chat", "text": line}))
            self.log.record("say", line, peer=bot.name)
            await asyncio.sleep(real_seconds(bot.every))

    async def _listen(self, bot: Bot, ws: ClientConnection) -> None:
        retries = 40
        async for raw in ws:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if msg.get("type") == "error" and msg.get("error") == "name-taken" and retries:
                # The crew this one replaces may not have left yet: its close
                # frames are answered before the server's roster forgets them.
                retries -= 1
                await asyncio.sleep(0.05)
                await ws.send(dumps({"type": "join", "name": bot.name}))
                continue
            if msg.get("type") != "chat" or msg.get("from") in {b.name for b in self.bots}:
                continue  # bots answer people, not each other: no endless loops
            if bot.name.casefold() in str(msg.get("text", "")).casefold():
                await asyncio.sleep(real_seconds(0.5))
                reply = f"@{msg['from']} you called? I'm a bot, but I'm listening."
                await ws.send(dumps({"type": "chat", "text": reply}))
                self.log.record("say", reply, peer=bot.name)

    def stop(self) -> None:
        """Close every bot's connection and end the thread. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._thread.stop()
        _kept.forget(self.key, self)

    @property
    def running(self) -> bool:
        return not self._stopped and self._thread.alive


_kept: Keeper[BotCrew] = Keeper()
CrewT = TypeVar("CrewT", bound=BotCrew)


def start_bots(url: str, bots: Sequence[Bot] = DEFAULT_BOTS, *, key: str = "bots") -> BotCrew:
    """Start bots in the chat at ``url``, replacing any earlier crew under ``key``."""
    return _kept.replace(key, lambda: BotCrew(key, url, bots).start())


def register_crew(crew: CrewT) -> CrewT:
    """Keep a started crew (of any :class:`BotCrew` subclass) under its key.

    Kept crews are stopped by :func:`stop_bots` and at interpreter exit. A
    lesson with bots of its own (lesson 7's room bots) registers them here,
    after ``stop_bots(key)``.
    """
    _kept.keep(crew.key, crew)
    return crew


def running_crews() -> dict[str, BotCrew]:
    """The crews started and not stopped yet, by key."""
    return _kept.items()


def stop_bots(key: str | None = None) -> None:
    """Stop the crew under ``key``, or every crew."""
    if key is None:
        _kept.stop_all()
    else:
        _kept.stop(key)
