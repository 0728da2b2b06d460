"""CPU accounting of the stage benchmark: /proc reads of a real process tree, and the
report's bound on ours / ceiling (pure)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from devtools.bench.cpu import Measured, by_part, cpu_seconds, measure
from devtools.bench.report import StageResult, cpu_section


def spin(seconds: float) -> None:
    import time

    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_measure_counts_this_process_and_its_children() -> None:
    mine = measure(lambda: spin(0.3))
    assert mine.cpu["main process (Python)"] == pytest.approx(0.3, abs=0.1)
    # A child's CPU shows under its own part while it runs (workers are long-lived).
    spinner = "import time\nend = time.process_time() + 30\nwhile time.process_time() < end: pass"
    child = subprocess.Popen([sys.executable, "-c", spinner])
    try:
        assert "main process (Python)" in by_part(os.getpid())
        both = measure(lambda: spin(0.5))
        assert both.cpu.get("Python workers", 0.0) > 0.2  # the spinning child (not java: a "worker")
    finally:
        child.kill()
        child.wait()


def test_a_child_that_has_exited_counts_in_its_parent() -> None:
    # Short-lived children (the JVM's chmod per checkpoint file) are never in a snapshot.
    before = cpu_seconds(os.getpid())
    spinner = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass"
    subprocess.run([sys.executable, "-c", spinner], check=True)
    assert cpu_seconds(os.getpid()) - before >= 0.35


def test_bound_is_the_loop_cost_over_the_total_cost_per_post() -> None:
    stage = StageResult(posts=1000)
    # 1,000 posts in 0.05 s with 60 ms of worker CPU and 20 ms of JVM CPU: 80 µs per post.
    stage.cpu["spark/tweet-lr"] = [
        Measured(
            0.05,
            {
                "Python workers": 0.06,
                "Spark JVM (driver, local executors)": 0.02,
                "main process (Python)": 0.0,
            },
        )
    ]
    stage.cpu["python/tweet-lr"] = [Measured(0.04, {"main process (Python)": 0.04})]  # 40 µs per post
    lines = "\n".join(cpu_section(stage, ["tweet-lr"]))
    assert "| tweet-lr | 1.60 of 2 | 60 | 20 | 0 | 80 | 40 | 50% |" in lines
    assert cpu_section(StageResult(posts=10), ["tweet-lr"]) == []
