"""The one launcher of the pipeline's processes, for the demo, the benchmarks and the e2e tests.

Starts the producer and the job as their console scripts, each in its own session with its
settings in the environment (`producer_env`, `job_env`) and its output appended to a log
file; stops or kills them as Kubernetes would (the whole process group); restarts a crashed
job like Kubernetes (`Supervisor`); polls with a timeout (`wait_until`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from devtools.services.common import REPO_ROOT, versions

VENV_BIN = Path(sys.executable).parent
T = TypeVar("T")


class PipelineError(AssertionError):
    """A wait timed out, a process died or a script is missing; the message says which and
    where to look. An AssertionError, so a test fails on it (not errors)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def console_script(name: str) -> str:
    path = VENV_BIN / name
    if not path.exists():
        raise PipelineError(f"{path} is missing: run `make dev` first (it installs both packages into .venv)")
    return str(path)


@dataclass
class Proc:
    """One pipeline process (producer or job) with its log file; restartable.

    With a `pid_file` it can also be stopped from another process (`make demo-down` reads
    it with `devtools.services.common.stop_pid`): it outlives the Python that started it.
    """

    name: str
    cmd: list[str]
    env: dict[str, str]
    log_file: Path
    pid_file: Path | None = None
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0
    # Exit codes of the runs that ended on their own (not killed by us).
    exits: list[int] = field(default_factory=list)
    kills: int = 0
    # Set when we stop or kill it ourselves, so its exit is not reported as a failure.
    stopped: bool = False

    def start(self) -> Proc:
        if self.running():
            raise PipelineError(f"{self.name} is already running")
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            log.write(f"\n===== start #{self.starts + 1}: {stamp} {' '.join(self.cmd)} =====\n".encode())
            log.flush()
            # Own session: a kill takes the whole tree (the job's JVM and Python workers too),
            # as a container runtime does when a pod dies.
            self.popen = subprocess.Popen(
                self.cmd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=REPO_ROOT,
                start_new_session=True,
            )
        if self.pid_file is not None:
            self.pid_file.write_text(str(self.popen.pid))
        self.starts += 1
        self.stopped = False
        return self

    @property
    def pid(self) -> int:
        if self.popen is None:
            raise PipelineError(f"{self.name} was never started")
        return self.popen.pid

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def returncode(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def _group_alive(self) -> bool:
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 30.0) -> None:
        """Signal the process group and wait until every member is gone."""
        if self.popen is None:
            return
        self.stopped = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.popen.poll()
            if not self._group_alive():
                break
            time.sleep(0.1)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)
        if sig == signal.SIGKILL:
            self.kills += 1

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM (graceful), SIGKILL after `timeout`; returns the exit code."""
        if self.popen is None:
            return None
        self.stopped = True
        if self.running():
            self.kill(signal.SIGTERM, timeout)
        else:
            # The main process may be gone while children linger (e.g. a JVM).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
        return self.popen.returncode

    def wait(self, timeout: float) -> int:
        if self.popen is None:
            raise PipelineError(f"{self.name} was never started")
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise PipelineError(
                f"{self.name} did not exit within {timeout:.0f}s; log: {self.log_file}"
            ) from exc

    def tail(self, lines: int = 40) -> str:
        return tail(self.log_file, lines)

    def tree_pids(self) -> list[int]:
        """This process and all its descendants (the job: Python driver, JVM, Python workers)."""
        if not self.running():
            return []
        return process_tree(self.pid)


def tail(log_file: Path, lines: int = 40) -> str:
    """The last `lines` lines of a log file ("(no log)" when there is none)."""
    try:
        text = log_file.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


class Supervisor:
    """Starts processes for one test; restarts a crashed job like Kubernetes; cleans up.

    `check()` is called on every poll: a process with `restart=True` that exited non-zero is
    started again (counted in `restarts`); any other unexpected exit fails the wait.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[Proc] = []
        self.restart_on_failure: set[str] = set()
        self.restarts: dict[str, int] = {}

    def add(self, name: str, cmd: list[str], env: dict[str, str], restart: bool = False) -> Proc:
        """A process logging to `<workdir>/<name>.log`, not started yet."""
        proc = Proc(name, cmd, env, self.workdir / f"{name}.log")
        self.procs.append(proc)
        if restart:
            self.restart_on_failure.add(name)
        return proc

    def check(self, allow_exit: Iterable[Proc] = ()) -> None:
        allowed = {p.name for p in allow_exit}
        for proc in self.procs:
            code = proc.returncode()
            if proc.popen is None or code is None or proc.stopped:
                continue
            if code != 0 and proc.name in self.restart_on_failure:
                proc.exits.append(code)
                self.restarts[proc.name] = self.restarts.get(proc.name, 0) + 1
                proc.stop()
                proc.start()
            elif not (code == 0 and proc.name in allowed):
                raise PipelineError(f"{proc.name} exited with {code}\n{self.tails(proc)}")

    def tails(self, *procs: Proc, lines: int = 40) -> str:
        chosen = procs or tuple(self.procs)
        return "\n".join(f"----- {p.name} ({p.log_file}) -----\n{p.tail(lines)}" for p in chosen)

    def close(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(Exception):
                proc.stop(timeout=10)


def wait_until(
    check: Callable[[], T | None],
    timeout: float,
    what: str,
    supervisor: Supervisor | None = None,
    allow_exit: Iterable[Proc] = (),
    interval: float = 1.0,
) -> T:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: T | Exception | None = None
    allowed = tuple(allow_exit)
    while True:
        if supervisor is not None:
            supervisor.check(allowed)
        try:
            last = check()
        except Exception as exc:  # a service mid-restart answers with errors
            last = exc
        if last and not isinstance(last, Exception):
            return last
        if time.monotonic() > deadline:
            tails = supervisor.tails() if supervisor else ""
            raise PipelineError(
                f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})\n{tails}"
            )
        time.sleep(interval)


