"""The benchmark script still runs (tiny sizes); its figures are not asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_runs_and_reports_ratios() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((ROOT / "benchmarks" / "results" / "quick.json").read_text())
    assert results["startup"]["ratio"] > 0
    assert results["notebooks"]["notebooks"], "at least one notebook was timed"
