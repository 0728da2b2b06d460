"""What the numbers were measured on: hardware, versions, load, commit, command."""

from __future__ import annotations

import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from devtools.calibration import calibration, describe
from devtools.services.common import REPO_ROOT, versions


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _mem_total_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


def _java_version(java_home: str) -> str:
    java = Path(java_home) / "bin" / "java"
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, check=False).stderr
    except OSError:
        return "unknown"
    return out.splitlines()[0].strip() if out else "unknown"


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return ""


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_info(command: str) -> dict[str, str]:
    v = versions()
    try:
        import pyspark

        spark = pyspark.__version__
    except ImportError:
        spark = "not installed"
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = " (with uncommitted changes)" if _git("status", "--porcelain") else ""
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "git commit": commit + dirty,
        "CPUs (nproc)": str(os.cpu_count()),
        "CPU model": _cpu_model(),
        "RAM": f"{_mem_total_gib():.1f} GiB",
        "kernel": platform.release(),
        "Python": sys.version.split()[0],
        "Java (Spark)": _java_version(v["JAVA_HOME_SPARK"]),
        "Spark (pyspark)": spark,
        "Kafka": v["KAFKA_VERSION"],
        "Elasticsearch": v["ES_VERSION"],
        "load average at start (1/5/15 min)": load_average(),
        # Compare pages from different days by this, not by the CPU model (docs/benchmarks.md).
        "calibration (one core)": describe(calibration()),
    }


# ----------------------------------------------------------------------------- busy guard

# A part that starts with the 1-minute load average above this is not measured on a quiet
# 2-core machine: its numbers are not written to docs/benchmarks.md unless BENCH_ALLOW_BUSY=1.
# (The report this replaced was measured at load 4 and overstated latency 4×.)
BUSY_LOAD = 1.5
ALLOW_BUSY_ENV = "BENCH_ALLOW_BUSY"


def load_1min() -> float:
    return os.getloadavg()[0]


@dataclass
class PartLoad:
    """The 1-minute load average when one part of the benchmark started and ended."""

    part: str
    before: float
    after: float = math.nan

    def busy(self, threshold: float = BUSY_LOAD) -> bool:
        return self.before > threshold


@dataclass
class LoadLog:
    """Records the load average around each part (`with log.part("stage"): ...`).

    With `settle_seconds`, a part first waits (up to that long) for the 1-minute average to
    fall under the threshold: the previous part's own load lingers in it for a minute or two,
    and that is not another process competing with this one.
    """

    read: Callable[[], float] = load_1min
    threshold: float = BUSY_LOAD
    parts: list[PartLoad] = field(default_factory=list)
    settle_seconds: float = 0.0
    poll_seconds: float = 5.0
    sleep: Callable[[float], None] = time.sleep

    def _settled(self) -> float:
        load, waited = self.read(), 0.0
        while load > self.threshold and waited < self.settle_seconds:
            self.sleep(self.poll_seconds)
            waited += self.poll_seconds
            load = self.read()
        return load

    @contextmanager
    def part(self, name: str) -> Iterator[PartLoad]:
        record = PartLoad(name, self._settled())
        self.parts.append(record)
        try:
            yield record
        finally:
            record.after = self.read()

    def busy(self) -> list[PartLoad]:
        return [p for p in self.parts if p.busy(self.threshold)]


def allow_busy(env: Mapping[str, str] | None = None) -> bool:
    value = (os.environ if env is None else env).get(ALLOW_BUSY_ENV, "")
    return value.strip().lower() in {"1", "true", "yes"}


def busy_warning(busy: list[PartLoad], threshold: float = BUSY_LOAD) -> str:
    """The warning printed at the top of a page written from a busy run."""
    loads = ", ".join(f"{p.part} started at {p.before:.2f} (ended {p.after:.2f})" for p in busy)
    return (
        f"WARNING: measured on a BUSY machine ({ALLOW_BUSY_ENV}=1): 1-minute load average above "
        f"{threshold} when these parts started: {loads}. These figures understate what this "
        "machine does when quiet; do not compare them with a quiet run."
    )


def gate(log: LoadLog, allowed: bool) -> tuple[bool, str | None]:
    """(write docs/benchmarks.md?, the warning for its top or the refusal's reason)."""
    busy = log.busy()
    if not busy:
        return True, None
    if allowed:
        return True, busy_warning(busy, log.threshold)
    parts = ", ".join(f"{p.part} ({p.before:.2f})" for p in busy)
    return False, (
        f"refusing to write the report: the 1-minute load average was above {log.threshold} when "
        f"these parts started: {parts}. Re-run on a quiet machine, or set {ALLOW_BUSY_ENV}=1 to "
        "write it anyway with a warning at the top."
    )
