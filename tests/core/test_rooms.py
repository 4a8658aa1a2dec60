"""wslab.core.rooms: the room-name rule and the limits, without any socket."""

from __future__ import annotations

import pytest

from wslab.core.messages import MessageError
from wslab.core.rooms import (
    ROOM_CHARACTERS,
    RoomEvent,
    is_valid_room_name,
    validate_room_name,
)
from wslab.exercises.lesson07 import CANDIDATES, STORY, receivers

# --- the registry ------------------------------------------------------------------------


def test_event_is_a_frozen_value() -> None:
    event = RoomEvent("join", "general", "Ada", 1)
    assert event == RoomEvent("join", "general", "Ada", 1)
    with pytest.raises(AttributeError):
        event.room = "random"  # type: ignore[misc]


# --- room names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("general", "general"),
        ("General", "general"),
        ("LESSON-7", "lesson-7"),
        ("my_room", "my_room"),
        ("42", "42"),
        ("-", "-"),
        ("a" * 32, "a" * 32),
    ],
)
def test_valid_room_names(name: str, canonical: str) -> None:
    assert validate_room_name(name) == canonical
    assert is_valid_room_name(name)


ALLOWED = " is not allowed in a room name (only a-z, A-Z, 0-9, '-' and '_')"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (None, "a room name must be a string"),
        (42, "a room name must be a string"),
        (["general"], "a room name must be a string"),
        ({"room": "general"}, "a room name must be a string"),
        (b"general", "a room name must be a string"),
        (True, "a room name must be a string"),
        ("", "a room name must not be empty"),
        ("a" * 33, "a room name must be at most 32 characters"),
        ("x" * 1000, "a room name must be at most 32 characters"),
        ("\u202e" * 1000, "a room name must be at most 32 characters"),
        ("  x", "U+0020 (SPACE)" + ALLOWED),
        ("general ", "U+0020 (SPACE)" + ALLOWED),
        (" ", "U+0020 (SPACE)" + ALLOWED),
        ("room 1", "U+0020 (SPACE)" + ALLOWED),
        ("gen\u202eral", "U+202E (RIGHT-TO-LEFT OVERRIDE)" + ALLOWED),
        ("\u202enimda", "U+202E (RIGHT-TO-LEFT OVERRIDE)" + ALLOWED),
        ("gen\u200bral", "U+200B (ZERO WIDTH SPACE)" + ALLOWED),
        ("a\u200db", "U+200D (ZERO WIDTH JOINER)" + ALLOWED),
        ("\ufeffgeneral", "U+FEFF (ZERO WIDTH NO-BREAK SPACE)" + ALLOWED),
        ("gen\neral", "U+000A (unnamed)" + ALLOWED),
        ("gen\x00", "U+0000 (unnamed)" + ALLOWED),
        ("tab\there", "U+0009 (unnamed)" + ALLOWED),
        ("caf\u00e9", "'é' U+00E9 (LATIN SMALL LETTER E WITH ACUTE)" + ALLOWED),
        ("\u0430dmin", "'а' U+0430 (CYRILLIC SMALL LETTER A)" + ALLOWED),  # noqa: RUF001
        ("ｇｅｎｅｒａｌ", "'ｇ' U+FF47 (FULLWIDTH LATIN SMALL LETTER G)" + ALLOWED),  # noqa: RUF001
        ("a/b", "'/' U+002F (SOLIDUS)" + ALLOWED),
        ("../admin", "'.' U+002E (FULL STOP)" + ALLOWED),
        ("<script>", "'<' U+003C (LESS-THAN SIGN)" + ALLOWED),
        ("#general", "'#' U+0023 (NUMBER SIGN)" + ALLOWED),
        ("room\ud800", "U+D800 (unnamed)" + ALLOWED),
        ("🙂", "'🙂' U+1F642 (SLIGHTLY SMILING FACE)" + ALLOWED),
    ],
)
def test_hostile_room_names_are_refused(name: object, message: str) -> None:
    with pytest.raises(MessageError) as info:
        validate_room_name(name)
    assert info.value.code == "invalid-room"
    assert info.value.message == message
    assert info.value.payload() == {"type": "error", "error": "invalid-room", "message": message}
    assert not is_valid_room_name(name)


def test_an_invisible_character_is_never_printed_in_the_message() -> None:
    for char in ("\u202e", "\u200b", "\n", "\x00"):
        with pytest.raises(MessageError) as info:
            validate_room_name(f"a{char}b")
        assert char not in info.value.message


def test_the_allowed_characters() -> None:
    assert len(ROOM_CHARACTERS) == 26 + 26 + 10 + 2
    assert all(validate_room_name(c) == c.lower() for c in ROOM_CHARACTERS)
    refused = [chr(n) for n in range(0x250) if chr(n) not in ROOM_CHARACTERS]
    assert not any(is_valid_room_name(c) for c in refused)


# --- the lesson's exercises use the same rules -------------------------------------------------


def test_exercise_story_is_played_by_the_registry() -> None:
    assert receivers(STORY) == {"Max", "Oli"}
    story = [
        ("A", {"type": "join", "room": "x"}),
        ("B", {"type": "join", "room": "X"}),
        ("A", {"type": "message", "room": "x", "text": "hi"}),
    ]
    assert receivers(story) == {"B"}
    with pytest.raises(ValueError, match="must end with a message"):
        receivers([("A", {"type": "message", "room": "x", "text": "hi"})])


def test_exercise_candidates() -> None:
    assert [is_valid_room_name(n) for n in CANDIDATES] == [
        True, True, False, False, False, False, False, True, True, False, False, True,
    ]  # fmt: skip


# --- purity ------------------------------------------------------------------------------------
