"""A signed-in WebSocket client: log in, bring the token, react to 4001-4003.

The seed's production flow, step 4: "on close code 4001 → redirect to login".
:class:`AuthClient` is what a web page does around its ``WebSocket``::

    client = AuthClient(server.url)
    await client.login("alice", "wonderland")   # POST /api/login → a JWT
    client.connect()                            # new WebSocket(url + "?token=" + jwt)
    await client.wait_for_state("connected")    # the server's welcome arrived

Its ``state`` moves through :data:`STATES`. A connection that drops for an
ordinary reason (the server restarts: 1001; the network fails: 1006) is
retried, a few times, a little later. A close with an *auth* code is never
retried, because the same token would be refused again, forever:

- 4001 "Unauthorized" and 4002 "Token expired" → ``"login required"``: the
  token is dropped and the page shows its login form;
- 4003 "Banned" → ``"banned"``: logging in again will not help.

Note that ``open`` is not "signed in": the server checks the token *after*
the handshake, so a refused client also opens first. The client counts as
``"connected"`` once the server's ``welcome`` arrives.

Runs on the event loop it was made on (the kernel's); not thread-safe.
"""

from __future__ import annotations

import asyncio
import json
import ssl as ssl_module
from typing import Any, Literal, get_args
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp

from wslab.clients.websocket import WebSocket
from wslab.core.auth import BANNED, TOKEN_EXPIRED, UNAUTHORIZED
from wslab.core.events import CloseEvent, Event, MessageEvent
from wslab.core.timescale import real_seconds
from wslab.state.eventlog import EventLog
from wslab.state.observable import Observers

__all__ = ["AUTH_CLOSE_CODES", "STATES", "AuthClient", "AuthState", "login_url_for"]

AuthState = Literal[
    "logged out",
    "logging in",
    "logged in",
    "connecting",
    "connected",
    "reconnecting",
    "disconnected",
    "login required",
    "banned",
]
STATES: tuple[AuthState, ...] = get_args(AuthState)
#: Close codes after which reconnecting with the same token is pointless.
AUTH_CLOSE_CODES: dict[int, AuthState] = {
    UNAUTHORIZED: "login required",
    TOKEN_EXPIRED: "login required",
    BANNED: "banned",
}
#: Nominal seconds before retrying a connection that dropped (lesson 5 grows
#: this delay exponentially; a few fixed retries are enough here).
RETRY_DELAY = 1.0
MAX_RETRIES = 3


def login_url_for(url: str, path: str = "/api/login") -> str:
    """The login endpoint beside a WebSocket URL: ``ws`` → ``http``, ``wss`` → ``https``."""
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, path, "", ""))


