"""File transfer over a WebSocket: chunks, metadata, and a checking receiver.

The study notes' rules for binary data, as pure functions and one small state
machine (no sockets, asyncio or widgets, so every rule is tested on its own):

1. **Metadata first.** A JSON text message says what is coming::

       {"type": "file-meta", "name": "cat.png", "size": 120000,
        "mime": "image/png", "sha256": "<64 hex digits>"}

   :func:`validate_file_meta` checks it *before* a single byte is accepted:
   the size against a limit, the MIME type against an allow-list.
2. **Then the bytes, in 64 KiB chunks** (:data:`CHUNK_SIZE`, :func:`iter_chunks`),
   each a binary message. The transfer is complete when the declared size has
   arrived: the size is the end marker, so no message is needed after the
   last chunk.
3. **Never trust the client.** The :class:`Receiver` counts the bytes and
   hashes them as they arrive: one byte too many, a SHA-256 that does not
   match, or content that is not what the type says (a "PNG" that does not
   start like one) fails the transfer. The name the client declared is only a
   suggestion: :func:`~wslab.core.filenames.sanitize_filename` turns it into
   one harmless file name, and :func:`~wslab.core.filenames.unique_name` makes
   sure nothing already stored is overwritten.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from wslab.core.messages import MessageError

__all__ = [
    "ALLOWED_TYPES",
    "CHUNK_SIZE",
    "MAX_DECLARED_NAME_CHARS",
    "MAX_FILE_BYTES",
    "SIGNATURES",
    "TRANSITIONS",
    "Complete",
    "FileMeta",
    "Progress",
    "Receiver",
    "ReceiverState",
    "TransferProgress",
    "TransferStatus",
    "chunk_count",
    "chunk_sizes",
    "file_meta",
    "human_size",
    "iter_chunks",
    "normalize_mime",
    "sha256_hex",
    "validate_file_meta",
]

#: 64 KiB, the study notes' chunk size: far below a server's 1 MiB message
#: limit, and small enough that a progress bar moves and other messages on
#: the same connection are not held up behind one huge frame.
CHUNK_SIZE = 64 * 1024
#: The largest file a lesson server accepts (the message limit does not apply
#: to a whole file, only to each chunk).
MAX_FILE_BYTES = 8 * (1 << 20)
#: A declared name longer than this is refused outright (it is cut anyway).
MAX_DECLARED_NAME_CHARS = 1024

#: MIME types a server accepts, each with its safe extensions (the first is
#: the one added when a name has none). Anything else is refused: an
#: allow-list, because a deny-list always forgets something.
ALLOWED_TYPES: Mapping[str, tuple[str, ...]] = {
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/gif": (".gif",),
    "application/pdf": (".pdf",),
    "text/plain": (".txt", ".md"),
    "text/csv": (".csv",),
    "application/json": (".json",),
}

#: How files of a type must start ("magic numbers"). A declared type is a
#: claim; the first bytes show whether it is true. Text types have none.
SIGNATURES: Mapping[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
}


_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


# --- chunks --------------------------------------------------------------------------


def _check_chunk_size(chunk_size: int) -> None:
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")


def chunk_count(size: int, chunk_size: int = CHUNK_SIZE) -> int:
    """How many binary messages a file of ``size`` bytes takes.

    The last chunk may be shorter; an empty file takes none.

    Raises:
        ValueError: a negative size or a chunk size below 1.
    """
    _check_chunk_size(chunk_size)
    if size < 0:
        raise ValueError(f"a size cannot be negative, got {size}")
    return -(-size // chunk_size)  # ceiling division, in integers


def chunk_sizes(size: int, chunk_size: int = CHUNK_SIZE) -> list[int]:
    """The size of each chunk of a ``size``-byte file, in order."""
    count = chunk_count(size, chunk_size)
    return [min(chunk_size, size - i * chunk_size) for i in range(count)]


def iter_chunks(data: bytes, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield ``data`` in pieces of ``chunk_size`` bytes (the last may be shorter).

    Raises:
        ValueError: a chunk size below 1.
    """
    _check_chunk_size(chunk_size)
    view = memoryview(data)  # slicing a view copies nothing until bytes()
    for start in range(0, len(view), chunk_size):
        yield bytes(view[start : start + chunk_size])


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data`` as 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()


