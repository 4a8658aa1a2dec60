"""JSON Web Tokens for lesson 8: issue them, check them, map failures to close codes.

The seed's production flow, as pure functions::

    token = issue_token("alice", secret)           # POST /api/login answers this
    user = check_token(token, secret, banned=...)  # the WebSocket handshake checks it

A JWT (RFC 7519) is three base64url parts joined by dots: a header (which
algorithm), a payload (the *claims*: ``sub`` who, ``iat`` issued at, ``exp``
expires) and a signature over both. The payload is **signed, not encrypted**:
anyone can read it (:func:`decode_payload`), nobody without the secret can
change it. Tokens are HS256 (HMAC-SHA256) with a 32-byte secret that
:func:`new_secret` makes afresh each time a server starts.

Every way a token can fail becomes one of the seed's close codes, in the order
a server must check them: no token or a bad one (missing, malformed, forged,
wrong key, ``alg: none``, unknown user) is **4001** "Unauthorized"; a genuine
token past its ``exp`` is **4002** "Token expired"; a genuine, fresh token of a
banned user is **4003** "Banned". The signature is checked before the expiry:
an expired token whose ``exp`` was edited is a forgery (4001), not a fresh one.

Also here: the demo user table with salted scrypt password hashes compared in
constant time, and :func:`mask_token`, which keeps tokens out of logs.

Pure: no sockets, asyncio or widgets of its own (PyJWT imports ``socket`` for
its key-fetching client, which is never used here).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable, Collection, Container
from dataclasses import dataclass
from typing import Any

import jwt

from wslab.core.timescale import real_seconds

__all__ = [
    "ALGORITHM",
    "BANNED",
    "CLOSE_REASONS",
    "DEMO_PASSWORDS",
    "DEMO_USERS",
    "PROBLEMS",
    "REQUIRED_CLAIMS",
    "SECRET_BYTES",
    "TOKEN_EXPIRED",
    "TOKEN_LIFETIME",
    "UNAUTHORIZED",
    "TokenRejected",
    "UserRecord",
    "check_token",
    "close_code_for",
    "decode_part",
    "decode_payload",
    "fingerprint",
    "hash_password",
    "issue_token",
    "mask_token",
    "new_secret",
]

#: The only algorithm accepted. Listing it (instead of trusting the token's own
#: header) is what refuses ``alg: none`` and algorithm-confusion tricks.
ALGORITHM = "HS256"
#: HMAC-SHA256 wants a key at least as long as its output (RFC 7518 §3.2).
SECRET_BYTES = 32
#: Nominal seconds a token lives: the seed's "expire in 1 hour".
TOKEN_LIFETIME = 3600.0
REQUIRED_CLAIMS = ("sub", "iat", "exp")

#: The seed's custom close codes (4000-4999 are for applications, RFC 6455 §7.4.2).
UNAUTHORIZED = 4001
TOKEN_EXPIRED = 4002
BANNED = 4003
CLOSE_REASONS: dict[int, str] = {
    UNAUTHORIZED: "Unauthorized",
    TOKEN_EXPIRED: "Token expired",
    BANNED: "Banned",
}

#: Every problem :func:`check_token` can find, and the close code it gets.
PROBLEMS: dict[str, int] = {
    "missing": UNAUTHORIZED,
    "malformed": UNAUTHORIZED,
    "bad-signature": UNAUTHORIZED,
    "bad-algorithm": UNAUTHORIZED,
    "bad-claims": UNAUTHORIZED,
    "unknown-user": UNAUTHORIZED,
    "expired": TOKEN_EXPIRED,
    "banned": BANNED,
}


class TokenRejected(Exception):
    """A token that does not let its bearer in.

    Attributes:
        problem: a key of :data:`PROBLEMS`, such as ``"expired"``.
        code: the close code to send (4001, 4002 or 4003).
        reason: the close reason to send ("Unauthorized", ...).
        detail: what exactly was wrong, for the server's log (never the token).
    """

    def __init__(self, problem: str, detail: str = "") -> None:
        self.problem = problem
        self.code = PROBLEMS[problem]
        self.reason = CLOSE_REASONS[self.code]
        self.detail = detail or problem
        super().__init__(f"{self.code} {self.reason}: {self.detail}")


# --- secrets and tokens ---------------------------------------------------------------


def new_secret() -> bytes:
    """Return a fresh random signing key of :data:`SECRET_BYTES` bytes.

    A server calls this each time it starts, so its key is never written in
    the source and a restart invalidates every token issued before it.
    """
    return secrets.token_bytes(SECRET_BYTES)


def fingerprint(secret: bytes) -> str:
    """A short, one-way name for a secret, safe to show (8 hex digits of SHA-256)."""
    return hashlib.sha256(secret).hexdigest()[:8]


def issue_token(
    user: str,
    secret: bytes,
    *,
    lifetime: float = TOKEN_LIFETIME,
    now: float | None = None,
    **claims: Any,
) -> str:
    """Make a signed JWT for ``user``.

    Args:
        user: the ``sub`` (subject) claim.
        secret: the HS256 key.
        lifetime: nominal seconds until it expires; ``exp`` is ``iat`` plus
            ``real_seconds(lifetime)``, so a sped-up course expires its tokens
            sooner, in proportion.
        now: the issue time (``time.time()`` by default); a past ``now``
            makes a token that has already expired.
        **claims: more claims for the payload.

    Returns:
        The token: ``header.payload.signature``, URL-safe characters only.
    """
    issued = int(time.time() if now is None else now)
    # At least one second: exp is a whole number of seconds (a NumericDate).
    expires = issued + max(1, round(real_seconds(lifetime)))
    payload = {**claims, "sub": user, "iat": issued, "exp": expires}
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def check_token(
    token: str | None,
    secret: bytes,
    *,
    banned: Collection[str] | Callable[[str], bool] = (),
    users: Container[str] | None = None,
) -> str:
    """Check a token and return the user it names.

    The order matters: signature and algorithm first (is it ours?), then the
    expiry (is it still valid?), then the user (may they come in?). The ban
    is read now, at connect time, so a token issued before a ban is refused.

    Args:
        token: the token from the URL or a cookie; ``None`` or ``""`` if absent.
        secret: the server's HS256 key.
        banned: the banned users, or a function telling whether one is banned.
        users: the known users; a token for anyone else is refused. ``None``
            accepts any ``sub``.

    Returns:
        The ``sub`` claim: who the bearer is.

    Raises:
        TokenRejected: with the problem, close code and reason.
    """
    if not token:
        raise TokenRejected("missing", "no token")
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": list(REQUIRED_CLAIMS)},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRejected("expired", "the token has expired") from None
    except jwt.InvalidAlgorithmError:
        raise TokenRejected("bad-algorithm", f"only {ALGORITHM} tokens are accepted") from None
    except jwt.InvalidSignatureError:
        raise TokenRejected("bad-signature", "the signature does not match") from None
    except jwt.DecodeError as exc:
        raise TokenRejected("malformed", f"not a JWT ({exc})") from None
    except jwt.InvalidTokenError as exc:
        raise TokenRejected("bad-claims", str(exc)) from None
    user = payload["sub"]
    if users is not None and user not in users:
        raise TokenRejected("unknown-user", "the token names no known user")
    is_banned = banned(user) if callable(banned) else user in banned
    if is_banned:
        raise TokenRejected("banned", f"{user} is banned")
    return str(user)


def close_code_for(
    token: str | None,
    secret: bytes,
    *,
    banned: Collection[str] | Callable[[str], bool] = (),
    users: Container[str] | None = None,
) -> int | None:
    """The close code a server sends for ``token``, or ``None`` if it lets it in."""
    try:
        check_token(token, secret, banned=banned, users=users)
    except TokenRejected as rejected:
        return rejected.code
    return None


def decode_part(part: str) -> dict[str, Any]:
    """Decode one base64url part of a JWT (header or payload) to a dict.

    JWTs drop base64's ``=`` padding (RFC 7515 §2), so it is put back first.

    Raises:
        ValueError: the part is not base64url-encoded JSON.
    """
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        value = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a base64url JSON part: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError("a JWT part decodes to a JSON object")
    return value


def decode_payload(token: str) -> dict[str, Any]:
    """Read a JWT's claims WITHOUT checking the signature: anyone can do this.

    For showing what a token carries, never for deciding anything.

    Raises:
        ValueError: ``token`` does not have three dot-separated parts.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("a JWT has three parts separated by dots")
    return decode_part(parts[1])


