"""Property-based fuzzing (hypothesis) of every server's message handling.

Two layers:

- the pure validators (:func:`~wslab.core.messages.parse_message`, names, rooms,
  client ids, file names and metadata, tokens, event ids) get any value at
  all and may only answer with their own refusal (``MessageError``,
  ``TokenRejected``, ``ValueError``), never crash with anything else;
- each lesson server gets generated messages over a real socket: JSON of any
  shape with its own ``type`` names and field names, arbitrary text, and
  arbitrary bytes. Whatever it answers must be well-formed (a JSON object
  with a ``type``; an error has ``error`` and ``message``), the connection
  must stay open, and no handler may fail.

After each generated message a *barrier* (the server's probe message) is
sent; its answer shows the server has dealt with everything before it, and
everything read before it is what the generated message produced.

Modest ``max_examples`` and ``deadline=None`` keep it to a few seconds.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest
from corpus import TARGETS, Target
from fuzz_stats import FUZZ
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection

import wslab
from wslab.core.auth import TokenRejected, check_token, new_secret
from wslab.core.filenames import sanitize_filename
from wslab.core.files import validate_file_meta
from wslab.core.messages import MessageError, parse_message, validate_name
from wslab.core.outbox import validate_client_id, validate_message_id
from wslab.core.rooms import validate_room_name
from wslab.core.sse import parse_event_id

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow],
)

# --- strategies -------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
#: Field names the servers read, so generated messages reach past the type check.
FIELDS = [
    "name", "room", "text", "id", "client", "userId", "orderId", "data", "fail",
    "size", "mime", "sha256", "from", "user",
]  # fmt: skip
#: Values aimed at the validators: edges of lengths, numbers and Unicode.
tricky_values = st.one_of(
    json_values,
    st.sampled_from(["", " ", "..", "../x", "a" * 33, "a" * 2001, "\u202e", "\x00", "general"]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
)


def messages_for(types: tuple[str, ...]) -> st.SearchStrategy[str | bytes]:
    """JSON objects with this server's types and fields, and anything else."""
    objects = st.fixed_dictionaries(
        {"type": st.sampled_from(types) | st.text(max_size=10) | json_values},
        optional={field: tricky_values for field in FIELDS},
    )
    return st.one_of(
        objects.map(json.dumps),
        objects.map(lambda o: json.dumps(o, ensure_ascii=False)),
        json_values.map(json.dumps),
        st.text(max_size=200),
        st.binary(max_size=200),
    )


# --- the pure validators ------------------------------------------------------------------


@SETTINGS
@given(st.one_of(st.text(), st.binary(), json_values.map(json.dumps)))
def test_parse_message_only_ever_refuses_with_a_message_error(data: str | bytes) -> None:
    try:
        obj = parse_message(data, ["join", "chat"])
    except MessageError as error:
        assert error.code in {
            "binary-not-supported", "invalid-json", "invalid-shape", "missing-type", "unknown-type",
        }  # fmt: skip
        assert error.payload()["type"] == "error"
        assert len(error.message) < 300  # a hostile value is never echoed whole
    else:
        assert obj["type"] in ("join", "chat")


@SETTINGS
@given(tricky_values)
def test_name_room_and_id_validators_refuse_cleanly(value: Any) -> None:
    for validate in (validate_name, validate_room_name, validate_client_id, validate_message_id):
        try:
            result = validate(value)
        except MessageError as error:
            assert len(error.message) < 300
        else:
            if isinstance(result, str):
                assert result and result.isprintable()
                assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in result)


@SETTINGS
@given(st.text(max_size=300), st.sampled_from(["text/plain", "image/png", "application/pdf"]))
def test_any_file_name_becomes_one_safe_path_component(name: str, mime: str) -> None:
    safe = sanitize_filename(name, mime)
    assert safe not in ("", ".", "..")
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert safe.isprintable() and not safe.startswith(".")
    assert len(safe.encode()) <= 255


@SETTINGS
@given(st.dictionaries(st.sampled_from(["type", *FIELDS]), tricky_values, max_size=6))
def test_file_meta_validation_refuses_cleanly(meta: dict[str, Any]) -> None:
    try:
        validate_file_meta({"type": "file-meta", **meta})
    except MessageError as error:
        assert error.code and len(error.message) < 300


SECRET = new_secret()


