"""The package's architecture holds: the layer contracts, a pure core, a small face.

The rules live in one place, ``[tool.importlinter]`` in pyproject.toml; these
tests run them (as CI's ``lint-imports`` does) and check what a static import
graph cannot see: what importing ``wslab.core`` and ``wslab.state`` really
loads, and that every folder of the package is covered by the layers.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "wslab"
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "importlinter"
]
CONTRACTS = {contract["id"]: contract for contract in CONFIG["contracts"]}

#: websockets' sans-I/O modules: parsers of recorded bytes, no sockets or loops.
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


def test_every_import_contract_is_kept() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(no_cache=True, no_logo=True))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout


def test_the_layers_cover_every_folder_of_the_package() -> None:
    layered = {
        name.strip()
        for layer in CONTRACTS["layers"]["layers"]
        for name in layer.replace("|", ":").split(":")
    }
    folders = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    top_modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert folders | top_modules <= layered, "a folder or module outside the layer rules"


def test_the_top_level_keeps_only_the_face() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert modules == ["__init__.py", "__main__.py", "cli.py", "lessons.py"]
    assert len(modules) <= 8


PROBE = """
import importlib, json, pathlib, sys, types
root = pathlib.Path({path!r})
# A bare stand-in for the package: wslab/__init__.py (the whole public API,
# websockets' asyncio client included) must not run, only the layer itself.
package = types.ModuleType("wslab")
package.__path__ = [str(root)]
sys.modules["wslab"] = package
before = set(sys.modules)
for module in sorted((root / {layer!r}).glob("*.py")):
    name = {layer!r} if module.stem == "__init__" else {layer!r} + "." + module.stem
    importlib.import_module("wslab." + name)
loaded = set(sys.modules) - before
print(json.dumps(sorted(m for m in loaded if m.split(".")[0] in {banned!r}
                        or m.startswith(("websockets.asyncio", "websockets.sync")))))
"""


def _loaded_by(layer: str) -> list[str]:
    # Transitive and at run time: what a static graph of wslab's own imports
    # cannot see. (Stdlib and library internals such as logging's use of
    # threading are not ours to forbid, so only these are checked.)
    banned = ["asyncio", "ipywidgets", "anywidget", "traitlets", "aiohttp", "redis"]
    code = PROBE.format(path=str(PACKAGE), layer=layer, banned=banned)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_core_loads_no_loop_widget_or_network_client() -> None:
    assert _loaded_by("core") == []


def test_importing_state_loads_no_loop_widget_or_network_client() -> None:
    assert _loaded_by("state") == []


def test_core_uses_only_websockets_sans_io_parsers() -> None:
    # The contract exempts wslab.core.wire -> websockets as a whole (external
    # packages are one node in its graph); this pins the exemption down.
    for path in sorted((PACKAGE / "core").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] == "websockets":
                    assert name in WEBSOCKETS_SANS_IO, f"{path.name} imports {name}"
