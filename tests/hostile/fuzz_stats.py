"""Counts of the property-based fuzzing, for the summary line."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["FUZZ", "FuzzStats"]


@dataclass
class FuzzStats:
    examples: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        total = sum(self.examples.values())
        each = ", ".join(f"{name}: {n}" for name, n in sorted(self.examples.items()))
        servers = len(self.examples)
        return f"hypothesis fuzzing: {total} generated messages over {servers} servers ({each})"


FUZZ = FuzzStats()