@SETTINGS
@given(
    st.one_of(
        st.none(),
        st.text(max_size=300),
        st.from_regex(r"[A-Za-z0-9_-]{1,40}(\.[A-Za-z0-9_-]{0,40}){2}", fullmatch=True),
    )
)
def test_any_token_is_refused_with_a_close_code(token: str | None) -> None:
    with pytest.raises(TokenRejected) as info:
        check_token(token, SECRET, users={"alice"})
    assert info.value.code in (4001, 4002, 4003)


@SETTINGS
@given(st.one_of(st.none(), st.text(max_size=40)))
def test_event_ids_parse_or_refuse(value: str | None) -> None:
    try:
        parsed = parse_event_id(value)
    except ValueError as error:
        assert len(str(error)) < 200  # a hostile value is cut short (escapes may lengthen it)
    else:
        assert parsed is None or parsed >= 0


# --- the servers, over real sockets --------------------------------------------------------


def _types(target: Target) -> tuple[str, ...]:
    types: tuple[str, ...] = getattr(wslab.servers.SERVERS[target.name], "types", ())
    # The corpus covers uploads; here a file-meta would leave the receiver
    # waiting for bytes, and every later message would be "upload incomplete".
    return tuple(t for t in types if t != "file-meta") or ("none",)


def _barrier(target: Target, ws: ClientConnection) -> list[Any]:
    """Send the probe; return what arrived before its answer."""
    ws.send(target.probe_message)
    seen: list[Any] = []
    for _ in range(1000):
        raw = ws.recv(timeout=5)
        message: Any = raw
        if isinstance(raw, str) and target.json:
            message = json.loads(raw)
        if _is_probe_answer(target, message):
            if target.name == "files":
                ws.recv(timeout=5)  # the file's bytes follow its file-meta
            return seen
        seen.append(message)
    raise AssertionError("the probe was never answered")


def _is_probe_answer(target: Target, message: Any) -> bool:
    if target.name in ("echo",):
        return message == target.probe_message
    if target.name == "heartbeat":
        return message == "pong"  # "ping" is never generated: see the filter
    if target.name == "broadcast":
        return isinstance(message, str) and json.loads(message) == {
            "type": "broadcast",
            "text": target.probe_message,
        }
    if not isinstance(message, dict):
        return False
    probe = json.loads(target.probe_message)
    expected = {
        "slow": "result",
        "chat": "roster",
        "flaky": "ack",
        "rooms": "rooms",
        "auth": "you",
        "files": "file-meta",
        "cluster": "rooms",
        "feed": "pong",
    }[target.name]
    return message.get("type") == expected and message.get("id") == probe.get("id")


def _well_formed(target: Target, message: Any, sent: str | bytes) -> None:
    if not target.json or (target.name == "feed" and isinstance(message, bytes)):
        if target.name in ("echo", "heartbeat", "feed"):
            assert message == ("pong" if sent == "ping" and target.name == "heartbeat" else sent)
            return
        message = json.loads(message)  # broadcast: JSON out
    assert isinstance(message, dict), message
    assert isinstance(message.get("type"), str), message
    if message["type"] == "error":
        assert isinstance(message.get("error"), str) and message["error"], message
        assert isinstance(message.get("message"), str) and message["message"], message


@pytest.mark.parametrize("name", list(TARGETS))
def test_generated_messages_get_well_formed_answers_and_the_connection_stays(
    name: str, fast: float
) -> None:
    target = TARGETS[name]
    server = wslab.serve(name, rate_limit=None, **target.options)
    ws = target.connect(server, "alice")
    try:
        target.setup(ws)
        _barrier(target, ws)

        # The probe's own text would be taken for the barrier's answer.
        generated = messages_for(_types(target)).filter(
            lambda m: m not in (target.probe_message, "ping")
        )

        @SETTINGS
        @given(generated)
        def fuzz(message: str | bytes) -> None:
            ws.send(message)
            for answer in _barrier(target, ws):
                _well_formed(target, answer, message)
            FUZZ.examples[name] += 1

        fuzz()
        # Still the same connection, still answering.
        for answer in _barrier(target, ws):
            _well_formed(target, answer, "")
    finally:
        ws.close()
    failed = [e.text for e in server.log.entries("error") if "failed" in e.text]
    assert failed == []
    closes = [e.code for e in server.log.entries("close")]
    assert all(code in (1000, None) for code in closes), closes
