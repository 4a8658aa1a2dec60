"""Lesson 3's slow service as data: users, orders, details, and the answer to a request.

The ``slow`` server (:mod:`wslab.servers.slow`) waits :data:`PROCESSING_DELAY`
nominal seconds and then sends :func:`answer`; the exercises of lessons 3 and
13 check a student's results against the same data. Pure.
"""

from __future__ import annotations

from typing import Any

from wslab.core.messages import MessageError, require_text

__all__ = [
    "DETAILS",
    "ORDERS",
    "PROCESSING_DELAY",
    "USERS",
    "answer",
]


#: Nominal seconds each request takes, as in the seed's ``setTimeout(..., 600)``.
PROCESSING_DELAY = 0.6


USERS: dict[str, dict[str, Any]] = {
    "Alice": {"id": 1, "name": "Alice"},
    "Bob": {"id": 2, "name": "Bob"},
}


ORDERS: dict[int, list[int]] = {1: [101, 102], 2: [201]}


DETAILS: dict[int, dict[str, Any]] = {
    101: {"order": 101, "item": "mechanical keyboard", "price": 89},
    102: {"order": 102, "item": "USB-C cable", "price": 9},
    201: {"order": 201, "item": "headphones", "price": 59},
}


def answer(request: dict[str, Any]) -> Any:
    """Compute the result of one request (pure; the delay is added by the server).

    Raises:
        MessageError: ``invalid-field``, ``not-found`` or ``processing-failed``.
    """
    kind = request["type"]
    if kind == "process":
        if request.get("fail") is True:
            raise MessageError("processing-failed", "processing failed, as you asked")
        return {"result": request.get("data")}
    if kind == "getUser":
        name = require_text(request, "name", max_chars=64)
        if name not in USERS:
            raise MessageError("not-found", f"no user called {name!r}")
        return USERS[name]
    key = "userId" if kind == "getOrders" else "orderId"
    value = request.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise MessageError("invalid-field", f'"{key}" must be an integer')
    if kind == "getOrders":
        if value not in ORDERS:
            raise MessageError("not-found", f"no orders for user {value}")
        return ORDERS[value]
    if value not in DETAILS:
        raise MessageError("not-found", f"no order {value}")
    return DETAILS[value]
