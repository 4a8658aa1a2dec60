"""The public API: ``wslab.__all__`` and every module's ``__all__``."""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import wslab

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(wslab.__path__, "wslab.")
    if info.name != "wslab.__main__"  # runs the CLI on import
)


def test_every_name_in_all_exists() -> None:
    for name in wslab.__all__:
        assert hasattr(wslab, name), name
    assert len(set(wslab.__all__)) == len(wslab.__all__)


def test_all_matches_what_the_package_exposes() -> None:
    exposed = {
        name
        for name, value in vars(wslab).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name not in ("annotations", "TYPE_CHECKING", "Any")  # typing helpers
        and name not in wslab._LAZY  # those resolved already by an earlier test
    }
    assert exposed | set(wslab._LAZY) == set(wslab.__all__)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from wslab import *", namespace)
    namespace.pop("__builtins__")
    assert set(namespace) == set(wslab.__all__)


def _python(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter (nothing imported yet); return its output lines."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_heavy_names_resolve_on_first_use_only() -> None:
    code = (
        "import sys, wslab\n"
        "heavy = ('aiohttp', 'cryptography', 'trustme', 'psutil', 'redis', 'fakeredis')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "from wslab import AuthClient, local_tls, start_cluster, start_redis\n"
        "print(AuthClient.__module__, local_tls.__module__)\n"
    )
    assert _python(code) == ["[]", "wslab.clients.auth wslab.runtime.tls"]
    with pytest.raises(AttributeError):
        _ = wslab.NoSuchName


def test_key_names_are_public() -> None:
    for name in ("serve", "WebSocket", "get_ws_url", "stop_all", "exercise", "LESSONS"):
        assert name in wslab.__all__


@pytest.mark.parametrize("module_name", MODULES)
def test_every_module_has_an_all_whose_names_exist(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert hasattr(module, "__all__"), f"{module_name} has no __all__"
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.__all__ names {name!r}, which is missing"
    assert len(set(module.__all__)) == len(module.__all__)


def test_package_names_are_the_modules_objects() -> None:
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if name in wslab.__all__:
                assert getattr(wslab, name) is getattr(module, name), (module_name, name)


def test_version_matches_pyproject() -> None:
    pyproject = (Path(wslab.__file__).resolve().parent.parent / "pyproject.toml").read_text(
        encoding="utf-8"
    )
    match = re.search(r'^version = "([^"]+)"$', pyproject, re.MULTILINE)
    assert match
    assert wslab.__version__ == match.group(1)


def test_importing_wslab_starts_and_patches_nothing() -> None:
    code = (
        "import asyncio, threading\n"
        "run, policy = asyncio.run, type(asyncio.get_event_loop_policy())\n"
        "import wslab, wslab.widgets\n"
        "assert asyncio.run is run, 'asyncio.run was patched'\n"
        "assert type(asyncio.get_event_loop_policy()) is policy, 'the policy was changed'\n"
        "print(sorted(t.name for t in threading.enumerate()))\n"
        "import sys; print('nest_asyncio2' in sys.modules)\n"
    )
    assert _python(code) == ["['MainThread']", "False"]


def test_every_widget_name_resolves_lazily() -> None:
    import wslab.widgets as widgets

    assert set(widgets.__all__) == set(widgets._HOMES)
    for name in widgets.__all__:
        assert isinstance(getattr(widgets, name), type), name
    with pytest.raises(AttributeError):
        _ = widgets.NoSuchWidget