def human_size(size: int) -> str:
    """``1536`` → ``"1.5 KiB"``: sizes in the binary units the lesson uses."""
    if size < 1024:
        return f"{size} B"
    if size < 1 << 20:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1 << 20):.1f} MiB"


# --- the metadata message ------------------------------------------------------------


@dataclass(frozen=True)
class FileMeta:
    """A validated ``file-meta`` message.

    Attributes:
        name: the name as the client declared it (not yet safe to use).
        size: the exact number of bytes that will follow.
        mime: the MIME type, lowercase, without parameters.
        sha256: the SHA-256 of the whole file, 64 lowercase hex digits.
    """

    name: str
    size: int
    mime: str
    sha256: str

    @property
    def chunks(self) -> int:
        """How many 64 KiB binary messages carry the file."""
        return chunk_count(self.size)

    def payload(self, **extra: Any) -> dict[str, Any]:
        """The ``{"type": "file-meta", ...}`` message for this file."""
        return {
            "type": "file-meta",
            "name": self.name,
            "size": self.size,
            "mime": self.mime,
            "sha256": self.sha256,
            **extra,
        }


def file_meta(name: str, data: bytes, mime: str) -> dict[str, Any]:
    """The ``file-meta`` message a sender sends before ``data``."""
    return FileMeta(name, len(data), normalize_mime(mime), sha256_hex(data)).payload()


def normalize_mime(mime: str) -> str:
    """``"Text/Plain; charset=utf-8"`` → ``"text/plain"``."""
    return mime.split(";", 1)[0].strip().lower()


def validate_file_meta(
    obj: Mapping[str, Any],
    *,
    max_size: int = MAX_FILE_BYTES,
    types: Collection[str] = ALLOWED_TYPES,
) -> FileMeta:
    """Check a ``file-meta`` message before accepting any of the file's bytes.

    Args:
        obj: the decoded JSON object.
        max_size: the largest file accepted, in bytes.
        types: the MIME types accepted (an allow-list).

    Returns:
        The :class:`FileMeta`, with the type and hash normalized to lowercase.

    Raises:
        MessageError: ``invalid-field`` (a field missing or of the wrong
            shape), ``file-too-large`` or ``type-not-allowed``.
    """
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise MessageError("invalid-field", '"name" must be a non-empty string')
    if len(name) > MAX_DECLARED_NAME_CHARS:
        raise MessageError(
            "invalid-field", f'"name" is longer than {MAX_DECLARED_NAME_CHARS} characters'
        )
    size = obj.get("size")
    # bool is an int in Python, but true is not a size.
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise MessageError("invalid-field", '"size" must be a whole number of bytes, 0 or more')
    if size > max_size:
        raise MessageError(
            "file-too-large",
            f"{size:,} bytes is more than this server accepts ({max_size:,} bytes)",
            max_size=max_size,
        )
    mime = obj.get("mime")
    if not isinstance(mime, str) or not mime.strip():
        raise MessageError("invalid-field", '"mime" must be a MIME type such as "image/png"')
    mime = normalize_mime(mime)
    if mime not in types:
        shown = mime if len(mime) <= 60 else mime[:59] + "…"
        raise MessageError(
            "type-not-allowed",
            f"files of type {shown!r} are not accepted; allowed: {', '.join(sorted(types))}",
            allowed=sorted(types),
        )
    digest = obj.get("sha256")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise MessageError(
            "invalid-field", '"sha256" must be the 64 hex digits of the file\'s SHA-256'
        )
    return FileMeta(name, size, mime, digest.lower())


# --- safe names ----------------------------------------------------------------------


