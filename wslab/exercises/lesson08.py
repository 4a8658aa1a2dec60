"""Lesson 8 exercises: which close code, and what a JWT says to anyone who looks.

The notebook runs the ``auth`` server; 8.1's course check replays each
scenario against it, and 8.2's decodes the token with :mod:`wslab.core.auth`.
"""

from __future__ import annotations

from typing import Any

from wslab.exercises._core import Exercise

__all__ = ["EXERCISES", "MYSTERY_TOKEN", "SCENARIOS"]

# --- 8.1: which close code? -----------------------------------------------------------

#: What happens in each case; the student answers with a close code for each.
SCENARIOS: dict[str, str] = {
    "missing": "the page opens the WebSocket without any ?token= at all",
    "yesterday": "alice's genuine token, issued yesterday (tokens live one hour)",
    "edited": (
        "that same token from yesterday, with the exp in its payload edited to next week "
        "(the signature part left as it was)"
    ),
    "banned": "bob's genuine token, issued 10 minutes ago; an admin banned bob 5 minutes ago",
    "restarted": "alice's genuine token, issued 10 minutes ago; the server has restarted since",
}

_CODES_81 = {"missing": 4001, "yesterday": 4002, "edited": 4001, "banned": 4003, "restarted": 4001}

_WHY_81 = {
    "missing": "no token at all: the server cannot tell who you are, so: Unauthorized",
    "yesterday": (
        "the token is genuine (our signature) but past its exp: that has a code of its own"
    ),
    "edited": (
        "the server checks the signature before the expiry, and the signature covers the "
        "payload: an edited payload no longer matches it, so this is a forgery, not a "
        "fresh token"
    ),
    "banned": (
        "the token is genuine and fresh: it is the user who may not come in, and the server "
        "reads the ban list at connect time"
    ),
    "restarted": (
        "the server made a new secret when it started again; a signature made with the old "
        "one does not verify"
    ),
}


def _verify_codes(answer: Any) -> str | None:
    if not isinstance(answer, dict):
        return (
            "answer with a dict from each scenario to a close code, such as "
            '{"missing": 4001, "yesterday": ..., ...}'
        )
    missing = [key for key in SCENARIOS if key not in answer]
    if missing:
        return f"give a code for every scenario; missing: {', '.join(missing)}"
    extra = [str(key) for key in answer if key not in SCENARIOS]
    if extra:
        return f"unknown scenario names: {', '.join(extra)}; use {', '.join(SCENARIOS)}"
    for key, code in answer.items():
        if not isinstance(code, int) or isinstance(code, bool):
            return f"{key}: a close code is a number, such as 4001 (got {code!r})"
        if code not in (4001, 4002, 4003):
            return f"{key}: the auth server uses 4001, 4002 and 4003; {code} is none of them"
    wrong = [key for key in SCENARIOS if answer[key] != _CODES_81[key]]
    if wrong:
        key = wrong[0]
        right = len(SCENARIOS) - len(wrong)
        return f"{right} of {len(SCENARIOS)} right; not {key!r} ({answer[key]}): {_WHY_81[key]}"
    return None


_SOLUTION_81 = """\
answer = {
    "missing": 4001,    # no token: Unauthorized
    "yesterday": 4002,  # genuine but expired: Token expired
    "edited": 4001,     # the signature no longer matches the payload: a forgery
    "banned": 4003,     # genuine and fresh, but the user is banned (checked at connect)
    "restarted": 4001,  # signed with the old secret: does not verify
}
ex.check(answer)"""


# --- 8.2: read a token's payload ----------------------------------------------------

#: A token signed by some other server: nobody here has its key, yet anyone can read it.
MYSTERY_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJjYXJvbCIsIm5hbWUiOiJDYXJvbCIsInJvbGUiOiJhZG1pbiIs"
    "ImlhdCI6MTc2NzIyNTYwMCwiZXhwIjoxNzY3MjI5MjAwfQ"
    ".XS0_xdmZYwnnnUUdwht_uri3N_VUeyunRJwWgvFRJ2A"
)


def _verify_subject(answer: Any) -> str | None:
    if isinstance(answer, dict):
        return 'that is the whole payload: answer with just its "sub" claim, a string'
    if not isinstance(answer, str):
        return 'answer with the "sub" claim of the payload, a string'
    value = answer.strip()
    if value == "carol":
        return None
    if value == "Carol":
        return 'that is the "name" claim; "sub" (the subject) is the account name, in lower case'
    if value == "admin":
        return 'that is the "role" claim; the question asks for "sub"'
    if value in ("HS256", "JWT"):
        return "that is from the header (the first part); the claims are in the second part"
    return 'not that: decode the second part (the payload) and read its "sub"'


_SOLUTION_82 = """\
import base64, json
payload_part = MYSTERY_TOKEN.split(".")[1]
padded = payload_part + "=" * (-len(payload_part) % 4)   # JWTs drop base64's = padding
payload = json.loads(base64.urlsafe_b64decode(padded))
print(payload)
answer = payload["sub"]
ex.check(answer)"""


EXERCISES = (
    Exercise(
        id="8.1",
        prompt=(
            "For each scenario in SCENARIOS (from wslab.exercises.lesson08), which close code "
            "does the auth server send after the handshake: 4001 Unauthorized, 4002 Token "
            "expired or 4003 Banned? Set answer to a dict such as "
            '{"missing": 4001, "yesterday": ..., "edited": ..., "banned": ..., '
            '"restarted": ...}.'
        ),
        hints=(
            "The server checks in this order: is there a token, is it ours (signature, "
            "algorithm), is it still valid (exp), may this user come in (ban list).",
            "The signature covers the header and the payload: change one character of the "
            "payload and it no longer matches. Which secret signed a token from before a "
            "restart?",
            "Only a genuine token can be 'expired', and only a genuine, fresh token of a "
            "banned user gets 4003.",
        ),
        verify=_verify_codes,
        reference=dict(_CODES_81),
        solution_code=_SOLUTION_81,
    ),
    Exercise(
        id="8.2",
        prompt=(
            "MYSTERY_TOKEN (from wslab.exercises.lesson08) was signed by a server whose secret "
            "you do not have. Decode its payload yourself with base64 and json, and set "
            'answer to its "sub" claim (a string).'
        ),
        hints=(
            "A JWT is header.payload.signature: take MYSTERY_TOKEN.split('.')[1].",
            "It is base64url without the '=' padding: add '=' * (-len(part) % 4) before "
            "base64.urlsafe_b64decode(...).",
            'Then json.loads(...) gives a dict; answer = payload["sub"].',
        ),
        verify=_verify_subject,
        reference="carol",
        solution_code=_SOLUTION_82,
    ),
)
