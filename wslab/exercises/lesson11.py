"""Lesson 11 exercises: round-robin by hand, and connections per server from memory."""

from __future__ import annotations

from typing import Any

from wslab.core.cluster import GIB, KIB, MIB, connections_that_fit, round_robin_order, server_label
from wslab.exercises._core import Exercise

__all__ = ["EXERCISES"]

# --- 11.1: where does Bob land? -------------------------------------------------------

#: Three servers; Alice, then four monitoring scripts, then (after Alice's
#: connection drops) Bob: the sixth connection.
_SERVERS = 3
_BOB_IS = 6
_BOB_LANDS_ON = server_label(round_robin_order(_SERVERS, _BOB_IS)[-1])


def _verify_landing(answer: Any) -> str | None:
    if not isinstance(answer, str):
        return 'answer with the server\'s letter as a string, such as "A"'
    letter = answer.strip().upper().removeprefix("SERVER").strip()
    if letter not in ("A", "B", "C"):
        return f"there are three servers, A, B and C; {answer!r} is none of them"
    if letter == _BOB_LANDS_ON:
        return None
    if letter == "A":
        return (
            "round-robin does not look at who left: Alice's connection dropping does not "
            "free a place on A. Count the connections: Bob is the sixth."
        )
    return "count again: Bob is the sixth connection, and 1→A, 2→B, 3→C, 4→A, ..."


_SOLUTION_111 = """\
# Alice is connection 1, the monitors 2-5, Bob 6. Round-robin: 1→A 2→B 3→C 4→A 5→B 6→C.
# Alice leaving changes nothing: plain round-robin only counts connections.
from wslab.core.cluster import round_robin_order, server_label
answer = server_label(round_robin_order(3, 6)[-1])   # "C"
ex.check(answer)"""


# --- 11.2: how many connections fit? ---------------------------------------------------

_PER_CONNECTION = 40 * KIB
_BASELINE = 60 * MIB
_FITS = connections_that_fit(GIB, _PER_CONNECTION, _BASELINE)


def _verify_fit(answer: Any) -> str | None:
    if isinstance(answer, bool) or not isinstance(answer, int | float):
        return "answer with a number of connections, such as 12345"
    exact = (GIB - _BASELINE) / _PER_CONNECTION
    if abs(answer - exact) < 1:
        return None
    if abs(answer - GIB / _PER_CONNECTION) < 1:
        return "the server uses 60 MiB before its first connection: subtract that first"
    if abs(answer - (1e9 - 60e6) / 40e3) < 1:
        return "use binary units: 1 GiB = 1024³ bytes, 1 MiB = 1024² bytes, 1 KiB = 1024 bytes"
    if answer < 1000:
        return (
            "that is far too few: convert everything to bytes (or everything to KiB) "
            "before dividing"
        )
    return (
        f"not quite ({answer}): (1 GiB - 60 MiB) / 40 KiB; "
        "in KiB that is (1024 * 1024 - 60 * 1024) / 40"
    )


_SOLUTION_112 = """\
from wslab.core.cluster import GIB, KIB, MIB
answer = (GIB - 60 * MIB) // (40 * KIB)      # 24678 connections, an estimate
# or: connections_that_fit(GIB, 40 * KIB, baseline=60 * MIB)
ex.check(answer)"""


EXERCISES = (
    Exercise(
        id="11.1",
        prompt=(
            "Three servers, A, B and C, stand behind a round-robin balancer that has just "
            "started (its first connection goes to A). Alice connects; then four monitoring "
            "scripts connect; then Alice's connection drops; then Bob connects. Which server "
            'does Bob land on? Set answer to its letter, such as "A".'
        ),
        hints=(
            "Number the connections in the order they arrive: Alice is 1, Bob is 6.",
            "Round-robin hands out A, B, C, A, B, C, ... one per new connection, whatever "
            "happened to the earlier ones.",
            "wslab.core.cluster.round_robin_order(3, 6) gives the backend index of each of six "
            "connections; server_label() turns 0, 1, 2 into A, B, C.",
        ),
        verify=_verify_landing,
        reference=_BOB_LANDS_ON,
        solution_code=_SOLUTION_111,
    ),
    Exercise(
        id="11.2",
        prompt=(
            "A server process uses 60 MiB with no connections, and each idle connection adds "
            "40 KiB. Estimate how many idle connections fit in 1 GiB of memory. Set answer "
            "to that number (an int)."
        ),
        hints=(
            "The memory left for connections is 1 GiB minus the 60 MiB baseline.",
            "Put everything in the same unit: 1 GiB = 1024 MiB = 1024 * 1024 KiB.",
            "(1024 * 1024 - 60 * 1024) KiB / 40 KiB per connection; round down: a part of "
            "a connection does not fit. wslab.core.cluster.connections_that_fit does it for you.",
        ),
        verify=_verify_fit,
        reference=_FITS,
        solution_code=_SOLUTION_112,
    ),
)
