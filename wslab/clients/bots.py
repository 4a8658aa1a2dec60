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
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from wslab.core.messages import dumps
from wslab.core.timescale import real_seconds
from wslab.runtime.keeper import Keeper
from wslab.runtime.loopthread import LoopThread
from wslab.state.eventlog import EventLog

__all__ = [
    "DEFAULT_BOTS",
    "DEFAULT_ROOM_BOTS",
    "Bot",
    "BotCrew",
    "RoomBot",
    "RoomBotCrew",
    "parse_step",
    "register_crew",
    "running_crews",
    "start_bots",
    "start_room_bots",
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
    """Some bots connected to one chat server, on their own loop thread.

    Each bot connects, arrives (:meth:`_arrive`: the chat's ``join``), then
    listens (:meth:`_hear`) and follows its script (:meth:`_act`) side by
    side, until the server closes the connection or the script ends: that is
    the bot leaving (:meth:`_left`). A subclass (:class:`RoomBotCrew`)
    replaces those steps; the rest is shared.
    """

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
                rooms = await self._arrive(bot, ws)
                joined.set()
                left = await self._stay(bot, ws, rooms)
            if left:
                self._left(bot)
        except (OSError, ConnectionClosed, TimeoutError) as exc:
            self.log.record("error", f"{bot.name}: {type(exc).__name__}: {exc}", peer=bot.name)
        finally:
            joined.set()  # never leave start() waiting

    async def _stay(self, bot: Bot, ws: ClientConnection, rooms: set[str]) -> bool:
        """Hear and act side by side until one ends; return whether the bot left.

        Hearing ends when the server closes the connection; acting ends when
        the script does, and then leaving the ``async with`` closes the
        connection: that is leaving.
        """
        hearing = asyncio.create_task(self._hear(bot, ws, rooms))
        acting = asyncio.create_task(self._act(bot, ws))
        try:
            done, _ = await asyncio.wait((hearing, acting), return_when=asyncio.FIRST_COMPLETED)
        finally:
            hearing.cancel()
            acting.cancel()
        # Every failure is retrieved (asyncio would report the others when the
        # tasks are collected); hearing's goes first, it says why the line broke.
        failures = [task.exception() for task in (hearing, acting) if task in done]
        for failure in failures:
            if failure is not None:
                raise failure
        return acting in done

    def _left(self, bot: Bot) -> None:
        self.log.record("leave", f"{bot.name} left", peer=bot.name)

    async def _arrive(self, bot: Bot, ws: ClientConnection) -> set[str]:
        """Come in; return the rooms the bot is in (a chat server is one room, unnamed)."""
        await ws.send(dumps({"type": "join", "name": bot.name}))
        self.log.record("join", f"{bot.name} joined", peer=bot.name)
        return set()

    async def _act(self, bot: Bot, ws: ClientConnection) -> None:
        """Say the lines over and over: a chat bot never leaves by itself."""
        await asyncio.sleep(real_seconds(bot.first))
        for line in itertools.cycle(bot.lines):
            await ws.send(dumps({"type": "chat", "text": line}))
            self.log.record("say", line, peer=bot.name)
            await asyncio.sleep(real_seconds(bot.every))
        await asyncio.Event().wait()  # nothing to say: listen on

    async def _hear(self, bot: Bot, ws: ClientConnection, rooms: set[str]) -> None:
        """Answer who mentions the bot, until the server closes the connection."""
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


def parse_step(step: str) -> tuple[str, str, str]:
    """Split a bot's script line into ``(verb, room, text)``.

    A line is ``"join <room>"``, ``"leave <room>"`` or ``"say <room> <text>"``;
    room names never contain spaces, so the first two spaces split it.

    Raises:
        ValueError: for an unknown verb, a missing room, or a ``say`` with no text.
    """
    verb, _, rest = step.partition(" ")
    room, _, text = rest.partition(" ")
    if verb not in ("join", "leave", "say") or not room:
        raise ValueError(
            f"a bot step is 'join <room>', 'leave <room>' or 'say <room> <text>', not {step!r}"
        )
    if (verb == "say") != bool(text):
        raise ValueError(f"only 'say' takes a text: {step!r}")
    return verb, room, text


@dataclass(frozen=True)
class RoomBot(Bot):
    """A scripted member of the rooms server.

    Attributes:
        name: its display name (sent in ``hello``).
        lines: its script, one step every ``every`` nominal seconds, over and
            over: ``"join <room>"``, ``"leave <room>"`` or ``"say <room> <text>"``.
        every: nominal seconds between steps.
        first: nominal seconds before the first step.
        rooms: the rooms it joins at once, before its script starts.
        leave_after: after this many ``say`` steps the bot closes its
            connection and leaves; 0, never.
    """

    rooms: tuple[str, ...] = ()
    leave_after: int = 0

    def __post_init__(self) -> None:
        for step in self.lines:
            parse_step(step)  # a typo in a script should fail here, not on a bot thread


class RoomBotCrew(BotCrew):
    """Some :class:`RoomBot` members of one rooms server, on their own loop thread.

    Kept with the chat bots (``wslab.clients.bots``), so :func:`wslab.stop_bots`
    stops them too and a crew started again under the same key replaces the
    earlier one. Each bot says hello, joins its rooms, then plays its script
    while it listens, until the server closes its connection or, with
    ``leave_after``, it leaves.

    Attributes:
        said: messages the bots sent so far (read from any thread).
        gone: names of the bots that left after their ``leave_after`` messages.
    """

    def __init__(self, key: str, url: str, bots: Sequence[Bot]) -> None:
        super().__init__(key, url, bots)
        self.said = 0
        self.gone: list[str] = []
        # The bots count on the crew's thread; a notebook cell reads on its own.
        self._lock = threading.Lock()

    def start(self, timeout: float = 10.0) -> RoomBotCrew:
        """Connect every bot; return once each is in its first rooms."""
        super().start(timeout)
        return self

    def _left(self, bot: Bot) -> None:
        with self._lock:
            self.gone.append(bot.name)
        super()._left(bot)

    async def _arrive(self, bot: Bot, ws: ClientConnection) -> set[str]:
        assert isinstance(bot, RoomBot)
        # hello first, and only once it is welcome the joins: a hello refused
        # as name-taken (the crew this one replaces may not have left yet) is
        # sent again, and a join before the welcome would fix the name as "#n".
        for _ in range(40):
            await ws.send(dumps({"type": "hello", "name": bot.name}))
            answer = await self._next(ws, ("welcome", "error"))
            if answer["type"] == "welcome":
                break
            await asyncio.sleep(0.05)
        else:
            raise ConnectionError(f"the name {bot.name!r} stayed taken")
        for room in bot.rooms:
            await ws.send(dumps({"type": "join", "room": room}))
            await self._next(ws, ("joined",))
            self.log.record("join", f"{bot.name} joined {room}", peer=bot.name)
        return set(bot.rooms)

    @staticmethod
    async def _next(ws: ClientConnection, kinds: tuple[str, ...]) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            while True:
                msg: dict[str, Any] = json.loads(await ws.recv())
                if msg.get("type") in kinds:
                    return msg

        return await asyncio.wait_for(read(), 10.0)

    async def _act(self, bot: Bot, ws: ClientConnection) -> None:
        """Play the script over and over; return only when the bot leaves."""
        assert isinstance(bot, RoomBot)
        await asyncio.sleep(real_seconds(bot.first))
        sent = 0
        for step in itertools.cycle(bot.lines):
            verb, room, text = parse_step(step)
            if verb == "say":
                await ws.send(dumps({"type": "message", "room": room, "text": text}))
                self.log.record("say", f"{room}: {text}", peer=bot.name)
                sent += 1
                with self._lock:
                    self.said += 1
                if bot.leave_after and sent >= bot.leave_after:
                    return
            else:
                await ws.send(dumps({"type": verb, "room": room}))
                self.log.record(verb, f"{bot.name} {verb}s {room}", peer=bot.name)
            await asyncio.sleep(real_seconds(bot.every))
        # An empty script: nothing to say, and returning would mean leaving.
        await asyncio.Event().wait()

    async def _hear(self, bot: Bot, ws: ClientConnection, rooms: set[str]) -> None:
        names = {b.name for b in self.bots}
        async for raw in ws:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            kind = msg.get("type")
            if kind == "joined":
                rooms.add(msg["room"])
            elif kind == "left":
                rooms.discard(msg["room"])
            elif (
                kind == "message"
                # Bots answer people, not each other: no endless loops.
                and msg.get("from") not in names
                and bot.name.casefold() in str(msg.get("text", "")).casefold()
            ):
                await asyncio.sleep(real_seconds(0.5))
                room = msg["room"]
                yours = ", ".join(sorted(rooms))
                reply = f"@{msg['from']} you called? I heard you in {room}; I'm in {yours}."
                await ws.send(dumps({"type": "message", "room": room, "text": reply}))
                self.log.record("say", f"{room}: {reply}", peer=bot.name)


DEFAULT_ROOM_BOTS: tuple[RoomBot, ...] = (
    RoomBot(
        "Ada",
        (
            "say general Hi all! Anyone else on lesson 7?",
            "join random",
            "say random Psst, it's quieter in here.",
            "leave random",
            "say general Say my name in a room I'm in, and I'll answer.",
        ),
        every=3.0,
        first=0.5,
        rooms=("general",),
    ),
    RoomBot(
        "Grace",
        (
            "say general A room is just a Map of Sets on the server.",
            "say help Ask me anything about rooms.",
            "say general Leave a room and you stop hearing it.",
        ),
        every=4.0,
        first=1.0,
        rooms=("general", "help"),
    ),
    RoomBot(
        "Linus",
        (
            "say random Nobody in general can hear this.",
            "leave random",
            "join random",
        ),
        every=3.5,
        first=1.5,
        rooms=("random",),
    ),
)


def start_room_bots(
    url: str, bots: Sequence[RoomBot] = DEFAULT_ROOM_BOTS, *, key: str = "room-bots"
) -> RoomBotCrew:
    """Start bots on the rooms server at ``url``, replacing any crew under ``key``.

    Returns once every bot has said hello and joined its first rooms. The
    crew runs on a thread named ``wslab-<key>``; stop it with ``crew.stop()``
    or :func:`wslab.stop_bots`.
    """
    stop_bots(key)
    # One registry for every crew: stop_bots() and the course's "nothing left
    # behind" checks then see room bots too.
    return register_crew(RoomBotCrew(key, url, bots).start())
