"""Fixtures for the reliability suite: faults, re-runs and leaks (issue 7).

Every test here records what it counted with the ``counts`` fixture; the
counts are printed at the end of the run (``pytest_terminal_summary``), so
``uv run pytest`` shows them without ``-s``: how many crashes, messages,
duplicates, leaked descriptors, and the random seed that reproduces a run.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable

import pytest

_COUNTS: list[tuple[str, str]] = []

Record = Callable[[str], None]


@pytest.fixture
def counts(request: pytest.FixtureRequest) -> Record:
    """``counts("20 crashes, 0 lost")``: a line for the end-of-run summary."""

    def record(line: str) -> None:
        _COUNTS.append((request.node.name, line))

    return record


@pytest.fixture
def rng(counts: Record) -> random.Random:
    """Seeded randomness; the seed is printed, and ``WSLAB_SEED`` replays it."""
    seed = int(os.environ.get("WSLAB_SEED") or random.SystemRandom().randrange(1 << 32))
    counts(f"seed {seed} (replay with WSLAB_SEED={seed})")
    return random.Random(seed)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _COUNTS:
        return
    terminalreporter.section("reliability: what was counted")
    for test, line in _COUNTS:
        terminalreporter.write_line(f"{test}: {line}")
