"""Lesson 2 exercises: the order listeners run in, and collecting messages with ``async for``."""

from __future__ import annotations

from typing import Any

from wslab.exercises._core import Exercise

__all__ = ["EXERCISES", "LISTENER_SETUP", "MESSAGES"]

#: The code of exercise 2.1. The notebook's course check runs exactly this
#: text against a real client, so the reference answer cannot drift from it.
LISTENER_SETUP = """\
order = []

def log_it(event):
    order.append("log")

def show(event):
    order.append("show")

def count(event):
    order.append("count")

def alert(event):
    order.append("alert")

ws.add_event_listener("message", log_it)
ws.onmessage = show
ws.add_event_listener("message", count)
ws.add_event_listener("message", log_it)
ws.onmessage = alert
ws.add_event_listener("message", show)
ws.remove_event_listener("message", count)
"""

_ORDER = ["log", "alert", "show"]

#: What exercise 2.2 sends to the echo server, in this order.
MESSAGES: tuple[str | bytes, ...] = ("red", "green", b"\x00\xff", "blue", "yellow")

_FIRST_THREE = list(MESSAGES[:3])


def _verify_order(answer: Any) -> str | None:
    if not isinstance(answer, list | tuple) or not all(isinstance(x, str) for x in answer):
        return 'answer with a list of names, in the order they run, such as ["log", "show"]'
    names = list(answer)
    if names == _ORDER:
        return None
    if "count" in names:
        return "`count` was removed with remove_event_listener before the message arrived"
    if names.count("log") > 1:
        return "adding the same function twice has no effect: `log_it` runs only once"
    if "alert" not in names:
        return "`alert` is the onmessage handler when the message arrives: it runs"
    if "show" not in names:
        return (
            "`show` was added again with add_event_listener at the end: that is a listener "
            "of its own, apart from the onmessage slot, so it runs"
        )
    if names.count("show") > 1:
        return "`show` runs once: as onmessage it was replaced by `alert`"
    if names.index("alert") > names.index("show"):
        return (
            "assigning onmessage again replaces the handler in its place: `alert` runs "
            "where `show` was first set, before the listeners added later"
        )
    if names.index("alert") < names.index("log"):
        return "`log_it` was added before onmessage was first set, so it runs first"
    return "not that order: which listeners are in the list, and where? Try ex.hint()"


def _verify_first_three(answer: Any) -> str | None:
    if not isinstance(answer, list):
        return "answer with a list of the messages you received"
    if len(answer) > 3:
        return f"you collected {len(answer)} messages: `break` out of the loop after the 3rd"
    if len(answer) < 3:
        return f"only {len(answer)} message(s): keep looping until you have 3"
    if answer == _FIRST_THREE:
        return None
    if answer[:2] == _FIRST_THREE[:2] and not isinstance(answer[2], bytes):
        return "the 3rd message is binary: the echo server sends bytes back as bytes"
    if sorted(map(repr, answer)) == sorted(map(repr, _FIRST_THREE)):
        return "the right messages in the wrong order: the echo keeps the order you sent"
    return "those are not the first 3 echoes: send every message of MESSAGES, then read 3"


EXERCISES = (
    Exercise(
        id="2.1",
        prompt=(
            "Predict the order. After this code, one message arrives on `ws`. "
            "What is `order` then? Answer with a list of strings.\n\n" + LISTENER_SETUP
        ),
        hints=(
            "Go line by line and keep a list of what is registered for 'message'. "
            "onmessage takes one place in that list, the first time it is set.",
            "Adding log_it a second time changes nothing. Assigning onmessage a second time "
            "swaps the function in the same place. remove_event_listener takes count out.",
            "The list ends up as: log_it, the onmessage slot (now alert), show.",
        ),
        verify=_verify_order,
        reference=_ORDER,
        solution_code='answer = ["log", "alert", "show"]',
    ),
    Exercise(
        id="2.2",
        prompt=(
            "With websockets' asyncio API, connect to the echo server, send every message of "
            "`MESSAGES` in order, then use `async for` to collect the first 3 messages it "
            "echoes back, and stop. `answer` is the list of those 3 messages.\n\n"
            f"MESSAGES = {list(MESSAGES)!r}"
        ),
        hints=(
            "`async with connect(server.url) as conn:` then `await conn.send(m)` for each m.",
            "Inside the `async with`: `async for message in conn:` append to a list, and "
            "`break` when the list has 3 items.",
            "The echo server sends a binary message back as bytes: keep it as bytes.",
        ),
        verify=_verify_first_three,
        reference=_FIRST_THREE,
        solution_code=(
            "answer = []\n"
            "async with connect(server.url) as conn:\n"
            "    for m in MESSAGES:\n"
            "        await conn.send(m)\n"
            "    async for message in conn:\n"
            "        answer.append(message)\n"
            "        if len(answer) == 3:\n"
            "            break"
        ),
    ),
)