# ----------------------------------------------------------------------------- environments


def producer_env(
    bootstrap: str, topic: str, dlq_topic: str, metrics_port: int | None = None, **extra: Any
) -> dict[str, str]:
    """The producer's settings: this environment, then the topics, then `extra` (SOURCE, ...).

    Metrics on 127.0.0.1 and `metrics_port` (default: a free port).
    """
    env = dict(os.environ)
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_TOPIC": topic,
            "KAFKA_DLQ_TOPIC": dlq_topic,
            "METRICS_HOST": "127.0.0.1",
            "METRICS_PORT": str(metrics_port or free_port()),
            "LOG_LEVEL": "INFO",
        }
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def job_env(
    bootstrap: str,
    topic: str,
    es_url: str,
    index: str,
    checkpoint: Path,
    spark_jars: str,
    *,
    deadletter_index: str | None = None,
    trigger: str | None = "processingTime=2 seconds",
    master: str | None = "local[2]",
    metrics_port: int | None = None,
    **extra: Any,
) -> dict[str, str]:
    """The job's settings: this environment, then the names given, then `extra`.

    `trigger` and `master` None leave the job's own defaults (the job as it ships);
    `deadletter_index` defaults to `<index>-deadletter`, `metrics_port` to a free port.
    Spark's Python workers run this virtualenv's Python (textblob, vader, pandas).
    """
    env = dict(os.environ)
    env.pop("SOURCE", None)  # the producer's setting, in the environment of a demo run
    v = versions()
    env.update(
        {
            "JAVA_HOME": v["JAVA_HOME_SPARK"],
            "PATH": f"{VENV_BIN}:{env.get('PATH', '/usr/bin:/bin')}",
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_TOPIC": topic,
            "STARTING_OFFSETS": "earliest",
            "ES_URL": es_url,
            "ES_INDEX": index,
            "ES_DEADLETTER_INDEX": deadletter_index or f"{index}-deadletter",
            "CHECKPOINT_LOCATION": str(checkpoint),
            "SPARK_JARS": spark_jars,
            "METRICS_PORT": str(metrics_port or free_port()),
            "LOG_LEVEL": "INFO",
        }
    )
    for key, value in (("TRIGGER", trigger), ("SPARK_MASTER", master)):
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    env.update({k: str(v) for k, v in extra.items()})
    return env
