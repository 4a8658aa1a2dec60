"""The ``files`` server's contract over real sockets, and the FileClient and TransferBar on it.

Clients are websockets' own synchronous client, so each check reads the wire
as any client would. "Nothing else arrived" is checked by ordering: the
server answers one connection's messages in order, so when the reply to a
later ``list`` is the next thing a client reads, nothing came in between.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import TOO_BIG, async_wait_until, recv_json, send_json, sync_connect, wait_until
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

import wslab
from wslab.clients.files import FileClient
from wslab.core.files import CHUNK_SIZE, TransferProgress, file_meta, iter_chunks, sha256_hex
from wslab.core.messages import MessageError
from wslab.runtime.runner import ServerStartError
from wslab.servers import SERVERS
from wslab.servers.files import MAX_STORE_BYTES, FilesServer
from wslab.widgets import TransferBar

PNG = b"\x89PNG\r\n\x1a\n"


def data_of(size: int, seed: int = 0) -> bytes:
    """Deterministic bytes that do not repeat within a chunk."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


@pytest.fixture
def files() -> wslab.RunningServer:
    return wslab.serve("files")


def app(server: wslab.RunningServer) -> FilesServer:
    assert isinstance(server.app, FilesServer)
    return server.app


def directory(server: wslab.RunningServer) -> Path:
    path = app(server).directory
    assert path is not None
    return path


def stored_names(server: wslab.RunningServer) -> list[str]:
    return sorted(p.name for p in directory(server).iterdir() if p.name != ".partial")


def partials(server: wslab.RunningServer) -> list[str]:
    return sorted(p.name for p in (directory(server) / ".partial").iterdir())


def upload(
    ws: ClientConnection, data: bytes, name: str = "notes.txt", mime: str = "text/plain"
) -> dict[str, Any]:
    """Send meta, wait for ready, send the chunks, return the final answer."""
    send_json(ws, file_meta(name, data, mime))
    ready = recv_json(ws)
    assert ready["type"] == "ready", ready
    for chunk in iter_chunks(data):
        ws.send(chunk)
    reply: dict[str, Any] = recv_json(ws)
    return reply


def listing(ws: ClientConnection) -> list[dict[str, Any]]:
    send_json(ws, {"type": "list"})
    reply = recv_json(ws)
    assert reply["type"] == "files", reply
    files: list[dict[str, Any]] = reply["files"]
    return files


@pytest.fixture
def ws(files: wslab.RunningServer) -> Iterator[ClientConnection]:
    with sync_connect(files.url) as connection:
        yield connection


# --- the registry -------------------------------------------------------------------------


def test_files_is_a_lesson_server() -> None:
    assert SERVERS["files"] is FilesServer
    assert FilesServer.lessons == (10,)
    assert FilesServer.summary
    assert FilesServer().max_size == 1 << 20


# --- the happy path -----------------------------------------------------------------------


def test_upload_in_chunks_with_the_hash_checked(files: wslab.RunningServer) -> None:
    data = data_of(200_000)
    digest = sha256_hex(data)
    with sync_connect(files.url) as ws:
        send_json(ws, file_meta("notes.txt", data, "text/plain"))
        assert recv_json(ws) == {
            "type": "ready",
            "name": "notes.txt",
            "stored": "notes.txt",
            "size": 200_000,
            "chunk_size": CHUNK_SIZE,
        }
        for chunk in iter_chunks(data):
            ws.send(chunk)
        assert recv_json(ws) == {
            "type": "saved",
            "name": "notes.txt",
            "size": 200_000,
            "mime": "text/plain",
            "sha256": digest,
        }
        assert listing(ws) == [
            {"name": "notes.txt", "size": 200_000, "mime": "text/plain", "sha256": digest}
        ]
    stored = directory(files) / "notes.txt"
    assert stored.read_bytes() == data
    assert partials(files) == []
    binary_in = [e for e in files.log.entries("message") if e.direction == "in" and e.binary]
    assert [e.size for e in binary_in] == [65536, 65536, 65536, 3392]
    assert "saved" in files.log.kinds()


def test_download_answers_meta_then_chunks(
    files: wslab.RunningServer, ws: ClientConnection
) -> None:
    data = PNG + data_of(150_000)
    assert upload(ws, data, "cat.png", "image/png")["type"] == "saved"
    send_json(ws, {"type": "get", "name": "cat.png"})
    meta = recv_json(ws)
    assert meta == {**file_meta("cat.png", data, "image/png")}
    chunks = [ws.recv(timeout=5) for _ in range(3)]
    assert [len(c) for c in chunks] == [65536, 65536, len(data) - 2 * 65536]
    assert all(isinstance(c, bytes) for c in chunks)
    assert b"".join(chunks) == data  # type: ignore[arg-type]