_TOKEN_IN_TEXT = re.compile(r"(token=)[^&\s;\"']*", re.IGNORECASE)


def mask_token(text: str) -> str:
    """Hide the value of every ``token=...`` in a URL, query or cookie string.

    A token in a log is as good as a password to whoever reads the log.

        >>> mask_token("/?token=eyJhbGciOi.x.y&room=1")
        '/?token=***&room=1'
    """
    return _TOKEN_IN_TEXT.sub(r"\1***", text)


# --- users and passwords ------------------------------------------------------------

#: scrypt's cost (CPU and memory: 128 * N * r bytes = 16 MiB). Tuned so that a
#: login takes a few tens of milliseconds: cheap for one person, expensive for
#: someone trying a million guesses against a stolen table.
_SCRYPT = {"n": 1 << 14, "r": 8, "p": 1, "dklen": 32}


def hash_password(password: str, salt: bytes) -> bytes:
    """Hash a password with scrypt and a per-user salt (never store passwords)."""
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)


@dataclass(frozen=True)
class UserRecord:
    """One account: a name, a salt and the scrypt hash of the password."""

    name: str
    salt: bytes
    password_hash: bytes


def _record(name: str, salt_hex: str, hash_hex: str) -> UserRecord:
    return UserRecord(name, bytes.fromhex(salt_hex), bytes.fromhex(hash_hex))


#: The demo accounts: what a real server keeps in its database. Only the hashes
#: are stored; the passwords are in :data:`DEMO_PASSWORDS` for the lesson.
DEMO_USERS: tuple[UserRecord, ...] = (
    _record(
        "alice",
        "8e5bc7b1f6a24a3c1f0d9e2b7a6c5d41",
        "3ea5e5e91d89482b3c166656fa644ed97202f4ff5341a4111370fafa974fcfae",
    ),
    _record(
        "bob",
        "27c4e0a9d3b8f1e6a5c2d7b0e9f4a3c8",
        "0685b7ef34c9b7f23952604b220a9d06f16dae99c45133bd462c6e75ea82de64",
    ),
    _record(
        "mallory",
        "d1f7a2c9e4b6083a5f9c1e7d2b4a6c80",
        "e3ae928b1b59ff2b03317d2356d5803c72f6db77693ff167c66ad4286a84d268",
    ),
)
#: The demo passwords, for students to log in with (a real server never has these).
DEMO_PASSWORDS: dict[str, str] = {"alice": "wonderland", "bob": "builder", "mallory": "trouble"}
