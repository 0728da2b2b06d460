"""What the numbers were measured on: hardware, versions, load, commit, command."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

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
    }
