"""CPU time of a process tree by part (the main Python process, the Spark JVM, the Python
workers), read from /proc: what a stage used of the machine's cores, and what each post cost."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devtools.bench.memory import classify
from devtools.harness.process import process_tree

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_seconds(pid: int, first: int) -> float:
    """Two consecutive tick fields of /proc/<pid>/stat from field `first` (after the name), in
    seconds (0 when the process is gone)."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[first]) + int(fields[first + 1])) / _TICKS
    return 0.0


def reaped_seconds(pid: int) -> float:
    """User + system CPU seconds of the process's exited (and waited-for) children.

    They count because a snapshot of the tree never sees the short-lived ones: the Spark JVM
    starts a `chmod` for every checkpoint file it writes (Hadoop without its native library),
    four a micro-batch, ~8% of the job's CPU at 50 posts/s (issue 17)."""
    return _stat_seconds(pid, 13)  # cutime, cstime


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process and of its exited children (0 when it is gone)."""
    return _stat_seconds(pid, 11) + reaped_seconds(pid)  # utime, stime


def by_part(root: int) -> dict[str, float]:
    """CPU seconds so far of each part of `root`'s tree (see `memory.classify`)."""
    parts: dict[str, float] = {}
    for pid in process_tree(root):
        part = classify(root, pid)
        parts[part] = parts.get(part, 0.0) + cpu_seconds(pid)
    return parts


@dataclass
class Measured:
    """Wall seconds of one action and the CPU seconds each part of the tree spent in it."""

    seconds: float
    cpu: dict[str, float] = field(default_factory=dict)


def measure(action: Callable[[], object], root: int | None = None) -> Measured:
    """Run `action`, timing it and the CPU of this process's tree (Python workers are
    reused across Spark jobs, so their CPU is not lost to exits between the two reads)."""
    root = root or os.getpid()
    before = by_part(root)
    start = time.perf_counter()
    action()
    seconds = time.perf_counter() - start
    after = by_part(root)
    return Measured(seconds, {part: max(0.0, cpu - before.get(part, 0.0)) for part, cpu in after.items()})
