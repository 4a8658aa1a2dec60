"""One corpus of hostile input, and what each lesson server must answer to it.

The corpus is data: :data:`CASES` lists what an attacker sends (invalid JSON,
the wrong shapes and types, binary for text, invalid UTF-8, too big, a flood,
a foreign Origin, hostile names), and :class:`Target` says, per server, what a
*clear answer* is:

- a JSON server answers ``{"type": "error", "error": <code>, ...}`` to the
  sender only and keeps the connection open;
- ``echo`` and ``heartbeat`` have no JSON: text and binary come back unchanged
  (``heartbeat`` answers the text ``ping`` with ``pong``);
- ``broadcast`` relays text (sent with ``mode="all"`` here, so the sender sees
  its own relay) and answers binary, blank or too long text with an error;
- every server closes with 1007 on invalid UTF-8, 1009 over 1 MiB and 1008
  (reason ``rate limit: ...``) on a flood, and answers a foreign ``Origin``
  with HTTP 403 before any WebSocket exists.

A bystander connected before the attack must see its state (roster, rooms,
stored file, message ids, identity) unchanged afterwards: :meth:`Target.probe`
reads it, before and after. :data:`STATS` counts what happened, for the
summary line that ``conftest.py`` prints.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from helpers import TOO_BIG, recv_json, send_json, sync_connect
from websockets.sync.client import ClientConnection

import wslab
from wslab.core.files import file_meta
from wslab.core.ratelimit import RateLimit

__all__ = [
    "CASES",
    "CORPUS_RATE_LIMIT",
    "HOSTILE_FILES",
    "HOSTILE_NAMES",
    "HOSTILE_ROOMS",
    "STATS",
    "TARGETS",
    "Case",
    "Target",
    "stored_name_is_safe",
    "upload",
]

#: The corpus runs with a lower limit than the default, so that a flood trips
#: it after a few hundred messages on any machine; the default itself is
#: checked against echo in test_corpus.py.
CORPUS_RATE_LIMIT = RateLimit(rate=100, burst=200)
FLOOD_MESSAGES = 5000

# --- the cases --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One hostile input.

    Attributes:
        name: for failure messages.
        kind: ``"text"``, ``"binary"`` (a frame of that type with ``payload``),
            ``"raw-text"`` (a text frame of raw, maybe invalid UTF-8 bytes),
            ``"flood"``, ``"origin"`` (a handshake with that Origin), or a
            server-specific kind (``"room"``, ``"name"``, ``"file"``, ``"token"``).
        payload: what is sent.
        code: the error code a JSON server answers with (None: any).
    """

    name: str
    kind: str
    payload: Any = None
    code: str | None = None


def _text(name: str, payload: str, code: str | None) -> Case:
    return Case(name, "text", payload, code)


CASES: list[Case] = [
    # Invalid JSON.
    _text("not json", "{not json", "invalid-json"),
    _text("empty text", "", "invalid-json"),
    _text("truncated object", '{"type": "join", "name": "Ada"', "invalid-json"),
    _text("NUL", "\x00", "invalid-json"),
    _text("trailing garbage", '{"type": "who"} {"type": "who"}', "invalid-json"),
    _text("single quotes", "{'type': 'who'}", "invalid-json"),
    _text("nested 100k deep", "[" * 100_000 + "]" * 100_000, "invalid-json"),
    _text("lone surrogate escape", '{"type": "\\ud800"}', "unknown-type"),
    # JSON of the wrong shape.
    _text("array", "[]", "invalid-shape"),
    _text("array of a message", '[{"type": "who"}]', "invalid-shape"),
    _text("number", "42", "invalid-shape"),
    _text("huge number", "1" * 5000, None),  # int() digit limit: refused either way
    _text("NaN", "NaN", "invalid-shape"),
    _text("null", "null", "invalid-shape"),
    _text("true", "true", "invalid-shape"),
    _text("string", '"join"', "invalid-shape"),
    _text("empty object", "{}", "missing-type"),
    _text("type null", '{"type": null}', "missing-type"),
    _text("type number", '{"type": 7}', "missing-type"),
    _text("type array", '{"type": ["join"]}', "missing-type"),
    _text("type object", '{"type": {"$ne": null}}', "missing-type"),
    # Unknown types.
    _text("unknown type", '{"type": "admin"}', "unknown-type"),
    _text("prototype type", '{"type": "__proto__"}', "unknown-type"),
    _text("case trick", '{"type": "JOIN"}', "unknown-type"),
    _text("type with NUL", '{"type": "join\\u0000"}', "unknown-type"),
    _text("type 5000 chars", json.dumps({"type": "x" * 5000}), "unknown-type"),
    _text("type RTL override", '{"type": "\\u202enioj"}', "unknown-type"),
    # Binary where text is expected.
    Case("binary JSON", "binary", b'{"type": "who"}', "binary-not-supported"),
    Case("binary junk", "binary", b"\x00\xff\xfe", "binary-not-supported"),
    Case("binary empty", "binary", b"", "binary-not-supported"),
    # Frames the protocol itself refuses.
    Case("invalid UTF-8", "raw-text", b"caf\xc3", None),
    Case("overlong UTF-8", "raw-text", b"\xc0\xaf", None),
    Case("UTF-16 surrogate in UTF-8", "raw-text", b"\xed\xa0\x80", None),
    Case("text over 1 MiB", "text", "x" * TOO_BIG, None),
    Case("binary over 1 MiB", "binary", b"\x00" * TOO_BIG, None),
    Case("flood", "flood", FLOOD_MESSAGES),
    Case("foreign origin", "origin", "https://evil.example"),
    Case("look-alike origin", "origin", "http://localhost.evil.example"),
    Case("null origin", "origin", "null"),
]

