"""The ``auth`` server's contract over real sockets, and the AuthClient around it.

Login over HTTP (aiohttp's client), the WebSocket with websockets' own client
(to read close codes exactly as they are on the wire) and with wslab's
browser-shaped client (to see what a page's ``close`` event shows).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import socket
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from helpers import TOO_BIG, async_wait_until, recv_json, send_json, sync_connect, wait_until
from websockets.exceptions import ConnectionClosed, InvalidStatus

import wslab
from wslab.clients.auth import AuthClient, login_url_for
from wslab.clients.websocket import WebSocket
from wslab.core.auth import decode_part, decode_payload, issue_token, new_secret
from wslab.servers import SERVERS
from wslab.servers.auth import COOKIE_NAME, AuthServer
from wslab.state.auth import UserTable

ALICE = {"username": "alice", "password": "wonderland"}


@pytest.fixture
def auth() -> wslab.RunningServer:
    return wslab.serve("auth")


async def post(url: str, body: Any = None, *, raw: bytes | None = None) -> tuple[int, Any, Any]:
    """POST JSON (or raw bytes); return status, the decoded JSON body and the headers."""
    async with aiohttp.ClientSession() as http:
        # A BytesIO, not bytes: aiohttp warns about large bytes bodies.
        kwargs: dict[str, Any] = {"data": io.BytesIO(raw)} if raw is not None else {"json": body}
        async with http.post(url, **kwargs) as response:
            text = await response.text()
            return response.status, json.loads(text), response.headers


async def login(server: wslab.RunningServer, body: Any = ALICE) -> str:
    status, reply, _ = await post(server.app.login_url, body)
    assert status == 200, reply
    token: str = reply["token"]
    return token


def closed_with(url: str, **kwargs: Any) -> tuple[int, str]:
    """Connect, expect the server to close right after the handshake; return code, reason."""
    with sync_connect(url, **kwargs) as ws, pytest.raises(ConnectionClosed) as info:
        ws.recv(timeout=5)
    assert info.value.rcvd is not None, "the server must send a real close frame"
    return info.value.rcvd.code, info.value.rcvd.reason


def b64url(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


# --- the registry -----------------------------------------------------------------


def test_auth_is_a_lesson_server() -> None:
    assert SERVERS["auth"] is AuthServer
    assert AuthServer.lessons == (8,)
    assert AuthServer.summary


# --- POST /api/login ------------------------------------------------------------------


async def test_login_returns_a_jwt_and_a_cookie(auth: wslab.RunningServer) -> None:
    status, reply, headers = await post(auth.app.login_url, ALICE)
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert set(reply) == {"token", "token_type", "user", "expires_in"}
    assert (reply["token_type"], reply["user"], reply["expires_in"]) == ("Bearer", "alice", 3600)
    token = reply["token"]
    header, payload = (decode_part(p) for p in token.split(".")[:2])
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert set(payload) == {"sub", "iat", "exp"} and payload["sub"] == "alice"
    assert auth.app.check(token) == "alice"
    cookie = headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}={token};")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="):
        assert attribute in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back


async def test_the_token_expires_in_an_hour_nominal(auth: wslab.RunningServer, fast: float) -> None:
    token = await login(auth)
    claims = decode_payload(token)
    assert claims["exp"] - claims["iat"] == round(3600 * fast)
    assert abs(claims["iat"] - time.time()) < 60


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice", "password": "Wonderland"},
        {"username": "alice", "password": "wonderland "},
        {"username": "zed", "password": "wonderland"},
        {"username": "Alice", "password": "wonderland"},
    ],
)
async def test_wrong_credentials_are_401_with_one_message(
    auth: wslab.RunningServer, body: dict[str, str]
) -> None:
    status, reply, headers = await post(auth.app.login_url, body)
    assert status == 401
    # The same words for an unknown name and a wrong password.
    assert reply == {
        "type": "error",
        "error": "invalid-credentials",
        "message": "wrong username or password",
    }
    assert "Set-Cookie" not in headers


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"{not json", "invalid-json"),
        (b"", "invalid-json"),
        (b"\xff\xfe", "invalid-json"),
        (b'["alice", "wonderland"]', "invalid-shape"),
        (b'"alice"', "invalid-shape"),
        (b"{}", "invalid-field"),
        (b'{"username": "alice"}', "invalid-field"),
        (b'{"username": 1, "password": "x"}', "invalid-field"),
        (b'{"username": "alice", "password": ["wonderland"]}', "invalid-field"),
        (b'{"username": "", "password": "x"}', "invalid-field"),
        (json.dumps({"username": "a" * 65, "password": "x"}).encode(), "invalid-field"),
        (json.dumps({"username": "alice", "password": "x" * 1025}).encode(), "invalid-field"),
    ],
)
async def test_malformed_bodies_are_400_json(
    auth: wslab.RunningServer, raw: bytes, error: str
) -> None:
    status, reply, _ = await post(auth.app.login_url, raw=raw)
    assert status == 400
    assert reply["type"] == "error" and reply["error"] == error and reply["message"]


async def test_a_huge_body_is_413_json(auth: wslab.RunningServer) -> None:
    status, reply, _ = await post(auth.app.login_url, raw=b"x" * TOO_BIG)
    assert status == 413 and reply["error"] == "too-large"


async def test_other_methods_and_paths(auth: wslab.RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(auth.app.login_url) as response:
            assert response.status == 405
        async with http.get(auth.app.http_url + "/") as response:
            assert response.status == 426  # the WebSocket endpoint, without an upgrade
            assert (await response.json())["error"] == "upgrade-required"
        async with http.get(auth.app.http_url + "/nowhere") as response:
            assert response.status == 404


async def test_a_banned_user_may_log_in_but_not_connect(auth: wslab.RunningServer) -> None:
    token = await login(auth, {"username": "mallory", "password": "trouble"})
    assert closed_with(f"{auth.url}?token={token}") == (4003, "Banned")


async def test_passwords_and_tokens_never_reach_the_log(auth: wslab.RunningServer) -> None:
    token = await login(auth)
    await post(auth.app.login_url, {"username": "bob", "password": "not-builder"})
    with sync_connect(f"{auth.url}?token={token}") as ws:
        recv_json(ws)
    closed_with(f"{auth.url}?token={token}x")
    wait_until(lambda: len(auth.log.entries("close")) == 2)
    text = "\n".join(e.text for e in auth.log.entries())
    for secret in ("wonderland", "not-builder", token, token.split(".")[2]):
        assert secret not in text
    assert auth.app._secret.hex() not in text
    assert "/?token=***" in text
    assert auth.app.secret_fingerprint in text  # a one-way name is fine to show


# --- the WebSocket: a good token ---------------------------------------------------------


async def test_a_good_token_is_welcomed_by_name(auth: wslab.RunningServer) -> None:
    token = await login(auth)
    with sync_connect(f"{auth.url}?token={token}") as ws:
        assert recv_json(ws) == {"type": "welcome", "user": "alice"}
        send_json(ws, {"type": "whoami"})
        assert recv_json(ws) == {"type": "you", "user": "alice"}
        assert auth.app.online() == ["alice"]
    wait_until(lambda: auth.log.entries("close"))
    assert auth.app.online() == []
    assert auth.log.entries("close")[-1].code == 1000
    assert any(e.text.endswith("is alice (token from the URL)") for e in auth.log.entries("auth"))


async def test_messages_are_tagged_with_the_tokens_user(auth: wslab.RunningServer) -> None:
    alice = auth.app.issue("alice")
    bob = auth.app.issue("bob")
    with (
        sync_connect(f"{auth.url}?token={alice}") as a,
        sync_connect(f"{auth.url}?token={bob}") as b,
    ):
        recv_json(a), recv_json(b)
        send_json(a, {"type": "chat", "text": "hi", "from": "bob"})  # a lie: ignored
        expected = {"type": "chat", "from": "alice", "text": "hi"}
        assert recv_json(a) == expected
        assert recv_json(b) == expected


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("not json", "invalid-json"),
        ('{"type": "dance"}', "unknown-type"),
        ('{"type": "chat"}', "invalid-field"),
        ('{"type": "chat", "text": ""}', "invalid-field"),
        ("[1, 2]", "invalid-shape"),
        (b"\x00\x01", "binary-not-supported"),
    ],
)
async def test_bad_messages_get_an_error_and_the_session_goes_on(
    auth: wslab.RunningServer, message: str | bytes, error: str
) -> None:
    token = auth.app.issue("alice")
    with sync_connect(f"{auth.url}?token={token}") as ws:
        recv_json(ws)
        ws.send(message)
        reply = recv_json(ws)
        assert reply["type"] == "error" and reply["error"] == error
        send_json(ws, {"type": "whoami"})
        assert recv_json(ws)["user"] == "alice"


async def test_over_one_mebibyte_closes_1009_and_others_go_on(auth: wslab.RunningServer) -> None:
    with sync_connect(f"{auth.url}?token={auth.app.issue('bob')}") as bystander:
        recv_json(bystander)
        with sync_connect(f"{auth.url}?token={auth.app.issue('alice')}") as ws:
            recv_json(ws)
            ws.send("x" * TOO_BIG)
            with pytest.raises(ConnectionClosed) as info:
                ws.recv(timeout=5)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1009
        send_json(bystander, {"type": "whoami"})
        assert recv_json(bystander)["user"] == "bob"
    wait_until(lambda: len(auth.log.entries("close")) == 2)
    assert [e.code for e in auth.log.entries("close")] == [1009, 1000]


# --- the WebSocket: every refusal, as a close frame after the handshake --------------


def _forged(server: wslab.RunningServer) -> str:
    header, _, signature = server.app.issue("bob").split(".")
    now = int(time.time())
    return f"{header}.{b64url({'sub': 'alice', 'iat': now, 'exp': now + 3600})}.{signature}"


def _alg_none(server: wslab.RunningServer) -> str:
    now = int(time.time())
    claims = {"sub": "alice", "iat": now, "exp": now + 3600}
    return f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims)}."


REFUSALS: dict[str, tuple[Callable[[wslab.RunningServer], str | None], int, str]] = {
    "missing": (lambda s: None, 4001, "Unauthorized"),
    "empty": (lambda s: "", 4001, "Unauthorized"),
    "malformed": (lambda s: "not-a-jwt", 4001, "Unauthorized"),
    "forged": (_forged, 4001, "Unauthorized"),
    "wrong key": (lambda s: issue_token("alice", new_secret()), 4001, "Unauthorized"),
    "alg none": (_alg_none, 4001, "Unauthorized"),
    "unknown user": (lambda s: s.app.issue("zed"), 4001, "Unauthorized"),
    "expired": (lambda s: s.app.issue("alice", now=time.time() - 7200), 4002, "Token expired"),
    "banned": (lambda s: s.app.issue("mallory"), 4003, "Banned"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_every_bad_token_gets_its_close_code(auth: wslab.RunningServer, case: str) -> None:
    make, code, reason = REFUSALS[case]
    token = make(auth)
    url = auth.url if token is None else f"{auth.url}?token={token}"
    with sync_connect(f"{auth.url}?token={auth.app.issue('bob')}") as bystander:
        recv_json(bystander)
        assert closed_with(url) == (code, reason)
        # The server goes on serving everyone else.
        send_json(bystander, {"type": "whoami"})
        assert recv_json(bystander)["user"] == "bob"
    wait_until(lambda: len(auth.log.entries("close")) == 2)
    refused = auth.log.entries("refused")
    assert len(refused) == 1 and refused[0].code == code
    assert auth.log.entries("close")[0].code == code


def test_a_ban_refuses_a_token_issued_before_it(auth: wslab.RunningServer) -> None:
    token = auth.app.issue("bob")
    with sync_connect(f"{auth.url}?token={token}") as ws:
        assert recv_json(ws)["user"] == "bob"
    auth.app.ban("bob")
    assert closed_with(f"{auth.url}?token={token}") == (4003, "Banned")
    auth.app.unban("bob")
    with sync_connect(f"{auth.url}?token={token}") as ws:
        assert recv_json(ws)["user"] == "bob"


async def test_the_browser_shaped_client_sees_open_then_close_4001(
    auth: wslab.RunningServer, make_ws: Callable[..., WebSocket]
) -> None:
    ws = make_ws(f"{auth.url}?token=nonsense")
    event = await ws.closed()
    assert ws.events == ["open", "close"]  # no error: a clean close, by the server
    assert (event.code, event.reason, event.was_clean) == (4001, "Unauthorized", True)


async def test_the_secret_differs_per_start(auth: wslab.RunningServer) -> None:
    token = await login(auth)
    first = auth.app.secret_fingerprint
    again = wslab.serve("auth")  # replaces it
    assert again.app.secret_fingerprint != first
    assert again.app._secret != auth.app._secret
    assert closed_with(f"{again.url}?token={token}") == (4001, "Unauthorized")
    # The same instance served twice makes a new secret too.
    app = AuthServer()
    one = wslab.serve(app, name="one")
    secret = app._secret
    one.stop()
    two = wslab.serve(app, name="two")
    assert app._secret != secret
    two.stop()


# --- cookies --------------------------------------------------------------------------------


async def test_the_token_may_come_in_a_cookie(auth: wslab.RunningServer) -> None:
    token = await login(auth)
    with sync_connect(auth.url, additional_headers={"Cookie": f"{COOKIE_NAME}={token}"}) as ws:
        assert recv_json(ws) == {"type": "welcome", "user": "alice"}
    wait_until(lambda: auth.log.entries("close"))
    assert any("token from a cookie" in e.text for e in auth.log.entries("auth"))
    assert all(token not in e.text for e in auth.log.entries())


async def test_a_cookie_jar_sends_the_cookie_by_itself(auth: wslab.RunningServer) -> None:
    # Like a browser: log in, and the next request to the same server carries the cookie.
    jar = aiohttp.CookieJar(unsafe=True)  # unsafe: allow cookies for an IP address
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.post(auth.app.login_url, json=ALICE) as response:
            assert response.status == 200
        async with http.ws_connect(auth.url) as ws:
            assert await ws.receive_json() == {"type": "welcome", "user": "alice"}


async def test_a_bad_token_in_the_url_wins_over_a_good_cookie(auth: wslab.RunningServer) -> None:
    token = await login(auth)
    headers = {"Cookie": f"{COOKIE_NAME}={token}"}
    assert closed_with(f"{auth.url}?token=bad", additional_headers=headers) == (
        4001,
        "Unauthorized",
    )


# --- the Origin check -------------------------------------------------------------------


async def test_a_foreign_origin_is_refused_with_403(auth: wslab.RunningServer) -> None:
    token = await login(auth)
    headers = {"Cookie": f"{COOKIE_NAME}={token}"}
    with pytest.raises(InvalidStatus) as info:
        sync_connect(auth.url, origin="https://evil.example", additional_headers=headers)
    assert info.value.response.status_code == 403
    assert json.loads(info.value.response.body or b"{}")["error"] == "forbidden-origin"
    assert auth.app.sessions == {}
    assert auth.log.entries("refused")[0].text.startswith("403 for Origin 'https://evil.example'")


@pytest.mark.parametrize("which", ["own", "localhost", "none"])
def test_the_servers_own_origin_or_none_is_accepted(auth: wslab.RunningServer, which: str) -> None:
    origin = {
        "own": auth.app.origin,
        "localhost": f"http://localhost:{auth.port}",
        "none": None,
    }[which]
    assert auth.app.origin == f"http://127.0.0.1:{auth.port}"
    with sync_connect(f"{auth.url}?token={auth.app.issue('alice')}", origin=origin) as ws:
        assert recv_json(ws)["user"] == "alice"


def test_more_origins_can_be_allowed() -> None:
    server = wslab.serve("auth", origins=["https://app.example"])
    with sync_connect(
        f"{server.url}?token={server.app.issue('bob')}", origin="https://app.example"
    ) as ws:
        assert recv_json(ws)["user"] == "bob"
    with pytest.raises(InvalidStatus):
        sync_connect(server.url, origin="https://app.example.evil")


async def test_the_browser_shaped_client_with_a_foreign_origin_fails(
    auth: wslab.RunningServer, make_ws: Callable[..., WebSocket]
) -> None:
    ws = make_ws(f"{auth.url}?token={auth.app.issue('alice')}", origin="https://evil.example")
    event = await ws.closed()
    assert ws.events == ["error", "close"]  # the handshake failed: never open
    assert (event.code, event.was_clean) == (1006, False)


# --- stopping ------------------------------------------------------------------------------


def test_stop_closes_sessions_with_1001(auth: wslab.RunningServer) -> None:
    with sync_connect(f"{auth.url}?token={auth.app.issue('alice')}") as ws:
        recv_json(ws)
        auth.stop()
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1001
    assert auth.log.entries("close")[-1].code == 1001
    assert auth.log.kinds()[-1] == "stopped"


def test_a_custom_user_table(fast: float) -> None:
    users = UserTable([], banned=[])
    users.add("zoe", "pw")
    server = wslab.serve("auth", users=users)
    assert server.app.users is users
    assert closed_with(f"{server.url}?token={server.app.issue('alice')}")[0] == 4001
    with sync_connect(f"{server.url}?token={server.app.issue('zoe')}") as ws:
        assert recv_json(ws)["user"] == "zoe"


def test_nothing_reaches_stderr(
    auth: wslab.RunningServer, capfd: pytest.CaptureFixture[str]
) -> None:
    # A handshake cut half-way, garbage instead of HTTP, and an abrupt drop.
    with socket.create_connection(("127.0.0.1", auth.port)) as sock:
        sock.sendall(b"GET /?token=x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
    with socket.create_connection(("127.0.0.1", auth.port)) as sock:
        sock.sendall(b"\x00\x01garbage\r\n\r\n")
        sock.recv(100)
    with sync_connect(f"{auth.url}?token={auth.app.issue('alice')}") as ws:
        recv_json(ws)
        ws.socket.shutdown(socket.SHUT_RDWR)  # gone, without a close frame
    wait_until(lambda: auth.log.entries("close"))
    auth.stop()
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


# --- the AuthClient ------------------------------------------------------------------------


def test_login_url_for() -> None:
    assert login_url_for("ws://127.0.0.1:8/") == "http://127.0.0.1:8/api/login"
    assert login_url_for("wss://h:9/x?token=1") == "https://h:9/api/login"


async def test_auth_client_logs_in_and_connects(auth: wslab.RunningServer) -> None:
    client = AuthClient(auth.url)
    with pytest.raises(RuntimeError):
        client.connect()  # no token yet
    assert not await client.login("alice", "nope")
    assert client.error == "401 wrong username or password"
    assert client.state == "logged out" and not client.has_token
    assert await client.login("alice", "wonderland")
    assert client.has_token and client.error is None
    client.connect()
    assert await client.wait_for_state("connected") == "connected"
    with pytest.raises(RuntimeError):
        await client.login("alice", "wonderland")  # close first
    client.send_json({"type": "chat", "text": "hello"})
    await async_wait_until(lambda: client.messages[-1].get("type") == "chat")
    assert client.messages == [
        {"type": "welcome", "user": "alice"},
        {"type": "chat", "from": "alice", "text": "hello"},
    ]
    client.close()
    await client.closed()
    assert client.state == "disconnected" and client.close_code == 1000
    assert client.states == [
        "logged out",
        "logging in",
        "logged out",
        "logging in",
        "logged in",
        "connecting",
        "connected",
        "disconnected",
    ]


async def test_on_4001_it_asks_for_a_login_and_never_retries(
    auth: wslab.RunningServer, fast: float
) -> None:
    client = AuthClient(auth.url, retry_delay=1.0)
    await client.login("alice", "wonderland")
    client.connect()
    await client.wait_for_state("connected")
    # The server restarts on the same port, with a new secret.
    port = auth.port
    auth.stop()
    restarted = wslab.serve("auth", port=port)
    assert await client.wait_for_state("login required") == "login required"
    assert client.states[-4:] == ["connected", "reconnecting", "connecting", "login required"]
    assert (client.close_code, client.close_reason) == (4001, "Unauthorized")
    assert not client.has_token and client.attempts == 2
    # Ten retry delays later: still one refused connection, no loop.
    await asyncio.sleep(10 * 1.0 * fast)
    assert client.attempts == 2
    assert len(restarted.log.entries("connect")) == 1
    # Logging in again gets a token the new server accepts.
    assert await client.login("alice", "wonderland")
    client.connect()
    await client.wait_for_state("connected")
    client.close()
    await client.closed()


@pytest.mark.parametrize(
    ("user", "issued", "state", "code"),
    [("alice", -7200.0, "login required", 4002), ("mallory", 0.0, "banned", 4003)],
)
async def test_4002_and_4003_end_the_session_too(
    auth: wslab.RunningServer, user: str, issued: float, state: str, code: int
) -> None:
    client = AuthClient(auth.url)
    client._token = auth.app.issue(user, now=time.time() + issued)  # a token from elsewhere
    client.connect()
    assert await client.wait_for_state("login required", "banned") == state
    assert client.close_code == code and client.attempts == 1
    assert "connected" not in client.states  # it opened, but was never let in


async def test_an_ordinary_drop_is_retried_a_few_times(
    auth: wslab.RunningServer, fast: float
) -> None:
    client = AuthClient(auth.url, retry_delay=0.5, max_retries=3)
    await client.login("bob", "builder")
    client.connect()
    await client.wait_for_state("connected")
    auth.stop()  # and not started again
    assert await client.wait_for_state("disconnected", timeout=10) == "disconnected"
    assert client.attempts == 4  # the first connection and three retries
    assert client.states.count("reconnecting") == 3
    assert client.close_code == 1006
