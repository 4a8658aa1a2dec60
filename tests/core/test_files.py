"""wslab.core.files, without sockets: chunks, metadata, safe names, the receiver."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from wslab.core.filenames import MAX_FILENAME_BYTES, sanitize_filename, unique_name
from wslab.core.files import (
    ALLOWED_TYPES,
    CHUNK_SIZE,
    SIGNATURES,
    TRANSITIONS,
    Complete,
    FileMeta,
    Progress,
    Receiver,
    ReceiverState,
    TransferProgress,
    chunk_count,
    chunk_sizes,
    file_meta,
    human_size,
    iter_chunks,
    normalize_mime,
    sha256_hex,
    validate_file_meta,
)
from wslab.core.messages import MessageError

PNG = b"\x89PNG\r\n\x1a\n"

# --- chunks ---------------------------------------------------------------------------


def test_chunk_size_is_64_kib() -> None:
    assert CHUNK_SIZE == 65536


@pytest.mark.parametrize(
    ("size", "sizes"),
    [
        (0, []),
        (1, [1]),
        (65535, [65535]),
        (65536, [65536]),
        (65537, [65536, 1]),
        (200_000, [65536, 65536, 65536, 3392]),
        (3 * 65536, [65536, 65536, 65536]),
    ],
)
def test_chunk_sizes(size: int, sizes: list[int]) -> None:
    assert chunk_sizes(size) == sizes
    assert chunk_count(size) == len(sizes)
    data = bytes(range(256)) * (size // 256 + 1)
    data = data[:size]
    chunks = list(iter_chunks(data))
    assert [len(c) for c in chunks] == sizes
    assert b"".join(chunks) == data
    assert all(type(c) is bytes for c in chunks)


def test_chunk_helpers_take_other_chunk_sizes_and_refuse_bad_ones() -> None:
    assert chunk_sizes(10, 4) == [4, 4, 2]
    assert list(iter_chunks(b"abcdefg", 3)) == [b"abc", b"def", b"g"]
    with pytest.raises(ValueError, match="chunk_size must be at least 1"):
        chunk_count(10, 0)
    with pytest.raises(ValueError, match="chunk_size must be at least 1"):
        list(iter_chunks(b"x", 0))
    with pytest.raises(ValueError, match="negative"):
        chunk_count(-1)


def test_sha256_and_sizes() -> None:
    assert sha256_hex(b"") == hashlib.sha256(b"").hexdigest()
    assert sha256_hex(b"abc").startswith("ba7816bf")
    assert [human_size(n) for n in (0, 1023, 1536, 65536, 3 << 20)] == [
        "0 B",
        "1023 B",
        "1.5 KiB",
        "64.0 KiB",
        "3.0 MiB",
    ]


# --- metadata ---------------------------------------------------------------------------


def meta_of(data: bytes = b"hello", **changes: Any) -> dict[str, Any]:
    meta = file_meta("hello.txt", data, "text/plain")
    meta.update(changes)
    return meta


def test_file_meta_message() -> None:
    assert file_meta("cat.png", PNG, "Image/PNG; x=1") == {
        "type": "file-meta",
        "name": "cat.png",
        "size": 8,
        "mime": "image/png",
        "sha256": sha256_hex(PNG),
    }
    assert normalize_mime(" Text/Plain ; charset=utf-8") == "text/plain"


def test_validate_file_meta_accepts_and_normalizes() -> None:
    meta = validate_file_meta(meta_of(mime="TEXT/plain", sha256=sha256_hex(b"hello").upper()))
    assert meta == FileMeta("hello.txt", 5, "text/plain", sha256_hex(b"hello"))
    assert meta.chunks == 1
    assert meta.payload(extra=1) == {**meta_of(), "extra": 1}
    assert validate_file_meta(meta_of(b"", size=0)).size == 0


@pytest.mark.parametrize(
    ("changes", "code", "words"),
    [
        ({"name": None}, "invalid-field", '"name" must be'),
        ({"name": ""}, "invalid-field", '"name" must be'),
        ({"name": "x" * 1025}, "invalid-field", "longer than 1024"),
        ({"size": "5"}, "invalid-field", '"size"'),
        ({"size": True}, "invalid-field", '"size"'),
        ({"size": -1}, "invalid-field", '"size"'),
        ({"size": 5.0}, "invalid-field", '"size"'),
        ({"size": 8 * (1 << 20) + 1}, "file-too-large", "8,388,609 bytes is more than"),
        ({"mime": None}, "invalid-field", '"mime"'),
        ({"mime": " "}, "invalid-field", '"mime"'),
        ({"mime": "application/x-msdownload"}, "type-not-allowed", "application/x-msdownload"),
        ({"mime": "image/svg+xml"}, "type-not-allowed", "allowed: application/json"),
        ({"sha256": None}, "invalid-field", '"sha256"'),
        ({"sha256": "abc"}, "invalid-field", '"sha256"'),
        ({"sha256": "g" * 64}, "invalid-field", '"sha256"'),
    ],
)
def test_validate_file_meta_refuses(changes: dict[str, Any], code: str, words: str) -> None:
    with pytest.raises(MessageError) as info:
        validate_file_meta(meta_of(**changes))
    assert info.value.code == code
    assert words in info.value.message


def test_validate_file_meta_limits_are_parameters() -> None:
    with pytest.raises(MessageError) as info:
        validate_file_meta(meta_of(), max_size=4)
    assert info.value.code == "file-too-large"
    assert info.value.payload()["max_size"] == 4
    with pytest.raises(MessageError) as info:
        validate_file_meta(meta_of(), types={"image/png"})
    assert info.value.code == "type-not-allowed"
    assert info.value.payload()["allowed"] == ["image/png"]


def test_the_size_is_checked_before_the_type() -> None:
    with pytest.raises(MessageError) as info:
        validate_file_meta(meta_of(size=1 << 30, mime="application/x-msdownload"))
    assert info.value.code == "file-too-large"


# --- safe names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("notes.txt", "notes.txt"),
        ("../x", "x.txt"),
        ("..\\x", "x.txt"),
        ("/etc/passwd", "passwd.txt"),
        ("../../etc/passwd", "passwd.txt"),
        ("C:\\x", "x.txt"),
        ("C:x", "x.txt"),
        ("notes.txt:hidden", "hidden.txt"),  # an NTFS alternate data stream
        ("con.txt", "_con.txt"),
        ("CON", "_CON.txt"),
        ("lpt9.md", "_lpt9.md"),
        ("nul .txt", "_nul.txt"),
        ("console.txt", "console.txt"),
        ("a\x00b", "ab.txt"),
        ("a\nb\tc.txt", "abc.txt"),
        ("\u202egnp.exe", "gnp_exe.txt"),
        ("zero\u200bwidth.txt", "zerowidth.txt"),
        ("", "file.txt"),
        (".", "file.txt"),
        ("..", "file.txt"),
        ("...txt", "txt.txt"),
        (".bashrc", "bashrc.txt"),
        ("../../home/ada/.bashrc", "bashrc.txt"),
        ("report.pdf.exe", "report_pdf_exe.txt"),
        ("cat.png", "cat_png.txt"),
        ("Shout.TXT", "Shout.txt"),
        ("notes.md", "notes.md"),
        ('a<b>c:"d|e?f*.txt', "_d_e_f_.txt"),  # after the colon; Windows' forbidden ones
        ("  lots   of\u00a0 space  .txt", "lots of space.txt"),
        ("café.txt", "café.txt"),
        ("cafe\u0301.txt", "café.txt"),  # NFC: one character, as the user typed it
    ],
)
def test_sanitize_filename(name: str, safe: str) -> None:
    assert sanitize_filename(name, "text/plain") == safe
    assert sanitize_filename(safe, "text/plain") == safe  # idempotent


def test_sanitize_keeps_only_an_extension_safe_for_the_type() -> None:
    assert sanitize_filename("cat.png", "image/png") == "cat.png"
    assert sanitize_filename("cat.PNG", "image/png") == "cat.png"
    assert sanitize_filename("cat.jpeg", "image/jpeg") == "cat.jpeg"
    assert sanitize_filename("cat.gif", "image/png") == "cat_gif.png"
    assert sanitize_filename("\u202egnp.exe", "image/png") == "gnp_exe.png"
    assert sanitize_filename("photo.png.exe", "image/png") == "photo_png_exe.png"
    # Without a type, any known safe extension is kept and others are folded in.
    assert sanitize_filename("cat.gif") == "cat.gif"
    assert sanitize_filename("setup.exe") == "setup_exe"
    assert sanitize_filename("/etc/passwd") == "passwd"
    # A type with no known extensions: no extension at all.
    assert sanitize_filename("x.png", "application/x-unknown") == "x_png"


@pytest.mark.parametrize("ext", ["", ".txt"])
def test_sanitize_caps_the_length(ext: str) -> None:
    safe = sanitize_filename("a" * 1000 + ext, "text/plain")
    assert safe == "a" * (MAX_FILENAME_BYTES - 5) + ".txt"
    assert len(safe.encode()) <= MAX_FILENAME_BYTES
    # Multi-byte characters are never cut in half.
    wide = sanitize_filename("é" * 1000, "text/plain")
    assert len(wide.encode()) <= MAX_FILENAME_BYTES
    assert wide == "é" * ((MAX_FILENAME_BYTES - 5) // 2) + ".txt"
    assert sanitize_filename("x" * 50, "text/plain", max_bytes=20) == "x" * 15 + ".txt"
    with pytest.raises(ValueError):
        sanitize_filename("x", max_bytes=3)


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "..\\x",
        "/etc/passwd",
        "C:\\x",
        "con.txt",
        "a\x00b",
        "\u202egnp.exe",
        "x" * 1000,
        "",
        ".",
        "..",
        "....//....//",
        "\\\\server\\share\\x",
        "\x00\x01\x02",
        "\u202e\u202d\u200f",
        " . . . ",
    ],
)
def test_sanitized_names_are_always_harmless(name: str) -> None:
    for mime in (None, *ALLOWED_TYPES):
        safe = sanitize_filename(name, mime)
        assert safe and safe not in (".", "..")
        assert not any(c in safe for c in '/\\:<>"|?*\x00')
        assert safe.count(".") <= 1
        assert not safe.startswith((".", " ")) and not safe.endswith((".", " "))
        assert len(safe.encode()) <= MAX_FILENAME_BYTES
        assert safe.split(".")[0].upper() not in ("CON", "PRN", "AUX", "NUL")
        assert Path(safe).name == safe  # a single name, never a path
        if mime is not None:
            assert safe.endswith(ALLOWED_TYPES[mime])


def test_unique_name() -> None:
    assert unique_name("cat.png", []) == "cat.png"
    assert unique_name("cat.png", ["dog.png"]) == "cat.png"
    assert unique_name("cat.png", ["cat.png"]) == "cat (1).png"
    assert unique_name("cat.png", ["cat.png", "cat (1).png"]) == "cat (2).png"
    assert unique_name("cat.png", ["cat.png", "cat (2).png"]) == "cat (1).png"
    assert unique_name("Cat.PNG", ["cat.png"]) == "Cat (1).PNG"  # case-insensitive
    assert unique_name("README", ["readme"]) == "README (1)"
    taken: list[str] = []
    for _ in range(4):
        taken.append(unique_name("a.txt", taken))
    assert taken == ["a.txt", "a (1).txt", "a (2).txt", "a (3).txt"]


# --- the receiver -------------------------------------------------------------------------


def meta_for(data: bytes, mime: str = "text/plain", **changes: Any) -> FileMeta:
    return validate_file_meta({**file_meta("f", data, mime), **changes})


def test_transitions_table() -> None:
    states = set(ReceiverState)
    assert {state for state, _ in TRANSITIONS} == states
    assert set(TRANSITIONS.values()) <= states
    for state in states:
        assert TRANSITIONS[state, "abort"] is ReceiverState.IDLE
        assert TRANSITIONS[state, "text"] is ReceiverState.IDLE


def test_receiver_happy_path_in_chunks() -> None:
    data = bytes(range(256)) * 600  # 153,600 bytes: 3 chunks
    receiver = Receiver()
    assert receiver.state is ReceiverState.IDLE
    assert receiver.start(meta_for(data)) == Progress(0, len(data))
    assert receiver.state is ReceiverState.RECEIVING
    events = [receiver.feed(chunk) for chunk in iter_chunks(data)]
    assert events == [
        Progress(65536, len(data)),
        Progress(131072, len(data)),
        Complete(meta_for(data)),
    ]
    assert receiver.state is ReceiverState.IDLE
    assert receiver.received == len(data)


def test_receiver_chunks_may_have_any_size() -> None:
    data = b"0123456789"
    receiver = Receiver()
    receiver.start(meta_for(data))
    assert receiver.feed(b"012") == Progress(3, 10)
    assert receiver.feed(b"") == Progress(3, 10)
    assert isinstance(receiver.feed(b"3456789"), Complete)


def test_an_empty_file_is_complete_at_once() -> None:
    receiver = Receiver()
    assert receiver.start(meta_for(b"")) == Complete(meta_for(b""))
    assert receiver.state is ReceiverState.IDLE


def test_binary_without_meta_is_one_error_then_skipped() -> None:
    receiver = Receiver()
    with pytest.raises(MessageError) as info:
        receiver.feed(b"stray")
    assert info.value.code == "unexpected-binary"
    assert receiver.state is ReceiverState.SKIPPING
    assert receiver.feed(b"more") is None
    assert receiver.feed(b"and more") is None
    assert (receiver.skipped, receiver.skipped_bytes) == (2, 12)
    receiver.text()
    assert receiver.state is ReceiverState.IDLE
    assert (receiver.skipped, receiver.skipped_bytes) == (0, 0)


def test_a_refused_meta_skips_the_bytes_that_follow() -> None:
    receiver = Receiver()
    receiver.refuse()
    assert receiver.feed(b"x" * CHUNK_SIZE) is None
    assert receiver.state is ReceiverState.SKIPPING
    receiver.text()
    data = b"next file"
    receiver.start(meta_for(data))
    assert isinstance(receiver.feed(data), Complete)


def test_too_many_bytes() -> None:
    receiver = Receiver()
    receiver.start(meta_for(b"12345"))
    receiver.feed(b"123")
    with pytest.raises(MessageError) as info:
        receiver.feed(b"456")
    assert info.value.code == "too-many-bytes"
    assert "declared as 5 bytes, but 6 arrived" in info.value.message
    assert receiver.state is ReceiverState.SKIPPING
    assert receiver.received == 3  # the chunk that overflowed was not taken


def test_hash_mismatch_on_the_last_chunk() -> None:
    receiver = Receiver()
    receiver.start(meta_for(b"hello", sha256=sha256_hex(b"HELLO")))
    assert receiver.feed(b"hel") == Progress(3, 5)
    with pytest.raises(MessageError) as info:
        receiver.feed(b"lo")
    assert info.value.code == "hash-mismatch"
    assert receiver.state is ReceiverState.SKIPPING
    empty = Receiver()
    with pytest.raises(MessageError, match="SHA-256"):
        empty.start(meta_for(b"", sha256=sha256_hex(b"x")))


def test_content_must_match_the_declared_type() -> None:
    png = PNG + b"\x00" * 100
    receiver = Receiver()
    receiver.start(meta_for(png, "image/png"))
    assert isinstance(receiver.feed(png), Complete)
    # The signature may arrive split over several chunks.
    receiver.start(meta_for(png, "image/png"))
    assert receiver.feed(png[:3]) == Progress(3, len(png))
    assert isinstance(receiver.feed(png[3:]), Complete)
    # A "PNG" that starts like a Windows program is refused at its first chunk.
    fake = b"MZ\x90\x00" + b"\x00" * 100
    receiver.start(meta_for(fake, "image/png"))
    with pytest.raises(MessageError) as info:
        receiver.feed(fake[:10])
    assert info.value.code == "content-mismatch"
    assert receiver.state is ReceiverState.SKIPPING
    # A file too short to hold the signature is refused when complete.
    receiver.text()
    receiver.start(meta_for(PNG[:4], "image/png"))
    with pytest.raises(MessageError, match="does not start the way"):
        receiver.feed(PNG[:4])
    # Text types have no signature.
    assert "text/plain" not in SIGNATURES


def test_gif_has_two_signatures() -> None:
    for head in (b"GIF87a", b"GIF89a"):
        receiver = Receiver()
        receiver.start(meta_for(head + b"rest", "image/gif"))
        assert isinstance(receiver.feed(head + b"rest"), Complete)


def test_text_interrupts_a_transfer() -> None:
    receiver = Receiver()
    receiver.start(meta_for(b"12345"))
    receiver.feed(b"12")
    with pytest.raises(MessageError) as info:
        receiver.text()
    assert info.value.code == "transfer-interrupted"
    assert "after 2 of 5 bytes" in info.value.message
    assert receiver.state is ReceiverState.IDLE


def test_abort_says_whether_a_file_was_coming_in() -> None:
    receiver = Receiver()
    assert receiver.abort() is None
    meta = meta_for(b"12345")
    receiver.start(meta)
    assert receiver.abort() == meta
    assert receiver.state is ReceiverState.IDLE


def test_impossible_moves_are_bugs() -> None:
    receiver = Receiver()
    receiver.start(meta_for(b"12345"))
    with pytest.raises(RuntimeError, match="'start' is not possible while receiving"):
        receiver.start(meta_for(b"x"))


def test_transfer_progress_fraction() -> None:
    assert TransferProgress("a", 200, 50).fraction == 0.25
    assert TransferProgress("a", 0, 0).fraction == 0.0
    assert TransferProgress("a", 0, 0, "done").fraction == 1.0
    assert TransferProgress("a", 10, 20).fraction == 1.0


# --- the lesson 10 exercises ---------------------------------------------------------------


def test_exercise_10_1_explains_wrong_counts() -> None:
    from wslab.exercises.lesson10 import EXERCISES, PHOTO_SIZE

    ex = EXERCISES[0]
    assert ex.reference == chunk_count(PHOTO_SIZE) == 4
    assert ex.verify(4) is None and ex.verify(4.0) is None
    assert "3,392 bytes still need a message" in str(ex.verify(3))
    assert "divide 200,000 by the chunk size, 65,536" in str(ex.verify(2))
    assert "whole number" in str(ex.verify(PHOTO_SIZE / CHUNK_SIZE))
    assert "a number" in str(ex.verify("4"))
    assert "a number" in str(ex.verify(True))


def test_exercise_10_2_explains_wrong_names() -> None:
    from wslab.exercises.lesson10 import EXERCISES, HOSTILE_NAME

    ex = EXERCISES[1]
    assert ex.reference == sanitize_filename(HOSTILE_NAME, "text/plain") == "bashrc.txt"
    assert "never a path" in str(ex.verify(HOSTILE_NAME))
    assert "hidden file" in str(ex.verify(".bashrc"))
    assert "extension" in str(ex.verify("bashrc"))
    assert "no (1)" in str(ex.verify("bashrc (1).txt"))
    assert "a string" in str(ex.verify(None))
