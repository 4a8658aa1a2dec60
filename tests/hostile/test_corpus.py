"""The hostile corpus against every lesson server, over real sockets.

One test per server runs the whole corpus (:mod:`corpus`) on one attacker
connection (a new one after each close), with a bystander connected before
the attack. Each case must get its clear answer — an error to the sender
only, the right close code, an echo where the protocol is "echo", HTTP 403
for a foreign page — and afterwards the bystander's state must be what it
was. Failures are gathered, so one run lists every case a server got wrong.
"""

from __future__ import annotations

import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
import pytest
from corpus import (
    CASES,
    CORPUS_RATE_LIMIT,
    HOSTILE_FILES,
    HOSTILE_NAMES,
    HOSTILE_ROOMS,
    STATS,
    TARGETS,
    Case,
    Target,
    stored_name_is_safe,
    upload,
)
from helpers import recv_json, send_json, sync_connect, wait_until
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection

import wslab
from wslab.core.files import file_meta
from wslab.core.messages import POLICY_VIOLATION
from wslab.core.ratelimit import DEFAULT_RATE_LIMIT, RateLimit
from wslab.servers import SERVERS


def test_every_server_is_in_the_corpus() -> None:
    # A new lesson server must say what a clear answer is for it.
    assert set(TARGETS) == set(SERVERS)


