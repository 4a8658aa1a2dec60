"""wslab.cli: ``python -m wslab list`` and ``python -m wslab serve NAME``."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from helpers import sync_connect

from wslab.cli import main
from wslab.lessons import LESSONS
from wslab.servers import SERVERS

LISTENING = re.compile(
    r"^(?P<name>\w+) server listening on (?P<url>ws://127\.0\.0\.1:(?P<port>\d+)/) "
    r"\(Ctrl-C to stop\)$"
)
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wslab", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@contextmanager
def serving(*args: str) -> Iterator[tuple[subprocess.Popen[str], re.Match[str]]]:
    """Start ``python -m wslab serve ...``; yield it and its "listening" line."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [sys.executable, "-m", "wslab", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=env,
    ) as proc:
        watchdog = threading.Timer(30, proc.kill)  # never hang the test suite
        watchdog.start()
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline().rstrip("\n")
            match = LISTENING.match(first)
            assert match, (first, proc.stderr.read() if proc.stderr else "")
            yield proc, match
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()


# --- list ----------------------------------------------------------------------------


def test_list_prints_every_server() -> None:
    result = run("list")
    assert result.returncode == 0
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    expected = list(dict.fromkeys(item.server for item in LESSONS))
    assert [line.split()[0] for line in lines] == expected
    for name in SERVERS:
        assert any(line.split()[0] == name and SERVERS[name].summary in line for line in lines)
    assert re.match(r"^echo +lessons 1, 2 +returns every text and binary", lines[0])
    last = LESSONS[-1]
    if last.server not in SERVERS:
        assert re.match(rf"^{last.server} +lessons 12 +\(coming with its lesson\)$", lines[-1])


def test_list_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in SERVERS:
        assert f"\n{name} " in f"\n{out}"


# --- serve ----------------------------------------------------------------------------


@posix_only
def test_serve_then_ctrl_c() -> None:
    with serving("echo", "--port", "0") as (proc, match):
        assert match["name"] == "echo"
        with sync_connect(match["url"]) as ws:
            ws.send("hello from a test")
            assert ws.recv(timeout=5) == "hello from a test"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out.splitlines()[-1] == "echo server stopped"
    assert err == ""
    # Not --quiet: each event is printed as it happens.
    assert re.search(r"\s{2}connect\s+#1 connected from 127\.0\.0\.1:", out)
    assert "<- message   hello from a test" in out
    assert "-> message   hello from a test" in out
    assert re.search(r"close\s+#1 closed: 1000", out)
    assert "stopped   echo stopped" in out


def test_serve_quiet_then_sigterm() -> None:
    with serving("chat", "--port", "0", "--quiet") as (proc, match):
        assert match["name"] == "chat"
        with sync_connect(match["url"]) as ws:
            ws.send('{"type": "join", "name": "Ada"}')
            assert '"welcome"' in ws.recv(timeout=5)
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert err == ""
    if sys.platform != "win32":
        # SIGTERM stops as cleanly as Ctrl-C; --quiet prints no events.
        assert proc.returncode == 0
        assert out == "chat server stopped\n"


def test_serve_with_a_time_scale() -> None:
    with serving("slow", "--port", "0", "--quiet", "--time-scale", "0.01") as (proc, match):
        with sync_connect(match["url"]) as ws:
            ws.send('{"id": 1, "type": "process", "data": 1}')
            assert '"took":0.6' in ws.recv(timeout=5)
        proc.kill()
        proc.communicate(timeout=20)


def test_serve_unknown_name() -> None:
    result = run("serve", "nope", "--port", "0")
    assert result.returncode == 2
    assert result.stdout == ""
    known = ", ".join(sorted(SERVERS))
    assert result.stderr == f"error: no lesson server called 'nope'; the servers are: {known}\n"


def test_serve_port_in_use() -> None:
    with socket.socket() as foreign:
        foreign.bind(("127.0.0.1", 0))
        foreign.listen()
        port = foreign.getsockname()[1]
        result = run("serve", "echo", "--port", str(port))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: port {port} on 127.0.0.1 is already in use by another program; "
        "choose another port, or port 0 for any free one\n"
    )


@pytest.mark.parametrize("scale", ["0", "-1", "inf"])
def test_serve_bad_time_scale(scale: str) -> None:
    result = run("serve", "echo", "--port", "0", "--time-scale", scale)
    assert result.returncode == 2
    assert result.stderr.startswith("error: the time scale must be a positive number")


def test_no_command_is_a_usage_error() -> None:
    result = run()
    assert result.returncode == 2
    assert "usage: python -m wslab" in result.stderr


def test_serve_unknown_name_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "nope"]) == 2
    assert f"the servers are: {', '.join(sorted(SERVERS))}" in capsys.readouterr().err
