"""Classroom mode on loopback: a server, its dashboard, and a class of simulated students."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from helpers import recv_json, send_json, sync_connect, wait_until
from websockets.exceptions import InvalidStatus

import wslab
from wslab.cli import _parser
from wslab.clients.classroom import ClassroomMonitor, classroom_warning, start_students
from wslab.core.classroom import plan_students
from wslab.widgets import ClassroomDashboard

ROOMS = ("general", "help", "random", "lab-a", "lab-b", "lab-c")
CLASS_SIZE = 120
#: Twelve rooms of about 13: a message fans out to a table, not to the whole class,
#: which keeps the test light on a busy machine.
CLASS_ROOMS = tuple(f"table-{n}" for n in range(1, 13))


@contextmanager
def _hello(url: str, name: str, room: str | None = None) -> Iterator[Any]:
    """A student's connection: hello, and a room if given; closed at the end."""
    with sync_connect(url) as ws:
        send_json(ws, {"type": "hello", "name": name})
        assert recv_json(ws)["type"] == "welcome"
        if room is not None:
            send_json(ws, {"type": "join", "room": room})
            assert recv_json(ws)["type"] == "joined"
        yield ws


def test_a_class_of_120_students_on_one_server(fast: float) -> None:
    server = wslab.serve("rooms")
    dash = ClassroomDashboard(server)
    plans = plan_students(CLASS_SIZE, CLASS_ROOMS, every=20.0, leavers=0.2, seed=1)
    leavers = {p.name for p in plans if p.leave_after}
    stayers = [p for p in plans if not p.leave_after]
    crew = start_students(server.url, plans)
    try:
        # Every leaver sends 1-3 messages, then closes: wait until all are gone.
        wait_until(lambda: len(crew.gone) == len(leavers), timeout=10.0)
        wait_until(lambda: len(server.app.peers) == len(stayers), timeout=5.0)
        snap = dash.update()

        assert sorted(snap.names) == sorted(p.name for p in stayers)
        assert not leavers & set(snap.names)  # students who left are removed
        expected: dict[str, set[str]] = {}
        for plan in stayers:
            for room in plan.rooms:
                expected.setdefault(room, set()).add(plan.name)
        assert {room: set(names) for room, names in snap.room_members.items()} == expected
        assert snap.room_members == server.app.snapshot()  # the server's own view, same order
        for plan in stayers:
            row = snap.student(plan.name)
            assert row.rooms == plan.rooms
            assert row.address.startswith("127.0.0.1:")
            assert row.sent >= 1 + len(plan.rooms)  # hello and the joins, at least
        assert snap.rate > 0
        assert snap.total >= sum(row.sent for row in snap.students)
        assert snap.total >= len(plans) * 2  # every student's hello and first join
        assert snap.joined == CLASS_SIZE and snap.left == len(leavers)
        assert dash.students_shown == len(stayers) and dash.rooms_shown == len(CLASS_ROOMS)
        for plan in stayers:
            assert f"<b>{plan.name}</b>" in dash.value
    finally:
        crew.stop()
        dash.close()


def test_the_dashboard_redraws_itself_at_most_four_times_a_second(fast: float) -> None:
    server = wslab.serve("rooms")
    dash = ClassroomDashboard(server, interval=0.25)
    redraws: list[int] = []
    dash.observe(lambda change: redraws.append(dash.shown.total), "value")
    crew = start_students(server.url, plan_students(40, ROOMS, every=2.0, seed=2))
    try:
        # No update() call: the monitor's own tick brings the class to the view.
        wait_until(lambda: dash.students_shown == 40, timeout=5.0)
        wait_until(lambda: dash.shown.total >= 400, timeout=10.0)
        # Hundreds of messages, a handful of redraws: not one per message.
        assert len(redraws) < dash.shown.total / 10
        assert dash.shown.rate > 0
    finally:
        crew.stop()
        dash.close()
    assert dash.monitor is None


def test_a_hostile_name_is_escaped_in_the_dashboard() -> None:
    server = wslab.serve("rooms")
    dash = ClassroomDashboard(server)
    name = "<img src=x onerror=alert(1)>"
    with _hello(server.url, name, "general"):
        snap = dash.update()
        assert snap.names == [name]
        assert snap.room_members == {"general": [name]}
        assert "<img" not in dash.value
        assert dash.value.count("&lt;img src=x onerror=alert(1)&gt;") == 2  # table, room
    dash.close()


def test_bound_to_every_interface_it_answers_on_loopback_and_warns() -> None:
    server = wslab.serve("rooms", host="0.0.0.0", name="classroom")
    port = server.port
    with _hello(f"ws://127.0.0.1:{port}/", "Ada", "general"):
        dash = ClassroomDashboard(server)
        assert dash.update().names == ["Ada"]
        assert dash.exposed
        assert "anyone on this network can connect" in dash.warning
        assert 'stop_server("classroom")' in dash.warning
        assert "wslab-classroom-warning" in dash.value
        assert all(url.endswith(f":{port}/") for url in dash.urls)
        assert dash.warning == classroom_warning(server)
        dash.close()
    assert wslab.stop_server("classroom")


