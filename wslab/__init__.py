"""wslab: learn WebSockets with real servers running inside your notebook.

The public API, gathered from the modules (each lists its own ``__all__``)::

    from wslab import serve, WebSocket, get_ws_url
    server = serve("echo")                 # a lesson server, in the background
    ws = WebSocket(server.url)             # a client shaped like the browser's

    async def shout(ws):                   # your own server: websockets' handler shape
        async for message in ws:
            await ws.send(message.upper())
    mine = serve(shout)                    # runs like a lesson server, kept as "shout()"

Importing wslab starts nothing and patches nothing (not the event loop either).
It stays light: the later lessons' heavier parts (the aiohttp clients, TLS,
the cluster, Redis, the middlebox) are imported on first use (PEP 562), so
``from wslab import AuthClient`` works and a notebook that never asks for it
does not pay for aiohttp or cryptography. Learners import from ``wslab`` and
``wslab.widgets``; the lessons' pure modules (``wslab.core.files``, ...) are
imported by name where a lesson shows the logic itself.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from wslab.clients.bots import Bot, BotCrew, start_bots, start_room_bots, stop_bots
from wslab.clients.chat import ChatLine, ChatSession
from wslab.clients.classroom import (
    ClassroomMonitor,
    classroom_urls,
    classroom_warning,
    start_students,
)
from wslab.clients.heartbeat import HeartbeatClient, heartbeat_clients, pending_heartbeat_timers
from wslab.clients.outbox import ReliableSession
from wslab.clients.reconnect import (
    ReconnectingWebSocket,
    pending_retry_timers,
    reconnecting_clients,
)
from wslab.clients.websocket import InvalidAccessError, InvalidStateError, WebSocket, live_clients
from wslab.core.classroom import ClassroomSnapshot, RateMeter, plan_students, student_urls
from wslab.core.eventlog import LogEntry
from wslab.core.events import Blob, CloseEvent, ErrorEvent, Event, MessageEvent, ReadyState
from wslab.core.messages import MessageError
from wslab.core.ratelimit import RateLimit
from wslab.core.reconnect import backoff, should_reconnect
from wslab.core.rooms import validate_room_name
from wslab.core.timescale import (
    nominal_seconds,
    real_seconds,
    scaled_time,
    set_time_scale,
    time_scale,
)
from wslab.core.wire import FrameRecord, HandshakeRecord, WireDecoder, WireNote, accept_steps
from wslab.exercises import Exercise, exercise
from wslab.lessons import LESSONS, Lesson, lesson
from wslab.runtime.runner import (
    RunningServer,
    ServerStartError,
    get_ws_url,
    running_servers,
    stop_all,
    stop_server,
)
from wslab.servers import SERVERS, serve
from wslab.state.eventlog import EventLog
from wslab.state.feed import FeedStats
from wslab.state.heartbeat import HeartbeatLog
from wslab.state.rooms import Rooms

if TYPE_CHECKING:
    from wslab.clients.auth import AuthClient
    from wslab.clients.feed import EventSource, LongPollClient, StreamState, live_feed_clients
    from wslab.clients.files import FileClient
    from wslab.network.cluster import start_cluster, stop_cluster
    from wslab.network.feed import CountingProxy
    from wslab.network.memory import measure_memory
    from wslab.network.middlebox import running_middleboxes, start_middlebox
    from wslab.network.redisbox import start_redis
    from wslab.network.wire import hexdump, start_wiretap
    from wslab.runtime.tls import local_tls

#: Public names imported on first use (aiohttp, cryptography, psutil, redis...)
#: → the module that defines them.
_LAZY = {
    "AuthClient": "wslab.clients.auth",  # lesson 8
    "EventSource": "wslab.clients.feed",  # lesson 12
    "LongPollClient": "wslab.clients.feed",
    "StreamState": "wslab.clients.feed",
    "live_feed_clients": "wslab.clients.feed",
    "FileClient": "wslab.clients.files",  # lesson 10
    "start_cluster": "wslab.network.cluster",  # lesson 11
    "stop_cluster": "wslab.network.cluster",
    "measure_memory": "wslab.network.memory",
    "start_redis": "wslab.network.redisbox",
    "CountingProxy": "wslab.network.feed",  # lesson 12
    "start_middlebox": "wslab.network.middlebox",  # lesson 9
    "running_middleboxes": "wslab.network.middlebox",
    "start_wiretap": "wslab.network.wire",  # the wire inspector
    "hexdump": "wslab.network.wire",
    "local_tls": "wslab.runtime.tls",  # lesson 8
}

__version__ = "0.1.0"

__all__ = [
    "LESSONS",
    "SERVERS",
    "AuthClient",
    "Blob",
    "Bot",
    "BotCrew",
    "ChatLine",
    "ChatSession",
    "ClassroomMonitor",
    "ClassroomSnapshot",
    "CloseEvent",
    "CountingProxy",
    "ErrorEvent",
    "Event",
    "EventLog",
    "EventSource",
    "Exercise",
    "FeedStats",
    "FileClient",
    "FrameRecord",
    "HandshakeRecord",
    "HeartbeatClient",
    "HeartbeatLog",
    "InvalidAccessError",
    "InvalidStateError",
    "Lesson",
    "LogEntry",
    "LongPollClient",
    "MessageError",
    "MessageEvent",
    "RateLimit",
    "RateMeter",
    "ReadyState",
    "ReconnectingWebSocket",
    "ReliableSession",
    "Rooms",
    "RunningServer",
    "ServerStartError",
    "StreamState",
    "WebSocket",
    "WireDecoder",
    "WireNote",
    "accept_steps",
    "backoff",
    "classroom_urls",
    "classroom_warning",
    "exercise",
    "get_ws_url",
    "heartbeat_clients",
    "hexdump",
    "lesson",
    "live_clients",
    "live_feed_clients",
    "local_tls",
    "measure_memory",
    "nominal_seconds",
    "pending_heartbeat_timers",
    "pending_retry_timers",
    "plan_students",
    "real_seconds",
    "reconnecting_clients",
    "running_middleboxes",
    "running_servers",
    "scaled_time",
    "serve",
    "set_time_scale",
    "should_reconnect",
    "start_bots",
    "start_cluster",
    "start_middlebox",
    "start_redis",
    "start_room_bots",
    "start_students",
    "start_wiretap",
    "stop_all",
    "stop_bots",
    "stop_cluster",
    "stop_server",
    "student_urls",
    "time_scale",
    "validate_room_name",
]


def __getattr__(name: str) -> Any:
    home = _LAZY.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
