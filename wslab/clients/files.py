"""Send and fetch files with the ``files`` server's protocol, over the browser-shaped client.

:class:`FileClient` is what a page's upload code does, step by step::

    files = FileClient(server.url)
    await files.opened()
    saved = await files.upload(data, "cat.png", "image/png")   # meta, wait, chunks, wait
    meta, data = await files.download("cat.png")                # checked like an upload
    await files.close()

It sends the ``file-meta`` first and **waits for the server's answer before
sending any bytes**, so a refused file costs one round trip, not its whole
size. While sending it keeps an eye on ``buffered_amount``, the browser's
``bufferedAmount``, so it never queues more than a few chunks ahead of the
network, and it listens for an error while it sends. Every step is told to
``progress`` observers, which a :class:`~wslab.widgets.TransferBar` shows.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from wslab.clients.websocket import BinaryType, WebSocket
from wslab.core.events import Blob, CloseEvent, MessageEvent
from wslab.core.files import (
    CHUNK_SIZE,
    MAX_FILE_BYTES,
    Complete,
    FileMeta,
    Receiver,
    TransferProgress,
    TransferStatus,
    file_meta,
    iter_chunks,
    validate_file_meta,
)
from wslab.core.messages import MessageError, dumps
from wslab.core.timescale import real_seconds
from wslab.state.eventlog import EventLog
from wslab.state.observable import Observers

__all__ = ["HIGH_WATER", "FileClient"]

#: Stop queueing while more than this many bytes wait to be written.
HIGH_WATER = 4 * CHUNK_SIZE


class FileClient:
    """Uploads and downloads files on one connection, one transfer at a time.

    Args:
        url: the ``files`` server's URL.
        name: how the client appears in its log.
        binary_type: ``"bytes"`` or ``"blob"``; downloads work with either.
        log: where the client records what it does.

    Attributes:
        ws: the underlying browser-shaped :class:`~wslab.clients.websocket.WebSocket`.
        progress: observers told a :class:`TransferProgress` after every chunk
            sent or received, and when a transfer ends. Called on the loop.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = "files-client",
        binary_type: BinaryType = "bytes",
        log: EventLog | None = None,
    ) -> None:
        self.ws = WebSocket(url, name=name, binary_type=binary_type, log=log)
        self.progress: Observers[TransferProgress] = Observers()
        self._inbox: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self._busy = asyncio.Lock()
        self.ws.add_event_listener("message", self._on_message)
        self.ws.add_event_listener("close", self._on_close)

    def _on_message(self, event: MessageEvent) -> None:
        data = event.data
        self._inbox.put_nowait(data.bytes() if isinstance(data, Blob) else data)

    def _on_close(self, event: CloseEvent) -> None:
        self._inbox.put_nowait(None)  # wakes a transfer that waits for an answer

    async def opened(self, timeout: float = 10.0) -> None:
        """Wait until the connection is open."""
        await self.ws.wait_for("open", timeout)

    async def close(self) -> CloseEvent:
        """Close the connection cleanly (1000) and wait until it is closed."""
        self.ws.close(1000, "done")
        return await self.ws.closed()

    # --- reading answers ----------------------------------------------------------------

    async def _next(self, timeout: float) -> str | bytes:
        item = await asyncio.wait_for(self._inbox.get(), timeout)
        if item is None:
            self._inbox.put_nowait(None)  # later calls see the close too
            raise ConnectionError("the connection closed during the transfer")
        return item

    async def _reply(self, timeout: float, *expected: str) -> dict[str, Any]:
        """The next text message, which must be one of ``expected`` (or an error)."""
        item = await self._next(timeout)
        if isinstance(item, bytes):
            raise MessageError("unexpected-binary", f"expected {expected}, got binary data")
        reply: dict[str, Any] = json.loads(item)
        if reply.get("type") == "error":
            raise MessageError(reply.get("error", "?"), reply.get("message", ""))
        if reply.get("type") not in expected:
            raise MessageError("unexpected-reply", f"expected {expected}, got {reply}")
        return reply

    # --- the three requests ----------------------------------------------------------------

    async def upload(
        self,
        data: bytes,
        name: str,
        mime: str,
        *,
        chunk_size: int = CHUNK_SIZE,
        pace: float = 0.0,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """Send a file: ``file-meta``, wait for ``ready``, the chunks, wait for ``saved``.

        Args:
            data: the file's bytes.
            name, mime: what the file-meta declares.
            chunk_size: bytes per binary message.
            pace: nominal seconds to wait after each chunk, to watch the bars
                move (loopback is much faster than a real network).
            timeout: real seconds to wait for each answer.

        Returns:
            The server's ``saved`` message (``name`` is the stored name).

        Raises:
            MessageError: the server's error (``file-too-large``,
                ``hash-mismatch``, ...): its ``code`` and ``message``.
            ConnectionError: the connection closed on the way.
        """
        async with self._busy:
            meta = file_meta(name, data, mime)
            size = len(data)
            self.ws.send(dumps(meta))
            try:
                ready = await self._reply(timeout, "ready")
            except MessageError as error:
                self._tell(name, size, 0, "failed", error.code)
                raise
            stored = ready["stored"]
            passed = 0
            self._tell(stored, size, 0)
            for chunk in iter_chunks(data, chunk_size):
                self.ws.send(chunk)
                passed += len(chunk)
                # Like a page watching bufferedAmount: queue a few chunks ahead, no more.
                while self.ws.buffered_amount > HIGH_WATER:
                    await asyncio.sleep(0.001)
                await asyncio.sleep(real_seconds(pace))
                self._tell(stored, size, passed - self.ws.buffered_amount)
                if not self._inbox.empty():
                    break  # the server said something already: an error, surely
            try:
                saved = await self._reply(timeout, "saved")
            except MessageError as error:
                self._tell(stored, size, passed, "failed", error.code)
                raise
            self._tell(stored, size, size, "done")
            return saved

    async def download(
        self, name: str, *, max_size: int = MAX_FILE_BYTES, timeout: float = 30.0
    ) -> tuple[FileMeta, bytes]:
        """Fetch a stored file, checking its size and SHA-256 as the server checks uploads.

        Returns:
            The file's metadata and its bytes.

        Raises:
            MessageError: the server's error (``not-found``), or a check that
                failed here (``hash-mismatch``, ...).
        """
        async with self._busy:
            self.ws.send(dumps({"type": "get", "name": name}))
            reply = await self._reply(timeout, "file-meta")
            # Never trust the other side, even when it is the server.
            meta = validate_file_meta(reply, max_size=max_size)
            receiver = Receiver()
            parts: list[bytes] = []
            event = receiver.start(meta)
            self._tell(meta.name, meta.size, 0)
            while not isinstance(event, Complete):
                item = await self._next(timeout)
                if isinstance(item, str):
                    raise MessageError("unexpected-text", f"expected file bytes, got {item}")
                try:
                    step = receiver.feed(item)
                except MessageError as error:
                    self._tell(meta.name, meta.size, receiver.received, "failed", error.code)
                    raise
                assert step is not None  # a receiver that is receiving skips nothing
                event = step
                parts.append(item)
                self._tell(meta.name, meta.size, receiver.received)
            self._tell(meta.name, meta.size, meta.size, "done")
            return meta, b"".join(parts)

    async def list_files(self, timeout: float = 30.0) -> list[dict[str, Any]]:
        """The files the server keeps: name, size, mime and sha256 of each."""
        async with self._busy:
            self.ws.send(dumps({"type": "list"}))
            reply = await self._reply(timeout, "files")
            files: list[dict[str, Any]] = reply["files"]
            return files

    def _tell(
        self,
        name: str,
        size: int,
        done: int,
        status: TransferStatus = "active",
        detail: str = "",
    ) -> None:
        self.progress.notify(TransferProgress(name, size, max(0, done), status, detail))