def test_by_default_only_this_machine_can_connect() -> None:
    server = wslab.serve("rooms")
    assert server.host == "127.0.0.1"
    sockets = server.app._server.sockets  # type: ignore[union-attr]
    assert [s.getsockname()[0] for s in sockets] == ["127.0.0.1"]
    dash = ClassroomDashboard(server)
    assert not dash.exposed and dash.warning == ""
    assert dash.urls == [server.url]
    assert "wslab-classroom-warning" not in dash.value and "this machine only" in dash.value
    assert dash._dom_classes == ("wslab-classroom",)
    dash.close()
    assert _parser().parse_args(["serve", "rooms"]).host == "127.0.0.1"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_the_cli_warns_with_the_urls_when_exposed() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = ["serve", "rooms", "--host", "0.0.0.0", "--port", "0", "--quiet"]
    with subprocess.Popen(
        [sys.executable, "-m", "wslab", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=env,
    ) as proc:
        watchdog = threading.Timer(30, proc.kill)
        watchdog.start()
        try:
            assert proc.stdout is not None and proc.stderr is not None
            warning = proc.stderr.readline()
            listening = proc.stdout.readline()
            port = listening.rsplit(":", 1)[1].split("/")[0]
            with _hello(f"ws://127.0.0.1:{port}/", "Ada"):
                pass
            proc.send_signal(signal.SIGINT)  # Ctrl-C, as the warning says
            assert proc.wait(10) == 0
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert warning.startswith(f"warning: Listening on 0.0.0.0:{port}: anyone on this network")
    assert "Ctrl-C" in warning


def _serve_help() -> str:
    result = subprocess.run(
        [sys.executable, "-m", "wslab", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_serve_help_tells_how_to_run_a_class() -> None:
    text = " ".join(_serve_help().split())
    assert "classroom: `python -m wslab serve rooms --host 0.0.0.0 --port 8082`" in text
    assert "default 127.0.0.1: this machine only" in text


def test_the_chat_server_works_too() -> None:
    server = wslab.serve("chat")
    dash = ClassroomDashboard(server)
    with sync_connect(server.url) as ws:
        send_json(ws, {"type": "join", "name": "Grace"})
        assert recv_json(ws)["type"] == "welcome"
        send_json(ws, {"type": "chat", "text": "hi"})
        wait_until(lambda: dash.update().student("Grace").sent == 2)
        snap = dash.update()
        assert snap.rooms == () and snap.student("Grace").rooms == ()
        assert snap.total == 2
    dash.close()


def test_one_monitor_per_server_and_the_server_outlives_it() -> None:
    server = wslab.serve("rooms")
    first = ClassroomDashboard(server)
    second = ClassroomDashboard(server)  # the cell run again
    assert first.monitor is not None and not first.monitor.running
    assert second.monitor is not None and second.monitor.running
    second.close()
    assert server.running
    # A monitor of a stopped server answers with what it saw last.
    monitor = ClassroomMonitor(server)
    server.stop()
    assert monitor.refresh() == monitor.snapshot
    monitor.stop()
    first.close()


def test_browser_pages_from_other_machines_need_origins() -> None:
    # Students' Python clients send no Origin; a page on a classmate's laptop does.
    page = "http://192.168.1.23:8888"
    guarded = wslab.serve("rooms")
    with pytest.raises(InvalidStatus) as refused:
        sync_connect(guarded.url, origin=page).close()
    assert refused.value.response.status_code == 403
    with _hello(guarded.url, "Ada"):
        pass  # no Origin: let in
    open_to_all = wslab.serve("rooms", origins="*", name="classroom")
    with sync_connect(open_to_all.url, origin=page) as ws:
        send_json(ws, {"type": "hello", "name": "Grace"})
        assert recv_json(ws)["type"] == "welcome"


def test_students_who_cannot_arrive_leave_no_thread_behind() -> None:
    url = wslab.serve("rooms").url
    wslab.stop_server("rooms")  # nobody listens any more
    crew = start_students(url, plan_students(3), key="no-class")
    # Each student's connection was refused: recorded, and start() did not hang.
    assert len(crew.log.entries("error")) == 3
    crew.stop()
    assert "no-class" not in wslab.clients.bots.running_crews()


def test_a_class_that_cannot_arrive_in_time_leaves_no_thread_behind() -> None:
    with socket.socket() as silent:  # accepts TCP connections, never answers the handshake
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"ws://127.0.0.1:{silent.getsockname()[1]}/"
        with pytest.raises(TimeoutError):
            start_students(url, plan_students(2), key="stuck", timeout=0.3)
    assert "stuck" not in wslab.clients.bots.running_crews()
    assert not [t for t in threading.enumerate() if t.name == "wslab-stuck"]
