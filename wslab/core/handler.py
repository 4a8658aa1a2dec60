"""Your own server's handler: what shape it must have, and how its errors are told.

``serve(handler)`` runs a student's ``async def handler(ws)`` (websockets' own
handler signature) as a kernel-side server. Before anything listens,
:func:`check_handler` says in words what is wrong with a handler that cannot
work; after a handler raised, :func:`describe_error` keeps the lines of the
traceback that are the student's (not websockets', asyncio's or wslab's), and
:func:`close_reason` fits the exception into a close frame's reason. Pure.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = [
    "MAX_REASON_BYTES",
    "HandlerError",
    "check_handler",
    "close_reason",
    "describe_error",
]

#: A close frame's reason: 125 bytes of payload at most, 2 of them the code
#: (RFC 6455 §5.5: control frames).
MAX_REASON_BYTES = 123

_SHAPE = "a handler is `async def handler(ws):` and takes one argument, the connection"


def check_handler(handler: object) -> str:
    """Return the handler's name if ``serve`` can run it; else raise saying why.

    Raises:
        TypeError: not callable; a plain ``def`` (it must be ``async def``);
            a coroutine (``handler(ws)`` was called instead of passing
            ``handler``); a signature that does not take exactly one argument.
    """
    if inspect.iscoroutine(handler):
        handler.close()  # never awaited: say so here, not in a RuntimeWarning
        raise TypeError(
            "serve() got a coroutine: pass the function itself, serve(handler), "
            "not serve(handler(ws))"
        )
    if not callable(handler):
        raise TypeError(f"serve() needs a lesson server's name or {_SHAPE}; got {handler!r}")
    name = getattr(handler, "__name__", None) or type(handler).__name__
    if not _is_async(getattr(handler, "func", handler)):  # .func: a functools.partial
        raise TypeError(
            f"{name} must be `async def {name}(ws):`, not a plain `def`: the server awaits "
            "it, and it awaits the connection (`async for message in ws`, `await ws.send(...)`)"
        )
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return name  # a builtin or C callable: trust it
    try:
        signature.bind(object())
    except TypeError:
        params = ", ".join(signature.parameters) or "nothing"
        raise TypeError(f"{name} takes ({params}); {_SHAPE}") from None
    return name


def _is_async(target: object) -> bool:
    """An ``async def`` function, or an object whose ``__call__`` is one."""
    if inspect.iscoroutinefunction(target):
        return True
    if not callable(target):
        return False
    if inspect.isfunction(target) or inspect.ismethod(target):
        return False
    return inspect.iscoroutinefunction(type(target).__call__)


@dataclass(frozen=True)
class HandlerError:
    """What a handler raised, told in words.

    Attributes:
        peer: the connection it was serving (``"#3"``).
        kind: the exception's type name (``"ZeroDivisionError"``).
        message: the exception's message.
        lines: the traceback's lines in the student's code, innermost last:
            ``"  File \"...\", line 3, in handler"`` and the source line.
    """

    peer: str
    kind: str
    message: str
    lines: tuple[str, ...]

    @property
    def headline(self) -> str:
        """``"#3: ZeroDivisionError: division by zero"``."""
        return (
            f"{self.peer}: {self.kind}: {self.message}"
            if self.message
            else (f"{self.peer}: {self.kind}")
        )

    def __str__(self) -> str:
        return "\n".join((self.headline, *self.lines))


def describe_error(
    exc: BaseException, peer: str, *, skip: Callable[[str], bool] | Iterable[str] = ()
) -> HandlerError:
    """Describe ``exc``, raised by a handler serving ``peer``.

    Args:
        exc: the exception, with its traceback.
        skip: file names (or prefixes of them: library folders) whose frames
            are not the student's, or a predicate on a file name.
    """
    if callable(skip):
        skipped = skip
    else:
        prefixes = tuple(skip)

        def skipped(filename: str) -> bool:
            return filename.startswith(prefixes) if prefixes else False

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not skipped(f.filename)]
    lines: list[str] = []
    for frame in frames:
        lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
    return HandlerError(peer, type(exc).__name__, str(exc), tuple(lines))


def close_reason(exc: BaseException) -> str:
    """A close reason naming the exception, at most :data:`MAX_REASON_BYTES` of UTF-8."""
    text = (
        f"{type(exc).__name__} in the handler: {exc}"
        if str(exc)
        else (f"{type(exc).__name__} in the handler")
    )
    data = text.encode("utf-8")
    if len(data) <= MAX_REASON_BYTES:
        return text
    # Cut on a character boundary and say it was cut.
    return data[: MAX_REASON_BYTES - 3].decode("utf-8", "ignore") + "…"
