"""Starting, supervising and stopping our processes (the producer, the job, a stand-in).

Each runs as a console script in its own session with its settings in the environment and
its output appended to a log file (kept for failures); it is stopped or killed as
Kubernetes would (the whole process group); `Supervisor` restarts a crashed job like
Kubernetes and fails a wait when anything else dies.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from devtools.harness.poll import PipelineError, wait_until
from devtools.services.common import REPO_ROOT

VENV_BIN = Path(sys.executable).parent


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
    """One process with its log file; restartable.

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

    def send(self, sig: int) -> None:
        """`sig` to the main process only (a graceful stop the program handles itself)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 30.0) -> None:
        """Signal the process group and wait until every member is gone (SIGKILL after `timeout`)."""
        if self.popen is None:
            return
        popen = self.popen
        self.stopped = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)
        try:
            wait_until(
                lambda: popen.poll() is not None and not self._group_alive(), timeout, "", interval=0.1
            )
        except PipelineError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
        popen.wait(timeout=30)
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
        """The exit code; a process still running after `timeout` is killed and fails the wait."""
        if self.popen is None:
            raise PipelineError(f"{self.name} was never started")
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise PipelineError(
                f"{self.name} did not exit within {timeout:.0f}s; log {self.log_file}:\n{self.tail()}"
            ) from None

    def output(self) -> str:
        """What the current run wrote so far (the log after its start line)."""
        text = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
        return text.rsplit(f"===== start #{self.starts}:", 1)[-1].split(" =====\n", 1)[-1]

    def wait_for_log(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """The first match of `pattern` in this run's output; fails if the process exits first."""
        return wait_until(
            lambda: re.search(pattern, self.output()),
            timeout,
            f"{pattern!r} in the log of {self.name}",
            interval=0.05,
            alive=self.running,
            error=lambda msg: PipelineError(f"{msg}; exit code {self.returncode()}, log:\n{self.tail()}"),
        )

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
    """`root` and all its descendants (only `root` when it is gone)."""
    try:
        children = psutil.Process(root).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    return [root, *(child.pid for child in children)]


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
