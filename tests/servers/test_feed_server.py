"""The ``feed`` server's contract over real sockets: WebSocket, SSE and long polling.

Most tests run the server with ``interval=None`` and publish each tick
themselves (``server.call(server.app.publish())``), so what a client must
have received is known exactly, with no waiting on a timer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from helpers import TOO_BIG, async_wait_until, free_port
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

import wslab
from wslab.core.sse import ServerSentEvent, SSEParser, encode_event
from wslab.network.feed import CountingProxy
from wslab.servers import SERVERS
from wslab.servers.feed import MAX_POLL_TIMEOUT, PUBLISH_INTERVAL, RETRY_MS, FeedServer

# --- helpers ------------------------------------------------------------------------------


@pytest.fixture
def feed() -> wslab.RunningServer:
    """A feed server that publishes only when a test says so."""
    return wslab.serve("feed", interval=None)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def publish(server: wslab.RunningServer, count: int = 1) -> list[int]:
    return [server.call(server.app.publish()) for _ in range(count)]


async def ws_connect(server: wslab.RunningServer, path: str = "/ws") -> ClientConnection:
    return await connect(f"ws://127.0.0.1:{server.port}{path}", proxy=None, open_timeout=5)


async def recv_json(ws: ClientConnection) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def read_events(
    response: aiohttp.ClientResponse, parser: SSEParser, count: int
) -> list[ServerSentEvent]:
    """Read an SSE response until ``count`` events have been parsed."""
    events: list[ServerSentEvent] = []

    async def read() -> None:
        while len(events) < count:
            chunk = await response.content.readany()
            if not chunk:
                raise EOFError("the stream ended")
            events.extend(parser.feed(chunk))

    await asyncio.wait_for(read(), 5)
    return events


def ticks(events: list[ServerSentEvent]) -> list[int]:
    return [json.loads(e.data)["seq"] for e in events]


# --- the server ---------------------------------------------------------------------------


def test_registered_for_lesson_12() -> None:
    assert SERVERS["feed"] is FeedServer
    assert FeedServer.lessons == (12,)
    assert FeedServer.summary
    assert (PUBLISH_INTERVAL, RETRY_MS) == (1.0, 1000)  # the seed's setInterval(..., 1000)


def test_urls(feed: wslab.RunningServer) -> None:
    assert feed.url == f"ws://127.0.0.1:{feed.port}/"
    assert feed.app.http_url == f"http://127.0.0.1:{feed.port}"


def test_bad_interval() -> None:
    with pytest.raises(ValueError):
        FeedServer(interval=0)


async def test_index_lists_the_endpoints(
    feed: wslab.RunningServer, http: aiohttp.ClientSession
) -> None:
    publish(feed, 2)
    async with http.get(feed.app.http_url + "/") as response:
        assert response.status == 200
        body = await response.json()
    assert body["type"] == "index"
    assert set(body["endpoints"]) == {"/ws", "/events", "/poll?after=<id>"}
    assert body["last"] == 2


async def test_publishes_on_its_own_every_interval(fast: float) -> None:
    server = wslab.serve("feed")
    await async_wait_until(lambda: server.app.feed.last_id >= 3)
    ticks_ = [json.loads(e.data) for e in server.app.feed.after(0)]
    assert [t["seq"] for t in ticks_][:3] == [1, 2, 3]
    assert all(t["type"] == "tick" and isinstance(t["t"], float) for t in ticks_)
    assert ticks_[1]["t"] > ticks_[0]["t"]  # the publish time, in ms since the epoch


# --- WebSocket ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ws", "/"])
async def test_websocket_receives_the_ticks(feed: wslab.RunningServer, path: str) -> None:
    ws = await ws_connect(feed, path)
    await async_wait_until(lambda: feed.app.connections)
    publish(feed, 3)
    got = [await recv_json(ws) for _ in range(3)]
    await ws.close()
    assert [t["seq"] for t in got] == [1, 2, 3]
    assert got[0] == json.loads(feed.app.feed.after(0)[0].data)
    await async_wait_until(lambda: feed.log.entries("close"))
    assert feed.log.entries("close")[-1].code == 1000


async def test_websocket_is_two_way(feed: wslab.RunningServer) -> None:
    async with await ws_connect(feed) as ws:
        await ws.send(json.dumps({"type": "ping", "id": 7}))
        pong = await recv_json(ws)
        assert pong["type"] == "pong" and pong["id"] == 7 and isinstance(pong["t"], float)
        await ws.send(bytes(range(256)))
        echo = await asyncio.wait_for(ws.recv(), 5)
        assert echo == bytes(range(256))  # binary stays binary


async def test_websocket_resume_is_manual_with_after(feed: wslab.RunningServer) -> None:
    publish(feed, 4)
    async with await ws_connect(feed, "/ws?after=2") as ws:
        got = [await recv_json(ws) for _ in range(2)]
    assert [t["seq"] for t in got] == [3, 4]


async def test_websocket_bad_input(feed: wslab.RunningServer) -> None:
    async with await ws_connect(feed) as ws:
        for message, code in [
            ("not json", "invalid-json"),
            ('{"type": "dance"}', "unknown-type"),
            ("[1, 2]", "invalid-shape"),
            ('{"no": "type"}', "missing-type"),
        ]:
            await ws.send(message)
            reply = await recv_json(ws)
            assert reply["type"] == "error" and reply["error"] == code, reply
        await ws.send('{"type": "ping", "id": 1}')
        assert (await recv_json(ws))["type"] == "pong"  # still serving this client
    assert len(feed.log.entries("refused")) == 4


async def test_websocket_exactly_1_mib_is_fine_more_is_1009(feed: wslab.RunningServer) -> None:
    async with await ws_connect(feed) as ws:
        await ws.send(b"x" * (1 << 20))
        assert len(await asyncio.wait_for(ws.recv(), 5)) == 1 << 20
    other = await ws_connect(feed)
    big = await ws_connect(feed)
    with pytest.raises(ConnectionClosed):
        await big.send("x" * TOO_BIG)
        await asyncio.wait_for(big.recv(), 5)
    assert big.close_code == 1009
    await async_wait_until(lambda: any(e.code == 1009 for e in feed.log.entries("close")))
    # Everyone else is unaffected.
    publish(feed)
    assert (await recv_json(other))["type"] == "tick"
    await other.close()


async def test_websocket_bad_after_is_refused_before_the_upgrade(
    feed: wslab.RunningServer,
) -> None:
    with pytest.raises(InvalidStatus) as info:
        await ws_connect(feed, "/ws?after=soon")
    assert info.value.response.status_code == 400
    assert json.loads(info.value.response.body or b"")["error"] == "invalid-id"


async def test_plain_get_on_ws_needs_an_upgrade(
    feed: wslab.RunningServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(feed.app.http_url + "/ws") as response:
        assert response.status == 426
        assert (await response.json())["error"] == "upgrade-required"


# --- Server-Sent Events ------------------------------------------------------------------------


async def test_sse_headers_retry_ids_and_data(
    feed: wslab.RunningServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(feed.app.http_url + "/events") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        assert response.headers["Cache-Control"] == "no-cache"
        first = await asyncio.wait_for(response.content.readuntil(b"\n\n"), 5)
        assert first == b"retry: 1000\n\n"  # first thing: the reconnection time
        await async_wait_until(lambda: "sse" in feed.app.connections.values())
        publish(feed, 2)
        raw = b""
        while raw.count(b"\n\n") < 2:
            raw += await asyncio.wait_for(response.content.readany(), 5)
    entries = feed.app.feed.after(0)
    assert raw.decode() == "".join(f"id: {e.id}\ndata: {e.data}\n\n" for e in entries)
    tick = json.loads(entries[0].data)
    assert set(tick) == {"type", "seq", "t"}


async def test_sse_resumes_after_last_event_id(
    feed: wslab.RunningServer, http: aiohttp.ClientSession
) -> None:
    publish(feed, 5)
    headers = {"Last-Event-ID": "2"}
    async with http.get(feed.app.http_url + "/events", headers=headers) as response:
        parser = SSEParser()
        replayed = await read_events(response, parser, 3)
        assert ticks(replayed) == [3, 4, 5]
        assert [e.last_event_id for e in replayed] == ["3", "4", "5"]
        publish(feed)
        assert ticks(await read_events(response, parser, 1)) == [6]
    assert any("resumes after id 2" in e.text for e in feed.log.entries("resume"))


async def test_sse_without_last_event_id_starts_from_now(
    feed: wslab.RunningServer, http: aiohttp.ClientSession
) -> None:
    publish(feed, 3)
    async with http.get(feed.app.http_url + "/events") as response:
        await async_wait_until(lambda: "sse" in feed.app.connections.values())
        publish(feed)
        assert ticks(await read_events(response, SSEParser(), 1)) == [4]


async def test_sse_id_from_an_earlier_run_counts_as_now(
    feed: wslab.RunningServer, http: aiohttp.ClientSession
) -> None:
    publish(feed, 2)
    headers = {"Last-Event-ID": "900"}
    async with http.get(feed.app.http_url + "/events", headers=headers) as response:
        await async_wait_until(lambda: "sse" in feed.app.connections.values())
        publish(feed)
        assert ticks(await read_events(response, SSEParser(), 1)) == [3]


async def test_sse_keep_alive_comment_on_an_idle_stream(http: aiohttp.ClientSession) -> None:
    server = wslab.serve("feed", interval=None, keepalive=0.05)
    async with http.get(server.app.http_url + "/events") as response:
        parser = SSEParser()
        while parser.comments < 2:
            parser.feed(await asyncio.wait_for(response.content.readany(), 5))
    assert parser.retry == 1000


async def test_sse_resume_from_forgotten_history_is_logged(http: aiohttp.ClientSession) -> None:
    server = wslab.serve("feed", interval=None, history=3)
    publish(server, 6)
    headers = {"Last-Event-ID": "1"}
    async with http.get(server.app.http_url + "/events", headers=headers) as response:
        assert ticks(await read_events(response, SSEParser(), 3)) == [4, 5, 6]
    assert any("2 too old to replay" in e.text for e in server.log.entries("resume"))


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "9" * 40])
async def test_sse_bad_last_event_id_is_400(
    feed: wslab.RunningServer, http: aiohttp.ClientSession, value: str
) -> None:
    headers = {"Last-Event-ID": value}
    async with http.get(feed.app.http_url + "/events", headers=headers) as response:
        assert response.status == 400
        body = await response.json()
    assert body["type"] == "error" and body["error"] == "invalid-id"
    assert "Last-Event-ID" in body["message"]


async def test_kick_ends_sse_streams_only(
    feed: wslab.RunningServer, http: aiohttp.ClientSession
) -> None:
    ws = await ws_connect(feed)
    async with http.get(feed.app.http_url + "/events") as response:
        await async_wait_until(lambda: len(feed.app.connections) == 2)
        assert feed.call(feed.app.kick()) == {"sse": 1}
        body = await asyncio.wait_for(response.content.read(), 5)  # to the end
        assert body == b"retry: 1000\n\n"
    publish(feed)
    assert (await recv_json(ws))["seq"] == 1  # the WebSocket did not notice
    assert feed.call(feed.app.kick(["ws"])) == {"ws": 1}
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 1012  # service restart
    with pytest.raises(ValueError):
        feed.call(feed.app.kick(["pigeon"]))


# --- long polling --------------------------------------------------------------------------------


async def test_poll_answers_at_once_when_there_is_news(
    feed: wslab.RunningServer, http: aiohttp.ClientSession
) -> None:
    publish(feed, 3)
    async with http.get(feed.app.http_url + "/poll", params={"after": "1"}) as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-cache"
        body = await response.json()
    assert [e["id"] for e in body["events"]] == [2, 3]
    assert body["events"][0]["data"] == json.loads(feed.app.feed.after(1)[0].data)
    assert body["last"] == 3


async def test_poll_holds_until_a_tick(
    feed: wslab.RunningServer, http: aiohttp.ClientSession
) -> None:
    publish(feed, 2)
    request = asyncio.ensure_future(http.get(feed.app.http_url + "/poll"))  # no after: from now
    await async_wait_until(lambda: feed.app.polls_waiting == 1)
    assert not request.done()
    publish(feed)
    async with await request as response:
        body = await response.json()
    assert [e["id"] for e in body["events"]] == [3]
    assert feed.app.polls_waiting == 0


async def test_poll_timeout_answers_nothing_new(
    feed: wslab.RunningServer, http: aiohttp.ClientSession, fast: float
) -> None:
    publish(feed, 2)
    params = {"after": "2", "timeout": "1"}
    async with http.get(feed.app.http_url + "/poll", params=params) as response:
        body = await response.json()
    assert body == {"events": [], "last": 2}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("after=abc", "after must be a non-negative integer"),
        ("after=-3", "after must be"),
        ("timeout=soon", "timeout must be a number"),
        (f"timeout={MAX_POLL_TIMEOUT + 1:g}", "timeout must be between"),
        ("timeout=-1", "timeout must be between"),
    ],
)
async def test_poll_bad_query_is_400(
    feed: wslab.RunningServer, http: aiohttp.ClientSession, query: str, message: str
) -> None:
    async with http.get(f"{feed.app.http_url}/poll?{query}") as response:
        assert response.status == 400
        body = await response.json()
    assert body["type"] == "error" and body["error"] == "invalid-query"
    assert body["message"].startswith(message)


# --- everything else --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/nope", 404), ("POST", "/events", 405)]
)
async def test_unknown_paths_and_methods_get_json_errors(
    feed: wslab.RunningServer, http: aiohttp.ClientSession, method: str, path: str, status: int
) -> None:
    async with http.request(method, feed.app.http_url + path) as response:
        assert response.status == status
        body = await response.json()
    assert body["type"] == "error"
    assert body["error"] == {404: "not-found", 405: "method-not-allowed"}[status]


async def test_bad_input_leaves_the_others_unaffected(
    feed: wslab.RunningServer, http: aiohttp.ClientSession, capsys: pytest.CaptureFixture[str]
) -> None:
    watcher = await ws_connect(feed)
    async with http.get(feed.app.http_url + "/events") as stream:
        await async_wait_until(lambda: len(feed.app.connections) == 2)
        for url, headers in [
            ("/nope", {}),
            ("/poll?after=x", {}),
            ("/events", {"Last-Event-ID": "x"}),
        ]:
            async with http.get(feed.app.http_url + url, headers=headers) as response:
                assert response.status in (400, 404)
        bad = await ws_connect(feed)
        await bad.send("{oops")
        assert (await recv_json(bad))["error"] == "invalid-json"
        with pytest.raises(ConnectionClosed):
            await bad.send("x" * TOO_BIG)
            await asyncio.wait_for(bad.recv(), 5)
        publish(feed)
        assert ticks(await read_events(stream, SSEParser(), 1)) == [1]
        assert (await recv_json(watcher))["seq"] == 1
    await watcher.close()
    assert capsys.readouterr() == ("", "")  # the server never prints


async def test_stop_closes_everything(http: aiohttp.ClientSession) -> None:
    server = wslab.serve("feed", interval=None)
    ws = await ws_connect(server)
    stream = await http.get(server.app.http_url + "/events")
    poll = asyncio.ensure_future(http.get(server.app.http_url + "/poll"))
    await async_wait_until(
        lambda: server.app.polls_waiting == 1 and len(server.app.connections) == 2
    )
    # stop() blocks; run it off this loop so that the clients here can answer.
    await asyncio.to_thread(server.stop)
    assert not server.running
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 1001
    assert await asyncio.wait_for(stream.content.read(), 5) == b"retry: 1000\n\n"
    stream.release()
    async with await poll as response:
        assert (await response.json())["events"] == []
    closes = [e.text for e in server.log.entries("close")]
    assert any("server stopping" in text for text in closes)
    # The port is free again.
    again = wslab.serve("feed", port=server.port, interval=None)
    assert again.port == server.port


def test_port_in_use() -> None:
    port = free_port()
    wslab.serve("feed", port=port, interval=None, name="first")
    with pytest.raises(wslab.ServerStartError):
        wslab.serve("feed", port=port, interval=None, name="second")


# --- bytes on the wire, and a proxy that refuses upgrades ---------------------------------------


async def test_bytes_per_message(feed: wslab.RunningServer) -> None:
    """Long polling costs more per message than SSE, and SSE more than WebSocket."""
    from wslab.clients.feed import EventSource, LongPollClient
    from wslab.state.feed import FeedStats

    proxies = {
        name: await CountingProxy("127.0.0.1", feed.port).start()
        for name in ("WebSocket", "SSE", "long polling")
    }
    stats = FeedStats()
    ws = wslab.WebSocket(proxies["WebSocket"].url("/ws", "ws"))
    sse = EventSource(proxies["SSE"].url("/events"))
    poll = LongPollClient(proxies["long polling"].url("/poll"), after=0)

    def track(name: str) -> Any:
        def on_message(event: Any) -> None:
            tick = json.loads(event.data)
            stats.record(name, tick["seq"], tick["t"], event.time, proxies[name].total)

        return on_message

    for name, client in (("WebSocket", ws), ("SSE", sse), ("long polling", poll)):
        client.add_event_listener("message", track(name))
    try:
        await _measure(feed, stats, ws, sse)
    finally:
        ws.close()
        sse.close()
        poll.close()
        await ws.closed()
        await sse.closed()
        await poll.closed()
        for proxy in proxies.values():
            await proxy.close()


async def _measure(feed: wslab.RunningServer, stats: Any, ws: Any, sse: Any) -> None:
    await ws.wait_for("open")
    await sse.wait_for("open")
    await async_wait_until(lambda: feed.app.polls_waiting == 1)
    for count in range(1, 7):
        # In lockstep: publish, wait until all three have it, and until the
        # poller has asked again, so that no counter runs ahead of another.
        publish(feed)
        await async_wait_until(lambda: all(stats[n].received == count for n in stats.transports))  # noqa: B023
        await async_wait_until(lambda: feed.app.polls_waiting == 1)
    per_message = {n: stats[n].bytes_per_message for n in stats.transports}
    assert all(stats[n].consecutive() for n in stats.transports)
    ws_bytes, sse_bytes, poll_bytes = per_message.values()
    assert ws_bytes is not None and sse_bytes is not None and poll_bytes is not None
    assert poll_bytes > sse_bytes > ws_bytes > 0
    # Exactly: a WebSocket tick is its payload plus a 2-byte frame header
    # (server → client, unmasked); an SSE tick is its event block inside one
    # HTTP/1.1 chunk ("<size in hex>\r\n" ... "\r\n").
    later = feed.app.feed.after(1)
    ws_wire, sse_wire = stats["WebSocket"].wire, stats["SSE"].wire
    assert ws_wire[-1] - ws_wire[0] == sum(len(e.data) + 2 for e in later)
    blocks = [encode_event(e.data, id=e.id) for e in later]
    assert sse_wire[-1] - sse_wire[0] == sum(len(f"{len(b):x}\r\n{b}\r\n") for b in blocks)


async def test_a_proxy_that_refuses_upgrades_blocks_websocket_not_sse(
    feed: wslab.RunningServer, http: aiohttp.ClientSession
) -> None:
    strict = await CountingProxy("127.0.0.1", feed.port, refuse_upgrades=True).start()
    try:
        with pytest.raises(InvalidStatus) as info:
            await connect(strict.url("/ws", "ws"), proxy=None, open_timeout=5)
        assert info.value.response.status_code == 403
        assert strict.refused == 1
        async with http.get(strict.url("/events")) as response:
            assert response.status == 200
            await async_wait_until(lambda: "sse" in feed.app.connections.values())
            publish(feed)
            assert ticks(await read_events(response, SSEParser(), 1)) == [1]
        async with http.get(strict.url("/poll"), params={"after": "0"}) as response:
            assert (await response.json())["last"] == 1
        assert strict.bytes_up > 0 and strict.bytes_down > 0
        assert strict.refused == 1
    finally:
        await strict.close()
