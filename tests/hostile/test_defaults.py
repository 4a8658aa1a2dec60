"""Security defaults: the rate limit, the Origin policy, masked tokens, loopback, TLS.

The pure parts (:mod:`wslab.core.ratelimit`, :mod:`wslab.core.origins`,
:func:`wslab.core.eventlog.mask_secrets`) are tested without sockets; the rest
against the servers themselves.
"""

from __future__ import annotations

import inspect
import ssl
import subprocess
import sys
import warnings

import pytest
from helpers import sync_connect

import wslab
from wslab import cli
from wslab.core.eventlog import mask_secrets
from wslab.core.origins import ALLOW_ALL, OriginPolicy, origin_policy
from wslab.core.ratelimit import (
    DEFAULT_BURST,
    DEFAULT_RATE,
    DEFAULT_RATE_LIMIT,
    RateLimit,
    TokenBucket,
)
from wslab.runtime import runner
from wslab.servers import SERVERS, create_server
from wslab.servers.base import LessonServer
from wslab.state.eventlog import EventLog

# --- the token bucket -----------------------------------------------------------------------


def test_a_bucket_starts_full_and_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=10, burst=3, now=100.0)
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(100.05) is False  # half a token back: not enough
    assert bucket.take(100.1) is True  # a whole one
    assert bucket.take(200.0) and bucket.tokens == 2  # refills up to burst, never over


def test_a_clock_going_backwards_gives_nothing_back() -> None:
    bucket = TokenBucket(rate=1000, burst=1, now=10.0)
    assert bucket.take(10.0)
    assert not bucket.take(5.0)
    assert not bucket.take(10.0)
    assert bucket.take(10.001)


def test_a_steady_sender_at_the_rate_is_never_refused() -> None:
    limit = RateLimit(rate=1000, burst=2000)
    bucket = limit.bucket(now=0.0)
    # 10 seconds at exactly 1000 messages/s, after a burst of 2000.
    assert all(bucket.take(0.0) for _ in range(2000))
    assert all(bucket.take(i / 1000) for i in range(1, 10_001))
    # One message faster than that is refused.
    assert not bucket.take(10.0)


def test_the_defaults_and_the_reason() -> None:
    assert (DEFAULT_RATE, DEFAULT_BURST) == (1000, 2000)
    assert RateLimit() == DEFAULT_RATE_LIMIT
    assert DEFAULT_RATE_LIMIT.reason == "rate limit: over 1000 messages/s"
    assert len(RateLimit(rate=1e300).reason.encode()) <= 123  # fits a close frame
    for rate, burst in [(0, 10), (-1, 10), (10, 0.5)]:
        with pytest.raises(ValueError):
            RateLimit(rate, burst)


def test_every_server_has_the_rate_limit_by_default_and_can_change_it() -> None:
    for name in SERVERS:
        assert create_server(name).rate_limit == DEFAULT_RATE_LIMIT, name
        assert create_server(name, rate_limit=None).rate_limit is None, name
        slow = RateLimit(5, 5)
        assert create_server(name, rate_limit=slow).rate_limit is slow, name


# --- the Origin policy ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        None,
        "http://localhost",
        "http://localhost:8888",
        "https://localhost:1",
        "http://127.0.0.1:65535",
        "http://[::1]:8888",
        "https://[::1]",
    ],
)
def test_no_origin_and_loopback_origins_are_allowed(origin: str | None) -> None:
    assert OriginPolicy().allows(origin)


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "null",
        "",
        "http://localhost.evil.example",
        "http://127.0.0.1.evil.example",
        "http://127.0.0.1@evil.example",
        "http://evil.example#http://localhost",
        "ws://localhost:8888",
        "file://",
        "http://localhost:8888/",
        "http://LOCALHOST:8888",
        "http://127.0.0.2:8888",
        "http://0.0.0.0:8888",
        "http://localhost:8888\nhttps://evil.example",
    ],
)
def test_other_origins_are_refused(origin: str) -> None:
    assert not OriginPolicy().allows(origin)


