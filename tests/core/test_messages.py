"""wslab.core.messages: validating what clients send, before a server acts on it."""

from __future__ import annotations

import json
import unicodedata

import pytest

from wslab.core.messages import (
    MAX_MESSAGE_BYTES,
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
    POLICY_VIOLATION,
    MessageError,
    dumps,
    error_payload,
    parse_message,
    require_text,
    validate_name,
)

TYPES = ("join", "chat", "who")


def refused(data: str | bytes, types: tuple[str, ...] = TYPES) -> MessageError:
    with pytest.raises(MessageError) as info:
        parse_message(data, types)
    return info.value


def test_limits() -> None:
    assert MAX_MESSAGE_BYTES == 1024 * 1024
    assert MAX_NAME_CHARS == 32
    assert MAX_TEXT_CHARS == 2000


def test_policy_violation_is_rfc_6455s_1008() -> None:
    # Pinned here: the servers' tests compare close codes with the name.
    assert POLICY_VIOLATION == 1008


def test_parse_a_good_message() -> None:
    assert parse_message('{"type": "chat", "text": "hi"}', TYPES) == {"type": "chat", "text": "hi"}


@pytest.mark.parametrize("data", [b'{"type": "chat"}', bytearray(b"{}"), memoryview(b"{}")])
def test_parse_binary_is_refused(data: bytes) -> None:
    error = refused(data)
    assert error.code == "binary-not-supported"
    assert "not binary frames" in error.message


@pytest.mark.parametrize("data", ["", "{", "not json", "{'type': 'chat'}", '{"type": "chat",}'])
def test_parse_invalid_json(data: str) -> None:
    error = refused(data)
    assert error.code == "invalid-json"
    assert error.message.startswith("message is not valid JSON: ")


def test_parse_deeply_nested_json_is_invalid_json() -> None:
    error = refused("[" * 100_000 + "]" * 100_000)
    assert error.code == "invalid-json"


@pytest.mark.parametrize(
    ("data", "shape"),
    [("[1, 2]", "list"), ("42", "int"), ("4.5", "float"), ("null", "NoneType"), ('"s"', "str")],
)
def test_parse_non_object_json(data: str, shape: str) -> None:
    error = refused(data)
    assert error.code == "invalid-shape"
    assert error.message == f"expected a JSON object, got {shape}"


@pytest.mark.parametrize("data", ["{}", '{"text": "hi"}', '{"type": 1}', '{"type": null}'])
def test_parse_missing_or_non_string_type(data: str) -> None:
    error = refused(data)
    assert error.code == "missing-type"
    assert error.message == 'a message needs a "type" string'


def test_parse_unknown_type_lists_the_known_types() -> None:
    error = refused('{"type": "dance"}')
    assert error.code == "unknown-type"
    assert error.message == "unknown message type 'dance'; this server knows: chat, join, who"


def test_parse_unknown_type_shortens_a_long_type() -> None:
    error = refused(json.dumps({"type": "x" * 100}))
    assert error.code == "unknown-type"
    assert "x" * 39 + "…" in error.message
    assert "x" * 40 not in error.message


def test_message_error_payload() -> None:
    error = MessageError("not-found", "no user 'Eve'", id=3)
    assert isinstance(error, ValueError)
    assert str(error) == "no user 'Eve'"
    assert error.payload() == {
        "type": "error",
        "error": "not-found",
        "message": "no user 'Eve'",
        "id": 3,
    }
    assert error_payload("a", "b") == {"type": "error", "error": "a", "message": "b"}


def test_dumps_is_compact_and_keeps_unicode() -> None:
    assert dumps({"type": "chat", "text": "李雷 José"}) == '{"type":"chat","text":"李雷 José"}'


def test_require_text() -> None:
    assert require_text({"text": "hi"}, "text") == "hi"
    assert require_text({"text": ""}, "text", empty=True) == ""
    assert require_text({"text": "x" * MAX_TEXT_CHARS}, "text") == "x" * MAX_TEXT_CHARS


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({}, '"text" must be a string'),
        ({"text": 5}, '"text" must be a string'),
        ({"text": None}, '"text" must be a string'),
        ({"text": ""}, '"text" must not be empty'),
        ({"text": "  \n "}, '"text" must not be empty'),
        ({"text": "x" * (MAX_TEXT_CHARS + 1)}, '"text" is longer than 2000 characters'),
    ],
)
def test_require_text_refuses(obj: dict[str, object], message: str) -> None:
    with pytest.raises(MessageError) as info:
        require_text(obj, "text")
    assert info.value.code == "invalid-field"
    assert info.value.message == message


def test_require_text_custom_limit() -> None:
    with pytest.raises(MessageError, match="longer than 3 characters"):
        require_text({"name": "abcd"}, "name", max_chars=3)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Ada", "Ada"),
        ("  Ada Lovelace  ", "Ada Lovelace"),
        ("José", "José"),
        ("李雷", "李雷"),
        ("Jose\u0301", "Jos\u00e9"),  # decomposed é becomes the composed one (NFC)
        ("x" * MAX_NAME_CHARS, "x" * MAX_NAME_CHARS),
        ("🙂 smiley", "🙂 smiley"),
    ],
)
def test_validate_name_accepts(raw: str, clean: str) -> None:
    result = validate_name(raw)
    assert result == clean
    assert unicodedata.is_normalized("NFC", result)


def test_validate_name_counts_length_after_nfc() -> None:
    # 32 decomposed "é" are 64 code points but 32 characters once composed.
    assert validate_name("e\u0301" * 32) == "\u00e9" * 32


def invalid_name(name: object, **kwargs: int) -> str:
    with pytest.raises(MessageError) as info:
        validate_name(name, **kwargs)
    assert info.value.code == "invalid-name"
    return info.value.message


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_validate_name_refuses_empty(name: str) -> None:
    assert invalid_name(name) == "a name must not be empty"


@pytest.mark.parametrize("name", [None, 42, ["Ada"], b"Ada"])
def test_validate_name_refuses_non_strings(name: object) -> None:
    assert invalid_name(name) == "a name must be a string"


def test_validate_name_refuses_too_long() -> None:
    assert invalid_name("x" * (MAX_NAME_CHARS + 1)) == "a name must be at most 32 characters"
    assert invalid_name("abcd", max_chars=3) == "a name must be at most 3 characters"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ada\x00", "U+0000 (unnamed)"),
        ("A\x07da", "U+0007 (unnamed)"),
        ("A\nda", "U+000A (unnamed)"),
        ("Ada\u202eevil", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        ("A\u200dda", "U+200D (ZERO WIDTH JOINER)"),
        ("A\u200bda", "U+200B (ZERO WIDTH SPACE)"),
        ("A\u2028da", "U+2028 (LINE SEPARATOR)"),
        ("A\ue000da", "U+E000 (unnamed)"),
        ("A\ud800da", "U+D800 (unnamed)"),
    ],
)
def test_validate_name_refuses_lying_characters(name: str, expected: str) -> None:
    assert invalid_name(name) == f"a name must not contain the character {expected}"
