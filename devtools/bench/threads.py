"""CPU time by process and thread of a process tree, from /proc: where a job's cores go.

`python -m devtools.bench.threads` starts the job (its defaults, or `JOB_EXTRA='K=V K2=V2'`
settings, split as a shell would: quote a value that holds spaces) on a fresh topic, measures
it at a fixed rate (`RATE`, after `WARMUP` seconds at it, for `WINDOWS` consecutive windows of
`WINDOW` seconds: `WINDOWS=15 WINDOW=60 WARMUP=0` is the job's first quarter hour, minute by
minute) and idle, and prints the threads that used the most CPU in each window. `snapshot`/`diff`/`top` are the reusable part.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
from collections.abc import Iterable
from pathlib import Path

from devtools.bench.cpu import reaped_seconds
from devtools.bench.memory import classify
from devtools.harness.process import process_tree

_TICKS = os.sysconf("SC_CLK_TCK")

# (part, thread name with its numbers folded, tid) -> CPU seconds
Snapshot = dict[tuple[str, str, int], float]


def thread_group(name: str) -> str:
    """`Executor task launch worker for task 12.0` → `Executor task launch worker for task N.N`."""
    return re.sub(r"\d+", "N", name)


def _stat_cpu(path: Path) -> tuple[str, float] | None:
    with contextlib.suppress(OSError, IndexError, ValueError):
        text = path.read_text()
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        return name, (int(fields[11]) + int(fields[12])) / _TICKS
    return None


def snapshot(root: int) -> Snapshot:
    """CPU seconds so far of every thread of `root`'s tree, keyed by part and thread name."""
    out: Snapshot = {}
    for pid in process_tree(root):
        part = classify(root, pid)
        out[(part, "exited children", pid)] = reaped_seconds(pid)
        for task in Path(f"/proc/{pid}/task").glob("[0-9]*"):
            got = _stat_cpu(task / "stat")
            if got:
                out[(part, thread_group(got[0]), int(task.name))] = got[1]
    return out


def diff(before: Snapshot, after: Snapshot) -> dict[tuple[str, str], float]:
    """CPU seconds spent between two snapshots, per (part, thread group); a thread that
    appeared in between counts from zero (a thread that ended is lost: an undercount)."""
    out: dict[tuple[str, str], float] = {}
    for key, cpu in after.items():
        spent = max(0.0, cpu - before.get(key, 0.0))
        group = key[:2]
        out[group] = out.get(group, 0.0) + spent
    return out


