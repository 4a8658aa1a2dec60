"""wslab.core.slow: lesson 3's service as data, and its answers, without a server."""

from __future__ import annotations

import pytest

from wslab.core.messages import MessageError
from wslab.core.slow import DETAILS, ORDERS, USERS, answer


def test_answers_come_from_the_data() -> None:
    assert answer({"type": "process", "data": [1]}) == {"result": [1]}
    assert answer({"type": "getUser", "name": "Bob"}) == USERS["Bob"]
    assert answer({"type": "getOrders", "userId": 2}) == ORDERS[2] == [201]
    assert answer({"type": "getDetails", "orderId": 201}) == DETAILS[201]


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        ({"type": "process", "data": 1, "fail": True}, "processing-failed"),
        ({"type": "getUser", "name": "Nobody"}, "not-found"),
        ({"type": "getOrders", "userId": 99}, "not-found"),
        ({"type": "getOrders", "userId": "2"}, "invalid-field"),
        ({"type": "getDetails", "orderId": True}, "invalid-field"),
    ],
)
def test_a_bad_request_is_a_clear_error(request_: dict[str, object], code: str) -> None:
    with pytest.raises(MessageError) as caught:
        answer(request_)
    assert caught.value.code == code