# --- the receiver ----------------------------------------------------------------------
#
# Theory of operation. A receiver handles one file at a time per connection.
# IDLE: waiting for a file-meta. A valid one starts RECEIVING. Binary frames
# are then counted and hashed until exactly the declared size has arrived
# (back to IDLE, complete). Whatever goes wrong - bytes without a file-meta,
# a refused file-meta, one byte too many, a bad hash or bad content - is
# answered with ONE error, and the receiver SKIPS the binary frames that
# follow (a sender that does not wait for an answer keeps sending them) until
# the client's next text message. A text message in the middle of a file
# interrupts it.


class ReceiverState(Enum):
    """Where a :class:`Receiver` is."""

    IDLE = "idle"
    RECEIVING = "receiving"
    SKIPPING = "skipping"


_I, _R, _S = ReceiverState.IDLE, ReceiverState.RECEIVING, ReceiverState.SKIPPING

#: The receiver as data: ``(state, event) → next state``. Any pair not here is
#: a bug in the caller (:class:`RuntimeError`); ``abort`` is allowed anywhere.
TRANSITIONS: Mapping[tuple[ReceiverState, str], ReceiverState] = {
    (_I, "start"): _R,  # a valid file-meta
    (_I, "refuse"): _S,  # a file-meta the server refused: skip its bytes
    (_I, "stray-bytes"): _S,  # binary without a file-meta: one error, then skip
    (_I, "text"): _I,
    (_R, "chunk"): _R,
    (_R, "complete"): _I,  # the declared size arrived and the hash matches
    (_R, "fail"): _S,  # too many bytes, wrong hash, wrong content
    (_R, "text"): _I,  # a text message interrupts the file
    (_S, "skip"): _S,
    (_S, "text"): _I,
    (_I, "abort"): _I,
    (_R, "abort"): _I,
    (_S, "abort"): _I,
}


@dataclass(frozen=True)
class Progress:
    """A chunk was accepted: ``received`` of ``size`` bytes so far."""

    received: int
    size: int


@dataclass(frozen=True)
class Complete:
    """The whole file arrived, with the declared size and SHA-256."""

    meta: FileMeta


