"""`python -m devtools.bench --help` prints its settings and starts nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devtools.bench", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_lists_the_settings_and_starts_no_run() -> None:
    result = bench("--help")
    assert result.returncode == 0, result.stderr
    assert "BENCH_QUICK" in result.stdout
    assert "BENCH_ALLOW_BUSY" in result.stdout
    assert "benchmark run" not in result.stdout + result.stderr


def test_an_unknown_argument_is_refused_before_any_run() -> None:
    result = bench("--quick")
    assert result.returncode == 2
    assert "unrecognized arguments: --quick" in result.stderr
    assert "benchmark run" not in result.stdout + result.stderr
