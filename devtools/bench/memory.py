"""Peak resident memory of process trees, sampled from /proc while the benchmark runs."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devtools.harness.process import process_tree


def _status_kib(pid: int, key: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _comm(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/comm").read_text().strip()
    return ""


def classify(root: int, pid: int) -> str:
    """Which part of a tree a pid is: the root (Python), a JVM, or a Python worker."""
    if pid == root:
        return "main process (Python)"
    return "Spark JVM (driver, local executors)" if _comm(pid) == "java" else "Python workers"


@dataclass
class Peak:
    """Peak RSS (KiB) per part of one process tree, and the peak of their sum."""

    parts: dict[str, int] = field(default_factory=dict)
    hwm: dict[str, int] = field(default_factory=dict)  # largest VmHWM of one process per part
    total: int = 0

    def update(self, root: int) -> None:
        now: dict[str, int] = {}
        for pid in process_tree(root):
            part = classify(root, pid)
            now[part] = now.get(part, 0) + _status_kib(pid, "VmRSS")
            self.hwm[part] = max(self.hwm.get(part, 0), _status_kib(pid, "VmHWM"))
        for part, kib in now.items():
            self.parts[part] = max(self.parts.get(part, 0), kib)
        self.total = max(self.total, sum(now.values()))


class MemorySampler:
    """Samples the trees of named roots every `interval` s in a thread."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.roots: dict[str, Callable[[], int | None]] = {}
        self.peaks: dict[str, Peak] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def watch(self, name: str, pid: Callable[[], int | None]) -> None:
        """`pid` is asked every time, so a restarted process is followed."""
        self.roots[name] = pid
        self.peaks.setdefault(name, Peak())

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            for name, get_pid in list(self.roots.items()):
                pid = get_pid()
                if pid:
                    self.peaks[name].update(pid)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