class Receiver:
    """Checks one incoming file at a time: its size, its SHA-256 and its first bytes.

    Pure: it is fed messages and says what happened; storing the bytes is the
    caller's job. Not thread-safe (one per connection, on one loop).

    Attributes:
        state: the current :class:`ReceiverState`.
        meta: the file being received, or the last one (None before any).
        received: bytes of it received so far.
        skipped: binary messages skipped since the last error.
    """

    def __init__(self, *, signatures: Mapping[str, tuple[bytes, ...]] = SIGNATURES) -> None:
        self.state = ReceiverState.IDLE
        self.meta: FileMeta | None = None
        self.received = 0
        self.skipped = 0
        self.skipped_bytes = 0
        self._signatures = signatures
        self._hash = hashlib.sha256()
        self._head = b""

    def _move(self, event: str) -> None:
        try:
            self.state = TRANSITIONS[self.state, event]
        except KeyError:
            raise RuntimeError(f"{event!r} is not possible while {self.state.value}") from None

    # --- what the caller feeds in -----------------------------------------------

    def text(self) -> None:
        """A text message arrived: call before handling it.

        Raises:
            MessageError: ``transfer-interrupted`` if a file was coming in;
                it is abandoned (the caller deletes what it stored).
        """
        was = self.state
        self._move("text")
        self.skipped = self.skipped_bytes = 0
        if was is ReceiverState.RECEIVING:
            meta = self.meta
            assert meta is not None
            raise MessageError(
                "transfer-interrupted",
                f"a text message arrived after {self.received:,} of {meta.size:,} bytes of "
                f"{meta.name!r}: the file is abandoned; send its file-meta again to restart",
            )

    def start(self, meta: FileMeta) -> Progress | Complete:
        """Begin receiving ``meta``'s file; an empty file is complete at once.

        Raises:
            RuntimeError: not IDLE (call :meth:`text` first).
            MessageError: ``hash-mismatch`` or ``content-mismatch`` for an
                empty file whose hash or type does not fit.
        """
        self._move("start")
        self.meta = meta
        self.received = 0
        self._hash = hashlib.sha256()
        self._head = b""
        if meta.size == 0:
            return self._finish()
        return Progress(0, meta.size)

    def refuse(self) -> None:
        """The caller refused a file-meta: skip the bytes that follow it."""
        self._move("refuse")

    def feed(self, chunk: bytes) -> Progress | Complete | None:
        """A binary message arrived.

        Returns:
            :class:`Progress` or :class:`Complete` for an accepted chunk
            (store it), None for a skipped one (drop it).

        Raises:
            MessageError: ``unexpected-binary`` (no file-meta before it),
                ``too-many-bytes``, ``hash-mismatch`` or ``content-mismatch``.
                After one, the receiver skips binary messages until the next
                text message.
        """
        if self.state is ReceiverState.SKIPPING:
            self._move("skip")
            self.skipped += 1
            self.skipped_bytes += len(chunk)
            return None
        if self.state is ReceiverState.IDLE:
            self._move("stray-bytes")
            raise MessageError(
                "unexpected-binary",
                f"a binary message of {len(chunk):,} bytes without a file-meta before it: "
                'send {"type": "file-meta", ...} first; binary messages are ignored '
                "until your next text message",
            )
        meta = self.meta
        assert meta is not None
        if self.received + len(chunk) > meta.size:
            self._move("fail")
            raise MessageError(
                "too-many-bytes",
                f"{meta.name!r} was declared as {meta.size:,} bytes, but "
                f"{self.received + len(chunk):,} arrived: the file is refused",
            )
        self._move("chunk")
        self.received += len(chunk)
        self._hash.update(chunk)
        if len(self._head) < 16:
            self._head += chunk[: 16 - len(self._head)]
            self._check_content(final=False)
        if self.received == meta.size:
            return self._finish()
        return Progress(self.received, meta.size)

    def abort(self) -> FileMeta | None:
        """Forget the file (the connection closed); return it if one was coming in."""
        was = self.state
        self._move("abort")
        return self.meta if was is ReceiverState.RECEIVING else None

    # --- checks ------------------------------------------------------------------------

    def _finish(self) -> Complete:
        meta = self.meta
        assert meta is not None
        self._check_content(final=True)
        digest = self._hash.hexdigest()
        if digest != meta.sha256:
            self._move("fail")
            raise MessageError(
                "hash-mismatch",
                f"the SHA-256 of the {meta.size:,} bytes received is {digest[:12]}…, "
                f"not {meta.sha256[:12]}… as declared: the file is refused",
            )
        self._move("complete")
        return Complete(meta)

    def _check_content(self, *, final: bool) -> None:
        meta = self.meta
        assert meta is not None
        signatures = self._signatures.get(meta.mime, ())
        if not signatures:
            return
        head = self._head
        if any(head.startswith(sig) for sig in signatures):
            return
        # Too few bytes to tell yet, and more to come: wait.
        if not final and any(sig.startswith(head) for sig in signatures):
            return
        self._move("fail")
        raise MessageError(
            "content-mismatch",
            f"{meta.name!r} was declared as {meta.mime}, but it does not start the way "
            f"every {meta.mime} file starts: the file is refused",
        )


# --- progress, for views ---------------------------------------------------------------

TransferStatus = Literal["active", "done", "failed"]


@dataclass(frozen=True)
class TransferProgress:
    """How far one transfer has got, for a progress bar.

    Attributes:
        name: the file's name.
        size: its size in bytes.
        done: bytes sent (by a sender) or received (by a receiver) so far.
        status: ``"active"``, ``"done"`` or ``"failed"``.
        detail: the error code when failed, else empty.
        peer: whose transfer it is (a server's ``"#3"``), if known.
    """

    name: str
    size: int
    done: int
    status: TransferStatus = "active"
    detail: str = ""
    peer: str = ""

    @property
    def fraction(self) -> float:
        """From 0.0 to 1.0 (an empty file is 1.0 once done)."""
        if self.size == 0:
            return 1.0 if self.status == "done" else 0.0
        return min(1.0, self.done / self.size)