def test_origins_can_be_added_or_all_allowed() -> None:
    policy = origin_policy(["https://class.example"])
    assert policy.allows("https://class.example")
    assert not policy.allows("https://class.example.evil")
    assert origin_policy("https://one.example") == OriginPolicy(frozenset({"https://one.example"}))
    everyone = origin_policy(ALLOW_ALL)
    assert everyone.allows("https://anything.example") and everyone.describe() == "every origin"
    assert origin_policy(None) == OriginPolicy() == origin_policy(())
    for bad in ["https://x.example/", "x.example", "https://x.example/path", "*.example"]:
        with pytest.raises(ValueError):
            origin_policy([bad])


# --- tokens never in logs -------------------------------------------------------------------

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            f"connecting to ws://127.0.0.1:1/?token={JWT}",
            "connecting to ws://127.0.0.1:1/?token=***",
        ),
        (f"/?room=1&TOKEN={JWT}&x=2", "/?room=1&TOKEN=***&x=2"),
        (f"Cookie: wslab_token={JWT}; other=1", "Cookie: wslab_token=***; other=1"),
        (f'{{"type": "chat", "text": "{JWT}"}}', '{"type": "chat", "text": "eyJ***"}'),
        ("nothing secret here", "nothing secret here"),
        ("a=b&c=d", "a=b&c=d"),
    ],
)
def test_tokens_are_masked(text: str, masked: str) -> None:
    assert mask_secrets(text) == masked
    log = EventLog()
    log.record("connect", text)
    log.message("in", text)
    assert log.entries()[0].text == masked
    assert JWT not in repr(log.entries()) and JWT[-20:] not in repr(log.entries())


def test_a_client_connecting_with_a_token_never_logs_it() -> None:
    server = wslab.serve("auth")
    token = server.app.issue("alice")
    with sync_connect(f"{server.url}?token={token}") as ws:
        ws.recv(timeout=5)
        ws.send('{"type": "chat", "text": "my token is ' + token + '"}')
        ws.recv(timeout=5)
    everything = " ".join(e.text for e in server.log.entries())
    assert token not in everything and token.split(".")[2] not in everything
    assert "?token=***" in everything


def test_the_signing_secret_is_new_at_each_start_and_never_logged() -> None:
    first = wslab.serve("auth")
    secret = first.app._secret
    fingerprint = first.app.secret_fingerprint
    first.stop()
    second = wslab.serve("auth")
    assert second.app._secret != secret
    for server in (first, second):
        text = " ".join(e.text for e in server.log.entries())
        assert secret.hex() not in text and repr(secret) not in text
    assert fingerprint in " ".join(e.text for e in first.log.entries())


# --- loopback by default --------------------------------------------------------------------


def test_everything_binds_loopback_unless_told() -> None:
    assert runner.DEFAULT_HOST == "127.0.0.1"
    assert inspect.signature(wslab.serve).parameters["host"].default == "127.0.0.1"
    for name in SERVERS:
        server = wslab.serve(name, **({"interval": None} if name == "feed" else {}))
        assert server.host == "127.0.0.1", name
        assert server.url.startswith("ws://127.0.0.1:"), name
        server.stop()
    args = cli._parser().parse_args(["serve", "echo"])
    assert (args.host, args.origin) == ("127.0.0.1", [])


def test_the_cli_binds_loopback_by_default() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "wslab", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "127.0.0.1" in out


# --- TLS --------------------------------------------------------------------------------------