def test_the_seed_way_meta_then_bytes_without_waiting(
    files: wslab.RunningServer, ws: ClientConnection
) -> None:
    data = data_of(5000)
    send_json(ws, file_meta("seed.txt", data, "text/plain"))
    ws.send(data)  # one binary message, as the study notes' ws.send(buffer)
    assert recv_json(ws)["type"] == "ready"
    assert recv_json(ws)["type"] == "saved"


def test_an_empty_file(files: wslab.RunningServer, ws: ClientConnection) -> None:
    send_json(ws, file_meta("empty.txt", b"", "text/plain"))
    assert recv_json(ws)["type"] == "ready"
    assert recv_json(ws)["size"] == 0
    assert (directory(files) / "empty.txt").read_bytes() == b""


def test_several_files_on_one_connection(files: wslab.RunningServer, ws: ClientConnection) -> None:
    for n in range(3):
        assert upload(ws, data_of(70_000, n), f"f{n}.txt")["name"] == f"f{n}.txt"
    assert stored_names(files) == ["f0.txt", "f1.txt", "f2.txt"]


# --- names ---------------------------------------------------------------------------------


def test_hostile_names_are_stored_harmlessly_inside_the_directory(
    files: wslab.RunningServer, ws: ClientConnection
) -> None:
    hostile = {
        "../../etc/passwd": "passwd.txt",
        "..\\..\\boot.ini": "boot_ini.txt",
        "/tmp/x": "x.txt",
        "C:\\Windows\\win.ini": "win_ini.txt",
        "con.txt": "_con.txt",
        "\u202egnp.exe": "gnp_exe.txt",
        "a\x00b.txt": "ab.txt",
        "x" * 1000: "x" * 115 + ".txt",
    }
    for name, safe in hostile.items():
        assert upload(ws, b"data", name)["name"] == safe
    root = directory(files)
    assert stored_names(files) == sorted(hostile.values())
    for path in root.iterdir():
        assert path.resolve().parent == root.resolve()
    assert not Path("/tmp/x.txt").exists() or Path("/tmp/x.txt").read_bytes() != b"data"


def test_nothing_is_overwritten(files: wslab.RunningServer, ws: ClientConnection) -> None:
    first, second, third = PNG + b"1", PNG + b"2", PNG + b"3"
    assert upload(ws, first, "cat.png", "image/png")["name"] == "cat.png"
    assert upload(ws, second, "cat.png", "image/png")["name"] == "cat (1).png"
    assert upload(ws, third, "CAT.png", "image/png")["name"] == "CAT (2).png"
    root = directory(files)
    assert (root / "cat.png").read_bytes() == first
    assert (root / "cat (1).png").read_bytes() == second


def test_two_uploads_of_one_name_at_once_get_two_names(files: wslab.RunningServer) -> None:
    data = data_of(100_000)
    with sync_connect(files.url) as a, sync_connect(files.url) as b:
        send_json(a, file_meta("same.txt", data, "text/plain"))
        send_json(b, file_meta("same.txt", data, "text/plain"))
        assert recv_json(a)["stored"] == "same.txt"
        assert recv_json(b)["stored"] == "same (1).txt"
        for chunk in iter_chunks(data):
            b.send(chunk)
            a.send(chunk)
        assert recv_json(a)["name"] == "same.txt"
        assert recv_json(b)["name"] == "same (1).txt"


def test_get_looks_names_up_never_opens_paths(
    files: wslab.RunningServer, ws: ClientConnection
) -> None:
    upload(ws, b"secret", "notes.txt")
    for name in ("../notes.txt", ".partial", "/etc/passwd", "nope.txt"):
        send_json(ws, {"type": "get", "name": name})
        reply = recv_json(ws)
        assert reply["error"] == "not-found", reply
    send_json(ws, {"type": "get"})
    assert recv_json(ws)["error"] == "invalid-field"


