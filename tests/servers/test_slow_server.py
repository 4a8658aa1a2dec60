"""The ``slow`` server's contract (lessons 3 and 13), over real sockets: delays, order, errors."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import recv_json, send_json, sync_connect, wait_until
from websockets.sync.client import ClientConnection

import wslab
from wslab.core.slow import PROCESSING_DELAY
from wslab.servers import SlowServer


def ask(ws: ClientConnection, request: dict[str, Any]) -> Any:
    send_json(ws, request)
    return recv_json(ws)


def test_slow_constants() -> None:
    assert PROCESSING_DELAY == 0.6
    assert SlowServer().delay == 0.6


def test_slow_process_answers_with_the_request_id(slow: wslab.RunningServer) -> None:
    with sync_connect(slow.url) as ws:
        reply = ask(ws, {"id": 7, "type": "process", "data": "hello"})
    assert reply == {
        "id": 7,
        "type": "result",
        "request": "process",
        "result": {"result": "hello"},
        "took": 0.6,
    }


def test_slow_callback_chain(slow: wslab.RunningServer) -> None:
    with sync_connect(slow.url) as ws:
        user = ask(ws, {"id": 1, "type": "getUser", "name": "Alice"})
        orders = ask(ws, {"id": 2, "type": "getOrders", "userId": user["result"]["id"]})
        details = ask(ws, {"id": 3, "type": "getDetails", "orderId": orders["result"][0]})
    assert user == {
        "id": 1,
        "type": "result",
        "request": "getUser",
        "result": {"id": 1, "name": "Alice"},
        "took": 0.6,
    }
    assert (orders["id"], orders["request"], orders["result"]) == (2, "getOrders", [101, 102])
    assert (details["id"], details["request"], details["result"]) == (
        3,
        "getDetails",
        {"order": 101, "item": "mechanical keyboard", "price": 89},
    )


def test_slow_works_on_requests_concurrently(fast: float) -> None:
    # 5 nominal seconds per request: long enough that all three requests are
    # in before the first answer, if (and only if) they are worked on together.
    server = wslab.serve("slow", delay=5.0)
    with sync_connect(server.url) as ws:
        for ident in (1, 2, 3):
            send_json(ws, {"id": ident, "type": "process", "data": ident * 10})
        replies = [recv_json(ws) for _ in range(3)]
    assert sorted(r["id"] for r in replies) == [1, 2, 3]
    assert all(r["result"] == {"result": r["id"] * 10} for r in replies)
    assert all(r["took"] == 5.0 for r in replies)
    directions = [e.direction for e in server.log.entries("message")]
    assert directions == ["in", "in", "in", "out", "out", "out"]


def test_slow_answers_a_bad_message_at_once_and_stays_open(slow: wslab.RunningServer) -> None:
    with sync_connect(slow.url) as ws:
        for raw, code in [
            ("not json", "invalid-json"),
            ("[1]", "invalid-shape"),
            ('{"id": 1}', "missing-type"),
            ('{"id": 1, "type": "sleep"}', "unknown-type"),
            (b"\x00", "binary-not-supported"),
        ]:
            ws.send(raw)
            reply = recv_json(ws)
            assert reply["type"] == "error"
            assert reply["error"] == code
            assert "id" not in reply
        ws.send('{"type": "sleep"}')
        assert recv_json(ws)["message"] == (
            "unknown message type 'sleep'; this server knows: "
            "getDetails, getOrders, getUser, process"
        )
        assert ask(ws, {"id": 9, "type": "process", "data": 1})["type"] == "result"


@pytest.mark.parametrize(
    ("request_", "error", "message"),
    [
        ({"type": "getUser", "name": "Eve"}, "not-found", "no user called 'Eve'"),
        ({"type": "getUser"}, "invalid-field", '"name" must be a string'),
        ({"type": "getUser", "name": ""}, "invalid-field", '"name" must not be empty'),
        ({"type": "getOrders", "userId": 99}, "not-found", "no orders for user 99"),
        ({"type": "getOrders", "userId": "1"}, "invalid-field", '"userId" must be an integer'),
        ({"type": "getOrders", "userId": True}, "invalid-field", '"userId" must be an integer'),
        ({"type": "getOrders", "userId": 1.0}, "invalid-field", '"userId" must be an integer'),
        ({"type": "getDetails", "orderId": 999}, "not-found", "no order 999"),
        ({"type": "getDetails"}, "invalid-field", '"orderId" must be an integer'),
        (
            {"type": "process", "fail": True},
            "processing-failed",
            "processing failed, as you asked",
        ),
    ],
)
def test_slow_error_path_carries_the_id(
    slow: wslab.RunningServer, request_: dict[str, Any], error: str, message: str
) -> None:
    with sync_connect(slow.url) as ws:
        reply = ask(ws, {"id": 42, **request_})
        assert reply == {"type": "error", "error": error, "message": message, "id": 42}
        # The connection stays open.
        assert ask(ws, {"id": 43, "type": "process", "data": "ok"})["id"] == 43
    wait_until(lambda: slow.log.entries("close"))
    assert [e.text for e in slow.log.entries("refused")] == [f"#1: {error}: {message}"]


def test_slow_process_fail_must_be_true_exactly(slow: wslab.RunningServer) -> None:
    with sync_connect(slow.url) as ws:
        reply = ask(ws, {"id": 1, "type": "process", "fail": "yes", "data": 2})
    assert reply["type"] == "result"
    assert reply["result"] == {"result": 2}


def test_slow_request_without_an_id(slow: wslab.RunningServer) -> None:
    with sync_connect(slow.url) as ws:
        reply = ask(ws, {"type": "getUser", "name": "Bob"})
    assert reply["id"] is None
    assert reply["result"] == {"id": 2, "name": "Bob"}


def test_slow_cancels_pending_work_when_the_client_leaves(fast: float) -> None:
    server = wslab.serve("slow", delay=50.0)  # one real second: never reached
    with sync_connect(server.url) as ws:
        send_json(ws, {"id": 1, "type": "process"})
        wait_until(lambda: server.log.entries("message"))
    wait_until(lambda: server.log.entries("close"))

    async def pending() -> int:
        return len(server.app._work)  # type: ignore[attr-defined]

    assert server.call(pending()) == 0
    assert [e.direction for e in server.log.entries("message")] == ["in"]
    assert server.log.entries("error") == []
