"""The course catalogue: twelve lessons and a closing demo, their notebooks and servers.

One table that the hub notebook, the navigation cells, ``python -m wslab
list`` and the README are generated or checked from, so they cannot drift.
Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LESSONS", "Lesson", "lesson"]


@dataclass(frozen=True)
class Lesson:
    """One lesson of the course.

    Attributes:
        number: 1-12 for the lessons, 13 for the closing demo.
        slug: the notebook is ``notebooks/{number:02d}-{slug}.ipynb``.
        title: the notebook's H1 title, after "Lesson N —".
        server: the lesson server's name for ``python -m wslab serve``.
        blurb: one line for the hub.
        ready: False while the lesson is still being written.
    """

    number: int
    slug: str
    title: str
    server: str
    blurb: str
    ready: bool = False

    @property
    def notebook(self) -> str:
        return f"{self.number:02d}-{self.slug}.ipynb"

    @property
    def heading(self) -> str:
        return f"Lesson {self.number} — {self.title}"


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        1,
        "websocket-basics",
        "WebSocket basics",
        "echo",
        "Connect, open, send and receive, close: the four lifecycle events.",
        ready=True,
    ),
    Lesson(
        2,
        "listeners-vs-onmessage",
        "addEventListener vs onmessage",
        "echo",
        "Many listeners or one handler property, and Python's `async for`.",
        ready=True,
    ),
    Lesson(
        3,
        "callbacks-vs-async-await",
        "Callbacks vs async/await",
        "slow",
        "Waiting without freezing: callback hell, flat `await`, try/except.",
        ready=True,
    ),
    Lesson(
        4,
        "live-chat",
        "Mini project: live chat",
        "chat",
        "A chat box against a real chat server, with bots in the room.",
        ready=True,
    ),
    Lesson(
        5,
        "reconnect",
        "Error handling and auto-reconnect",
        "flaky",
        "Close codes, exponential backoff, and the six golden rules.",
        ready=True,
    ),
    Lesson(
        6,
        "broadcasting",
        "Broadcasting",
        "broadcast",
        "One message to every open client, or to all the others.",
        ready=True,
    ),
    Lesson(
        7,
        "rooms",
        "Rooms and channels",
        "rooms",
        "Join, leave and talk in rooms; validate names on the server.",
        ready=True,
    ),
    Lesson(
        8,
        "authentication",
        "Authentication",
        "auth",
        "JWT in the URL, close codes 4001-4003, and wss://.",
        ready=True,
    ),
    Lesson(
        9,
        "heartbeat",
        "Heartbeat and ping-pong",
        "heartbeat",
        "Find dead connections before the load balancer does.",
        ready=True,
    ),
    Lesson(
        10,
        "binary-data",
        "Binary data",
        "files",
        "Bytes vs text, file transfer in 64 KiB chunks.",
        ready=True,
    ),
    Lesson(
        11,
        "scaling",
        "Scaling WebSockets",
        "cluster",
        "Two servers, one conversation: Redis pub/sub.",
        ready=True,
    ),
    Lesson(
        12,
        "ws-vs-sse-vs-polling",
        "WebSocket vs SSE vs long polling",
        "feed",
        "One stream three ways, measured side by side.",
        ready=True,
    ),
    # The study notes' client.html, "advanced demo — all 4 patterns": the
    # course's closing notebook, after the twelve lessons.
    Lesson(
        13,
        "all-four-patterns",
        "Advanced demo: all four patterns",
        "slow",
        "Listeners, onmessage, callbacks and await side by side against one server.",
        ready=True,
    ),
)


def lesson(number: int) -> Lesson:
    """The lesson with that number. Raises ``KeyError`` if there is none."""
    for item in LESSONS:
        if item.number == number:
            return item
    raise KeyError(f"there is no lesson {number}; the course has lessons 1-{len(LESSONS)}")
