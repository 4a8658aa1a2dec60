"""Lesson 4 exercises: the live chat's protocol, from a client of your own.

The notebook runs the ``chat`` server with the bots Ada and Grace, and the
student's own ``ChatSession`` named "You".
"""

from __future__ import annotations

from typing import Any

from wslab.exercises._core import Exercise

__all__ = ["EXERCISES"]

#: The default bots (wslab.clients.bots.DEFAULT_BOTS), online for the whole lesson.
_BOTS = ("Ada", "Grace")

#: Every error code the chat server can answer (wslab.core.messages and servers/chat.py).
_CHAT_ERRORS = (
    "binary-not-supported",
    "invalid-json",
    "invalid-shape",
    "missing-type",
    "unknown-type",
    "not-joined",
    "already-joined",
    "name-taken",
    "invalid-name",
    "invalid-field",
)


# --- 4.1: the "online" list of your welcome ---------------------------------------


def _verify_online(answer: Any) -> str | None:
    if isinstance(answer, str) or not isinstance(answer, list | tuple):
        return 'answer with the list of names from your welcome: welcome["online"]'
    if not all(isinstance(name, str) for name in answer):
        return "every entry of the list should be a name (a string)"
    if "Student2" not in answer:
        return (
            'Student2 is not in it: join as "Student2" and take the list from the '
            '"welcome" message, which is sent to you once you are in'
        )
    missing = [bot for bot in _BOTS if bot not in answer]
    if missing:
        return (
            f"{' and '.join(missing)} should be online too: are the bots still running "
            "(start_bots(server.url))?"
        )
    if len(set(answer)) != len(answer):
        return "a name appears twice: the server never lets two people share a name"
    if answer[-1] != "Student2":
        return "the list is in joining order, so the newest (Student2) comes last"
    return None


_SOLUTION_41 = """\
async with connect(server.url, proxy=None) as ws:
    await ws.send(json.dumps({"type": "join", "name": "Student2"}))
    welcome = await receive(ws, "welcome")   # skips any bot chatter in between
    await ws.send(json.dumps({"type": "chat", "text": "Hi, Student2 here!"}))
answer = welcome["online"]
ex.check(answer)"""


# --- 4.2: which error code? ---------------------------------------------------------


def _verify_error_code(answer: Any) -> str | None:
    if not isinstance(answer, str):
        return 'answer with the error code as a string, such as "invalid-json"'
    code = answer.strip().strip("\"'").casefold()
    if code == "name-taken":
        return None
    if code not in _CHAT_ERRORS:
        return (
            f"the chat server has no error code {answer!r}; "
            f"its codes are: {', '.join(_CHAT_ERRORS)}"
        )
    if code == "invalid-name":
        return '"ada" is a fine name on its own (three plain letters): what does it clash with?'
    if code in ("not-joined", "already-joined"):
        return "this connection is joining right now, for the first time: look at the name"
    return f"not {code!r}: the message is valid JSON with a known type; look at the name"


_SOLUTION_42 = """\
async with connect(server.url, proxy=None) as ws:
    await ws.send(json.dumps({"type": "join", "name": "ada"}))
    reply = await receive(ws, "error")
print(reply)
answer = reply["error"]   # names compare ignoring case: "ada" is Ada's name
ex.check(answer)"""


EXERCISES = (
    Exercise(
        id="4.1",
        prompt=(
            "With websockets' asyncio API (async with connect(server.url) as ws:), join the "
            'chat as "Student2", wait for your "welcome", send one chat message, and set '
            'answer to the "online" list your welcome carried.'
        ),
        hints=(
            'Send json.dumps({"type": "join", "name": "Student2"}), then read messages '
            'with json.loads(await ws.recv()) until one has "type": "welcome".',
            "The bots may talk in between: skip the messages that are not the welcome. "
            'This lesson\'s helper does that, with a time limit: await receive(ws, "welcome").',
            'Then await ws.send(json.dumps({"type": "chat", "text": "Hi!"})) and '
            'answer = welcome["online"].',
        ),
        verify=_verify_online,
        reference=["Ada", "Grace", "You", "Student2"],
        solution_code=_SOLUTION_41,
    ),
    Exercise(
        id="4.2",
        prompt=(
            "A brand-new connection (it has not joined yet) sends "
            '{"type": "join", "name": "ada"} while the bot Ada is online. Which "error" '
            'code does the server answer? Set answer to that string (such as "invalid-json").'
        ),
        hints=(
            "The message is valid JSON, its type is known, and this connection has not "
            "joined before. So look at the name.",
            'Would readers of a chat tell "Ada" and "ada" apart? The roster compares names '
            "with str.casefold().",
            'Try it: open a connection, send the message, and print(await receive(ws, "error")).',
        ),
        verify=_verify_error_code,
        reference="name-taken",
        solution_code=_SOLUTION_42,
    ),
)
