"""Lesson 12 exercises: SSE on the wire, and choosing a transport.

The notebook runs the ``feed`` server, which publishes one stream three
ways: WebSocket, Server-Sent Events and long polling.
"""

from __future__ import annotations

from typing import Any

from wslab.core.sse import SSEParser, encode_event
from wslab.exercises._core import Exercise

__all__ = ["EXERCISES", "SCENARIOS", "TRANSPORT_NAMES"]

# --- 12.1: one event, as text on the wire ----------------------------------------------

_DATA = "server restarting\nback in 5 s"


def _verify_wire(answer: Any) -> str | None:
    if not isinstance(answer, str):
        return 'answer with the event as one string, such as "data: hello\\n\\n"'
    parser = SSEParser()
    events = parser.feed(answer)
    if not events:
        if not answer.endswith(("\n\n", "\r\n\r\n", "\r\r")):
            return "nothing was dispatched: an event ends with a blank line (end with \\n\\n)"
        return "nothing was dispatched: the event needs at least one data: line"
    if len(events) > 1:
        return (
            f"that is {len(events)} events, not one: a blank line in the middle ends the "
            "event early"
        )
    event = events[0]
    if event.data == _DATA.split("\n")[0]:
        return (
            "only the first line arrived: every line of the data needs its own data: field "
            "(a bare line is read as a field with an unknown name, and ignored)"
        )
    if event.data != _DATA:
        return f"the data arrives as {event.data!r}; it should be {_DATA!r}"
    if event.type != "status":
        return f'the event type is {event.type!r}: name it with an "event: status" line'
    if event.last_event_id != "42":
        return f'the event\'s id is {event.last_event_id!r}: give it with an "id: 42" line'
    return None


_SOLUTION_121 = """\
answer = "id: 42\\nevent: status\\ndata: server restarting\\ndata: back in 5 s\\n\\n"
# or let the library write it:
answer = encode_event("server restarting\\nback in 5 s", event="status", id=42)
ex.check(answer)"""


# --- 12.2: the decision tree -------------------------------------------------------------

#: The scenarios of exercise 12.2, in order: the text, the transport the study
#: notes' decision tree picks, and the question of the tree that decides it.
SCENARIOS: tuple[tuple[str, str, str], ...] = (
    (
        "A multiplayer game: players send their moves and receive everyone's positions "
        "many times a second, as compact binary.",
        "websocket",
        "does the client talk back, and is the data binary?",
    ),
    (
        "An AI assistant streams its answer to the page, token by token; the question "
        "itself goes in one ordinary POST.",
        "sse",
        "does the data only flow server → client?",
    ),
    (
        "A live dashboard for staff behind a corporate proxy that refuses Upgrade: "
        "websocket (like the strict proxy in this lesson).",
        "sse",
        "what gets through a proxy that refuses upgrades?",
    ),
    (
        "A team chat: everyone sends and receives messages all day.",
        "websocket",
        "does everyone talk both ways?",
    ),
    (
        "A kiosk stuck on a very old browser that has neither EventSource nor WebSocket.",
        "long polling",
        "what works without EventSource and without WebSocket?",
    ),
)

#: Accepted spellings of each transport.
TRANSPORT_NAMES = {
    "websocket": "websocket",
    "websockets": "websocket",
    "ws": "websocket",
    "sse": "sse",
    "server-sent events": "sse",
    "eventsource": "sse",
    "long polling": "long polling",
    "long-polling": "long polling",
    "longpolling": "long polling",
    "polling": "long polling",
}


def _normalise(name: Any) -> str | None:
    if not isinstance(name, str):
        return None
    return TRANSPORT_NAMES.get(" ".join(name.strip().casefold().replace("_", " ").split()))


def _verify_choices(answer: Any) -> str | None:
    if isinstance(answer, str) or not isinstance(answer, list | tuple):
        return 'answer with a list of five names, such as ["sse", "websocket", ...]'
    if len(answer) != len(SCENARIOS):
        return f"there are {len(SCENARIOS)} scenarios: give one transport for each, in order"
    for number, (given, (_text, right, why)) in enumerate(
        zip(answer, SCENARIOS, strict=True), start=1
    ):
        choice = _normalise(given)
        if choice is None:
            return (
                f"scenario {number}: {given!r} is not one of the three; "
                'use "websocket", "sse" or "long polling"'
            )
        if choice != right:
            return f"scenario {number}: not {choice}. Ask the decision tree: {why}"
    return None


_SOLUTION_122 = """\
answer = ["websocket", "sse", "sse", "websocket", "long polling"]
ex.check(answer)"""


def _prompt_122() -> str:
    lines = "\n".join(f"  {n}. {text}" for n, (text, _r, _w) in enumerate(SCENARIOS, start=1))
    return (
        "Pick a transport for each scenario with the decision tree, and set answer to a "
        'list of five names ("websocket", "sse" or "long polling"), in order:\n' + lines
    )


EXERCISES = (
    Exercise(
        id="12.1",
        prompt=(
            "The feed server wants to send an event named status, with id 42, whose data is "
            "two lines: 'server restarting' and 'back in 5 s'. Set answer to the exact text "
            "of that event on the wire (a string, with \\n for line breaks), ending with the "
            "blank line that dispatches it."
        ),
        hints=(
            'Each field is one line, "name: value". The fields you need are id, event and data.',
            "Data with two lines takes two data: lines; the client joins them with \\n.",
            "An event ends with an empty line: the text ends with \\n\\n. Check yours with "
            "parse_stream(answer).",
        ),
        verify=_verify_wire,
        reference=encode_event(_DATA, event="status", id=42),
        solution_code=_SOLUTION_121,
    ),
    Exercise(
        id="12.2",
        prompt=_prompt_122(),
        hints=(
            "Ask first: does the client need to talk back on the same connection, or send "
            "binary? Then WebSocket.",
            "Server → client only, or a proxy that blocks upgrades: SSE. Only when the "
            "browser has neither API: long polling.",
        ),
        verify=_verify_choices,
        reference=[right for _text, right, _why in SCENARIOS],
        solution_code=_SOLUTION_122,
    ),
)
