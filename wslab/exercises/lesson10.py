"""Lesson 10 exercises: how many chunks a file takes, and the name a hostile one is stored under.

The notebook runs the ``files`` server; the student can check both answers live
with a :class:`~wslab.clients.files.FileClient`.
"""

from __future__ import annotations

from typing import Any

from wslab.core.files import CHUNK_SIZE, chunk_count
from wslab.exercises._core import Exercise

__all__ = ["EXERCISES", "HOSTILE_NAME", "PHOTO_SIZE"]

#: Exercise 10.1: the size of the photo, in bytes.
PHOTO_SIZE = 200_000
#: Exercise 10.2: the name a client declares for a text file.
HOSTILE_NAME = "../../home/ada/.bashrc"


# --- 10.1: how many chunks? ---------------------------------------------------------------


def _verify_chunks(answer: Any) -> str | None:
    if isinstance(answer, bool) or not isinstance(answer, int | float):
        return "answer with a number of binary messages, such as 3"
    if isinstance(answer, float) and not answer.is_integer():
        return (
            f"{answer} messages? A message is sent whole or not at all: round the "
            "division to a whole number (which way?)"
        )
    count = int(answer)
    right = chunk_count(PHOTO_SIZE)
    if count == right:
        return None
    if count == PHOTO_SIZE // CHUNK_SIZE:
        left = PHOTO_SIZE - count * CHUNK_SIZE
        return (
            f"{count} full chunks carry {count * CHUNK_SIZE:,} bytes: the last "
            f"{left:,} bytes still need a message of their own"
        )
    return f"not {count}: divide {PHOTO_SIZE:,} by the chunk size, {CHUNK_SIZE:,} bytes"


_SOLUTION_101 = """\
from wslab.core.files import CHUNK_SIZE, chunk_count
answer = -(-200_000 // CHUNK_SIZE)     # ceiling division: 3 full chunks and a short one
assert answer == chunk_count(200_000)
ex.check(answer)"""


# --- 10.2: the stored name ------------------------------------------------------------------


def _verify_name(answer: Any) -> str | None:
    if not isinstance(answer, str):
        return 'answer with the stored name, a string such as "notes.txt"'
    if answer == "bashrc.txt":
        return None
    if "/" in answer or "\\" in answer:
        return "a stored name is never a path: only the part after the last slash is kept"
    if answer.startswith("."):
        return "a leading dot would make a hidden file: leading dots are removed"
    if answer in ("bashrc", "bashrc.bashrc"):
        return "the name has no extension left: which one does a text/plain file get?"
    if answer.startswith("bashrc ("):
        return "the server had no file of that name yet, so no (1) is needed"
    return f"not {answer!r}: follow the sanitizing steps one by one from the declared name"


_SOLUTION_102 = """\
files = FileClient(server.url)
await files.opened()
saved = await files.upload(b"alias ll='ls -l'\\n", "../../home/ada/.bashrc", "text/plain")
await files.close()
answer = saved["name"]       # or: sanitize_filename("../../home/ada/.bashrc", "text/plain")
ex.check(answer)"""


EXERCISES = (
    Exercise(
        id="10.1",
        prompt=(
            f"A photo of {PHOTO_SIZE:,} bytes is uploaded in 64 KiB chunks. How many binary "
            "messages carry it? Set answer to that number."
        ),
        hints=(
            f"64 KiB is 64 * 1024 = {CHUNK_SIZE:,} bytes.",
            f"{PHOTO_SIZE:,} / {CHUNK_SIZE:,} is not a whole number: what happens to the "
            "bytes left over after the full chunks?",
            "Ceiling division in Python: -(-size // chunk) or math.ceil(size / chunk). "
            "Or ask wslab: chunk_count(200_000).",
        ),
        verify=_verify_chunks,
        reference=chunk_count(PHOTO_SIZE),
        solution_code=_SOLUTION_101,
    ),
    Exercise(
        id="10.2",
        prompt=(
            f"A client uploads a text file (mime text/plain) declaring the name "
            f"{HOSTILE_NAME!r}. No file of that name is stored yet. Under which name does "
            "the server store it? Set answer to that string."
        ),
        hints=(
            "Only the last part of a path is kept: everything up to the last / goes.",
            "A leading dot would make a hidden file, so leading dots go too.",
            "What is left has no extension: the server adds the one of the file's type. "
            'Check yourself: sanitize_filename("../../home/ada/.bashrc", "text/plain"), or '
            "upload it and read the saved reply.",
        ),
        verify=_verify_name,
        reference="bashrc.txt",
        solution_code=_SOLUTION_102,
    ),
)
