"""Run the real pipeline's processes and read what they produced.

Shared by the end-to-end tests (`tests/e2e`) and the benchmarks (`tests/bench`): starting the
producer and the job as subprocesses with their settings in the environment, killing them as
Kubernetes would (the whole process group), polling Kafka and Elasticsearch for results,
and writing replay files with a known set of valid and malformed posts.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

from tests.services.common import REPO_ROOT, pid_alive, versions

VENV_BIN = Path(sys.executable).parent
T = TypeVar("T")


class PipelineError(AssertionError):
    """A wait timed out or a process died; the message says which and where its log is."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def console_script(name: str) -> str:
    path = VENV_BIN / name
    if not path.exists():
        raise PipelineError(
            f"{path} is missing: run `make dev` (pip install -e images/producer -e images/spark-job)"
        )
    return str(path)


@dataclass
class Proc:
    """One pipeline process (producer or job) with its log file; restartable."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    log_file: Path
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
            log.write(f"\n===== start #{self.starts + 1}: {time.strftime('%H:%M:%S')} =====\n".encode())
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
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def tree_pids(self) -> list[int]:
        """This process and all its descendants (the job: Python driver, JVM, Python workers)."""
        if not self.running():
            return []
        return process_tree(self.pid)


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
    last: Any = None
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


def producer_env(bootstrap: str, topic: str, dlq_topic: str, **extra: Any) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_TOPIC": topic,
            "KAFKA_DLQ_TOPIC": dlq_topic,
            "METRICS_HOST": "127.0.0.1",
            "METRICS_PORT": str(free_port()),
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
    **extra: Any,
) -> dict[str, str]:
    env = dict(os.environ)
    v = versions()
    env.update(
        {
            "JAVA_HOME": v["JAVA_HOME_SPARK"],
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_TOPIC": topic,
            "STARTING_OFFSETS": "earliest",
            "ES_URL": es_url,
            "ES_INDEX": index,
            "ES_DEADLETTER_INDEX": f"{index}-deadletter",
            "CHECKPOINT_LOCATION": str(checkpoint),
            "TRIGGER": "processingTime=2 seconds",
            "SPARK_MASTER": "local[2]",
            "SPARK_JARS": spark_jars,
            "METRICS_PORT": str(free_port()),
            "LOG_LEVEL": "INFO",
        }
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


# ----------------------------------------------------------------------------- Kafka / ES reads


def topic_size(bootstrap: str, topic: str) -> int:
    """Records in `topic` (end minus beginning offsets over all partitions)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in parts]
        if not tps:
            return 0
        end = consumer.end_offsets(tps)
        begin = consumer.beginning_offsets(tps)
        return sum(end[tp] - begin[tp] for tp in tps)
    finally:
        consumer.close()


def read_topic(bootstrap: str, topic: str, idle_ms: int = 5000) -> list[Any]:
    """Every record of `topic` from the beginning (stops after `idle_ms` without a new one)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=idle_ms,
        group_id=None,
    )
    try:
        return list(consumer)
    finally:
        consumer.close()


def es_count(es: Any, index: str) -> int:
    """Searchable documents in `index` after a refresh; 0 while it does not exist."""
    if not es.indices.exists(index=index):
        return 0
    es.indices.refresh(index=index)
    return int(es.count(index=index)["count"])


def es_docs(es: Any, index: str, fields: list[str]) -> dict[str, dict[str, Any]]:
    """`_id` → selected `_source` fields of every document."""
    from elasticsearch.helpers import scan

    if not es.indices.exists(index=index):
        return {}
    es.indices.refresh(index=index)
    return {
        hit["_id"]: hit.get("_source", {})
        for hit in scan(es, index=index, query={"query": {"match_all": {}}}, _source=fields, size=2000)
    }


# ----------------------------------------------------------------------------- replay files

POSITIVE = ["love", "great", "awesome", "happy", "wonderful", "best", "amazing", "good"]
NEGATIVE = ["hate", "terrible", "awful", "sad", "worst", "horrible", "bad", "angry"]
NEUTRAL = ["today", "the game", "my phone", "this city", "the new album", "the update", "lunch", "the bus"]
DECOR = ["", " #news", " @user", " https://t.co/abc123", " 🙂", " !!!", " #nowplaying", " lol"]


def post_text(rng: random.Random) -> str:
    words = rng.choice([POSITIVE, NEGATIVE, [""]])
    mood = rng.choice(words)
    subject = rng.choice(NEUTRAL)
    text = f"I {mood} {subject}".replace("  ", " ") if mood else f"Thinking about {subject}"
    return text + rng.choice(DECOR) + rng.choice(DECOR)


def envelope(post_id: str, text: str, created: datetime, author: str) -> dict[str, Any]:
    """An X API v2 stream envelope, the format REPLAY_FILE holds."""
    return {
        "data": {
            "id": post_id,
            "text": text,
            "lang": "en",
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "author_id": author,
        }
    }


@dataclass
class ReplayFile:
    path: Path
    expected_ids: set[str]  # the index `_id`s the valid posts must end up as
    bad_lines: list[str]  # raw malformed lines, each of which must be dead-lettered once
    lines: int


def bad_replay_lines(count: int, max_post_bytes: int) -> list[str]:
    """Lines the producer must reject, each unique so its dead letter can be matched."""
    kinds: list[Callable[[int], str]] = [
        lambda i: f"this is not json #{i} {{",
        lambda i: json.dumps({"data": {"text": f"no id here #{i}", "lang": "en"}}),
        lambda i: json.dumps({"data": {"id": f"bad-notext-{i}", "lang": "en"}}),
        lambda i: json.dumps([i, "a list, not an object"]),
        lambda i: json.dumps(
            {"data": {"id": f"bad-bigtext-{i}", "text": "x" * (max_post_bytes + 10), "lang": "en"}}
        ),
    ]
    return [kinds[i % len(kinds)](i) for i in range(count)]


def write_replay(
    path: Path,
    valid: int,
    bad: list[str] = (),  # type: ignore[assignment]
    duplicates: int = 0,
    seed: int = 7,
) -> ReplayFile:
    """`valid` unique posts (+ `duplicates` repeated lines of them, + `bad` lines), shuffled."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    prefix = f"e2e{seed}"
    good = [
        json.dumps(
            envelope(
                f"{prefix}-{i:06d}", post_text(rng), start + timedelta(seconds=i), str(rng.randrange(10**6))
            ),
            ensure_ascii=False,
        )
        for i in range(valid)
    ]
    lines = good + [rng.choice(good) for _ in range(duplicates)] + list(bad)
    # Keep the first post first so something arrives early, shuffle the rest.
    head, rest = lines[:1], lines[1:]
    rng.shuffle(rest)
    path.write_text("\n".join(head + rest) + "\n", encoding="utf-8")
    return ReplayFile(path, {f"replay:{prefix}-{i:06d}" for i in range(valid)}, list(bad), len(lines))


def chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def pid_exists(pid: int) -> bool:
    return pid_alive(pid)
