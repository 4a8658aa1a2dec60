"""Thin ipywidgets views over wslab's plain objects."""

from __future__ import annotations

from .badge import ReadyStateBadge
from .chatbox import ChatBox
from .classroom import ClassroomDashboard
from .clients import ClientBoard, ClientRow
from .cluster import ClusterView, MemoryChart
from .feedboard import FeedBoard
from .heartbeat import HeartbeatView
from .jssocket import JsSocket
from .messagelog import MessageLog
from .progress import TransferBar
from .rooms import RoomsView
from .timeline import BackoffTimeline, FaultButtons, TimelineRow
from .wire import WireInspector

__all__ = ["ChatBox", "MessageLog", "ReadyStateBadge"]
__all__ += ["RoomsView"]  # lesson 7
__all__ += ["ClientBoard", "ClientRow"]  # lesson 6
__all__ += ["TransferBar"]  # lesson 10
__all__ += ["BackoffTimeline", "FaultButtons", "TimelineRow"]  # lesson 5
__all__ += ["ClusterView", "MemoryChart"]  # lesson 11
__all__ += ["FeedBoard"]  # lesson 12
__all__ += ["HeartbeatView"]  # lesson 9
__all__ += ["JsSocket"]  # the browser's own WebSocket, lessons 1, 2, 5, 7, 9
__all__ += ["WireInspector"]  # what happens on the wire: lessons 1, 5, 8, 9, 10
__all__ += ["ClassroomDashboard"]  # classroom mode (instructors)
