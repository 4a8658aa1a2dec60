"""Thin ipywidgets views over wslab's plain objects."""

from __future__ import annotations

from .badge import ReadyStateBadge
from .chatbox import ChatBox
from .messagelog import MessageLog

__all__ = ["ChatBox", "MessageLog", "ReadyStateBadge"]