# --- refusals: before the bytes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"size": 8 * (1 << 20) + 1}, "file-too-large"),
        ({"size": 1 << 40}, "file-too-large"),
        ({"mime": "application/x-msdownload", "name": "setup.exe"}, "type-not-allowed"),
        ({"mime": "text/html"}, "type-not-allowed"),
        ({"sha256": "nope"}, "invalid-field"),
        ({"size": -5}, "invalid-field"),
    ],
)
def test_a_refused_meta_is_answered_before_the_bytes_which_are_then_ignored(
    files: wslab.RunningServer, ws: ClientConnection, changes: dict[str, Any], code: str
) -> None:
    data = data_of(3 * CHUNK_SIZE)
    send_json(ws, {**file_meta("big.txt", data, "text/plain"), **changes})
    error = recv_json(ws)
    assert (error["type"], error["error"]) == ("error", code)
    # A sender that does not wait for the answer sends the bytes anyway.
    for chunk in iter_chunks(data):
        ws.send(chunk)
    assert listing(ws) == []  # the next answer: no error per ignored chunk
    assert stored_names(files) == [] and partials(files) == []
    ignored = files.log.entries("ignored")
    assert len(ignored) == 1
    assert "ignored 3 binary message(s), 196,608 bytes" in ignored[0].text
    assert "accepted" not in files.log.kinds()


def test_storage_is_limited_in_total() -> None:
    server = wslab.serve("files", max_total=100_000)
    assert app(server).max_total == 100_000
    assert FilesServer().max_total == MAX_STORE_BYTES
    with sync_connect(server.url) as ws:
        assert upload(ws, data_of(60_000))["type"] == "saved"
        send_json(ws, file_meta("more.txt", data_of(60_000), "text/plain"))
        assert recv_json(ws)["error"] == "storage-full"


def test_the_allow_list_is_an_option() -> None:
    server = wslab.serve("files", allowed_types=["image/png"])
    with sync_connect(server.url) as ws:
        send_json(ws, file_meta("a.txt", b"x", "text/plain"))
        error = recv_json(ws)
    assert error["error"] == "type-not-allowed"
    assert error["allowed"] == ["image/png"]


# --- refusals: during and after the bytes -----------------------------------------------------


def test_binary_without_meta_is_one_error(files: wslab.RunningServer, ws: ClientConnection) -> None:
    ws.send(b"\x00" * 10)
    ws.send(b"\x00" * 20)
    error = recv_json(ws)
    assert error["error"] == "unexpected-binary"
    assert listing(ws) == []
    assert "ignored 1 binary message(s), 20 bytes" in files.log.entries("ignored")[0].text


def test_hash_mismatch_leaves_no_file(files: wslab.RunningServer, ws: ClientConnection) -> None:
    data = data_of(150_000)
    send_json(ws, {**file_meta("x.txt", data, "text/plain"), "sha256": sha256_hex(b"other")})
    assert recv_json(ws)["type"] == "ready"
    for chunk in iter_chunks(data):
        ws.send(chunk)
    error = recv_json(ws)
    assert error["error"] == "hash-mismatch"
    assert stored_names(files) == [] and partials(files) == []
    assert listing(ws) == []
    assert "partial file was deleted" in files.log.entries("aborted")[0].text


def test_more_bytes_than_declared_is_an_error(
    files: wslab.RunningServer, ws: ClientConnection
) -> None:
    data = data_of(100_000)
    send_json(ws, file_meta("x.txt", data, "text/plain"))
    assert recv_json(ws)["type"] == "ready"
    ws.send(data[:CHUNK_SIZE])
    ws.send(data[CHUNK_SIZE:] + b"extra")
    error = recv_json(ws)
    assert error["error"] == "too-many-bytes"
    assert stored_names(files) == [] and partials(files) == []
    # Bytes after a complete file have no file-meta: refused too.
    assert upload(ws, b"ok")["type"] == "saved"
    ws.send(b"one more")
    assert recv_json(ws)["error"] == "unexpected-binary"


def test_content_that_is_not_the_declared_type(
    files: wslab.RunningServer, ws: ClientConnection
) -> None:
    fake = b"MZ" + data_of(100_000)  # a Windows program, dressed as a PNG
    send_json(ws, file_meta("cat.png", fake, "image/png"))
    assert recv_json(ws)["type"] == "ready"
    for chunk in iter_chunks(fake):
        ws.send(chunk)
    assert recv_json(ws)["error"] == "content-mismatch"
    assert listing(ws) == []
    assert stored_names(files) == [] and partials(files) == []


