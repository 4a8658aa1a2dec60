"""``files``: lesson 10. Receives files as metadata then 64 KiB binary chunks, and sends them back.

Protocol (JSON text messages, and binary messages for the file's bytes)::

    → {"type": "file-meta", "name": "cat.png", "size": 120000, "mime": "image/png",
       "sha256": "<64 hex digits>"}
    ← {"type": "ready", "name": "cat.png", "stored": "cat.png", "size": 120000,
       "chunk_size": 65536}                            checked before any byte is accepted
    → <binary: 65536 bytes>  → <binary: 54464 bytes>    the file, until "size" bytes arrived
    ← {"type": "saved", "name": "cat.png", "size": 120000, "mime": "image/png", "sha256": ...}

    → {"type": "get", "name": "cat.png"}
    ← {"type": "file-meta", "name": "cat.png", ...}  then  ← <binary chunks>
    → {"type": "list"}
    ← {"type": "files", "files": [{"name": ..., "size": ..., "mime": ..., "sha256": ...}]}

The declared size is the end marker: the file is complete when that many
bytes have arrived. Everything is checked (see :mod:`wslab.core.files`):
a file too large or of a type not allowed is refused before its bytes; one
byte too many, a wrong SHA-256 or content that is not what the type says
fails it; bytes without a file-meta are refused. Each mistake gets ONE
``{"type": "error", ...}``, the binary messages that follow it are ignored
until the client's next text message, and a failed or interrupted file
leaves nothing on disk. Other clients never notice.

A crash (:meth:`FilesServer.crash`, what a dying process does to its
sockets) drops every transfer in flight, and its partial file with it;
:meth:`FilesServer.restart` listens again on the same port, with the files
already stored. A client whose upload was cut asks for ``list`` after
reconnecting: a file whose SHA-256 is there was saved before the drop.

Files live in a temporary directory of this server's own
(``tempfile.mkdtemp``), removed when the server stops, under names made safe
by :func:`~wslab.core.files.sanitize_filename` and never overwritten
(``cat.png``, ``cat (1).png``, ...). Bytes in progress go to a private
``.partial`` directory, under names that owe nothing to the client, and are
moved into place only once complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from ssl import SSLContext
from typing import IO, Any

from websockets.asyncio.server import ServerConnection

from wslab.core.filenames import sanitize_filename, unique_name
from wslab.core.files import (
    ALLOWED_TYPES,
    CHUNK_SIZE,
    MAX_FILE_BYTES,
    Complete,
    FileMeta,
    Receiver,
    ReceiverState,
    TransferProgress,
    human_size,
    validate_file_meta,
)
from wslab.core.messages import MessageError, parse_message, require_text
from wslab.servers.base import CrashableServer
from wslab.state.observable import Observers

__all__ = ["MAX_STORE_BYTES", "FilesServer", "StoredFile"]

#: All files together may take at most this much of the disk.
MAX_STORE_BYTES = 64 * (1 << 20)
_PARTIAL = ".partial"


@dataclass(frozen=True)
class StoredFile:
    """A file the server keeps: its safe name and what was checked about it."""

    name: str
    size: int
    mime: str
    sha256: str

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "mime": self.mime, "sha256": self.sha256}


@dataclass
class _Incoming:
    """One connection's receiver, and the file it is writing, if any."""

    receiver: Receiver = field(default_factory=Receiver)
    stored: str = ""
    partial: Path | None = None
    handle: IO[bytes] | None = None