class Attack:
    """The attacker's side: one connection at a time, and what it saw."""

    def __init__(self, target: Target, server: wslab.RunningServer) -> None:
        self.target = target
        self.server = server
        self.ws: ClientConnection | None = None
        self.skipping = False  # files: binary after a binary error is ignored
        self.closes: list[int] = []

    def conn(self) -> ClientConnection:
        if self.ws is None:
            self.ws = self.target.connect(self.server, "bob")
            self.skipping = False
        return self.ws

    def drop(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None

    def reply(self, raw: bool = False) -> Any:
        data = self.conn().recv(timeout=5)
        if raw or not isinstance(data, str) or not data.startswith("{"):
            return data
        return json.loads(data)

    def error(self, code: str | None) -> None:
        reply = self.reply()
        assert isinstance(reply, dict) and reply.get("type") == "error", reply
        assert isinstance(reply.get("message"), str) and reply["message"], reply
        if code is not None:
            assert reply["error"] == code, reply
        STATS.errors += 1

    def closed(self, code: int, reason: str = "") -> None:
        """Read until the server's close frame; check its code (and reason start)."""
        ws = self.conn()
        with pytest.raises(ConnectionClosed) as info:
            for _ in range(100_000):
                ws.recv(timeout=10)
        rcvd = info.value.rcvd
        assert rcvd is not None, f"no close frame, expected {code}"
        assert rcvd.code == code, (rcvd.code, rcvd.reason)
        assert rcvd.reason.startswith(reason), rcvd.reason
        STATS.closes[code] += 1
        ws.close()  # the closing handshake done, the TCP connection goes too
        self.ws = None

    # --- the cases ---------------------------------------------------------------------

    def run(self, case: Case) -> None:
        target = self.target
        kind = case.kind
        if kind == "origin":
            self.drop()
            with pytest.raises(InvalidStatus) as info:
                target.connect(self.server, "bob", origin=case.payload)
            assert info.value.response.status_code == 403
            STATS.refused += 1
        elif kind == "raw-text":
            self.conn().send(case.payload, text=True)  # bytes as a text frame: not UTF-8
            self.closed(1007)
        elif kind == "flood":
            ws = self.conn()
            # Read the answers while flooding, as a browser would: a client
            # that stops reading may lose the close frame to a server that
            # gives up waiting (heartbeat's close timeout is short) and drops it.
            reader = ThreadPoolExecutor(1, thread_name_prefix="flood-reader")
            closed = reader.submit(
                self.closed,
                POLICY_VIOLATION,
                f"rate limit: over {CORPUS_RATE_LIMIT.rate:g} messages/s",
            )
            try:
                for _ in range(case.payload):
                    ws.send(target.flood)
            except ConnectionClosed:
                pass
            try:
                closed.result(timeout=15)
            finally:
                reader.shutdown()
        elif kind in ("text", "binary") and len(case.payload) > (1 << 20):
            self.conn().send(case.payload)
            self.closed(1009)
        elif kind == "text":
            self.text(case)
        elif kind == "binary":
            self.binary(case)
        elif kind == "json":  # a server-specific message that must get an error
            send_json(self.conn(), case.payload)
            self.error(case.code)
        elif kind == "extra":
            message, reply_type = case.payload
            send_json(self.conn(), message)
            reply = self.reply()
            assert reply["type"] == reply_type, reply
        elif kind == "file":
            reply = upload(self.conn(), case.payload, b"data")
            assert reply["type"] == "saved", reply
            assert stored_name_is_safe(reply["name"]), reply["name"]
            directory = self.server.app.directory
            assert (directory / reply["name"]).resolve().parent == directory.resolve()
            STATS.stored += 1
        elif kind == "token":
            self.drop()
            url = self.server.url + ("" if case.payload is None else f"?token={case.payload}")
            with sync_connect(url) as ws, pytest.raises(ConnectionClosed) as info:
                ws.recv(timeout=5)
            assert info.value.rcvd is not None and info.value.rcvd.code == case.code, info.value
            STATS.closes[int(case.code or 0)] += 1
        else:
            raise AssertionError(f"unknown case kind {kind!r}")

    def text(self, case: Case) -> None:
        self.skipping = False
        self.conn().send(case.payload)
        answer = self.target.text_answer(case.payload)
        if answer == "error":
            self.error(case.code if self.target.json else None)
        elif answer == "echo":
            assert self.reply(raw=True) == case.payload
            STATS.echoes += 1
        else:  # relayed to everyone, the sender too (mode="all")
            assert self.reply() == {"type": "broadcast", "text": case.payload}
            STATS.echoes += 1

    def binary(self, case: Case) -> None:
        self.conn().send(case.payload)
        if self.target.binary_answer() == "echo":
            assert self.reply(raw=True) == case.payload
            STATS.echoes += 1
        elif self.target.name == "files":
            # After one error for stray bytes, the bytes that follow are
            # ignored (one error, not one per chunk) until the next text.
            if not self.skipping:
                self.error("unexpected-binary")
                self.skipping = True
        else:
            self.error(case.code)


def server_cases(target: Target, server: wslab.RunningServer) -> list[Case]:
    """The cases only some servers have: fields, names, rooms, files, tokens."""
    cases = [Case(f"bad field {m}", "json", m) for m in target.bad_fields]
    if target.extra is not None:
        cases.append(Case("extra fields", "extra", target.extra))
    if target.name in ("rooms", "cluster"):
        for room in HOSTILE_ROOMS:
            cases.append(Case(f"join {room!r:.40}", "json", {"type": "join", "room": room}))
            message = {"type": "message", "room": room, "text": "hi"}
            cases.append(Case(f"message to {room!r:.40}", "json", message, "invalid-room"))
    if target.name == "chat":
        for name in HOSTILE_NAMES:
            cases.append(Case(f"name {name!r:.40}", "json", {"type": "join", "name": name}))
    if target.name == "rooms":
        for name in HOSTILE_NAMES:
            cases.append(Case(f"name {name!r:.40}", "json", {"type": "hello", "name": name}))
    if target.name == "files":
        cases += [Case(f"file {name!r:.40}", "file", name) for name in HOSTILE_FILES]
        # Text where the file's bytes are expected: the upload fails, nothing stays.
        cases.append(
            Case(
                "text during an upload",
                "json",
                {"type": "file-meta", "name": "t.txt", "size": 4, "mime": "text/plain"},
            )
        )
    if target.auth:
        app = server.app
        good = app.issue("bob")
        header, payload, signature = good.split(".")
        flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
        claims = {"sub": "bob", "iat": int(time.time()), "exp": int(time.time()) + 3600}
        cases += [
            Case("no token", "token", None, 4001),
            Case("empty token", "token", "", 4001),
            Case("garbage token", "token", "not.a.jwt", 4001),
            Case("forged signature", "token", f"{header}.{payload}.{flipped}", 4001),
            Case(
                "forged payload",
                "token",
                f"{header}.{app.issue('alice').split('.')[1]}.{signature}",
                4001,
            ),
            Case("alg none", "token", jwt.encode(claims, None, algorithm="none"), 4001),
            Case("another key", "token", jwt.encode(claims, secrets.token_bytes(32)), 4001),
            Case(
                "HS512 another key",
                "token",
                jwt.encode(claims, secrets.token_bytes(64), algorithm="HS512"),
                4001,
            ),
            Case("expired", "token", app.issue("bob", now=time.time() - 7200), 4002),
            Case("banned user", "token", app.issue("mallory"), 4003),
            Case("unknown user", "token", app.issue("root"), 4001),
        ]
    return cases


def attack_cases(target: Target, server: wslab.RunningServer) -> list[Case]:
    generic = [c for c in CASES if c.kind != "flood"]
    flood = [c for c in CASES if c.kind == "flood"]
    # The flood last but one: its connection is closed, and what follows
    # shows the server still answers a new one.
    tail = [Case("after the flood", "text", "{", "invalid-json")] if target.json else []
    if target.name == "files":
        # The corpus's text case after binary ones resets the skipping: the
        # "text during an upload" case needs a fresh receiver state.
        pass
    return generic + server_cases(target, server) + flood + tail


@pytest.mark.parametrize("name", list(TARGETS))
def test_hostile_corpus(name: str, fast: float) -> None:
    target = TARGETS[name]
    server = wslab.serve(name, rate_limit=CORPUS_RATE_LIMIT, **target.options)
    bystander = target.connect(server, "alice")
    try:
        target.setup(bystander)
        before, _ = target.probe(bystander)
        attack = Attack(target, server)
        cases = attack_cases(target, server)
        failures: list[str] = []
        for case in cases:
            try:
                if case.name == "text during an upload":
                    run_text_during_upload(attack)
                else:
                    attack.run(case)
            except Exception as exc:  # gathered: one run names every failing case
                failures.append(f"{case.name}: {type(exc).__name__}: {exc}"[:300])
                attack.drop()
        attack.drop()
        after, between = target.probe(bystander)
        STATS.cases[name] = STATS.cases.get(name, 0) + len(cases)
        assert failures == [], "\n".join(failures)
        # Nothing meant for the attacker reached the bystander: no error, and
        # nothing at all except on broadcast, which relays the attacker's
        # plain text (text is its protocol) to everyone.
        assert not [m for m in between if isinstance(m, dict) and m.get("type") == "error"]
        if name == "broadcast":
            assert all(m.get("type") == "broadcast" for m in between), between[:3]
        else:
            assert between == [], between[:3]
        assert after == before
        STATS.bystanders_ok.add(name)
    finally:
        bystander.close()
    # The server recorded the attack, and never crashed a handler.
    wait_until(lambda: not getattr(server.app, "peers", None))
    errors = [
        e.text for e in server.log.entries("error") if "Traceback" in e.text or "failed" in e.text
    ]
    assert errors == []


def run_text_during_upload(attack: Attack) -> None:
    """files: text where the file's bytes are expected fails the upload, leaves nothing."""
    ws = attack.conn()
    attack.skipping = False
    send_json(ws, file_meta("t.txt", b"data", "text/plain"))
    ready = recv_json(ws)
    assert ready["type"] == "ready", ready
    ws.send("data")  # text, not the binary bytes
    attack.error(None)
    partial = attack.server.app.directory / ".partial"
    assert list(partial.iterdir()) == []


# --- the defaults themselves ------------------------------------------------------------


def test_the_default_rate_limit_closes_a_flood_with_1008() -> None:
    # broadcast, in "others" mode, to nobody else: no answers to read back.
    server = wslab.serve("broadcast")
    assert server.app.rate_limit == DEFAULT_RATE_LIMIT == RateLimit(1000, 2000)
    with sync_connect(server.url) as ws:
        with pytest.raises(ConnectionClosed) as info:
            for _ in range(100_000):
                ws.send("x")
            for _ in range(100_000):
                ws.recv(timeout=10)
        assert info.value.rcvd is not None
        assert (info.value.rcvd.code, info.value.rcvd.reason) == (
            POLICY_VIOLATION,
            "rate limit: over 1000 messages/s",
        )
    refused = [e for e in server.log.entries("refused")]
    assert len(refused) == 1 and refused[0].code == POLICY_VIOLATION


def test_a_burst_like_lesson_6_is_well_under_the_limit() -> None:
    server = wslab.serve("echo")
    with sync_connect(server.url) as ws:
        for i in range(1500):  # lesson 6 sends 200 at once
            ws.send(str(i))
        assert [ws.recv(timeout=5) for _ in range(1500)] == [str(i) for i in range(1500)]


def test_the_rate_limit_can_be_turned_off() -> None:
    server = wslab.serve("echo", rate_limit=None)
    assert server.app.rate_limit is None
    with sync_connect(server.url) as ws:
        for _ in range(3000):
            ws.send("x")
        assert [ws.recv(timeout=5) for _ in range(3000)] == ["x"] * 3000
    with pytest.raises(TypeError):
        wslab.serve("echo", rate_limit=1000)


LOOPBACK_ORIGINS = [
    None,
    "http://localhost:8888",
    "http://127.0.0.1:8888",
    "https://[::1]",
    "http://localhost",
]


@pytest.mark.parametrize("name", list(TARGETS))
def test_loopback_pages_and_non_browsers_may_connect(name: str, fast: float) -> None:
    target = TARGETS[name]
    server = wslab.serve(name, **target.options)
    for origin in LOOPBACK_ORIGINS:
        with target.connect(server, "alice", origin=origin) as ws:
            if origin is None:
                target.setup(ws)
                assert target.probe(ws)[0] is not None
    assert server.log.entries("refused") == []


def test_more_origins_or_all_can_be_allowed() -> None:
    server = wslab.serve("chat", origins=["https://class.example"])
    with sync_connect(server.url, origin="https://class.example"):
        pass
    with pytest.raises(InvalidStatus):
        sync_connect(server.url, origin="https://other.example")
    refused = server.log.entries("refused")[-1].text
    assert refused.startswith("403 for Origin 'https://other.example'")
    everyone = wslab.serve("echo", origins="*")
    with sync_connect(everyone.url, origin="https://anywhere.example") as ws:
        ws.send("hi")
        assert ws.recv(timeout=5) == "hi"
    with pytest.raises(ValueError):
        wslab.serve("echo", origins=["https://x.example/path"])


# --- the feed's HTTP side: SSE and long polling ---------------------------------------------

HOSTILE_QUERIES = [
    ("/poll?after=../../etc", "invalid-query"),
    ("/poll?after=-1", "invalid-query"),
    ("/poll?after=" + "9" * 5000, "invalid-query"),
    ("/poll?after=%00", "invalid-query"),
    ("/poll?timeout=1e999", "invalid-query"),
    ("/poll?timeout=nan", "invalid-query"),
    ("/poll?timeout=-1", "invalid-query"),
    ("/ws?after=1e3", "invalid-id"),
    ("/../../etc/passwd", "not-found"),
    ("/%2e%2e/%2e%2e/etc/passwd", "not-found"),
]


def test_the_feeds_http_endpoints_refuse_hostile_queries_with_json() -> None:
    import urllib.request
    from urllib.error import HTTPError

    server = wslab.serve("feed", interval=None)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    base = f"http://127.0.0.1:{server.port}"
    for path, code in HOSTILE_QUERIES:
        with pytest.raises(HTTPError) as info:
            opener.open(base + path, timeout=5)
        with info.value as answer:  # closes the connection
            assert answer.code in (400, 404), path
            assert json.loads(answer.read())["error"] == code, path
        STATS.errors += 1
    headers = ["-1", "x", "9" * 5000, "1 2", "0x10", "\xb9"]
    STATS.cases["feed"] = STATS.cases.get("feed", 0) + len(HOSTILE_QUERIES) + len(headers)
    for header in headers:
        request = urllib.request.Request(base + "/events", headers={"Last-Event-ID": header})
        with pytest.raises(HTTPError) as info:
            opener.open(request, timeout=5)
        with info.value as answer:
            assert answer.code == 400, header
        STATS.errors += 1
    assert server.log.entries("error") == []
