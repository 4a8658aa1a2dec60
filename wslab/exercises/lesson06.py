"""Lesson 6 exercises: who a broadcast reaches, and what the OPEN check is for.

The notebook runs the ``broadcast`` server in "others" mode; the student can
check an answer live with browser-shaped clients and ``server.app.deliver``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from wslab.exercises._core import Exercise

__all__ = ["EXERCISES"]

_NAMES = ("Ada", "Bob", "Cy", "Dee")


def _names(answer: Any) -> set[str] | str:
    """The answer as a set of known names, or what is wrong with its shape."""
    if isinstance(answer, str) or not isinstance(answer, Collection):
        return 'answer with a set of names, such as {"Ada", "Bob"} (an empty set is set())'
    if isinstance(answer, dict):
        return "answer with a set of names, not a dict"
    if not all(isinstance(name, str) for name in answer):
        return 'every entry should be a name (a string), such as "Ada"'
    canonical = {name.casefold(): name for name in _NAMES}
    names: set[str] = set()
    for name in answer:
        key = name.strip().casefold()
        if key not in canonical:
            return f"there is nobody called {name!r}: the clients are {', '.join(_NAMES)}"
        names.add(canonical[key])
    return names


# --- 6.1: who gets it in "others only" mode -------------------------------------------


def _verify_others(answer: Any) -> str | None:
    names = _names(answer)
    if isinstance(names, str):
        return names
    if "Bob" in names:
        return (
            "Bob sent it: in 'others only' mode the server skips the sender "
            "(his own page shows his message the moment he sends it)"
        )
    if "Dee" in names:
        return (
            "Dee has closed her connection: it is not OPEN, so the server skips her "
            "(sending to her would fail)"
        )
    missing = sorted({"Ada", "Cy"} - names)
    if missing:
        return f"{' and '.join(missing)} should get it: connected, OPEN, and not the sender"
    return None


_SOLUTION_61 = """\
# Try it: four clients (the lesson's join() helper), Dee leaves, Bob sends.
trial = ClientBoard(title="exercise 6.1")
display(trial)
people = {}
for name in ["Ada", "Bob", "Cy", "Dee"]:   # one after the other
    people[name] = await join(name, trial)
people["Dee"].close()
await people["Dee"].closed()
people["Bob"].send("lunch?")
await asyncio.sleep(real_seconds(0.5))   # a moment for the messages to arrive
answer = {name for name in people if "lunch?" in trial.received(name)}
for ws in people.values():
    ws.close()
ex.check(answer)"""


# --- 6.2: the naive loop and a closed connection ------------------------------------------


def _verify_naive(answer: Any) -> str | None:
    names = _names(answer)
    if isinstance(names, str):
        return names
    if "Bob" in names:
        return "Bob is CLOSED: sending to him raises ConnectionClosed, nothing is delivered"
    if names == {"Cy", "Ada"}:
        return (
            "that is what the loop WITH the OPEN check (or broadcast()) does; without it, "
            "what happens to the loop when the send to Bob raises?"
        )
    if names == {"Ada"}:
        return "the loop goes through the list in its order: who comes first in [Cy, Bob, Ada]?"
    if "Ada" in names:
        return "Ada comes after Bob in the list: does the loop ever reach her?"
    if not names:
        return "Cy comes before Bob in the list: her send happens before anything goes wrong"
    if "Dee" in names:
        return "Dee is not in this list at all"
    return None


_SOLUTION_62 = """\
# Try it: Cy, Bob and Ada connect in that order; the server's list is taken; Bob leaves.
trial = ClientBoard(title="exercise 6.2")
display(trial)
people = {}
for name in ["Cy", "Bob", "Ada"]:   # one after the other
    people[name] = await join(name, trial)
by_id = {server.app.peer_of(c): c for c in server.call(server.app.snapshot())}
stale = [by_id[peer_of[people[name]]] for name in ["Cy", "Bob", "Ada"]]
people["Bob"].close()
await people["Bob"].closed()
await wait_until(lambda: stale[1].state.name == "CLOSED", what="the server to see Bob go")
try:
    server.call(server.app.deliver(stale, "ping", how="naive"))
except ConnectionClosed as exc:
    print("the naive loop raised", type(exc).__name__)
server.call(server.app.deliver(stale, "pong", how="checked"))   # a marker: it reaches Cy and Ada
await wait_until(lambda: "pong" in trial.received("Ada"), what="the marker")
answer = {name for name in people if "ping" in trial.received(name)}
for ws in people.values():
    ws.close()
ex.check(answer)"""


EXERCISES = (
    Exercise(
        id="6.1",
        prompt=(
            'The broadcast server is in "others" mode. Ada, Bob, Cy and Dee are connected; '
            'then Dee closes her connection. Now Bob sends "lunch?". Who receives '
            '{"type": "broadcast", "text": "lunch?"}? Set answer to a set of names, '
            'such as {"Ada"}.'
        ),
        hints=(
            "Two checks decide, for each client: is it the sender? Is it OPEN?",
            "'Others only' skips the sender; the OPEN check skips anyone CONNECTING, "
            "CLOSING or CLOSED, in either mode.",
            "Try it: four WebSocket clients on server.url, close Dee, let Bob send, and "
            "look at a ClientBoard of the four.",
        ),
        verify=_verify_others,
        reference={"Ada", "Cy"},
        solution_code=_SOLUTION_61,
    ),
    Exercise(
        id="6.2",
        prompt=(
            "A server took a list of its clients a moment ago, in the order [Cy, Bob, Ada]. "
            "Since then Bob has closed his connection. Now it sends a message with the naive "
            "loop `for client in clients: await client.send(msg)`: no OPEN check, and "
            "nothing catches an exception. Who receives the message? Set answer to a set "
            'of names, such as {"Ada"}.'
        ),
        hints=(
            "The loop visits the list in its order: Cy, then Bob, then Ada.",
            "In Python's websockets, send() on a closed connection raises ConnectionClosed. "
            "Nothing catches it: what happens to the rest of the loop?",
            'Try it with server.app.deliver(connections, text, how="naive"), as in the '
            "lesson, on a list in the order Cy, Bob, Ada.",
        ),
        verify=_verify_naive,
        reference={"Cy"},
        solution_code=_SOLUTION_62,
    ),
)