def test_text_in_the_middle_of_a_file_interrupts_it(
    files: wslab.RunningServer, ws: ClientConnection
) -> None:
    data = data_of(100_000)
    send_json(ws, file_meta("x.txt", data, "text/plain"))
    assert recv_json(ws)["type"] == "ready"
    ws.send(data[:1000])
    wait_until(lambda: partials(files))
    send_json(ws, {"type": "list"})
    assert recv_json(ws)["error"] == "transfer-interrupted"
    assert partials(files) == []
    assert upload(ws, data, "x.txt")["name"] == "x.txt"  # the name was released


def test_disconnect_mid_transfer_leaves_no_partial_file(files: wslab.RunningServer) -> None:
    data = data_of(300_000)
    with sync_connect(files.url) as ws:
        send_json(ws, file_meta("half.txt", data, "text/plain"))
        assert recv_json(ws)["type"] == "ready"
        ws.send(data[:CHUNK_SIZE])
        ws.send(data[CHUNK_SIZE : 2 * CHUNK_SIZE])
        wait_until(lambda: len(files.log.entries("message")) >= 4)
        assert len(partials(files)) == 1
    wait_until(lambda: files.log.entries("close"))
    assert partials(files) == [] and stored_names(files) == []
    aborted = files.log.entries("aborted")
    assert len(aborted) == 1
    assert "'half.txt' abandoned (disconnected) after 131,072 of 300,000 bytes" in aborted[0].text
    with sync_connect(files.url) as ws:
        assert upload(ws, data, "half.txt")["name"] == "half.txt"


def test_a_binary_message_over_one_mebibyte_closes_1009(files: wslab.RunningServer) -> None:
    with sync_connect(files.url) as ws:
        send_json(ws, file_meta("big.txt", b"x" * TOO_BIG, "text/plain"))
        assert recv_json(ws)["type"] == "ready"
        ws.send(b"x" * TOO_BIG)
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009
    wait_until(lambda: files.log.entries("close"))
    assert files.log.entries("close")[0].code == 1009
    assert partials(files) == [] and stored_names(files) == []


def test_exactly_one_mebibyte_in_one_message_is_accepted(files: wslab.RunningServer) -> None:
    data = data_of(1 << 20)
    with sync_connect(files.url) as ws:
        send_json(ws, file_meta("mib.txt", data, "text/plain"))
        assert recv_json(ws)["type"] == "ready"
        ws.send(data)
        assert recv_json(ws)["type"] == "saved"


@pytest.mark.parametrize(
    ("message", "code"),
    [("not json", "invalid-json"), ('{"type": "delete"}', "unknown-type"), ("[]", "invalid-shape")],
)
def test_bad_json(ws: ClientConnection, message: str, code: str) -> None:
    ws.send(message)
    assert recv_json(ws)["error"] == code
    assert listing(ws) == []


def test_other_clients_are_unaffected(files: wslab.RunningServer) -> None:
    good = data_of(200_000, 1)
    with sync_connect(files.url) as bystander, sync_connect(files.url) as mallory:
        send_json(bystander, file_meta("good.txt", good, "text/plain"))
        assert recv_json(bystander)["type"] == "ready"
        bystander.send(good[:CHUNK_SIZE])
        # Mallory tries everything while the bystander is halfway through.
        mallory.send(b"stray bytes")
        assert recv_json(mallory)["error"] == "unexpected-binary"
        send_json(mallory, {**file_meta("big.txt", b"", "text/plain"), "size": 1 << 30})
        assert recv_json(mallory)["error"] == "file-too-large"
        send_json(mallory, {**file_meta("m.txt", b"abc", "text/plain"), "sha256": "0" * 64})
        assert recv_json(mallory)["type"] == "ready"
        mallory.send(b"abc")
        assert recv_json(mallory)["error"] == "hash-mismatch"
        mallory.send(b"x" * TOO_BIG)
        with pytest.raises(ConnectionClosed):
            mallory.recv(timeout=5)
        # The bystander never heard of it, and finishes its file.
        for chunk in iter_chunks(good[CHUNK_SIZE:]):
            bystander.send(chunk)
        saved = recv_json(bystander)
        assert (saved["type"], saved["sha256"]) == ("saved", sha256_hex(good))
        assert [f["name"] for f in listing(bystander)] == ["good.txt"]
    assert (directory(files) / "good.txt").read_bytes() == good


# --- the directory ------------------------------------------------------------------------------


