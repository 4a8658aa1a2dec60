"""Lesson 7 exercises: who hears a room message, and which room names the server takes.

The notebook runs the ``rooms`` server; both exercises can be answered by
reasoning from the lesson's rules, and checked against the live server.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from wslab.core.messages import MessageError
from wslab.core.rooms import is_valid_room_name, validate_room_name
from wslab.exercises._core import Exercise
from wslab.state.rooms import Rooms

__all__ = ["CANDIDATES", "EXERCISES", "STORY", "receivers"]


# --- 7.1: who receives a room message? --------------------------------------------------

#: Who sends what, in order. The last message is the one the exercise asks about.
STORY: tuple[tuple[str, dict[str, str]], ...] = (
    ("Kim", {"type": "join", "room": "general"}),
    ("Kim", {"type": "join", "room": "games"}),
    ("Lee", {"type": "join", "room": "general"}),
    ("Max", {"type": "join", "room": "games"}),
    ("Max", {"type": "join", "room": "random"}),
    ("Noa", {"type": "join", "room": "games"}),
    ("Noa", {"type": "leave", "room": "games"}),
    ("Oli", {"type": "join", "room": "Games"}),
    ("Kim", {"type": "message", "room": "games", "text": "gg!"}),
)


def receivers(story: Sequence[tuple[str, dict[str, str]]]) -> set[str]:
    """Who receives the story's last message, by the rooms server's rules.

    Plays the story on a :class:`~wslab.state.rooms.Rooms` registry of names: room
    names are validated (and so lowercased), and a room message reaches the
    room's members except its sender.

    Raises:
        ValueError: if the last step is not a message from a member of the room.
    """
    rooms: Rooms[str] = Rooms()
    for who, message in story[:-1]:
        room = validate_room_name(message["room"])
        if message["type"] == "join":
            rooms.join(who, room)
        elif message["type"] == "leave":
            rooms.leave(who, room)
    sender, last = story[-1]
    room = validate_room_name(last["room"])
    if last["type"] != "message" or not rooms.is_member(sender, room):
        raise ValueError("the story must end with a message from a member of the room")
    return {name for name in rooms.members(room) if name != sender}


def _story_text() -> str:
    return "\n".join(f"    {who}: {json.dumps(message)}" for who, message in STORY)


def _verify_receivers(answer: Any) -> str | None:
    if isinstance(answer, str) or not isinstance(answer, set | frozenset | list | tuple):
        return 'answer with a set of names, such as {"Kim", "Lee"}'
    if not all(isinstance(name, str) for name in answer):
        return "every entry should be a name (a string), such as 'Kim'"
    names = set(answer)
    everyone = {who for who, _ in STORY}
    strangers = sorted(names - everyone)
    if strangers:
        return f"{', '.join(strangers)} is not in the story; its people are {sorted(everyone)}"
    if "Kim" in names:
        return "Kim sent the message: the server does not send it back to its sender"
    if "Noa" in names:
        return "Noa left games before Kim's message: leaving means no longer hearing the room"
    if "Lee" in names:
        return "Lee is only in general: a room message reaches that room's members only"
    if "Max" not in names:
        return "Max joined games and never left it: he hears it"
    if "Oli" not in names:
        return 'Oli joined "Games", with a capital G: what does the server do with the case?'
    return None


_SOLUTION_71 = """\
# Kim sends to games. Who is in games at that moment?
#   Kim (the sender: others only, so not Kim), Max, and Oli: "Games" is "games",
#   because the server lowercases room names. Noa left; Lee is only in general.
answer = {"Max", "Oli"}
ex.check(answer)"""


# --- 7.2: which room names are valid? -----------------------------------------------------

#: Room names a client might send. Some hide characters you cannot see.
CANDIDATES: tuple[str, ...] = (
    "general",
    "Lesson-7",
    "  general",
    "",
    "x" * 33,
    "caf\u00e9",
    "gen\u200bral",
    "my_room",
    "a" * 32,
    "room 1",
    "\u202eadmin",
    "42",
)


def _why(name: str) -> str:
    try:
        validate_room_name(name)
    except MessageError as error:
        return error.message
    return "it is valid"


def _verify_validity(answer: Any) -> str | None:
    if isinstance(answer, str) or not isinstance(answer, list | tuple):
        return "answer with a list of True/False, one for each name in CANDIDATES"
    if not all(isinstance(value, bool) for value in answer):
        return "every entry should be True or False"
    if len(answer) != len(CANDIDATES):
        return f"there are {len(CANDIDATES)} names in CANDIDATES, but your list has {len(answer)}"
    wrong = [i for i, value in enumerate(answer) if value != is_valid_room_name(CANDIDATES[i])]
    if not wrong:
        return None
    i = wrong[0]
    name = CANDIDATES[i]
    if answer[i]:
        return f"{len(wrong)} wrong; first, CANDIDATES[{i}] = {name!r} is refused: {_why(name)}"
    return (
        f"{len(wrong)} wrong; first, CANDIDATES[{i}] = {name!r} is a fine room name: "
        "1-32 characters, each a letter, a digit, '-' or '_'"
    )


_SOLUTION_72 = """\
# Ask the server itself: join each name, and see whether it answers "joined" or "error".
async with connect(server.url, proxy=None) as ws:
    answer = []
    for name in CANDIDATES:
        await ws.send(json.dumps({"type": "join", "room": name}))
        reply = await receive(ws, ("joined", "error"))   # skips the bots' chatter
        answer.append(reply["type"] == "joined")
ex.check(answer)"""


EXERCISES = (
    Exercise(
        id="7.1",
        prompt=(
            "Five clients, already named Kim, Lee, Max, Noa and Oli, send these messages "
            "to the rooms server, in this order:\n"
            f"{_story_text()}\n"
            "Who receives Kim's last message? Set answer to a set of names."
        ),
        hints=(
            "Write down each room's members after every step. Joins add a member, a "
            "leave takes one out.",
            "Room names are lowercased by the server: is 'Games' another room than 'games'?",
            "A room message goes to the room's other members: never back to the sender.",
        ),
        verify=_verify_receivers,
        reference={"Max", "Oli"},
        solution_code=_SOLUTION_71,
    ),
    Exercise(
        id="7.2",
        prompt=(
            "Which of the room names in CANDIDATES (from wslab.exercises.lesson07 import "
            "CANDIDATES) does the rooms server accept? Set answer to a list of True/False, "
            "one per name, in order."
        ),
        hints=(
            "The rule: 1 to 32 characters, each an ASCII letter, a digit, '-' or '_'. "
            "Nothing is stripped.",
            "print(repr(name)) or [hex(ord(c)) for c in name] shows the characters you cannot see.",
            'Or ask the server: send {"type": "join", "room": name} for each, and look '
            'for "joined" or "error" in the reply.',
        ),
        verify=_verify_validity,
        reference=[is_valid_room_name(name) for name in CANDIDATES],
        solution_code=_SOLUTION_72,
    ),
)
