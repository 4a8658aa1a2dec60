"""Validating what clients send, before a server acts on it.

Every JSON-speaking lesson server parses incoming text with
:func:`parse_message` and answers a :class:`MessageError` with
``{"type": "error", "error": <code>, "message": <text>}`` to that client only,
keeping the connection open. Pure: no sockets, asyncio or widgets.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Collection, Mapping
from typing import Any

__all__ = [
    "MAX_MESSAGE_BYTES",
    "MAX_NAME_CHARS",
    "MAX_TEXT_CHARS",
    "POLICY_VIOLATION",
    "MessageError",
    "dumps",
    "error_payload",
    "parse_message",
    "require_text",
    "validate_name",
]

#: Larger messages are refused with close code 1009 (RFC 6455 §7.4.1,
#: "message too big"). websockets enforces it while reading the frame, so an
#: oversized message is never held in memory whole.
MAX_MESSAGE_BYTES = 1 << 20
MAX_NAME_CHARS = 32
MAX_TEXT_CHARS = 2000

#: Close code 1008, "policy violation" (RFC 6455 §7.4.1): a client that broke
#: a server's rules, where no more specific code says how. The lesson servers
#: close with it a flood (:mod:`wslab.core.ratelimit`), a client too slow to
#: keep up with a broadcast, and a cluster client with an invalid id.
POLICY_VIOLATION = 1008

# Unicode categories that make a name lie about itself: control characters,
# format characters (zero-width joiners, right-to-left overrides), surrogates,
# private use, unassigned code points, and line or paragraph separators.
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


class MessageError(ValueError):
    """A message a server refuses, with a machine-readable ``code``."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra

    def payload(self) -> dict[str, Any]:
        """The ``{"type": "error", ...}`` object to send back to the client."""
        return error_payload(self.code, self.message, **self.extra)


def error_payload(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """Build the error object every lesson server sends for a bad message."""
    return {"type": "error", "error": code, "message": message, **extra}


def dumps(obj: Mapping[str, Any]) -> str:
    """Serialize a message compactly, keeping non-ASCII text readable."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def parse_message(data: str | bytes, types: Collection[str]) -> dict[str, Any]:
    """Parse a client's JSON message and check its ``type``.

    Args:
        data: the message as received: ``str`` for a text frame, ``bytes``
            for a binary frame.
        types: the message types this server understands.

    Returns:
        The decoded JSON object; ``obj["type"]`` is one of ``types``.

    Raises:
        MessageError: ``binary-not-supported``, ``invalid-json``,
            ``invalid-shape``, ``missing-type`` or ``unknown-type``.
    """
    if isinstance(data, bytes | bytearray | memoryview):
        raise MessageError(
            "binary-not-supported", "this server expects JSON text messages, not binary frames"
        )
    try:
        obj = json.loads(data)
    except json.JSONDecodeError as exc:
        raise MessageError("invalid-json", f"message is not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise MessageError("invalid-json", "message is nested too deeply") from None
    except ValueError as exc:
        # An integer of more than 4300 digits (Python's guard against slow
        # int parsing) raises a plain ValueError, not a JSONDecodeError: left
        # uncaught it ended the connection with 1011 and a traceback in the log.
        raise MessageError("invalid-json", f"message is not acceptable JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise MessageError("invalid-shape", f"expected a JSON object, got {type(obj).__name__}")
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise MessageError("missing-type", 'a message needs a "type" string')
    if kind not in types:
        known = ", ".join(sorted(types))
        shown = kind if len(kind) <= 40 else kind[:39] + "…"
        raise MessageError(
            "unknown-type", f"unknown message type {shown!r}; this server knows: {known}"
        )
    return obj


def require_text(
    obj: Mapping[str, Any], field: str, *, max_chars: int = MAX_TEXT_CHARS, empty: bool = False
) -> str:
    """Return ``obj[field]`` if it is a string of acceptable length.

    Raises:
        MessageError: ``invalid-field`` naming the field and what was wrong.
    """
    value = obj.get(field)
    if not isinstance(value, str):
        raise MessageError("invalid-field", f'"{field}" must be a string')
    if not empty and not value.strip():
        raise MessageError("invalid-field", f'"{field}" must not be empty')
    if len(value) > max_chars:
        raise MessageError("invalid-field", f'"{field}" is longer than {max_chars} characters')
    return value


def validate_name(name: object, *, max_chars: int = MAX_NAME_CHARS) -> str:
    """Return a display name that is safe to show to everyone else.

    The name is NFC-normalized and stripped. It must be 1 to ``max_chars``
    characters and contain no control, format (zero-width, bidi override),
    separator or unassigned characters.

    Raises:
        MessageError: ``invalid-name`` with the reason.
    """
    if not isinstance(name, str):
        raise MessageError("invalid-name", "a name must be a string")
    clean = unicodedata.normalize("NFC", name).strip()
    if not clean:
        raise MessageError("invalid-name", "a name must not be empty")
    if len(clean) > max_chars:
        raise MessageError("invalid-name", f"a name must be at most {max_chars} characters")
    for char in clean:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise MessageError(
                "invalid-name",
                f"a name must not contain the character U+{ord(char):04X} "
                f"({unicodedata.name(char, 'unnamed')})",
            )
    return clean