#: Room names no server may accept: length, control characters, traversal, Unicode tricks.
HOSTILE_ROOMS: list[Any] = [
    "",
    " ",
    "a" * 33,
    "a" * 10_000,
    "gen\x00eral",
    "general\n",
    " general",
    "../../etc/passwd",
    "gen/eral",
    "..",
    "ｇｅｎｅｒａｌ",  # noqa: RUF001 (fullwidth letters: looks like "general")
    "gen\u200beral",  # zero-width space
    "\u202elareneg",  # right-to-left override
    "généräl",
    "general\u0301",
    123,
    None,
    ["general"],
    {"$ne": ""},
]
#: Display names no server may accept.
HOSTILE_NAMES: list[Any] = [
    "",
    "   ",
    "a" * 33,
    "Ada\x00",
    "Ada\x1b[31m",  # a terminal escape
    "Ada\u202e",
    "A\u200bda",
    "Ada\u2028Grace",
    "\ufeffAda",
    "Ada\ue000",  # private use
    42,
    None,
    {"first": "Ada"},
]
#: File names: stored under a safe name, never as given.
HOSTILE_FILES: list[str] = [
    "../../etc/passwd",
    "..\\..\\boot.ini",
    "/etc/shadow",
    "C:\\Windows\\win.ini",
    "con.txt",
    "\u202egnp.exe",
    "a\x00b.txt",
    "new\nline.txt",
    "x" * 1000,
    ".",
    "..",
    ".hidden",
    "ｆｉｌｅ／．．／x.txt",  # noqa: RUF001 (fullwidth slash and dots)
]


# --- what happened, for the summary ----------------------------------------------------


@dataclass
class Stats:
    """Counts over every server the corpus ran against."""

    cases: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    echoes: int = 0
    refused: int = 0
    stored: int = 0
    closes: Counter[int] = field(default_factory=Counter)
    bystanders_ok: set[str] = field(default_factory=set)

    def line(self) -> str:
        if not self.cases:
            return "hostile corpus: not run"
        servers = len(self.cases)
        low, high = min(self.cases.values()), max(self.cases.values())
        span = f"{low}" if low == high else f"{low}-{high}"
        closes = ", ".join(f"{code}: {n}" for code, n in sorted(self.closes.items()))
        return (
            f"hostile corpus: {span} cases \N{MULTIPLICATION SIGN} {servers} servers = "
            f"{sum(self.cases.values())} runs, "
            f"{self.errors} errors answered, {self.echoes} echoed or relayed unchanged, "
            f"{self.stored} hostile file names stored safely, {self.refused} handshakes refused "
            f"(403), {sum(self.closes.values())} closes ({closes}), "
            f"bystanders unaffected: {len(self.bystanders_ok)}/{servers}"
        )


STATS = Stats()


# --- the servers ---------------------------------------------------------------------------

Probe = Callable[[ClientConnection], Any]


def _read_until(ws: ClientConnection, wanted: Callable[[Any], bool]) -> tuple[Any, list[Any]]:
    """Read until a message satisfies ``wanted``; return it and what came before."""
    before: list[Any] = []
    while True:
        raw = ws.recv(timeout=5)
        message = json.loads(raw) if isinstance(raw, str) and raw.startswith("{") else raw
        if wanted(message):
            return message, before
        before.append(message)


def _is_error(message: Any) -> bool:
    return isinstance(message, dict) and message.get("type") == "error"


