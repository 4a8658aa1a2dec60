"""Thin ipywidgets views over wslab's plain objects.

Each widget is imported on first use (PEP 562), not all at once: a lesson
needs two or three of them, and some pull in heavy libraries (anywidget for
``JsSocket``), which would otherwise slow every lesson's setup cell.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wslab.widgets.broadcast import ClientBoard, ClientRow
    from wslab.widgets.chat import ChatBox
    from wslab.widgets.classroom import ClassroomDashboard
    from wslab.widgets.cluster import ClusterView, MemoryChart
    from wslab.widgets.eventlog import MessageLog
    from wslab.widgets.feed import FeedBoard
    from wslab.widgets.files import TransferBar
    from wslab.widgets.heartbeat import HeartbeatView
    from wslab.widgets.jssocket import JsSocket
    from wslab.widgets.reconnect import BackoffTimeline, FaultButtons, TimelineRow
    from wslab.widgets.rooms import RoomsView
    from wslab.widgets.websocket import ReadyStateBadge
    from wslab.widgets.wire import WireInspector

#: Public name → the module (in this package) that defines it.
_HOMES = {
    "ReadyStateBadge": "websocket",  # lessons 1-4
    "ChatBox": "chat",
    "MessageLog": "eventlog",
    "ClientBoard": "broadcast",  # lesson 6
    "ClientRow": "broadcast",
    "BackoffTimeline": "reconnect",  # lesson 5
    "FaultButtons": "reconnect",
    "TimelineRow": "reconnect",
    "RoomsView": "rooms",  # lesson 7
    "HeartbeatView": "heartbeat",  # lesson 9
    "TransferBar": "files",  # lesson 10
    "ClusterView": "cluster",  # lesson 11
    "MemoryChart": "cluster",
    "FeedBoard": "feed",  # lesson 12
    "JsSocket": "jssocket",  # the browser's own WebSocket, lessons 1, 2, 5, 7, 9
    "WireInspector": "wire",  # what happens on the wire: lessons 1, 5, 8, 9, 10
    "ClassroomDashboard": "classroom",  # classroom mode (instructors)
}

__all__ = [
    "BackoffTimeline",
    "ChatBox",
    "ClassroomDashboard",
    "ClientBoard",
    "ClientRow",
    "ClusterView",
    "FaultButtons",
    "FeedBoard",
    "HeartbeatView",
    "JsSocket",
    "MemoryChart",
    "MessageLog",
    "ReadyStateBadge",
    "RoomsView",
    "TimelineRow",
    "TransferBar",
    "WireInspector",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
