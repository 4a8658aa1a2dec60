"""Fixtures for the reliability suite: faults, re-runs and leaks (issue 7).

Every test here records what it counted with the ``counts`` fixture; the
counts are printed at the end of the run (see tests/counting.py), so ``uv run
pytest`` shows them without ``-s``: how many crashes, messages, duplicates,
leaked descriptors, and the random seed that reproduces a run.
"""

from __future__ import annotations

import os
import random

import pytest
from counting import Record, recorder


@pytest.fixture
def counts(request: pytest.FixtureRequest) -> Record:
    """``counts("20 crashes, 0 lost")``: a line for the end-of-run summary."""
    return recorder(request)


@pytest.fixture
def rng(counts: Record) -> random.Random:
    """Seeded randomness; the seed is printed, and ``WSLAB_SEED`` replays it."""
    seed = int(os.environ.get("WSLAB_SEED") or random.SystemRandom().randrange(1 << 32))
    counts(f"seed {seed} (replay with WSLAB_SEED={seed})")
    return random.Random(seed)