@dataclass
class Target:
    """One lesson server, as the corpus sees it.

    Attributes:
        name: the server's name.
        options: for ``serve``.
        path: the WebSocket's path (and query).
        json: it speaks JSON text (errors are ``{"type": "error"}``).
        setup: makes the bystander's state, on its connection.
        probe_message: sent by the bystander to read its state.
        state: the part of the answer that is the state (None: the answer itself).
        greeting: messages the server sends right after connecting.
        flood: the message a flood repeats (one that costs the server little).
        bad_fields: known types with fields of the wrong type or missing.
        extra: a valid message plus extra fields, and the reply type it gets.
    """

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    path: str = "/"
    json: bool = True
    setup: Callable[[ClientConnection], None] = lambda ws: None
    probe_message: str | bytes = ""
    state: Callable[[Any], Any] = lambda reply: reply
    greeting: int = 0
    flood: str | bytes = "{}"
    bad_fields: list[dict[str, Any]] = field(default_factory=list)
    extra: tuple[dict[str, Any], str] | None = None
    auth: bool = False

    def url(self, server: wslab.RunningServer, who: str) -> str:
        """Where ``who`` connects (auth: with a token for that user)."""
        base = server.url.rstrip("/") + self.path
        if self.auth:
            separator = "&" if "?" in base else "?"
            base += f"{separator}token={server.app.issue(who)}"
        elif self.name == "cluster":
            base += f"?client={who}"
        return base

    def connect(self, server: wslab.RunningServer, who: str, **kwargs: Any) -> ClientConnection:
        ws = sync_connect(self.url(server, who), legacy=True, **kwargs)
        for _ in range(self.greeting):
            ws.recv(timeout=5)
        return ws

    def probe(self, ws: ClientConnection) -> tuple[Any, list[Any]]:
        """The bystander's state, and what it received since the last probe."""
        ws.send(self.probe_message)
        if self.name == "files":
            meta, before = _read_until(ws, lambda m: isinstance(m, dict))
            body = ws.recv(timeout=5)
            return (meta["sha256"], meta["size"], body), before
        if self.name == "broadcast":
            reply, before = _read_until(
                ws, lambda m: isinstance(m, dict) and m.get("text") == self.probe_message
            )
            return reply, before
        if self.json:
            reply, before = _read_until(ws, lambda m: isinstance(m, dict) and not _is_error(m))
            return self.state(reply), before
        reply, before = _read_until(ws, lambda m: True)
        return reply, before

    def text_answer(self, payload: str) -> str:
        """How this server answers a text message: "error", "echo" or "relay"."""
        if self.json:
            return "error"
        if self.name == "broadcast":
            return "error" if not payload.strip() or len(payload) > 2000 else "relay"
        return "echo"

    def binary_answer(self) -> str:
        """How this server answers a binary message."""
        if self.name in ("echo", "heartbeat", "feed"):
            return "echo"
        return "error"


def _chat_setup(ws: ClientConnection) -> None:
    send_json(ws, {"type": "join", "name": "Grace"})
    assert recv_json(ws)["type"] == "welcome"


def _rooms_setup(ws: ClientConnection) -> None:
    send_json(ws, {"type": "hello", "name": "Grace"})
    assert recv_json(ws)["type"] == "welcome"
    send_json(ws, {"type": "join", "room": "general"})
    assert recv_json(ws)["type"] == "joined"


def _flaky_setup(ws: ClientConnection) -> None:
    send_json(ws, {"type": "hello", "client": "bystander"})
    assert recv_json(ws)["type"] == "welcome"
    send_json(ws, {"type": "msg", "id": 1, "text": "kept once"})
    assert recv_json(ws)["type"] == "ack"


BYSTANDER_FILE = b"the bystander's file"


def _files_setup(ws: ClientConnection) -> None:
    send_json(ws, file_meta("keep.txt", BYSTANDER_FILE, "text/plain"))
    assert recv_json(ws)["type"] == "ready"
    ws.send(BYSTANDER_FILE)
    assert recv_json(ws)["type"] == "saved"


def _cluster_setup(ws: ClientConnection) -> None:
    send_json(ws, {"type": "join", "room": "general"})
    assert recv_json(ws)["type"] == "joined"


