"""Counts a test wants shown at the end of the run, without ``-s``.

The reliability tests (tests/reliability/, tests/test_notebooks_rerun.py)
count what they check: crashes, messages lost, descriptors leaked. A test
calls ``recorder(request)("20 crashes, 0 lost")``; the lines are printed in a
section of pytest's terminal summary, after the results.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

__all__ = ["Record", "recorder"]

Record = Callable[[str], None]

_LINES = pytest.StashKey[list[tuple[str, str]]]()


class _Summary:
    """A plugin registered on first use: prints the lines in the terminal summary."""

    def __init__(self, lines: list[tuple[str, str]]) -> None:
        self.lines = lines

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.lines:
            terminalreporter.section("reliability: what was counted")
            for test, line in self.lines:
                terminalreporter.write_line(f"{test}: {line}")


def recorder(request: pytest.FixtureRequest) -> Record:
    """A function that records one line for the summary, under the test's name."""
    config = request.config
    lines = config.stash.get(_LINES, None)
    if lines is None:
        lines = config.stash[_LINES] = []
        config.pluginmanager.register(_Summary(lines), "wslab-reliability-counts")

    def record(line: str) -> None:
        lines.append((request.node.name, line))

    return record
