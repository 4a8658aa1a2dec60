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
        stems: the lesson's concepts, each one module name across the layers:
            ``"heartbeat"`` is ``core/heartbeat.py``, ``state/heartbeat.py``,
            ``clients/heartbeat.py``, ``servers/heartbeat.py`` and
            ``widgets/heartbeat.py`` (whichever exist), so
            ``ls wslab/*/heartbeat.py`` lists lesson 9. CONTRIBUTING.md's
            "where lesson N lives" table is generated from these.
    """

    number: int
    slug: str
    title: str
    server: str
    blurb: str
    ready: bool = False
    stems: tuple[str, ...] = ()

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
        stems=("websocket", "events", "eventlog", "echo", "wire", "handler"),
    ),
    Lesson(
        2,
        "listeners-vs-onmessage",
        "addEventListener vs onmessage",
        "echo",
        "Many listeners or one handler property, and Python's `async for`.",
        ready=True,
        stems=("listeners", "jssocket"),
    ),
    Lesson(
        3,
        "callbacks-vs-async-await",
        "Callbacks vs async/await",
        "slow",
        "Waiting without freezing: callback hell, flat `await`, try/except.",
        ready=True,
        stems=("slow",),
    ),
    Lesson(
        4,
        "live-chat",
        "Mini project: live chat",
        "chat",
        "A chat box against a real chat server, with bots in the room.",
        ready=True,
        stems=("chat", "bots", "messages"),
    ),
    Lesson(
        5,
        "reconnect",
        "Error handling and auto-reconnect",
        "flaky",
        "Close codes, exponential backoff, and the six golden rules.",
        ready=True,
        stems=("reconnect", "flaky", "outbox", "faults"),
    ),
    Lesson(
        6,
        "broadcasting",
        "Broadcasting",
        "broadcast",
        "One message to every open client, or to all the others.",
        ready=True,
        stems=("broadcast", "latency"),
    ),
    Lesson(
        7,
        "rooms",
        "Rooms and channels",
        "rooms",
        "Join, leave and talk in rooms; validate names on the server.",
        ready=True,
        stems=("rooms",),
    ),
    Lesson(
        8,
        "authentication",
        "Authentication",
        "auth",
        "JWT in the URL, close codes 4001-4003, and wss://.",
        ready=True,
        stems=("auth", "tls", "origins", "ratelimit"),
    ),
    Lesson(
        9,
        "heartbeat",
        "Heartbeat and ping-pong",
        "heartbeat",
        "Find dead connections before the load balancer does.",
        ready=True,
        stems=("heartbeat", "middlebox"),
    ),
    Lesson(
        10,
        "binary-data",
        "Binary data",
        "files",
        "Bytes vs text, file transfer in 64 KiB chunks.",
        ready=True,
        stems=("files", "filenames"),
    ),
    Lesson(
        11,
        "scaling",
        "Scaling WebSockets",
        "cluster",
        "Two servers, one conversation: Redis pub/sub.",
        ready=True,
        stems=("cluster", "balancer", "redisbox", "memory", "gaps"),
    ),
    Lesson(
        12,
        "ws-vs-sse-vs-polling",
        "WebSocket vs SSE vs long polling",
        "feed",
        "One stream three ways, measured side by side.",
        ready=True,
        stems=("feed", "sse"),
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
        stems=("slow",),
    ),
)


def lesson(number: int) -> Lesson:
    """The lesson with that number. Raises ``KeyError`` if there is none."""
    for item in LESSONS:
        if item.number == number:
            return item
    raise KeyError(f"there is no lesson {number}; the course has lessons 1-{len(LESSONS)}")