TARGETS: dict[str, Target] = {
    t.name: t
    for t in [
        Target("echo", json=False, probe_message="still here", flood=b"x"),
        Target(
            "slow",
            probe_message=json.dumps({"id": 99, "type": "getUser", "name": "Alice"}),
            bad_fields=[
                {"id": 1, "type": "getUser"},
                {"id": 2, "type": "getUser", "name": ["Alice"]},
                {"id": 3, "type": "getOrders", "userId": "1"},
                {"id": 4, "type": "getOrders", "userId": True},
                {"id": 5, "type": "getDetails", "orderId": 1.5},
                {"id": 6, "type": "getUser", "name": "x" * 100},
            ],
            extra=(
                {"id": 7, "type": "getUser", "name": "Bob", "__proto__": {"admin": 1}},
                "result",
            ),
        ),
        Target(
            "chat",
            setup=_chat_setup,
            probe_message='{"type": "who"}',
            state=lambda reply: reply["online"],
            bad_fields=[
                {"type": "chat", "text": "hi before joining"},
                {"type": "join"},
                {"type": "join", "name": 7},
            ],
            extra=({"type": "who", "constructor": {"prototype": {}}, "x": "y" * 1000}, "roster"),
        ),
        Target(
            "flaky",
            setup=_flaky_setup,
            probe_message=json.dumps({"type": "msg", "id": 1, "text": "kept once"}),
            bad_fields=[
                {"type": "msg", "id": 1, "text": "before hello"},
                {"type": "hello"},
                {"type": "hello", "client": ""},
                {"type": "hello", "client": "../../admin"},
                {"type": "hello", "client": "x" * 10_000},
            ],
        ),
        Target(
            "broadcast",
            options={"mode": "all"},
            json=False,
            probe_message="bystander still here",
            flood=b"x",
        ),
        Target(
            "rooms",
            setup=_rooms_setup,
            probe_message='{"type": "rooms"}',
            state=lambda reply: (reply["yours"], reply["rooms"].get("general")),
            bad_fields=[
                {"type": "join"},
                {"type": "message", "room": "general", "text": "not a member"},
                {"type": "message", "room": "general"},
                {"type": "leave", "room": "nowhere"},
            ],
            extra=({"type": "rooms", "__proto__": None}, "rooms"),
        ),
        Target(
            "auth",
            auth=True,
            greeting=1,
            probe_message='{"type": "whoami"}',
            bad_fields=[
                {"type": "chat"},
                {"type": "chat", "text": 5},
                {"type": "chat", "text": "   "},
                {"type": "chat", "text": "x" * 2001},
            ],
            extra=({"type": "whoami", "user": "admin", "from": "alice"}, "you"),
        ),
        Target("heartbeat", json=False, probe_message="ping", flood=b"x"),
        Target(
            "files",
            setup=_files_setup,
            probe_message='{"type": "get", "name": "keep.txt"}',
            bad_fields=[
                {"type": "get"},
                {"type": "get", "name": "../keep.txt"},
                {"type": "get", "name": "/etc/passwd"},
                {"type": "file-meta", "name": "a.txt", "size": -1, "mime": "text/plain"},
                {"type": "file-meta", "name": "a.txt", "size": 10**30, "mime": "text/plain"},
                {"type": "file-meta", "name": "a.txt", "size": "10", "mime": "text/plain"},
                {
                    "type": "file-meta",
                    "name": "a.exe",
                    "size": 4,
                    "mime": "application/x-msdownload",
                },
                {"type": "file-meta", "size": 4, "mime": "text/plain"},
            ],
            extra=({"type": "list", "path": "../.."}, "files"),
        ),
        Target(
            "cluster",
            options={"mode": "local"},
            greeting=1,
            setup=_cluster_setup,
            probe_message='{"type": "rooms"}',
            bad_fields=[
                {"type": "chat"},
                {"type": "chat", "text": {"html": "<script>"}},
                {"type": "message", "room": "general", "text": "not joined"},
            ],
            extra=({"type": "rooms", "client": "someone-else"}, "rooms"),
        ),
        Target(
            "feed",
            options={"interval": None},
            path="/ws",
            probe_message='{"type": "ping", "id": 7}',
            state=lambda reply: (reply["type"], reply["id"]),
            flood=b"x",
            extra=({"type": "ping", "id": 8, "seq": -1}, "pong"),
        ),
    ]
}


def stored_name_is_safe(stored: str) -> bool:
    """A name the files server may store: one plain path component, printable."""
    return (
        stored not in ("", ".", "..")
        and "/" not in stored
        and "\\" not in stored
        and not stored.startswith(".")
        and stored.isprintable()
        and len(stored) <= 128
    )


def upload(ws: ClientConnection, name: str, data: bytes) -> dict[str, Any]:
    """Upload a small text file; return the server's last answer."""
    send_json(ws, file_meta(name, data, "text/plain"))
    ready = recv_json(ws)
    if ready["type"] != "ready":
        return dict(ready)
    ws.send(data)
    return dict(recv_json(ws))
