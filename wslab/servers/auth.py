"""``auth``: lesson 8. Log in over HTTP for a JWT, then bring it to the WebSocket.

One aiohttp application on one port (websockets serves only bodiless GET
upgrades, and a login is a POST with a JSON body)::

    POST /api/login  {"username": "alice", "password": "wonderland"}
        200 {"token": "<JWT>", "token_type": "Bearer", "user": "alice", "expires_in": 3600}
            and Set-Cookie: wslab_token=<JWT>; HttpOnly; SameSite=Strict; Path=/
        401 {"type": "error", "error": "invalid-credentials", ...}   wrong name or password
        400 {"type": "error", "error": "invalid-json" | "invalid-shape" | "invalid-field", ...}

    GET /?token=<JWT>   (or the wslab_token cookie)   the WebSocket
        an Origin header other than the server's own: HTTP 403, no WebSocket
        then, after the handshake, a close frame for a bad token:
            4001 "Unauthorized"   missing, malformed, forged, wrong key, alg none
            4002 "Token expired"
            4003 "Banned"         checked now, so a token from before the ban fails
        or, for a good token:
        ← {"type": "welcome", "user": "alice"}
        → {"type": "chat", "text": "hi"}    ← {"type": "chat", "from": "alice", "text": "hi"}
                                               to every signed-in client
        → {"type": "whoami"}                ← {"type": "you", "user": "alice"}

The user comes from the verified token only: a ``"from"`` a client puts in
its message is ignored. The signing secret is made afresh each time the
server starts (so a restart signs everybody out) and never logged; tokens in
URLs and cookies are masked in the log. Bad messages get the course's
``{"type": "error", ...}`` answer; over 1 MiB closes with 1009.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from ssl import SSLContext
from typing import Any

from aiohttp import WSMsgType, web

from wslab.core.auth import (
    TOKEN_LIFETIME,
    TokenRejected,
    check_token,
    fingerprint,
    issue_token,
    mask_token,
    new_secret,
)
from wslab.core.messages import (
    POLICY_VIOLATION,
    MessageError,
    dumps,
    error_payload,
    parse_message,
    require_text,
)
from wslab.core.ratelimit import RateLimit
from wslab.core.timescale import real_seconds
from wslab.servers.base import HttpLessonServer, start_aiohttp
from wslab.state.auth import UserTable
from wslab.state.eventlog import EventLog

__all__ = ["COOKIE_NAME", "LOGIN_PATH", "AuthServer", "AuthSession"]

LOGIN_PATH = "/api/login"
COOKIE_NAME = "wslab_token"
#: Longer names and passwords are refused before any hashing is done.
MAX_USERNAME_CHARS = 64
MAX_PASSWORD_CHARS = 1024
#: Real seconds a stopping server waits for its handlers (every WebSocket has
#: been sent 1001 by then); aiohttp's default of 60 would hold the cell.
SHUTDOWN_TIMEOUT = 0.5


@dataclass(frozen=True)
class AuthSession:
    """A signed-in WebSocket connection: who it is, as the token proved."""

    peer: str
    user: str
    ws: web.WebSocketResponse


class AuthServer(HttpLessonServer):
    """A login endpoint and a WebSocket that lets in only valid tokens.

    Args:
        users: the accounts and the ban list; the demo table (alice, bob, and
            mallory, who is banned) by default.
        origins: more ``Origin`` values to accept besides the server's own,
            loopback pages and non-browser clients; ``"*"`` accepts all.
        rate_limit: each connection's :class:`~wslab.core.ratelimit.RateLimit`,
            None for none, ``"default"`` for 1000 messages/s.
        token_lifetime: nominal seconds a token lives (an hour).
        close_timeout: real seconds to wait for a client's answer to our close.

    Attributes:
        sessions: the signed-in connections, by peer id (``"#1"``, ...).
        allowed_origins: the ``Origin`` headers a handshake may carry.
    """

    name = "auth"
    lessons = (8,)
    summary = "POST /api/login for a JWT; a WebSocket that checks it (close 4001-4003)"
    types = ("chat", "whoami")

    def __init__(
        self,
        log: EventLog | None = None,
        *,
        users: UserTable | None = None,
        origins: str | Iterable[str] = (),
        token_lifetime: float = TOKEN_LIFETIME,
        close_timeout: float = 5.0,
        rate_limit: RateLimit | str | None = "default",
    ) -> None:
        super().__init__(log, rate_limit=rate_limit, origins=origins)
        self.users = users if users is not None else UserTable()
        self.token_lifetime = token_lifetime
        self.close_timeout = close_timeout
        self.sessions: dict[str, AuthSession] = {}
        self.allowed_origins: set[str] = set(self.origin_policy.extra)
        self._extra_origins = self.origin_policy.extra
        # Replaced at each start; kept private: whoever has it can sign tokens.
        self._secret = new_secret()
        self._runner: web.AppRunner | None = None
        self._stopping = False

    # --- listening: aiohttp instead of websockets ---------------------------------

    async def listen(self, host: str, port: int, ssl: SSLContext | None = None) -> int:
        """Serve the login endpoint and the WebSocket on one port; return it."""
        self._secret = new_secret()
        self._stopping = False
        app = web.Application(logger=self.logger, client_max_size=self.max_size)
        app.router.add_post(LOGIN_PATH, self._login)
        app.router.add_get("/", self._websocket)
        self._runner, self.port = await start_aiohttp(
            app, host, port, ssl, logger=self.logger, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        self.host = host
        self.secure = ssl is not None
        scheme = "https" if self.secure else "http"
        self.allowed_origins = {self.origin, f"{scheme}://localhost:{self.port}"}
        self.allowed_origins |= self._extra_origins
        self.log.record(
            "secret", f"new signing secret made (fingerprint {self.secret_fingerprint})"
        )
        return self.port

    async def close(self, grace: float) -> None:
        """Close every WebSocket with 1001 "going away", then stop serving.

        Clients get ``grace`` seconds to answer the close frame (a client on a
        blocked kernel loop cannot), then their connections are dropped.
        """
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._stopping = True
        for site in list(runner.sites):
            await site.stop()  # no new connections from here on
        closing = [
            s.ws.close(code=1001, message=b"server stopping") for s in self.sessions.values()
        ]
        if closing:
            # The close frames are out at once; wait_for drops the silent clients.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), grace)
        await runner.cleanup()

    # --- what the lesson looks at ---------------------------------------------------

    @property
    def login_url(self) -> str:
        return self.http_url + LOGIN_PATH

    @property
    def origin(self) -> str:
        """The server's own origin: pages from here may open its WebSocket."""
        return self.http_url

    @property
    def secret_fingerprint(self) -> str:
        """A short one-way name for the current secret (the secret itself stays here)."""
        return fingerprint(self._secret)

    def online(self) -> list[str]:
        """The signed-in users, in the order they connected."""
        return [s.user for s in list(self.sessions.values())]

    def ban(self, user: str) -> None:
        """Ban ``user``: their next connection is refused with 4003. Thread-safe."""
        self.users.ban(user)
        self.log.record("ban", f"{user} is banned")

    def unban(self, user: str) -> None:
        self.users.unban(user)
        self.log.record("ban", f"{user} is no longer banned")

    def issue(self, user: str, *, lifetime: float | None = None, now: float | None = None) -> str:
        """Sign a token as the login would, without a password: the lesson's shortcut.

        A real server has no such door; the lesson uses it to make tokens that
        expired long ago (``now=time.time() - 7200``) without waiting an hour.
        """
        lifetime = self.token_lifetime if lifetime is None else lifetime
        return issue_token(user, self._secret, lifetime=lifetime, now=now)

    def check(self, token: str | None) -> str:
        """Check ``token`` as a connection would; return the user.

        Raises:
            TokenRejected: with the close code the connection would get.
        """
        return check_token(token, self._secret, banned=self.users.is_banned, users=self.users)

    # --- POST /api/login -----------------------------------------------------------

    async def _login(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except (ValueError, RecursionError):
            # JSONDecodeError and UnicodeDecodeError are ValueErrors, and so is
            # an integer of over 4300 digits; a 1 MiB "[[[[..." recurses too deep.
            return self._refuse_login(400, "invalid-json", "the body must be JSON")
        except web.HTTPRequestEntityTooLarge:
            return self._refuse_login(413, "too-large", "the body is too large")
        if not isinstance(body, dict):
            return self._refuse_login(
                400, "invalid-shape", 'send {"username": ..., "password": ...}'
            )
        username, password = body.get("username"), body.get("password")
        for field, value, limit in (
            ("username", username, MAX_USERNAME_CHARS),
            ("password", password, MAX_PASSWORD_CHARS),
        ):
            if not isinstance(value, str) or not value:
                return self._refuse_login(
                    400, "invalid-field", f'"{field}" must be a non-empty string'
                )
            if len(value) > limit:
                return self._refuse_login(
                    400, "invalid-field", f'"{field}" is longer than {limit} characters'
                )
        assert isinstance(username, str) and isinstance(password, str)
        # scrypt takes a few tens of milliseconds on purpose; for a lesson
        # server that is fine to do on the loop.
        if not self.users.verify(username, password):
            # The same answer for an unknown name and a wrong password: an
            # attacker must not learn which accounts exist.
            return self._refuse_login(
                401, "invalid-credentials", "wrong username or password", who=username
            )
        token = self.issue(username)
        self.log.record("login", f"{username} logged in: token issued")
        response = web.json_response(
            {
                "token": token,
                "token_type": "Bearer",
                "user": username,
                "expires_in": round(self.token_lifetime),  # nominal seconds
            }
        )
        # The alternative to the URL: a cookie the browser sends by itself.
        # HttpOnly: page scripts cannot read it (an injected script cannot
        # steal it); SameSite=Strict: not sent with requests from other sites.
        response.set_cookie(
            COOKIE_NAME,
            token,
            httponly=True,
            samesite="Strict",
            path="/",
            max_age=max(1, round(real_seconds(self.token_lifetime))),
            secure=self.secure or None,
        )
        return response

    def _refuse_login(self, status: int, code: str, message: str, who: str = "") -> web.Response:
        shown = f" for {who[:32]!r}" if who else ""
        self.log.record("login-refused", f"{status} {code}{shown}", code=None)
        return web.json_response(error_payload(code, message), status=status)

    # --- GET / : the WebSocket --------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        where = mask_token(request.path_qs)
        # Browsers always send Origin, and a page cannot fake it: refusing
        # foreign origins stops cross-site WebSocket hijacking, where another
        # site's page opens our socket and the browser adds our cookie.
        refused = self.refused_origin(
            request.headers.get("Origin"), also=self.allowed_origins, where=where
        )
        if refused is not None:
            return web.json_response(error_payload("forbidden-origin", refused), status=403)
        ws = web.WebSocketResponse(
            max_msg_size=self.max_size, timeout=self.close_timeout, compress=False
        )
        if not ws.can_prepare(request).ok:
            return web.json_response(
                error_payload("upgrade-required", "this is a WebSocket endpoint"), status=426
            )
        token = request.query.get("token")
        source = "the URL"
        if token is None:
            token = request.cookies.get(COOKIE_NAME)
            source = "a cookie"
        self._next_peer += 1
        peer = f"#{self._next_peer}"
        self.log.record("connect", f"{peer} connected from {request.remote} to {where}", peer=peer)
        await ws.prepare(request)
        # The handshake is done: now a refusal is a close frame the client's
        # close event shows, with our code and reason (a refused handshake
        # would only show 1006 in a browser).
        try:
            user = self.check(token)
        except TokenRejected as rejected:
            self.log.record(
                "refused",
                f"{peer}: {rejected.code} {rejected.reason} ({rejected.detail})",
                peer=peer,
                code=rejected.code,
            )
            await ws.close(code=rejected.code, message=rejected.reason.encode())
            self.log.record(
                "close",
                f"{peer} closed: {rejected.code} {rejected.reason}",
                peer=peer,
                code=rejected.code,
            )
            return ws
        self.log.record("auth", f"{peer} is {user} (token from {source})", peer=peer)
        session = AuthSession(peer, user, ws)
        self.sessions[peer] = session
        code: int | None = None
        reason = ""
        try:
            await self._send(session, {"type": "welcome", "user": user})
            code, reason = await self._session(session)
        finally:
            del self.sessions[peer]
            if code is None and ws.close_code is not None:
                code = int(ws.close_code)
            self.log.record(
                "close", f"{peer} closed: {code} {reason}".rstrip(), peer=peer, code=code
            )
        return ws

    async def _session(self, session: AuthSession) -> tuple[int | None, str]:
        """Read messages until the connection closes; return the close code and reason."""
        ws = session.ws
        limit, within = self.rate_limit, self.rate_check()
        while True:
            msg = await ws.receive()
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                if limit is not None and within is not None and not within():
                    reason = self.flooded(session.peer, limit)
                    await ws.close(code=POLICY_VIOLATION, message=reason.encode())
                    return POLICY_VIOLATION, reason
                # Binary frames are refused by parse_message with a clear error.
                self.log.message("in", msg.data, session.peer)
                await self._on_text(session, msg.data)
            elif msg.type is WSMsgType.CLOSE:
                return msg.data, msg.extra or ""
            elif msg.type is WSMsgType.ERROR:
                # Too big (1009) or a protocol error: aiohttp closed with the
                # error's code (ws.close_code may say 1006 if the client, busy
                # sending the rest of its huge message, never answered).
                code = getattr(msg.data, "code", None)
                return (int(code) if code is not None else ws.close_code), str(msg.data)
            elif self._stopping:  # CLOSING: close() is sending 1001 to everyone
                return 1001, "server stopping"
            else:  # CLOSED
                return ws.close_code, ""

    async def _on_text(self, session: AuthSession, data: str | bytes) -> None:
        try:
            request = parse_message(data, self.types)
            if request["type"] == "whoami":
                await self._send(session, {"type": "you", "user": session.user})
                return
            text = require_text(request, "text")
            # "from" is the token's user, whatever the message claims.
            message = {"type": "chat", "from": session.user, "text": text}
            for other in list(self.sessions.values()):
                await self._send(other, message)
        except MessageError as error:
            self.log.record(
                "refused", f"{session.peer}: {error.code}: {error.message}", peer=session.peer
            )
            await self._send(session, error.payload())

    async def _send(self, session: AuthSession, obj: dict[str, Any]) -> None:
        text = dumps(obj)
        self.log.message("out", text, session.peer)
        try:
            await session.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            # Closed, or closing, since: as websockets' send would, skip it.
            self.log.record(
                "discarded",
                f"{session.peer} closed before the message was sent",
                peer=session.peer,
            )
