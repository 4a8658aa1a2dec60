"""``python -m wslab``: list the lesson servers, or run one standalone.

::

    python -m wslab list
    python -m wslab serve chat --port 8082

A standalone server is the same one the notebooks start; a browser page,
``wscat`` or the seed's own JavaScript can talk to it. Ctrl-C stops it
cleanly (exit 0).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from wslab.core.timescale import set_time_scale
from wslab.lessons import LESSONS
from wslab.runtime.runner import DEFAULT_HOST, ServerStartError
from wslab.runtime.standalone import run_until_stopped
from wslab.servers import SERVERS, serve

__all__ = ["main"]

DEFAULT_PORT = 8082  # the seed's getWsUrl(8082)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wslab", description="wslab's lesson servers, outside the notebooks."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("list", help="list the lesson servers and their lessons")
    run = commands.add_parser(
        "serve",
        help="run one lesson server until Ctrl-C",
        description="Run one lesson server until Ctrl-C.",
        epilog=(
            "classroom: `python -m wslab serve rooms --host 0.0.0.0 --port 8082` lets students "
            "on your network connect (it prints the URLs to give them); leave --host out to "
            "keep it on this machine only. Only on a network you trust."
        ),
    )
    run.add_argument("name", help="the server's name (see `python -m wslab list`)")
    run.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=(
            f"address to listen on (default {DEFAULT_HOST}: this machine only; "
            "0.0.0.0: every network this machine is on, for a class)"
        ),
    )
    run.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}; 0 for any free port)",
    )
    run.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help="factor from nominal to real seconds (default: $WSLAB_TIME_SCALE or 1)",
    )
    run.add_argument("--quiet", action="store_true", help="do not print each event")
    run.add_argument(
        "--origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help=(
            "also let web pages from ORIGIN (https://host[:port]) connect; repeatable; '*' for "
            "any page (by default: non-browser clients and pages on this machine only)"
        ),
    )
    return parser


def _list() -> int:
    by_server: dict[str, list[int]] = {}
    for lesson in LESSONS:
        by_server.setdefault(lesson.server, []).append(lesson.number)
    width = max(len(name) for name in by_server)
    for name, numbers in by_server.items():
        lessons = ", ".join(str(n) for n in numbers)
        if name in SERVERS:
            print(f"{name:<{width}}  lessons {lessons:<6}  {SERVERS[name].summary}")
        else:
            print(f"{name:<{width}}  lessons {lessons:<6}  (coming with its lesson)")
    return 0


def _serve(args: argparse.Namespace) -> int:
    if args.name not in SERVERS:
        known = ", ".join(sorted(SERVERS))
        print(
            f"error: no lesson server called {args.name!r}; the servers are: {known}",
            file=sys.stderr,
        )
        return 2
    if args.time_scale is not None:
        try:
            set_time_scale(args.time_scale)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        running = serve(
            args.name, host=args.host, port=args.port, register=False, origins=args.origin
        )
    except ValueError as exc:  # an --origin that is not scheme://host[:port]
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ServerStartError as exc:
        print(f"error: {exc.strerror}", file=sys.stderr)
        return 1
    # Said once it listens, so it names the real port and the URLs to give students.
    from wslab.clients.classroom import classroom_warning  # psutil and the rooms server: only here

    warning = classroom_warning(running, stop="Ctrl-C")
    if warning:
        print(f"warning: {warning}", file=sys.stderr, flush=True)
    return run_until_stopped(running, label=args.name, quiet=args.quiet)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        return _list()
    return _serve(args)
