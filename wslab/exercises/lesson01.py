"""Lesson 1 exercises: echoes in order, and the readyState sequence."""

from __future__ import annotations

from typing import Any

from wslab.core.events import MessageEvent
from wslab.exercises._core import Exercise

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


EXERCISES = (
    Exercise(
        id="1.1",
        prompt=(
            "Open a connection to the echo server (`server.url`), send the three texts "
            '"red", "green" and "blue", and put the data of the echoes, in the order they '
            "arrive, in a list called `answer`. Then close the connection."
        ),
        hints=(
            "Add a 'message' listener that appends `event.data` to a list, before you send.",
            "Wait for 'open' before sending: send() while CONNECTING raises InvalidStateError.",
            "Send one colour, then `await ws.wait_for('message')`, then the next one; "
            "finish with `ws.close(1000)` and `await ws.closed()`.",
        ),
        verify=_verify_echoes,
        reference=list(COLOURS),
        solution_code=(
            "ws = WebSocket(server.url)\n"
            "answer = []\n"
            'ws.add_event_listener("message", lambda event: answer.append(event.data))\n'
            'await ws.wait_for("open")\n'
            'for colour in ["red", "green", "blue"]:\n'
            "    ws.send(colour)\n"
            '    await ws.wait_for("message")\n'
            "ws.close(1000)\n"
            "await ws.closed()\n"
            "print(answer)"
        ),
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
