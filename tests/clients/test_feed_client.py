"""wslab.clients.feed: EventSource and long polling against real servers; the FeedBoard.

The reconnection tests drop the stream on purpose (the feed server's
``kick``, or stopping it and serving again on the same port) and check
what matters to an application: the ids received are consecutive, with no
gap and no duplicate.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from helpers import async_wait_until

import wslab
from wslab.clients.feed import (
    DEFAULT_RETRY_MS,
    EventSource,
    FeedMessage,
    LongPollClient,
    StreamState,
    live_feed_clients,
)
from wslab.core.events import ErrorEvent
from wslab.state.feed import FeedStats
from wslab.widgets.feed import FeedBoard

Client = EventSource | LongPollClient


@pytest.fixture
async def made() -> AsyncIterator[list[Client]]:
    """Clients a test makes; all closed and finished afterwards."""
    clients: list[Client] = []
    yield clients
    for client in clients:
        client.close()
    for client in clients:
        await client.closed(timeout=5)
    assert not [c for c in live_feed_clients() if c in clients]


@pytest.fixture
def feed(fast: float) -> wslab.RunningServer:
    return wslab.serve("feed", interval=None)


def publish(server: wslab.RunningServer, count: int = 1) -> None:
    for _ in range(count):
        server.call(server.app.publish())


def seqs(client: Client) -> list[int]:
    return [json.loads(m.data)["seq"] for m in client.messages]


# --- EventSource -----------------------------------------------------------------------------


async def test_event_source_opens_and_receives(
    feed: wslab.RunningServer, made: list[Client]
) -> None:
    source = EventSource(feed.app.http_url + "/events")
    made.append(source)
    assert source.ready_state == StreamState.CONNECTING == EventSource.CONNECTING == 0
    assert source.readyState is source.ready_state
    assert source.retry_ms == DEFAULT_RETRY_MS
    states: list[StreamState] = []
    source.state_changed.subscribe(states.append)
    got: list[FeedMessage] = []
    source.onmessage = got.append
    await source.wait_for("open")
    assert source.ready_state == StreamState.OPEN
    publish(feed, 3)
    await source.wait_for_messages(3)
    assert [json.loads(m.data)["seq"] for m in got] == [1, 2, 3]
    assert [m.last_event_id for m in got] == ["1", "2", "3"]
    assert got[0].lastEventId == "1" and got[0].type == "message"
    assert got[0].origin == feed.app.http_url
    assert source.last_event_id == "3"
    assert source.retry_ms == 1000  # the server's retry: line
    assert source.events == ["open", "message", "message", "message"]
    source.close()
    assert source.ready_state == StreamState.CLOSED
    assert states == [StreamState.OPEN, StreamState.CLOSED]
    await source.closed()
    with pytest.raises(ConnectionError):
        await source.wait_for("message")


async def test_event_source_reconnects_and_resumes_without_gap_or_duplicate(
    feed: wslab.RunningServer, made: list[Client]
) -> None:
    source = EventSource(feed.app.http_url + "/events")
    made.append(source)
    errors: list[ErrorEvent] = []
    source.onerror = errors.append
    states: list[StreamState] = []
    source.state_changed.subscribe(states.append)
    await source.wait_for("open")
    publish(feed, 3)
    await source.wait_for_messages(3)

    assert feed.call(feed.app.kick()) == {"sse": 1}
    await async_wait_until(lambda: source.ready_state == StreamState.CONNECTING)
    publish(feed, 2)  # while the client is away
    await source.wait_for("open")
    publish(feed, 2)
    await source.wait_for_messages(7)

    assert seqs(source) == [1, 2, 3, 4, 5, 6, 7]
    assert states == [StreamState.OPEN, StreamState.CONNECTING, StreamState.OPEN]
    assert len(errors) == 1 and "reconnecting in 1000 ms" in errors[0].message
    assert (source.connections, source.reconnections) == (2, 1)
    resumes = [e.text for e in feed.log.entries("resume")]
    assert len(resumes) == 1 and resumes[0].endswith("resumes after id 3")
    requests = [e.text for e in source.log.entries("request")]
    assert requests[1].endswith("with Last-Event-ID 3")


async def test_event_source_survives_a_server_restart_on_the_same_port(
    made: list[Client], fast: float
) -> None:
    server = wslab.serve("feed", interval=None, name="restarting")
    port = server.port
    source = EventSource(server.app.http_url + "/events")
    made.append(source)
    await source.wait_for("open")
    publish(server, 2)
    await source.wait_for_messages(2)
    await asyncio.to_thread(server.stop)
    await async_wait_until(lambda: source.ready_state == StreamState.CONNECTING)
    # Connection refused: it keeps trying, every retry_ms.
    await async_wait_until(lambda: len(source.log.entries("request")) >= 3)
    assert source.ready_state == StreamState.CONNECTING
    again = wslab.serve("feed", interval=None, port=port, name="restarting")
    await source.wait_for("open")
    publish(again, 3)
    await async_wait_until(lambda: seqs(source)[-1:] == [3])
    # The new server's ids start again at 1 and it knows nothing of the old
    # ones. "Last-Event-ID: 2" arrived when the new server had no id 2 yet,
    # so it counted as "from now on". (Had id 2 existed, the client would
    # have skipped the new 1 and 2: ids that must mean something across
    # restarts have to be unique across runs.)
    assert seqs(source) == [1, 2, 1, 2, 3]
    assert source.ready_state == StreamState.OPEN


async def test_event_source_fails_for_good_on_a_wrong_answer(
    feed: wslab.RunningServer, made: list[Client]
) -> None:
    for path, expected in [("/nope", "HTTP 404"), ("/poll?after=0", "application/json")]:
        source = EventSource(feed.app.http_url + path)
        made.append(source)
        error = await source.wait_for("error")
        assert expected in error.message and "no reconnection" in error.message
        assert source.ready_state == StreamState.CLOSED
        await source.closed()
        assert source.connections == 0 and source.reconnections == 0


@pytest.fixture
async def scripted() -> AsyncIterator[tuple[str, list[bytes], list[dict[str, str]]]]:
    """A server whose n-th SSE response is the n-th script, then the stream ends."""
    scripts: list[bytes] = []
    headers: list[dict[str, str]] = []

    async def stream(request: web.Request) -> web.StreamResponse:
        headers.append(dict(request.headers))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(scripts.pop(0) if scripts else b"retry: 10000\n\n")
        return response

    app = web.Application()
    app.router.add_get("/s", stream)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/s", scripts, headers
    await runner.cleanup()


async def test_named_events_id_only_blocks_and_retry(
    scripted: tuple[str, list[bytes], list[dict[str, str]]], made: list[Client], fast: float
) -> None:
    url, scripts, headers = scripted
    scripts += [
        b"retry: 50\n\nevent: tick\ndata: a\n\ndata: b\nid: 7\n\nid: 9\n\n",
        b"data: c\n\n",
    ]
    source = EventSource(url)
    made.append(source)
    ticks: list[FeedMessage] = []
    source.add_event_listener("tick", ticks.append)
    messages: list[FeedMessage] = []
    source.onmessage = messages.append
    await source.wait_for_messages(3)
    assert [(m.type, m.data, m.last_event_id) for m in source.messages] == [
        ("tick", "a", ""),
        ("message", "b", "7"),
        ("message", "c", "9"),  # an id-only block moved the position to 9
    ]
    assert [m.data for m in ticks] == ["a"] and [m.data for m in messages] == ["b", "c"]
    assert "Last-Event-ID" not in headers[0]
    assert headers[1]["Last-Event-ID"] == "9"
    assert headers[0]["Accept"] == "text/event-stream"
    assert source.retry_ms == 50


async def test_listeners_and_the_handler_slot(
    scripted: tuple[str, list[bytes], list[dict[str, str]]], made: list[Client]
) -> None:
    url, scripts, _ = scripted
    scripts.append(b"data: x\n\n")
    source = EventSource(url)
    made.append(source)
    calls: list[str] = []

    def first(_event: Any) -> None:
        calls.append("first")

    def boom(_event: Any) -> None:
        raise RuntimeError("listener bug")

    source.add_event_listener("message", first)
    source.add_event_listener("message", first)  # twice: no effect
    source.onmessage = lambda _e: calls.append("handler")
    source.onmessage = lambda _e: calls.append("handler 2")  # replaces, same place
    source.add_event_listener("message", boom)
    source.add_event_listener("message", lambda _e: calls.append("last"))
    assert source.onmessage is not None
    await source.wait_for_messages(1)
    assert calls == ["first", "handler 2", "last"]
    assert [str(e) for e in source.listener_errors] == ["listener bug"]
    source.onmessage = None
    source.remove_event_listener("message", first)
    assert source.onmessage is None


def test_event_source_needs_an_http_url_and_a_loop() -> None:
    with pytest.raises(RuntimeError, match="running event loop"):
        EventSource("http://127.0.0.1:1/events")


async def test_event_source_refuses_ws_urls() -> None:
    with pytest.raises(ValueError, match="http"):
        EventSource("ws://127.0.0.1:1/events")


# --- long polling ------------------------------------------------------------------------------


async def test_long_polling_loop(feed: wslab.RunningServer, made: list[Client]) -> None:
    poll = LongPollClient(feed.app.http_url + "/poll")
    made.append(poll)
    await async_wait_until(lambda: feed.app.polls_waiting == 1)
    publish(feed, 1)
    await poll.wait_for("open")
    for _ in range(4):
        await async_wait_until(lambda: feed.app.polls_waiting == 1)
        publish(feed, 1)
    await poll.wait_for_messages(5)
    assert seqs(poll) == [1, 2, 3, 4, 5]
    assert [m.last_event_id for m in poll.messages] == ["1", "2", "3", "4", "5"]
    assert poll.cursor == 5
    # One request per answer: every message cost a whole HTTP exchange.
    assert poll.requests >= 5
    assert poll.ready_state == StreamState.OPEN


async def test_long_polling_resumes_after_and_gets_a_backlog_at_once(
    feed: wslab.RunningServer, made: list[Client]
) -> None:
    publish(feed, 4)
    poll = LongPollClient(feed.app.http_url + "/poll", after=1)
    made.append(poll)
    await poll.wait_for_messages(3)
    assert seqs(poll) == [2, 3, 4]
    assert poll.requests == 1  # the backlog came in one answer


async def test_long_polling_retries_through_an_outage(made: list[Client], fast: float) -> None:
    server = wslab.serve("feed", interval=None, name="outage")
    port = server.port
    poll = LongPollClient(server.app.http_url + "/poll", after=0, hold=1)
    made.append(poll)
    publish(server, 1)
    await poll.wait_for_messages(1)
    await asyncio.to_thread(server.stop)
    error = await poll.wait_for("error")
    assert "retrying" in error.message
    assert poll.ready_state == StreamState.CONNECTING
    again = wslab.serve("feed", interval=None, port=port, name="outage")
    await poll.wait_for("open")
    publish(again, 3)
    await async_wait_until(lambda: seqs(poll)[-1:] == [3])
    assert seqs(poll)[1:] in ([1, 2, 3], [2, 3])  # new ids: see the EventSource test above


async def test_long_polling_stops_on_a_4xx(feed: wslab.RunningServer, made: list[Client]) -> None:
    poll = LongPollClient(feed.app.http_url + "/poll", hold=999)  # more than the server allows
    made.append(poll)
    error = await poll.wait_for("error")
    assert "HTTP 400" in error.message and "timeout must be between" in error.message
    await poll.closed()
    assert poll.ready_state == StreamState.CLOSED


# --- the board ------------------------------------------------------------------------------


async def test_feed_board_shows_counts_latency_and_states(
    feed: wslab.RunningServer, made: list[Client]
) -> None:
    stats = FeedStats()
    source = EventSource(feed.app.http_url + "/events")
    made.append(source)
    board = FeedBoard(stats, {"SSE": source}, title="three ways")
    assert "three ways" in board.value and "0 CONNECTING" in board.value
    await source.wait_for("open")
    await async_wait_until(lambda: "1 OPEN" in board.value)

    def on_message(event: FeedMessage) -> None:
        tick = json.loads(event.data)
        stats.record("SSE", tick["seq"], tick["t"], event.time, wire_bytes=tick["seq"] * 100)

    source.add_event_listener("message", on_message)
    publish(feed, 2)
    await source.wait_for_messages(2)
    await async_wait_until(lambda: "last seq: 2" in board.value)
    assert "bytes/message: 100" in board.value
    assert " ms" in board.value
    redraws = board.redraws
    source.close()
    await async_wait_until(lambda: "2 CLOSED" in board.value)
    board.close()
    stats.record("SSE", 3, 0.0, 0.0)
    assert board.redraws == redraws + 1  # the close, and nothing after it
