"""What the pipeline costs at a rate: CPU of the job's process tree (by part), of Kafka and of
Elasticsearch, over one measured window of the end-to-end benchmark, from /proc."""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from devtools.bench.cpu import by_part, cpu_seconds
from devtools.bench.machine import load_average
from devtools.harness.process import process_tree

JOB_PARTS = ("main process (Python)", "Spark JVM (driver, local executors)", "Python workers")


@dataclass
class Cost:
    """CPU seconds spent in one window of `seconds`, while `posts` posts went through."""

    label: str
    rate: float  # posts/s asked of the producer (0: idle)
    seconds: float
    posts: int
    job: dict[str, float] = field(default_factory=dict)  # CPU s by part of the job's tree
    services: dict[str, float] = field(default_factory=dict)  # CPU s of "Kafka", "Elasticsearch"
    load: str = ""  # the 1/5/15-min load average when the window opened
    # Seconds since the job's process started when the window opened (nan: not known). A young
    # JVM still compiles the per-batch path: its CPU per batch falls over the first minutes.
    job_age: float = math.nan

    @property
    def job_cpu(self) -> float:
        return sum(self.job.values())

    def cores(self, cpu: float) -> float:
        return cpu / self.seconds if self.seconds > 0 else math.nan

    @property
    def job_cores(self) -> float:
        return self.cores(self.job_cpu)

    @property
    def us_per_post(self) -> float:
        """Job CPU per post in µs (nan when no post went through: idle)."""
        return self.job_cpu / self.posts * 1e6 if self.posts > 0 else math.nan


class CostMeter:
    """Reads the CPU of the job's tree and of the services' processes at `start` and `stop`.

    `job_pid` and each service's pid are asked each time (None when not running: that part
    counts 0); `posts` returns a running count (e.g. the topic's end offsets) whose
    difference is the posts of the window."""

    def __init__(
        self,
        job_pid: Callable[[], int | None],
        posts: Callable[[], int],
        services: Mapping[str, Callable[[], int | None]] | None = None,
        job_started: float | None = None,
    ) -> None:
        self.job_pid = job_pid
        self.posts = posts
        self.services = dict(services or {})
        self.job_started = job_started  # time.monotonic() at the job's start, for Cost.job_age
        self._start: tuple[float, dict[str, float], dict[str, float], int, str] | None = None

    def _read(self) -> tuple[dict[str, float], dict[str, float]]:
        pid = self.job_pid()
        job = by_part(pid) if pid else {}
        services = {}
        for name, get in self.services.items():
            spid = get()
            # The whole tree: Elasticsearch's launcher starts the server JVM as its child.
            services[name] = sum(cpu_seconds(p) for p in process_tree(spid)) if spid else 0.0
        return job, services

    def start(self) -> None:
        load = load_average()
        job, services = self._read()
        self._start = (time.monotonic(), job, services, self.posts(), load)

    def stop(self, label: str, rate: float) -> Cost:
        assert self._start is not None, "start() first"
        job, services = self._read()
        t0, job0, services0, posts0, load = self._start
        self._start = None
        return Cost(
            label=label,
            rate=rate,
            seconds=time.monotonic() - t0,
            posts=max(0, self.posts() - posts0),
            # The main process is the root: the tree's "main process" is the job's Python.
            job={part: max(0.0, cpu - job0.get(part, 0.0)) for part, cpu in job.items()},
            services={name: max(0.0, cpu - services0.get(name, 0.0)) for name, cpu in services.items()},
            load=load,
            job_age=t0 - self.job_started if self.job_started is not None else math.nan,
        )


def pooled(label: str, rate: float, costs: list[Cost]) -> Cost | None:
    """Several windows at one rate as one (CPU, seconds and posts summed); None if empty."""
    if not costs:
        return None
    out = Cost(
        label, rate, sum(c.seconds for c in costs), sum(c.posts for c in costs),
        load=costs[0].load, job_age=costs[0].job_age,
    )  # fmt: skip
    for c in costs:
        for part, cpu in c.job.items():
            out.job[part] = out.job.get(part, 0.0) + cpu
        for name, cpu in c.services.items():
            out.services[name] = out.services.get(name, 0.0) + cpu
    return out


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                # local address "ADDR:PORT" in hex; state 0A = LISTEN
                if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    return inodes


def pid_listening(port: int) -> int | None:
    """The process listening on a local TCP port (for a service whose pid file is stale or
    missing: one started by something else); None if none is found."""
    inodes = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not inodes:
        return None
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            for fd in os.scandir(fd_dir):
                with contextlib.suppress(OSError):
                    if os.readlink(fd.path) in inodes:
                        return int(fd_dir.parent.name)
    return None
