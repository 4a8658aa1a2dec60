"""wslab: learn WebSockets with real servers running inside your notebook.

The public API, gathered from the modules (each lists its own ``__all__``)::

    from wslab import serve, WebSocket, get_ws_url
    server = serve("echo")                 # a lesson server, in the background
    ws = WebSocket(server.url)             # a client shaped like the browser's

Importing wslab starts nothing and patches nothing (not the event loop either).
(``wslab.core.reconnect`` is the module, so the generator is ``wslab.core.reconnect.backoff``.)
It stays light: the later lessons' heavier clients (``wslab.clients.auth``,
``wslab.clients.feed``, ``wslab.runtime.tls``, ``wslab.network.cluster``) are imported from
their modules, so a notebook does not pay for aiohttp or cryptography it
does not use.
"""

from __future__ import annotations

from wslab.clients.bots import Bot, BotCrew, start_bots, stop_bots
from wslab.clients.chat import ChatLine, ChatSession
from wslab.clients.classroom import ClassroomMonitor, start_students
from wslab.clients.heartbeat import HeartbeatClient
from wslab.clients.outbox import ReliableSession
from wslab.clients.reconnect import ReconnectingWebSocket
from wslab.clients.websocket import InvalidAccessError, InvalidStateError, WebSocket, live_clients
from wslab.core.classroom import ClassroomSnapshot, RateMeter, plan_students, student_urls
from wslab.core.eventlog import LogEntry
from wslab.core.events import Blob, CloseEvent, ErrorEvent, Event, MessageEvent, ReadyState
from wslab.core.messages import MessageError
from wslab.core.ratelimit import RateLimit
from wslab.core.reconnect import should_reconnect
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
from wslab.servers import serve
from wslab.state.eventlog import EventLog
from wslab.state.rooms import Rooms

__version__ = "0.1.0"

__all__ = [
    "LESSONS",
    "Blob",
    "Bot",
    "BotCrew",
    "ChatLine",
    "ChatSession",
    "ClassroomMonitor",
    "ClassroomSnapshot",
    "CloseEvent",
    "ErrorEvent",
    "Event",
    "EventLog",
    "Exercise",
    "FrameRecord",
    "HandshakeRecord",
    "HeartbeatClient",
    "InvalidAccessError",
    "InvalidStateError",
    "Lesson",
    "LogEntry",
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
    "WebSocket",
    "WireDecoder",
    "WireNote",
    "accept_steps",
    "exercise",
    "get_ws_url",
    "lesson",
    "live_clients",
    "nominal_seconds",
    "plan_students",
    "real_seconds",
    "running_servers",
    "scaled_time",
    "serve",
    "set_time_scale",
    "should_reconnect",
    "start_bots",
    "start_students",
    "stop_all",
    "stop_bots",
    "stop_server",
    "student_urls",
    "time_scale",
]
