"""The pure modules import no sockets, asyncio or widgets.

Importing ``wslab`` itself runs ``wslab/__init__.py``, which gathers the whole
public API (and so imports websockets and asyncio). To see what the pure
modules themselves pull in, a fresh interpreter installs a bare stand-in for
the ``wslab`` package (its ``__path__`` only) and imports the modules from it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import wslab

PACKAGE_DIR = Path(wslab.__file__).resolve().parent
PURE = [
    "timescale",
    "eventlog",
    "messages",
    "roster",
    "events",
    "observable",
    "lessons",
    "keeper",
    "backoff",
    "outbox",
    "rooms",
    "fanout",
    "gaps",
    "latency",
    "filetransfer",
    "sse",
    "feedlog",
    "feedstats",
    "heartbeat",
    "slides",
    "classroom",
    "ratelimit",
    "origins",
    "jsevents",
]
FORBIDDEN = ("asyncio", "socket", "ipywidgets", "websockets")
# Pure too, but built on websockets' sans-I/O parsers (frames, http11, streams).
# Importing websockets loads the stdlib's socket module (via importlib.metadata),
# so these are probed for asyncio and widgets only; their source must still not
# import socket, asyncio, widgets, or any I/O part of websockets.
SANS_IO = ["wire"]
SANS_IO_FORBIDDEN = ("asyncio", "ipywidgets", "websockets.asyncio", "websockets.sync")
WEBSOCKETS_SANS_IO = {
    "websockets.datastructures",
    "websockets.exceptions",
    "websockets.extensions.base",
    "websockets.extensions.permessage_deflate",
    "websockets.frames",
    "websockets.headers",
    "websockets.http11",
    "websockets.streams",
    "websockets.utils",
}

PROBE = """
import json, sys, types
before = sorted(m for m in {forbidden!r} if m in sys.modules)
package = types.ModuleType("wslab")
package.__path__ = [{path!r}]
sys.modules["wslab"] = package
import importlib
for name in {pure!r}:
    importlib.import_module("wslab." + name)
assert not hasattr(package, "serve"), "the real wslab/__init__.py ran"
after = sorted(m for m in {forbidden!r} if m in sys.modules)
print(json.dumps({{"before": before, "after": after}}))
"""


def test_pure_modules_import_no_sockets_asyncio_or_widgets() -> None:
    code = PROBE.format(forbidden=FORBIDDEN, path=str(PACKAGE_DIR), pure=PURE)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"before": [], "after": []}


@pytest.mark.parametrize("name", PURE)
def test_pure_module_source_imports_only_pure_things(name: str) -> None:
    tree = ast.parse((PACKAGE_DIR / f"{name}.py").read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
            elif node.level == 1 and node.module:
                # A relative import must be another pure module.
                assert node.module.split(".")[0] in PURE, f"{name} imports .{node.module}"
    assert not imported & {*FORBIDDEN, "ipykernel", "traitlets", "IPython"}


def test_sans_io_modules_import_no_asyncio_or_widgets() -> None:
    code = PROBE.format(forbidden=SANS_IO_FORBIDDEN, path=str(PACKAGE_DIR), pure=SANS_IO)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"before": [], "after": []}


@pytest.mark.parametrize("name", SANS_IO)
def test_sans_io_module_source_imports_only_sans_io_websockets(name: str) -> None:
    tree = ast.parse((PACKAGE_DIR / f"{name}.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.ImportFrom):
            assert node.module and node.module.split(".")[0] in PURE, f"{name}: .{node.module}"
            continue
        else:
            continue
        for module in names:
            top = module.split(".")[0]
            assert top not in {*FORBIDDEN, "ipykernel", "traitlets", "IPython"} or (
                module in WEBSOCKETS_SANS_IO
            ), f"{name} imports {module}"
