"""Lesson 1 exercises: a client you write (three echoes, a normal close), and readyState."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from wslab.clients.websocket import WebSocket, live_clients
from wslab.core.events import MessageEvent
from wslab.exercises._code import CodeExercise
from wslab.exercises._core import Exercise
from wslab.servers import serve

__all__ = ["EXERCISES"]

COLOURS = ["red", "green", "blue"]
STATES = [0, 1, 2, 3]
_STATE_NAMES = "CONNECTING (0), OPEN (1), CLOSING (2), CLOSED (3)"


def _verify_echoes(answer: Any) -> str | None:
    if isinstance(answer, str | bytes):
        return "`answer` should be a list of the three echoes, not a single message"
    if not isinstance(answer, list):
        return f"`answer` should be a list, not a {type(answer).__name__}"
    if any(isinstance(item, MessageEvent) for item in answer):
        return "put each event's `.data` in the list, not the event itself"
    if any(isinstance(item, bytes | bytearray) for item in answer):
        return "send text (`str`), not bytes: a text message comes back as text"
    if len(answer) != len(COLOURS):
        return (
            f"expected {len(COLOURS)} echoes, got {len(answer)}: "
            "did you wait for each echo before closing?"
        )
    if sorted(map(str, answer)) == sorted(COLOURS) and answer != COLOURS:
        return (
            f"the right echoes in the wrong order ({answer!r}): a WebSocket delivers "
            "messages in the order they were sent"
        )
    if answer != COLOURS:
        return f"expected the echoes of {COLOURS!r}, got {answer!r}"
    return None


def _verify_states(answer: Any) -> str | None:
    if not isinstance(answer, list | tuple):
        return "`answer` should be a list of readyState numbers, such as [0, ...]"
    for item in answer:
        if isinstance(item, bool) or not isinstance(item, int):
            return f"use the numbers 0-3 (or `ws.ready_state` values), not {item!r}: {_STATE_NAMES}"
    states = [int(item) for item in answer]
    if not states or states[0] != 0:
        return (
            "every connection starts CONNECTING (0): the constructor returns before "
            "the server has answered"
        )
    if len(set(states)) != len(states):
        return "list each state once: readyState only ever moves forward"
    if states != sorted(states):
        return "readyState only ever moves forward: 0, then 1, ..."
    if 1 in states and 3 in states and 2 not in states:
        return (
            "closing is not instant: between OPEN (1) and CLOSED (3) the connection "
            "is CLOSING (2) while the closing handshake runs"
        )
    if states != STATES:
        return f"not quite: open then close goes through {_STATE_NAMES}; you gave {states}"
    return None


async def _three_echoes(url: str) -> list[Any]:
    ws = WebSocket(url)
    await ws.wait_for("open")
    echoes = []
    for colour in ["red", "green", "blue"]:
        ws.send(colour)
        echo = await ws.wait_for("message")
        assert isinstance(echo, MessageEvent)
        echoes.append(echo.data)
    ws.close(1000)
    await ws.closed()
    return echoes


async def _trial_three_echoes(fn: Callable[[str], Awaitable[Any]]) -> str | None:
    """Run ``fn`` against a fresh echo server; the first broken rule, or None."""
    before = set(live_clients())
    server = serve("echo", name="exercise 1.1")
    left_open = False
    try:
        result = await fn(server.url)
    finally:
        # Whatever the function left open is closed here, and counted against it.
        leftovers = [ws for ws in live_clients() if ws not in before]
        left_open = bool(leftovers)
        for ws in leftovers:
            ws.close(1000, "closed after the check")
        for ws in leftovers:
            with contextlib.suppress(Exception):
                await ws.closed(timeout=5)
        # The server records a close once its side of the handshake is over.
        for _ in range(200):
            if len(server.log.entries("close")) >= len(server.log.entries("connect")):
                break
            await asyncio.sleep(0.01)
        server.stop()
    connects = server.log.entries("connect")
    if not connects:
        return "your function never opened a connection: start with `ws = WebSocket(url)`"
    if len(connects) > 1:
        return f"one connection is enough for three messages; yours opened {len(connects)}"
    sent = [e for e in server.log.entries("message") if e.direction == "in"]
    if not sent:
        return 'the server received nothing: send "red", "green" and "blue" once the socket is open'
    if any(e.binary for e in sent):
        return "send text (`str`), not bytes: a text message comes back as text"
    texts = [e.text for e in sent]
    if texts != COLOURS:
        order = " (the right ones, in the wrong order)" if sorted(texts) == sorted(COLOURS) else ""
        return f"the server received {texts!r}{order}; send exactly {COLOURS!r}, in that order"
    if result is None:
        return "your function returned nothing: `return` the list of the echoes' data"
    problem = _verify_echoes(result)
    if problem is not None:
        return problem.replace("`answer`", "what you returned")
    closes = server.log.entries("close")
    if left_open or not closes:
        return (
            "your client never closed the connection (the check closed it for you): "
            "finish with `ws.close(1000)` and `await ws.closed()`"
        )
    code = closes[0].code
    if code != 1000:
        meaning = {
            1005: "no code at all: a bare `ws.close()`",
            None: "no close frame (1006): the connection was dropped",
        }.get(code, f"code {code}")
        return f"your client closed with {meaning}; a normal close says so: `ws.close(1000)`"
    return None


EXERCISES = (
    CodeExercise(
        id="1.1",
        prompt=(
            "Write `async def three_echoes(url)`: open a WebSocket to `url`, send the texts "
            '"red", "green" and "blue", collect the data of the three echoes in the order '
            "they arrive, close the connection normally (code 1000), and return the list. "
            "`await ex.check(three_echoes)` runs it against a fresh echo server and reads "
            "the server's log."
        ),
        hints=(
            'Start with `ws = WebSocket(url)` and `await ws.wait_for("open")`: send() '
            "while CONNECTING raises InvalidStateError.",
            'Each `await ws.wait_for("message")` returns the next message event; its '
            "`.data` is the echo.",
            "A normal close is `ws.close(1000)`, then `await ws.closed()`; a bare "
            "`ws.close()` sends no code at all (the server records 1005).",
        ),
        trial=_trial_three_echoes,
        reference=_three_echoes,
    ),
    Exercise(
        id="1.2",
        prompt=(
            "Open a connection, then close it. Which readyState values does it go "
            "through, in order? Put them in a list of numbers called `answer` (collect "
            "them live if you can: a ReadyStateBadge's `states_seen` records them)."
        ),
        hints=(
            "Look at the cheatsheet: 0=Connecting, 1=Open, 2=Closing, 3=Closed.",
            "Where is the connection right after `WebSocket(url)` returns? And right "
            "after `ws.close()` returns?",
            "`badge = ReadyStateBadge(ws)` right after creating `ws`; after "
            "`await ws.closed()`, `[int(s) for s in badge.states_seen]` is the answer.",
        ),
        verify=_verify_states,
        reference=list(STATES),
        solution_code=(
            "ws = WebSocket(server.url)\n"
            "badge = ReadyStateBadge(ws)\n"
            'await ws.wait_for("open")\n'
            "ws.close()\n"
            "await ws.closed()\n"
            "answer = [int(state) for state in badge.states_seen]\n"
            "print(answer)  # [0, 1, 2, 3]"
        ),
    ),
)
