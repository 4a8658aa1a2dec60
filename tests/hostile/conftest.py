"""The hostile suite's summary line, with the counts, at the end of the run."""

from __future__ import annotations

from typing import Any

from corpus import STATS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if STATS.cases:
        terminalreporter.write_sep("-", "hostile input")
        terminalreporter.write_line(STATS.line())
    from fuzz_stats import FUZZ

    if FUZZ.examples:
        terminalreporter.write_line(FUZZ.line())