class FilesServer(CrashableServer):
    """Stores uploaded files after checking type, size and SHA-256; serves them back."""

    name = "files"
    lessons = (10,)
    summary = "file upload and download: JSON metadata, 64 KiB binary chunks, SHA-256 checked"
    types = ("file-meta", "get", "list")

    def __init__(
        self,
        *args: Any,
        max_file_size: int = MAX_FILE_BYTES,
        max_total: int = MAX_STORE_BYTES,
        allowed_types: Collection[str] = tuple(ALLOWED_TYPES),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_file_size = max_file_size
        self.max_total = max_total
        self.allowed_types = tuple(allowed_types)
        #: The server's own directory, made when it starts listening and
        #: removed when it stops (None before and after).
        self.directory: Path | None = None
        #: The stored files by name, in the order they were saved. Replaced, never
        #: changed in place, so other threads may read it at any time.
        self.files: dict[str, StoredFile] = {}
        #: Told about every incoming file: each chunk, then "done" or "failed".
        #: Called on the server's thread.
        self.progress: Observers[TransferProgress] = Observers()
        self._incoming: dict[ServerConnection, _Incoming] = {}
        self._reserved: dict[str, int] = {}  # names (and sizes) of files coming in

    # --- the directory lives as long as the server listens ---------------------------

    async def listen(self, host: str, port: int, ssl: SSLContext | None = None) -> int:
        directory = Path(tempfile.mkdtemp(prefix="wslab-files-"))
        (directory / _PARTIAL).mkdir()
        self.directory = directory
        try:
            port = await super().listen(host, port, ssl)
        except BaseException:
            self._remove_directory()
            raise
        return port

    # --- faults: crash() and restart() are CrashableServer's. A crash ends each
    # transfer in flight as a disconnect (its partial file is deleted); the
    # stored files stay.

    async def close(self, grace: float) -> None:
        try:
            await super().close(grace)
        finally:
            for ws, incoming in list(self._incoming.items()):
                self._discard(incoming, self.peers.get(ws, "?"), "server stopping")
            self._remove_directory()

    def _remove_directory(self) -> None:
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.log.record("removed", f"removed {self.directory}")
            self.directory = None

    def _dir(self) -> Path:
        if self.directory is None:
            raise MessageError("server-stopping", "the server is stopping: no files now")
        return self.directory

    # --- connections --------------------------------------------------------------------

    async def on_connect(self, ws: ServerConnection, peer: str) -> None:
        self._incoming[ws] = _Incoming()

    async def on_disconnect(self, ws: ServerConnection, peer: str) -> None:
        incoming = self._incoming.pop(ws, None)
        if incoming is not None:
            self._discard(incoming, peer, "disconnected")

    async def on_message(self, ws: ServerConnection, peer: str, message: str | bytes) -> None:
        incoming = self._incoming[ws]
        if isinstance(message, bytes):
            await self._on_bytes(ws, peer, incoming, message)
        else:
            await self._on_text(ws, peer, incoming, message)

    # --- text: file-meta, get, list ---------------------------------------------------

    async def _on_text(
        self, ws: ServerConnection, peer: str, incoming: _Incoming, text: str
    ) -> None:
        receiver = incoming.receiver
        if receiver.skipped:
            self.log.record(
                "ignored",
                f"{peer}: ignored {receiver.skipped} binary message(s), "
                f"{receiver.skipped_bytes:,} bytes, that followed an error",
                peer=peer,
            )
        try:
            receiver.text()
        except MessageError as error:
            self._discard(incoming, peer, error.code)
            await self.send_error(ws, error)
            return
        kind = None
        try:
            request = parse_message(text, self.types)
            kind = request["type"]
            if kind == "file-meta":
                await self._begin(ws, peer, incoming, request)
            elif kind == "get":
                await self._send_file(ws, request)
            else:
                files = [f.info() for f in self.files.values()]
                await self.send_json(ws, {"type": "files", "files": files})
        except MessageError as error:
            if kind == "file-meta" and receiver.state is ReceiverState.IDLE:
                receiver.refuse()  # its bytes may be on their way: ignore them
            await self.send_error(ws, error)

    async def _begin(
        self, ws: ServerConnection, peer: str, incoming: _Incoming, request: dict[str, Any]
    ) -> None:
        # Everything about the file is checked before a single byte is accepted.
        meta = validate_file_meta(request, max_size=self.max_file_size, types=self.allowed_types)
        used = sum(f.size for f in self.files.values()) + sum(self._reserved.values())
        if used + meta.size > self.max_total:
            raise MessageError(
                "storage-full",
                f"no room for {meta.size:,} more bytes: {used:,} of {self.max_total:,} are used",
            )
        directory = self._dir()
        safe = sanitize_filename(meta.name, meta.mime)
        stored = unique_name(safe, [*self.files, *self._reserved])
        # The bytes in progress go to a name the client has no say in.
        fd, partial = tempfile.mkstemp(suffix=".part", dir=directory / _PARTIAL)
        incoming.handle = os.fdopen(fd, "wb")
        incoming.partial = Path(partial)
        incoming.stored = stored
        self._reserved[stored] = meta.size
        event = incoming.receiver.start(meta)
        self.log.record(
            "accepted",
            f"{peer}: {meta.name!r} ({human_size(meta.size)}, {meta.mime}) will be stored as "
            f"{stored!r}",
            peer=peer,
        )
        await self.send_json(
            ws,
            {
                "type": "ready",
                "name": meta.name,
                "stored": stored,
                "size": meta.size,
                "chunk_size": CHUNK_SIZE,
            },
        )
        self.progress.notify(TransferProgress(stored, meta.size, 0, peer=peer))
        if isinstance(event, Complete):  # an empty file is complete at once
            await self._save(ws, peer, incoming, event.meta)

    async def _send_file(self, ws: ServerConnection, request: dict[str, Any]) -> None:
        name = require_text(request, "name", max_chars=1024)
        # Looked up among the stored names, never joined to a path as given.
        stored = self.files.get(name)
        if stored is None:
            raise MessageError(
                "not-found", f'no file called {name!r} here; send {{"type": "list"}} to see them'
            )
        path = self._dir() / stored.name
        await self.send_json(ws, FileMeta(**stored.info()).payload())
        with path.open("rb") as source:
            while chunk := source.read(CHUNK_SIZE):
                await self.send(ws, chunk)

    # --- bytes -------------------------------------------------------------------------

    async def _on_bytes(
        self, ws: ServerConnection, peer: str, incoming: _Incoming, data: bytes
    ) -> None:
        try:
            event = incoming.receiver.feed(data)
        except MessageError as error:
            self._discard(incoming, peer, error.code)
            await self.send_error(ws, error)
            return
        if event is None:
            return  # skipped: counted by the receiver, recorded at the next text message
        assert incoming.handle is not None
        incoming.handle.write(data)
        meta = incoming.receiver.meta
        assert meta is not None
        if isinstance(event, Complete):
            await self._save(ws, peer, incoming, meta)
        else:
            self.progress.notify(
                TransferProgress(incoming.stored, meta.size, event.received, peer=peer)
            )

    async def _save(
        self, ws: ServerConnection, peer: str, incoming: _Incoming, meta: FileMeta
    ) -> None:
        assert incoming.handle is not None and incoming.partial is not None
        incoming.handle.close()
        stored = incoming.stored
        os.replace(incoming.partial, self._dir() / stored)
        incoming.handle = incoming.partial = None
        self._reserved.pop(stored, None)
        # A new dict rather than an update: cells read `files` from the kernel's
        # thread, and iterating a dict that another thread changes can fail.
        self.files = {**self.files, stored: StoredFile(stored, meta.size, meta.mime, meta.sha256)}
        self.log.record("saved", f"{peer}: saved {stored!r}, {meta.size:,} bytes", peer=peer)
        self.progress.notify(TransferProgress(stored, meta.size, meta.size, "done", peer=peer))
        await self.send_json(ws, {"type": "saved", **self.files[stored].info()})

    def _discard(self, incoming: _Incoming, peer: str, why: str) -> None:
        """Abandon the file coming in on a connection, if any: nothing of it stays."""
        receiver = incoming.receiver
        meta = receiver.meta
        received = receiver.received
        if why in ("disconnected", "server stopping"):
            receiver.abort()
        if incoming.handle is not None:
            incoming.handle.close()
        if incoming.partial is not None:
            incoming.partial.unlink(missing_ok=True)
            assert meta is not None
            self.log.record(
                "aborted",
                f"{peer}: {incoming.stored!r} abandoned ({why}) after {received:,} of "
                f"{meta.size:,} bytes; the partial file was deleted",
                peer=peer,
            )
            self.progress.notify(
                TransferProgress(incoming.stored, meta.size, received, "failed", why, peer)
            )
        self._reserved.pop(incoming.stored, None)
        incoming.handle = incoming.partial = None
        incoming.stored = ""