def top(spent: dict[tuple[str, str], float], seconds: float, n: int = 15) -> list[str]:
    """The `n` busiest thread groups as lines: cores (CPU s / wall s), part, thread."""
    lines = []
    total = sum(spent.values())
    lines.append(f"  {total / seconds:6.3f} cores  whole tree")
    by_part: dict[str, float] = {}
    for (part, _), cpu in spent.items():
        by_part[part] = by_part.get(part, 0.0) + cpu
    for part, cpu in sorted(by_part.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {cpu / seconds:6.3f} cores  {part}")
    for (part, name), cpu in sorted(spent.items(), key=lambda kv: -kv[1])[:n]:
        lines.append(f"  {cpu / seconds:6.3f}    {part[:12]:12s} {name}")
    return lines


def pids_named(needle: str) -> Iterable[int]:
    """Processes whose command line contains `needle` (Kafka's or Elasticsearch's JVM)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if needle.encode() in cmdline.read_bytes():
                yield int(cmdline.parent.name)


def job_extra(text: str) -> dict[str, str]:
    """`JOB_EXTRA`'s settings: words split as a shell would (a value may hold commas, as
    `-XX:StartFlightRecording=settings=profile,filename=...` does), each `NAME=value`."""
    out = {}
    for word in shlex.split(text):
        name, sep, value = word.partition("=")
        if not sep or not name:
            raise SystemExit(f"JOB_EXTRA: {word!r} is not NAME=value")
        out[name] = value
    return out


def main() -> int:
    import time
    import uuid

    from devtools.bench import e2e
    from devtools.bench.machine import load_average
    from devtools.bench.memory import MemorySampler
    from devtools.harness.env import job_env, producer_env
    from devtools.harness.poll import wait_until
    from devtools.harness.process import Supervisor, console_script
    from devtools.services.common import state_dir
    from devtools.services.spark_jars import spark_job_jars

    rate = float(os.environ.get("RATE", "50"))
    window = float(os.environ.get("WINDOW", "30"))
    # A job's CPU per batch falls for its first hundreds of batches (JIT warm-up,
    # docs/spark-job.md): run at the rate this long before the window measures it.
    warmup = float(os.environ.get("WARMUP", "8"))
    windows_at_rate = int(os.environ.get("WINDOWS", "1"))
    extra = job_extra(os.environ.get("JOB_EXTRA", ""))
    run_id = uuid.uuid4().hex[:8]
    workdir = state_dir() / "threads" / run_id
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP", "localhost:9092")
    es_url = os.environ.get("ES_URL", "http://localhost:9200")
    jars = ",".join(str(j) for j in spark_job_jars())
    env = e2e.Env(bootstrap, es_url, jars, workdir, run_id)
    sup = Supervisor(workdir)
    topic, index = f"threads-{run_id}-posts", f"threads-{run_id}-tweets"
    e2e.create_topic(bootstrap, topic, 3)
    e2e.create_topic(bootstrap, topic + ".deadletter", 1)
    p = e2e.Pipeline(env, "tweet-lr", sup, topic, index, 3)
    p.offsets = e2e.EndOffsets(bootstrap, topic)
    settings = job_env(bootstrap, topic, es_url, index, workdir / "checkpoint", jars, spark_master=None)
    settings.update(extra)
    print(f"run {run_id}, logs {workdir}, extra {extra}", flush=True)
    job = p.job = sup.add("job", [console_script("tweet-sentiment-job")], settings).start()
    started = time.monotonic()
    try:
        with MemorySampler() as sampler:
            p.wait_ready(600, sampler)
            time.sleep(10)

            windows: list[tuple[float, float]] = []

            def measure(what: str) -> None:
                load0 = load_average()
                n0 = job.log_file.read_text().count(" rejected in ")
                before, t0 = snapshot(job.pid), time.monotonic()
                time.sleep(window)
                after, seconds = snapshot(job.pid), time.monotonic() - t0
                t_end = time.time()
                batches = job.log_file.read_text().count(" rejected in ") - n0
                spent = diff(before, after)
                print(
                    f"{what} (job {(t0 - started) / 60:.1f} min old): {seconds:.0f} s, "
                    f"load {load0} -> {load_average()}, {batches} batches",
                    flush=True,
                )
                if batches:
                    print(f"  CPU per batch {sum(spent.values()) / batches:.3f} s", flush=True)
                windows.append((t_end - seconds, t_end))
                print("\n".join(top(spent, seconds)), flush=True)

            if rate:
                proc = sup.add("producer", [console_script("tweet-producer")], producer_env(
                    kafka_bootstrap_servers=bootstrap, kafka_topic=topic, kafka_dlq_topic=topic + ".deadletter",
                    source="synthetic", synthetic_rate=rate,
                )).start()  # fmt: skip
                time.sleep(warmup)
                for _ in range(windows_at_rate):
                    measure(f"at {rate:g} posts/s")
                proc.stop()
                wait_until(lambda: p.backlog() <= 0, 300, "drain", sup, interval=1)
                from devtools.bench.stats import percentile

                for i, window_span in enumerate(windows, 1):
                    lat = e2e.indexed_latencies(p, *window_span)
                    print(
                        f"  window {i}: to indexed p50 {percentile(lat, 50):.3f} s, "
                        f"p99 {percentile(lat, 99):.3f} s ({len(lat)} posts)",
                        flush=True,
                    )
                time.sleep(5)
            measure("idle")
    finally:
        sup.close()
        p.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
