"""Safe file names from names a client declared (lesson 10's "never trust the client").

The name in a ``file-meta`` message is only a suggestion: :func:`sanitize_filename`
turns it into one harmless file name (no path, no hidden or illegal
characters, no name Windows reserves, a safe extension for its type, short
enough for any file system), and :func:`unique_name` makes sure nothing
already stored is overwritten. Pure.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence

from wslab.core.files import (
    ALLOWED_TYPES,
)

__all__ = [
    "MAX_FILENAME_BYTES",
    "RESERVED_NAMES",
    "sanitize_filename",
    "unique_name",
]


#: A stored name is at most this many bytes of UTF-8: well under the 255 of
#: common file systems, with room for a " (12)" from :func:`unique_name`.
MAX_FILENAME_BYTES = 120


#: Device names Windows reserves in every directory, whatever the extension:
#: a file called ``con.txt`` cannot be opened there as a file at all.
RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{n}" for n in range(1, 10)}
    | {f"LPT{n}" for n in range(1, 10)}
)


# Control, format (zero-width, bidi overrides such as U+202E), surrogate,
# private-use and unassigned characters, and line or paragraph separators:
# invisible or misleading in a name someone else will read.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


# Path separators, and the drive / alternate-stream colon of Windows.
_SEPARATORS = re.compile(r"[/\\:]")


# Characters Windows does not allow in a file name.
_ILLEGAL = re.compile(r'[<>"|?*]')


_FALLBACK_STEM = "file"


def sanitize_filename(
    name: str,
    mime: str | None = None,
    *,
    types: Mapping[str, Sequence[str]] = ALLOWED_TYPES,
    max_bytes: int = MAX_FILENAME_BYTES,
) -> str:
    """Turn a name a client declared into one harmless file name.

    The result is a single name (never a path), made of visible characters,
    with at most one dot, which starts an extension that is safe for the
    file's type. Step by step:

    1. hidden characters go (control, zero-width, bidi overrides like U+202E);
    2. only the last part of a path is kept (``../../etc/passwd`` → ``passwd``;
       ``/``, ``\\`` and the Windows drive colon all count as separators);
    3. characters Windows forbids become ``_``; runs of spaces become one;
       leading and trailing dots and spaces go (no ``..``, no hidden ``.file``);
    4. the extension is kept only if it is safe for ``mime`` (any known type
       when ``mime`` is None); otherwise it joins the stem and the type's own
       extension is added (``report.pdf.exe`` as a PDF → ``report_pdf_exe.pdf``);
    5. the stem is cut to fit ``max_bytes`` of UTF-8;
    6. Windows' device names get a ``_`` in front (``con.txt`` → ``_con.txt``);
    7. nothing left? The stem is ``file``.

    Args:
        name: the declared name.
        mime: the file's (validated) MIME type.
        types: the MIME types and their safe extensions.
        max_bytes: the longest result, in bytes of UTF-8 (at least 16).

    Returns:
        The safe name. Idempotent: a safe name comes back unchanged.
    """
    if max_bytes < 16:
        raise ValueError("max_bytes must be at least 16")
    text = unicodedata.normalize("NFC", name)
    text = "".join(c for c in text if unicodedata.category(c) not in _HIDDEN_CATEGORIES)
    text = _SEPARATORS.split(text)[-1]
    text = _ILLEGAL.sub("_", text)
    text = " ".join(text.split())
    text = text.strip(". ")
    stem, dot, ext = text.rpartition(".")
    if not dot:
        stem, ext = text, ""
    ext = f".{ext.lower()}" if ext else ""
    if mime is not None:
        safe = tuple(types.get(mime, ()))
    else:
        safe = tuple(e for extensions in types.values() for e in extensions)
    if ext not in safe:
        # An unsafe extension joins the stem, visibly, rather than vanishing.
        stem = f"{stem}{ext}"
        ext = safe[0] if mime is not None and safe else ""
    # One dot at most: "photo.png.exe" tricks need a second one.
    stem = stem.replace(".", "_")
    # One byte spare for the "_" a reserved name gets.
    stem = _cut(stem, max_bytes - len(ext.encode("utf-8")) - 1).rstrip() or _FALLBACK_STEM
    if stem.upper() in RESERVED_NAMES:
        stem = f"_{stem}"
    return f"{stem}{ext}"


def _cut(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` that fits in ``max_bytes`` of UTF-8."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    # Cutting bytes may split a character: drop the broken tail.
    return encoded[:max_bytes].decode("utf-8", "ignore")


def unique_name(name: str, taken: Collection[str]) -> str:
    """``name``, or ``"stem (1).ext"``, ``"stem (2).ext"``, ... if it is taken.

    Names are compared ignoring case, as on Windows' and macOS' file systems,
    so ``Cat.png`` does not overwrite ``cat.png`` there either.

    Args:
        name: a safe name (from :func:`sanitize_filename`).
        taken: the names already in use.
    """
    used = {n.casefold() for n in taken}
    if name.casefold() not in used:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    else:
        ext = f".{ext}"
    n = 1
    while f"{stem} ({n}){ext}".casefold() in used:
        n += 1
    return f"{stem} ({n}){ext}"