def test_the_directory_is_the_servers_own_and_removed_on_stop() -> None:
    one, two = wslab.serve("files", name="one"), wslab.serve("files", name="two")
    first, second = directory(one), directory(two)
    assert first != second
    assert first.name.startswith("wslab-files-") and first.is_dir()
    with sync_connect(one.url) as ws:
        upload(ws, b"keep me")
        send_json(ws, file_meta("half.txt", data_of(100_000), "text/plain"))
        assert recv_json(ws)["type"] == "ready"
        ws.send(data_of(10))
        wait_until(lambda: partials(one))
        one.stop()
    assert not first.exists()
    assert app(one).directory is None
    assert second.is_dir()
    two.stop()
    assert not second.exists()
    assert "removed" in one.log.kinds()


def test_no_directory_before_listening_or_when_listening_fails() -> None:
    assert FilesServer().directory is None
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = FilesServer()
        with pytest.raises(ServerStartError):
            wslab.serve(server, port=busy.getsockname()[1])
    assert server.directory is None
    assert server.log.kinds() == ["removed"]


# --- FileClient and TransferBar -------------------------------------------------------------------


async def test_file_client_upload_download_list(files: wslab.RunningServer) -> None:
    client = FileClient(files.url)
    seen: list[TransferProgress] = []
    client.progress.subscribe(seen.append)
    bar = TransferBar(client.progress, label="sent")
    server_bar = TransferBar(app(files).progress, label="received")
    try:
        await client.opened()
        data = PNG + data_of(300_000)
        saved = await client.upload(data, "cat.png", "image/png")
        assert saved == {**file_meta("cat.png", data, "image/png"), "type": "saved"}
        assert seen[0] == TransferProgress("cat.png", len(data), 0)
        assert seen[-1] == TransferProgress("cat.png", len(data), len(data), "done")
        assert len(seen) >= chunk_count_of(data) + 1
        assert [p.done for p in seen] == sorted(p.done for p in seen)
        assert bar.value == len(data) and bar.bar.bar_style == "success"
        await async_wait_until(lambda: server_bar.value == len(data))
        assert [p.status for p in server_bar.shown][-1] == "done"
        assert len(server_bar.shown) == chunk_count_of(data) + 1  # 0, each chunk, done

        meta, back = await client.download("cat.png")
        assert back == data and meta.sha256 == sha256_hex(data)
        assert await client.list_files() == [
            {k: v for k, v in file_meta("cat.png", data, "image/png").items() if k != "type"}
        ]

        with pytest.raises(MessageError) as info:
            await client.upload(b"MZ" + data_of(100), "x.png", "image/png")
        assert info.value.code == "content-mismatch"
        assert bar.bar.bar_style == "danger" and "content-mismatch" in bar.caption.value
        with pytest.raises(MessageError) as info:
            await client.upload(b"x", "a.exe", "application/x-msdownload")
        assert info.value.code == "type-not-allowed"
        with pytest.raises(MessageError) as info:
            await client.download("nope.png")
        assert info.value.code == "not-found"
        # The connection is still good after all that.
        assert (await client.upload(b"fine", "ok.txt", "text/plain"))["name"] == "ok.txt"
    finally:
        closed = await client.close()
        bar.close()
        server_bar.close()
    assert closed.code == 1000


async def test_file_client_downloads_with_blobs(files: wslab.RunningServer) -> None:
    client = FileClient(files.url, binary_type="blob")
    try:
        await client.opened()
        data = data_of(100_000)
        await client.upload(data, "a.txt", "text/plain", pace=0.001)
        assert (await client.download("a.txt"))[1] == data
    finally:
        await client.close()


async def test_file_client_when_the_server_goes_away(files: wslab.RunningServer) -> None:
    client = FileClient(files.url)
    await client.opened()
    files.stop()
    with pytest.raises(ConnectionError):
        await client.list_files(timeout=5)
    await client.ws.closed()


def chunk_count_of(data: bytes) -> int:
    return -(-len(data) // CHUNK_SIZE)


def test_the_progress_bar_without_a_loop() -> None:
    from wslab.state.observable import Observers

    source: Observers[TransferProgress] = Observers()
    bar = TransferBar(source, label="x")
    assert "waiting" in bar.caption.value
    source.notify(TransferProgress("a.txt", 0, 0, "done"))
    assert bar.bar.max == 1 and bar.bar.value == 0 and bar.bar.bar_style == "success"
    source.notify(TransferProgress("<b>.txt", 2048, 1024))
    assert "&lt;b&gt;.txt" in bar.caption.value and "1.0 KiB of 2.0 KiB (50%)" in bar.caption.value
    bar.close()
    source.notify(TransferProgress("a.txt", 10, 10))
    assert len(bar.shown) == 2
