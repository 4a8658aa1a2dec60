"""wslab.core.auth: issuing and checking JWTs, close codes, passwords, masking. No sockets."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from wslab.core.auth import (
    ALGORITHM,
    BANNED,
    CLOSE_REASONS,
    DEMO_PASSWORDS,
    DEMO_USERS,
    PROBLEMS,
    SECRET_BYTES,
    TOKEN_EXPIRED,
    TOKEN_LIFETIME,
    UNAUTHORIZED,
    TokenRejected,
    check_token,
    close_code_for,
    decode_part,
    decode_payload,
    fingerprint,
    hash_password,
    issue_token,
    mask_token,
    new_secret,
)
from wslab.core.timescale import real_seconds, scaled_time

SECRET = b"k" * SECRET_BYTES
OTHER = b"o" * SECRET_BYTES
HOUR_AGO = time.time() - 2 * 3600


def b64url(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def rejected(token: str | None, **kwargs: object) -> TokenRejected:
    with pytest.raises(TokenRejected) as info:
        check_token(token, SECRET, **kwargs)  # type: ignore[arg-type]
    return info.value


# --- constants ------------------------------------------------------------------------


def test_the_seeds_close_codes_and_reasons() -> None:
    assert (UNAUTHORIZED, TOKEN_EXPIRED, BANNED) == (4001, 4002, 4003)
    assert CLOSE_REASONS == {4001: "Unauthorized", 4002: "Token expired", 4003: "Banned"}
    assert PROBLEMS == {
        "missing": 4001,
        "malformed": 4001,
        "bad-signature": 4001,
        "bad-algorithm": 4001,
        "bad-claims": 4001,
        "unknown-user": 4001,
        "expired": 4002,
        "banned": 4003,
    }
    assert ALGORITHM == "HS256"
    assert TOKEN_LIFETIME == 3600.0


def test_token_rejected_carries_code_reason_and_detail() -> None:
    error = TokenRejected("expired", "the token has expired")
    assert (error.problem, error.code, error.reason) == ("expired", 4002, "Token expired")
    assert str(error) == "4002 Token expired: the token has expired"
    assert TokenRejected("banned").detail == "banned"


# --- secrets --------------------------------------------------------------------------


def test_new_secret_is_random_and_long_enough() -> None:
    secrets_made = {new_secret() for _ in range(20)}
    assert len(secrets_made) == 20
    assert all(len(s) == 32 for s in secrets_made)


def test_fingerprint_is_short_and_one_way() -> None:
    assert fingerprint(SECRET) == fingerprint(SECRET)
    assert fingerprint(SECRET) != fingerprint(OTHER)
    assert len(fingerprint(SECRET)) == 8
    assert SECRET.hex()[:8] != fingerprint(SECRET)


# --- issuing ----------------------------------------------------------------------------


def test_issue_token_makes_an_hs256_jwt_with_sub_iat_exp() -> None:
    with scaled_time(1):
        token = issue_token("alice", SECRET, now=1_000_000.7)
    header, payload, signature = token.split(".")
    assert decode_part(header) == {"alg": "HS256", "typ": "JWT"}
    assert decode_part(payload) == {"sub": "alice", "iat": 1_000_000, "exp": 1_003_600}
    assert signature
    assert "=" not in token  # base64url without padding: URL-safe as it is


def test_the_lifetime_is_scaled_like_every_other_duration() -> None:
    with scaled_time(0.05):
        claims = decode_payload(issue_token("alice", SECRET))
        assert claims["exp"] - claims["iat"] == round(real_seconds(3600)) == 180
    with scaled_time(0.02):
        claims = decode_payload(issue_token("alice", SECRET, lifetime=60))
        assert claims["exp"] - claims["iat"] == 1  # at least a second


def test_extra_claims_cannot_override_the_standard_ones() -> None:
    claims = decode_payload(issue_token("alice", SECRET, sub="mallory", role="reader"))
    assert claims["sub"] == "alice"
    assert claims["role"] == "reader"


# --- checking: the good token -------------------------------------------------------------


def test_a_good_token_names_its_user() -> None:
    token = issue_token("alice", SECRET)
    assert check_token(token, SECRET) == "alice"
    assert check_token(token, SECRET, users={"alice", "bob"}, banned={"bob"}) == "alice"
    assert close_code_for(token, SECRET) is None


def test_pyjwt_agrees_that_it_is_a_valid_token() -> None:
    token = issue_token("bob", SECRET)
    payload = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert payload["sub"] == "bob"


# --- checking: every way to fail, and its code ------------------------------------------


@pytest.mark.parametrize("token", [None, ""])
def test_missing_token_is_4001(token: str | None) -> None:
    error = rejected(token)
    assert (error.problem, error.code, error.reason) == ("missing", 4001, "Unauthorized")


@pytest.mark.parametrize(
    "token", ["not-a-jwt", "a.b", "a.b.c", "a.b.c.d", "....", "eyJ.eyJ.x", "x" * 5000, "é.é.é"]
)
def test_malformed_token_is_4001(token: str) -> None:
    error = rejected(token)
    assert error.code == 4001
    assert error.problem in ("malformed", "bad-signature")


def test_expired_token_is_4002() -> None:
    token = issue_token("alice", SECRET, now=HOUR_AGO)
    error = rejected(token)
    assert (error.problem, error.code, error.reason) == ("expired", 4002, "Token expired")


def test_forged_payload_is_4001() -> None:
    header, _, signature = issue_token("bob", SECRET).split(".")
    claims = {"sub": "alice", "iat": int(time.time()), "exp": int(time.time()) + 3600}
    forged = f"{header}.{b64url(claims)}.{signature}"
    error = rejected(forged)
    assert (error.problem, error.code) == ("bad-signature", 4001)


def test_an_expired_token_with_its_exp_edited_is_a_forgery_not_fresh() -> None:
    header, payload, signature = issue_token("alice", SECRET, now=HOUR_AGO).split(".")
    claims = decode_part(payload)
    claims["exp"] = int(time.time()) + 7 * 86400
    edited = f"{header}.{b64url(claims)}.{signature}"
    error = rejected(edited)
    assert (error.problem, error.code) == ("bad-signature", 4001)


def test_wrong_key_is_4001() -> None:
    token = issue_token("alice", OTHER)
    error = rejected(token)
    assert (error.problem, error.code) == ("bad-signature", 4001)
    assert close_code_for(token, OTHER) is None


def test_alg_none_is_4001() -> None:
    now = int(time.time())
    claims = {"sub": "alice", "iat": now, "exp": now + 3600}
    for token in (
        f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims)}.",
        jwt.encode(claims, None, algorithm="none"),
    ):
        error = rejected(token)
        assert (error.problem, error.code) == ("bad-algorithm", 4001)


def test_another_hmac_algorithm_is_4001() -> None:
    now = int(time.time())
    token = jwt.encode({"sub": "alice", "iat": now, "exp": now + 60}, SECRET * 2, "HS512")
    assert rejected(token).problem == "bad-algorithm"


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "alice", "iat": 1},  # no exp: a token that never expires is refused
        {"sub": "alice", "exp": 2**40},
        {"iat": 1, "exp": 2**40},
        {"sub": 42, "iat": 1, "exp": 2**40},
        {"sub": "alice", "iat": 1, "exp": "tomorrow"},
    ],
)
def test_missing_or_bad_claims_are_4001(claims: dict[str, object]) -> None:
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    error = rejected(token)
    assert error.code == 4001
    assert error.problem in ("bad-claims", "malformed")


def test_unknown_user_is_4001_when_users_are_given() -> None:
    token = issue_token("zed", SECRET)
    assert rejected(token, users={"alice"}).problem == "unknown-user"
    assert check_token(token, SECRET) == "zed"


def test_banned_user_is_4003_from_a_set_or_a_function() -> None:
    token = issue_token("mallory", SECRET)
    for banned in ({"mallory"}, lambda name: name == "mallory"):
        error = rejected(token, banned=banned)
        assert (error.problem, error.code, error.reason) == ("banned", 4003, "Banned")


def test_the_checks_run_in_order_token_before_user() -> None:
    expired = issue_token("mallory", SECRET, now=HOUR_AGO)
    assert close_code_for(expired, SECRET, banned={"mallory"}) == 4002
    forged = issue_token("mallory", OTHER)
    assert close_code_for(forged, SECRET, banned={"mallory"}) == 4001


def test_a_token_issued_before_a_ban_is_refused_after_it() -> None:
    banned: set[str] = set()
    token = issue_token("bob", SECRET)
    assert close_code_for(token, SECRET, banned=banned) is None
    banned.add("bob")
    assert close_code_for(token, SECRET, banned=banned) == 4003


# --- reading a token -----------------------------------------------------------------------


def test_decode_payload_reads_without_the_key() -> None:
    token = issue_token("alice", SECRET, role="reader")
    claims = decode_payload(token)
    assert claims["sub"] == "alice" and claims["role"] == "reader"


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.!!!.c", "a.bm90IGpzb24.c", "a.WzFd.c"])
def test_decode_payload_refuses_what_is_not_a_jwt(token: str) -> None:
    with pytest.raises(ValueError):
        decode_payload(token)


# --- masking -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("/?token=eyJ.a.b", "/?token=***"),
        ("/?room=1&token=eyJ.a.b&x=2", "/?room=1&token=***&x=2"),
        ("/?TOKEN=abc", "/?TOKEN=***"),
        ("wslab_token=eyJ.a.b; other=1", "wslab_token=***; other=1"),
        ("ws://h:1/?token=a token=b", "ws://h:1/?token=*** token=***"),
        ("/?room=1", "/?room=1"),
        ("", ""),
    ],
)
def test_mask_token(text: str, masked: str) -> None:
    assert mask_token(text) == masked


# --- users and passwords -------------------------------------------------------------------


def test_only_salted_hashes_are_stored() -> None:
    for record in DEMO_USERS:
        password = DEMO_PASSWORDS[record.name]
        assert password.encode() not in record.password_hash
        assert len(record.salt) == 16 and len(record.password_hash) == 32
        assert hash_password(password, record.salt) == record.password_hash
    # The same password with two salts gives two hashes.
    assert hash_password("pw", b"a" * 16) != hash_password("pw", b"b" * 16)


# --- purity ---------------------------------------------------------------------------------