class AuthClient:
    """Log in for a token, connect with it, and go back to login on 4001/4002.

    Args:
        url: the server's ``ws://`` or ``wss://`` URL (the login endpoint is
            found beside it).
        ssl: an ``ssl.SSLContext`` trusting the server's certificate, for TLS.
        origin: the ``Origin`` header to send, as a page would.
        name: how it appears in logs.
        retry_delay: nominal seconds before retrying an ordinary drop.
        max_retries: ordinary drops retried in a row before giving up.

    Attributes:
        state: where the client is (one of :data:`STATES`).
        states: every state so far, in order.
        state_changed: told each new state (for a widget).
        user: who the server says we are (from its welcome).
        error: why the last login failed, if it did.
        close_code, close_reason: how the last connection ended.
        attempts: connections opened since the last :meth:`connect`.
        messages: the JSON messages received, in order.
        ws: the current browser-shaped :class:`~wslab.clients.websocket.WebSocket`.
    """

    def __init__(
        self,
        url: str,
        *,
        ssl: ssl_module.SSLContext | None = None,
        origin: str | None = None,
        name: str = "auth-client",
        retry_delay: float = RETRY_DELAY,
        max_retries: int = MAX_RETRIES,
        log: EventLog | None = None,
    ) -> None:
        self.url = url
        self.login_url = login_url_for(url)
        self.name = name
        self.retry_delay = retry_delay
        self.max_retries = max_retries
        self.log = log if log is not None else EventLog()
        self.state: AuthState = "logged out"
        self.states: list[AuthState] = ["logged out"]
        self.state_changed: Observers[AuthState] = Observers()
        self.user: str | None = None
        self.error: str | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self.attempts = 0
        self.messages: list[dict[str, Any]] = []
        self.ws: WebSocket | None = None
        self._ssl = ssl
        self._origin = origin
        self._token: str | None = None
        self._retries = 0
        self._retry: asyncio.TimerHandle | None = None
        self._closing = False

    # --- logging in ------------------------------------------------------------------

    @property
    def has_token(self) -> bool:
        """Whether the client holds a token (it never shows the token itself)."""
        return self._token is not None

    async def login(self, username: str, password: str) -> bool:
        """POST the credentials to the login endpoint; keep the token on success.

        Returns:
            True if the server issued a token; otherwise ``error`` says why and
            the state goes back to what it was.

        Raises:
            RuntimeError: while connected or connecting: close first.
        """
        if self.state in ("connecting", "connected", "reconnecting"):
            raise RuntimeError(f"the client is {self.state!r}: close() it before logging in")
        previous = self.state
        self._set_state("logging in")
        self.error = None
        try:
            # trust_env=False: a proxy from the environment must not see this.
            async with (
                aiohttp.ClientSession(trust_env=False) as http,
                http.post(
                    self.login_url,
                    json={"username": username, "password": password},
                    ssl=self._ssl if self._ssl is not None else True,
                ) as response,
            ):
                status = response.status
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, json.JSONDecodeError, OSError) as exc:
            status, body = 0, {"message": f"{type(exc).__name__}: {exc}"}
        if status == 200 and isinstance(body, dict) and isinstance(body.get("token"), str):
            self._token = body["token"]
            self.log.record("login", f"logged in as {username}", peer=self.name)
            self._set_state("logged in")
            return True
        message = body.get("message", "") if isinstance(body, dict) else ""
        self.error = f"{status} {message}".strip()
        self.log.record("login-failed", self.error, peer=self.name)
        self._set_state(previous)
        return False

    def logout(self) -> None:
        """Forget the token and close the connection (1000)."""
        self._token = None
        self.close()
        self._set_state("logged out")

    # --- connecting ----------------------------------------------------------------

    def connect(self) -> WebSocket:
        """Open the WebSocket with ``?token=<JWT>``; return it.

        Raises:
            RuntimeError: there is no token: log in first.
        """
        if self._token is None:
            raise RuntimeError("no token: log in first (await client.login(name, password))")
        self._cancel_retry()
        self._closing = False
        self._retries = 0
        self.attempts = 0
        return self._open()

    def close(self) -> None:
        """Close the connection with 1000 and stop any retry. Idempotent."""
        self._cancel_retry()
        self._closing = True
        if self.ws is not None and self.ws.ready_state != WebSocket.CLOSED:
            self.ws.close(1000, "bye")

    async def closed(self, timeout: float | None = 10.0) -> None:
        """Wait until the current connection, if any, is closed."""
        if self.ws is not None and self.ws.ready_state != WebSocket.CLOSED:
            await self.ws.closed(timeout)

    async def wait_for_state(self, *states: AuthState, timeout: float | None = 10.0) -> AuthState:
        """Wait until ``state`` is one of ``states``; return it.

        Raises:
            TimeoutError: after ``timeout`` real seconds.
        """
        if self.state in states:
            return self.state
        future: asyncio.Future[AuthState] = asyncio.get_running_loop().create_future()

        def check(state: AuthState) -> None:
            if state in states and not future.done():
                future.set_result(state)

        unsubscribe = self.state_changed.subscribe(check)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            unsubscribe()

    def send_json(self, obj: dict[str, Any]) -> None:
        """Send a JSON message on the open connection.

        Raises:
            RuntimeError: not connected.
        """
        if self.ws is None or self.state != "connected":
            raise RuntimeError(f"not connected (the client is {self.state!r})")
        self.ws.send(json.dumps(obj))

    def __repr__(self) -> str:
        return f"<AuthClient {self.state!r} user={self.user!r}>"

    # --- internals --------------------------------------------------------------------

    def _set_state(self, state: AuthState) -> None:
        if state != self.state:
            self.state = state
            self.states.append(state)
            self.log.record("state", state, peer=self.name)
            self.state_changed.notify(state)

    def _url_with_token(self) -> str:
        assert self._token is not None
        parts = urlsplit(self.url)
        query = f"{parts.query}&" if parts.query else ""
        return urlunsplit(parts._replace(query=f"{query}token={quote(self._token)}"))

    def _open(self) -> WebSocket:
        self._retry = None
        self.attempts += 1
        self._set_state("connecting")
        ws = WebSocket(
            self._url_with_token(),
            name=self.name,
            origin=self._origin,
            ssl=self._ssl,
            log=self.log,
        )
        # No "open" listener: open only means the handshake worked; the token
        # is checked after it, so "connected" waits for the welcome.
        ws.add_event_listener("message", self._on_message)
        ws.add_event_listener("close", self._on_close)
        self.ws = ws
        return ws

    def _on_message(self, event: Event) -> None:
        assert isinstance(event, MessageEvent)
        data = event.data
        if not isinstance(data, str):
            return
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            return
        if not isinstance(message, dict):
            return
        self.messages.append(message)
        if message.get("type") == "welcome":
            self.user = str(message.get("user"))
            # Signed in: only now does a later drop deserve fresh retries.
            self._retries = 0
            self._set_state("connected")

    def _on_close(self, event: Event) -> None:
        assert isinstance(event, CloseEvent)
        if event.target is not self.ws:
            return  # an older connection's late event
        self.close_code, self.close_reason = event.code, event.reason
        if event.code in AUTH_CLOSE_CODES:
            # The same token would be refused again: never retry; ask for a login.
            self._token = None
            self._set_state(AUTH_CLOSE_CODES[event.code])
        elif self._closing or event.code == 1000:
            self._set_state("disconnected")
        elif self._retries < self.max_retries:
            self._retries += 1
            self._set_state("reconnecting")
            loop = asyncio.get_running_loop()
            self._retry = loop.call_later(real_seconds(self.retry_delay), self._open)
        else:
            self._set_state("disconnected")

    def _cancel_retry(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
