"""Lesson 3 exercises: callbacks vs async/await, against the ``slow`` server."""

from __future__ import annotations

import inspect
from typing import Any

from wslab.core.slow import DETAILS, ORDERS, USERS
from wslab.exercises._core import Exercise

__all__ = ["EXERCISES"]

#: Exercise 3.2: which of these raise ``RuntimeError`` when run in a notebook cell?
SNIPPETS: tuple[str, ...] = (
    "await asyncio.sleep(0)",
    "asyncio.run(asyncio.sleep(0))",
    "asyncio.get_running_loop().run_until_complete(asyncio.sleep(0))",
    "asyncio.create_task(asyncio.sleep(0))",
    "time.sleep(0.01)",
)
_RAISES: tuple[bool, ...] = (False, True, True, False, False)


def _alice_details() -> list[dict[str, Any]]:
    return [DETAILS[order] for order in ORDERS[USERS["Alice"]["id"]]]


def _verify_all_details(answer: Any) -> str | None:
    expected = _alice_details()
    if inspect.isawaitable(answer):
        if inspect.iscoroutine(answer):
            answer.close()  # never awaited: close it so Python does not warn
        return "that is something to wait for, not its result: put `await` in front of it"
    if isinstance(answer, dict):
        return (
            "that is a single detail; the answer is a list with the details of "
            "every one of Alice's orders"
        )
    if not isinstance(answer, list | tuple):
        return f"expected a list of detail dicts, got {type(answer).__name__}"
    if len(answer) != len(expected):
        return f"Alice has {len(expected)} orders, but your list has {len(answer)} items"
    for position, (got, want) in enumerate(zip(answer, expected, strict=True), start=1):
        if got != want:
            return (
                f"item {position} should be the detail of order {want['order']} "
                "(in the order getOrders gave), as the server sent it"
            )
    return None


def _verify_raises(answer: Any) -> str | None:
    if not isinstance(answer, list | tuple):
        return f"expected a list of {len(SNIPPETS)} True/False values, got {type(answer).__name__}"
    if len(answer) != len(SNIPPETS):
        return f"expected {len(SNIPPETS)} True/False values, one per snippet, got {len(answer)}"
    if not all(isinstance(item, bool) for item in answer):
        return "use True or False for each snippet"
    wrong = [i for i, (got, want) in enumerate(zip(answer, _RAISES, strict=True)) if got != want]
    if wrong:
        first = wrong[0]
        return (
            f"{len(SNIPPETS) - len(wrong)} of {len(SNIPPETS)} right; look again at "
            f"number {first + 1}: {SNIPPETS[first]}"
        )
    return None


_SNIPPET_LIST = "\n".join(f"  {i}. {snippet}" for i, snippet in enumerate(SNIPPETS, start=1))

EXERCISES = (
    Exercise(
        id="3.1",
        prompt=(
            "Alice has more than one order. With `await`, get Alice's user, then her "
            "orders, then the details of every one of her orders, with the detail "
            "requests in flight together (`asyncio.gather`). Your answer: the list of "
            "detail dicts, in the order getOrders gave the orders."
        ),
        hints=(
            'Start as in the lesson: `user = await get_user("Alice")`, then '
            '`orders = await get_orders(user["id"])`.',
            "`asyncio.gather(*(get_details(order) for order in orders))` starts one "
            "request per order; `await` it to wait for all of them at once.",
            "`await asyncio.gather(...)` returns a list, in the order you passed the "
            "requests in: that list is your answer.",
        ),
        verify=_verify_all_details,
        reference=_alice_details(),
        solution_code=(
            'user = await get_user("Alice")\n'
            'orders = await get_orders(user["id"])\n'
            "answer = await asyncio.gather(*(get_details(order) for order in orders))\n"
            "ex.check(answer)"
        ),
    ),
    Exercise(
        id="3.2",
        prompt=(
            "In a notebook cell, the kernel's event loop is already running. Which of "
            "these raise RuntimeError there?\n"
            f"{_SNIPPET_LIST}\n"
            "Your answer: a list of five booleans, True for each snippet that raises."
        ),
        hints=(
            "A notebook cell runs inside the kernel's running loop: `await` and "
            "`asyncio.create_task` need exactly that.",
            "Anything that tries to start a loop, or to run the already running loop "
            "again, refuses: which two do that?",
            "`time.sleep` does not complain at all: it just freezes the loop while it sleeps.",
        ),
        verify=_verify_raises,
        reference=list(_RAISES),
        solution_code=(
            "answer = [False, True, True, False, False]\n"
            "# 2: asyncio.run() cannot be called from a running event loop\n"
            "# 3: run_until_complete(): this event loop is already running\n"
            "ex.check(answer)"
        ),
    ),
)