def test_tls_is_modern() -> None:
    from wslab.runtime.tls import local_tls

    tls = local_tls()
    for context in (tls.server, tls.client):
        assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
        assert context.options & ssl.OP_NO_COMPRESSION
        assert context.options & ssl.OP_NO_SSLv3
        names = [c["name"] for c in context.get_ciphers()]
        assert names, "no ciphers"
        for weak in ("RC4", "DES-", "NULL", "EXPORT", "MD5", "anon"):
            assert not [n for n in names if weak in n], weak
        # Forward secrecy and authenticated encryption only: every TLS 1.2
        # suite is ECDHE or DHE, with AES-GCM or ChaCha20-Poly1305 (no CBC).
        tls12 = [c for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"]
        assert tls12 and all(c["kea"] in ("kx-ecdhe", "kx-dhe") for c in tls12), tls12
        assert all(c["aead"] for c in tls12), [c["name"] for c in tls12 if not c["aead"]]
        assert not [n for n in names if "DSS" in n or "CBC" in n or n.endswith("-SHA")]
    assert tls.client.check_hostname and tls.client.verify_mode == ssl.CERT_REQUIRED


def test_a_tls_1_1_client_is_refused() -> None:
    from wslab.runtime.tls import local_tls

    tls = local_tls()
    server = wslab.serve("echo", ssl=tls.server)
    old = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    tls.ca.configure_trust(old)
    # A client that offers nothing newer than TLS 1.1 (deprecated: hence the filter).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises((ssl.SSLError, OSError)):
        sync_connect(server.url, ssl=old)
    with sync_connect(server.url, ssl=tls.client) as ws:
        ws.send("over TLS")
        assert ws.recv(timeout=5) == "over TLS"


def test_lesson_server_accepts_the_options_as_keywords() -> None:
    params = inspect.signature(LessonServer.__init__).parameters
    assert params["rate_limit"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["origins"].kind is inspect.Parameter.KEYWORD_ONLY


def test_the_proxies_listen_on_loopback_by_default() -> None:
    from wslab.network.balancer import Balancer
    from wslab.network.feed import CountingProxy
    from wslab.network.middlebox import Middlebox
    from wslab.network.wire import Wiretap

    # start_wiretap and start_middlebox pass their options on to these.
    for call in (Wiretap, Middlebox, Balancer):
        params = inspect.signature(call).parameters
        assert params["host"].default == "127.0.0.1", call
    assert inspect.signature(CountingProxy.start).parameters["host"].default == "127.0.0.1"


async def test_the_browser_shaped_client_never_logs_its_token() -> None:
    from wslab.clients.websocket import WebSocket

    server = wslab.serve("auth")
    token = server.app.issue("alice")
    ws = WebSocket(f"{server.url}?token={token}")
    try:
        await ws.wait_for("message")
    finally:
        ws.close()
        await ws.closed(timeout=5)
    text = " ".join(e.text for e in ws.log.entries())
    assert "?token=***" in text
    assert token not in text and token.split(".")[2] not in text


@pytest.mark.parametrize(
    "body",
    [
        b"1" * 5000,  # an integer over Python's 4300-digit limit: a ValueError, not JSON's
        b"[" * 100_000,  # nested too deep
        b"\xff\xfe",
        b'{"username": ["alice"], "password": "wonderland"}',
        b'{"username": "alice", "password": {"$ne": ""}}',
        b'{"username": "alice\\u0000", "password": "wonderland"}',
        b'{"username": "' + b"a" * 100 + b'", "password": "x"}',
    ],
)
def test_a_hostile_login_body_gets_a_json_error_not_a_500(body: bytes) -> None:
    import json
    import urllib.request
    from urllib.error import HTTPError

    server = wslab.serve("auth")
    request = urllib.request.Request(
        server.app.login_url, data=body, headers={"Content-Type": "application/json"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(HTTPError) as info:
        opener.open(request, timeout=5)
    with info.value as response:  # closes the connection
        assert response.code in (400, 401)
        answer = json.loads(response.read())
    assert answer["type"] == "error" and answer["message"]
    assert [e for e in server.log.entries("error")] == []


def test_the_cli_refuses_a_malformed_origin(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "echo", "--port", "0", "--origin", "evil.example/path"]) == 2
    assert "an origin is scheme://host[:port]" in capsys.readouterr().err
    args = cli._parser().parse_args(["serve", "rooms", "--origin", "*", "--origin", "https://a.b"])
    assert args.origin == ["*", "https://a.b"]
