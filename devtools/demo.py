"""`make demo` / `make demo-down`: the whole pipeline on this machine, with a live view.

`python -m devtools.demo run` starts (or reuses) the local Kafka and Elasticsearch,
creates the topics and the index template, starts the sentiment job and the producer in the
background, shows progress while the posts flow, then prints the summary of the index
(`sentiment_job.stats`, the same code as `tweet-sentiment stats`), writes a PNG chart and
returns, leaving Kafka, Elasticsearch and the job running. `... demo down` stops what the
demo started. Every name the demo uses can be overridden (env or flag) so the end-to-end
test can run it beside a real demo.

Runs in the dev virtualenv (it needs kafka-python, elasticsearch, prometheus_client,
matplotlib, and the console scripts of both packages), unlike the stdlib-only
`python3 -m devtools.services`. The producer and the job are started by `devtools.pipeline`,
the launcher the benchmarks and the end-to-end tests use.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from devtools.harness.env import job_default, job_env, producer_default, producer_env
from devtools.harness.poll import PipelineError
from devtools.harness.process import Proc, console_script, tail
from devtools.services.common import (
    REPO_ROOT,
    ServiceError,
    port_open,
    require_java,
    state_dir,
    stop_pid,
    versions,
)
from devtools.services.elasticsearch import ElasticsearchNode
from devtools.services.kafka import KafkaBroker
from tweet_sentiment_common import retention

SAMPLE = REPO_ROOT / "images" / "producer" / "samples" / "posts.jsonl"
CHART_NAME = "tweet-sentiment-demo.png"
LABEL_COLORS = {"Positive": "#2e9e44", "Neutral": "#9aa0a6", "Negative": "#d93025", "Unsupported": "#c6b8e8"}


class DemoError(ServiceError):
    """The demo cannot go on; the message says why and where to look."""


# ----------------------------------------------------------------------------- settings


@dataclass
class Settings:
    # The programs' own defaults: the demo runs the product as it ships.
    topic: str = producer_default("kafka_topic")
    dlq_topic: str = producer_default("kafka_dlq_topic")
    index: str = job_default("es_index")
    deadletter_index: str = job_default("es_deadletter_index")
    producer_port: int = producer_default("metrics_port")
    job_port: int = job_default("metrics_port")
    output_dir: Path = REPO_ROOT / "demo-output"
    state_subdir: str = "demo"
    seconds: float = 60.0  # how long an endless source runs
    timeout: float = 900.0  # the whole wait for a finite source
    keep: bool = False  # keep the index, topic and checkpoint of the previous demo
    # Not the job's default 0: an idle query polling Kafka back to back costs ~30% of a
    # core, and the demo leaves the job running; one second costs ~3% and <=1 s of latency.
    trigger: str = "processingTime=1s"
    partitions: int = 3
    # The producer's SOURCE and its own settings pass through the environment untouched.
    source: str = "replay"

    @property
    def home(self) -> Path:
        return state_dir() / self.state_subdir

    @property
    def checkpoint(self) -> Path:
        return self.home / "checkpoint"

    @property
    def state_file(self) -> Path:
        return self.home / "state.json"

    def finite(self, env: Mapping[str, str]) -> bool:
        """Does the source end by itself? (Replay without loop, synthetic with a limit.)"""
        if self.source == "replay":
            return env.get("REPLAY_LOOP", "false").strip().lower() not in ("1", "true", "yes", "on")
        if self.source == "synthetic":
            return int(env.get("SYNTHETIC_LIMIT", "0") or 0) > 0
        return False


ENV_OVERRIDES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "DEMO_TOPIC": ("topic", str),
    "DEMO_DLQ_TOPIC": ("dlq_topic", str),
    "DEMO_INDEX": ("index", str),
    "DEMO_DEADLETTER_INDEX": ("deadletter_index", str),
    "DEMO_PRODUCER_METRICS_PORT": ("producer_port", int),
    "DEMO_JOB_METRICS_PORT": ("job_port", int),
    "DEMO_OUTPUT_DIR": ("output_dir", Path),
    "DEMO_STATE_SUBDIR": ("state_subdir", str),
    "DEMO_SECONDS": ("seconds", float),
    "DEMO_TIMEOUT": ("timeout", float),
    "DEMO_KEEP": ("keep", lambda v: v.strip().lower() in ("1", "true", "yes", "on")),
    "DEMO_TRIGGER": ("trigger", str),
    "SOURCE": ("source", str),
}


def settings_from(env: Mapping[str, str], args: argparse.Namespace | None = None) -> Settings:
    """Defaults, then env (DEMO_*), then command-line flags; a bad value names its variable."""
    s = Settings()
    for var, (attr, convert) in ENV_OVERRIDES.items():
        raw = env.get(var)
        if raw:
            try:
                setattr(s, attr, convert(raw))
            except ValueError as exc:
                raise DemoError(f"{var}={raw!r} is not valid: {exc}") from exc
    if args is not None:
        for attr in ("topic", "index", "output_dir", "state_subdir", "seconds", "keep"):
            value = getattr(args, attr, None)
            if value not in (None, False):
                setattr(s, attr, Path(value) if attr == "output_dir" else value)
        if getattr(args, "producer_port", None):
            s.producer_port = args.producer_port
        if getattr(args, "job_port", None):
            s.job_port = args.job_port
    if not s.output_dir.is_absolute():
        s.output_dir = (Path.cwd() / s.output_dir).resolve()
    if s.seconds <= 0 or s.timeout <= 0:
        raise DemoError("DEMO_SECONDS and DEMO_TIMEOUT must be positive")
    return s


# ----------------------------------------------------------------------------- state file


@dataclass
class State:
    """What a demo run started, so `down` stops exactly that and a rerun replaces it."""

    started_kafka: bool = False
    started_es: bool = False
    kafka_port: int = 9092
    es_port: int = 9200
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> State:
        try:
            data = json.loads(path.read_text())
            return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        except (OSError, ValueError, TypeError):
            return cls()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2, default=str) + "\n")


# ----------------------------------------------------------------------------- metrics


def parse_metrics(text: str) -> list[Sample]:
    """Every sample of a Prometheus text exposition (prometheus_client's own parser: label
    escapes, timestamps, histogram series)."""
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def _matching(samples: Iterable[Sample], name: str, labels: Mapping[str, str]) -> list[float]:
    return [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]


def metric_sum(samples: Iterable[Sample], name: str, **labels: str) -> float:
    """The sum of the samples called exactly `name` (over all label sets, or those with `labels`)."""
    return sum(_matching(samples, name, labels))


def metric_value(samples: Iterable[Sample], name: str, **labels: str) -> float | None:
    """The first sample called `name` with `labels`; None when there is none."""
    found = _matching(samples, name, labels)
    return found[0] if found else None


def scrape(port: int, timeout: float = 1.0) -> list[Sample] | None:
    """The samples of `http://127.0.0.1:<port>/metrics`; None while it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as resp:
            return parse_metrics(resp.read().decode())
    except (OSError, ValueError):  # not up yet, or cut off mid-response
        return None


# ----------------------------------------------------------------------------- progress view


@dataclass
class Progress:
    elapsed: float
    published: int
    invalid: int
    deadlettered: int
    producer: str  # "running", "exited 0", ...
    job_rows: int
    job_batches: int
    job_behind: int | None
    indexed: int
    labels: dict[str, int]
    expected: int | None
    rate: float  # indexed posts per second over the last few seconds


def _bar(done: int, total: int | None, width: int = 30) -> str:
    if not total:
        return ""
    filled = min(width, round(width * done / total))
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def _warming(p: Progress) -> str:
    # The first batch starts Spark's Python workers and loads the analyzer: it is slow.
    return "   (first batch: Spark starts its Python workers)" if p.published and not p.job_batches else ""


def render_progress(p: Progress) -> list[str]:
    """The live view's lines (the TTY redraws them in place)."""
    labels = "  ".join(f"{k} {v:,}" for k, v in p.labels.items() if v)
    target = f" / {p.expected:,}" if p.expected else ""
    behind = "" if p.job_behind is None else f"   offsets behind {p.job_behind:,}"
    return [
        f"tweet-sentiment demo   {p.elapsed:5.0f} s",
        f"  producer   published {p.published:,}   invalid {p.invalid:,}   "
        f"dead-lettered {p.deadlettered:,}   ({p.producer})",
        f"  job        batches {p.job_batches:,}   rows read {p.job_rows:,}{behind}{_warming(p)}",
        f"  indexed    {p.indexed:,}{target} {_bar(p.indexed, p.expected)}   {p.rate:,.1f} posts/s",
        f"  labels     {labels or '-'}",
    ]


def render_line(p: Progress) -> str:
    """One line for logs and CI (stdout not a terminal)."""
    labels = ", ".join(f"{k} {v}" for k, v in p.labels.items() if v)
    target = f"/{p.expected}" if p.expected else ""
    return (
        f"[{p.elapsed:4.0f}s] published {p.published}, indexed {p.indexed}{target}"
        f"{f' ({labels})' if labels else ''}, {p.rate:.1f} posts/s, producer {p.producer}"
    )


class View:
    """Redraws in place on a terminal; prints a line every `every` seconds otherwise."""

    def __init__(self, stream: Any = None, every: float = 5.0) -> None:
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"
        self.every = every
        self.drawn = 0
        self.last_line = -1e9

    def show(self, p: Progress, force: bool = False) -> None:
        if self.tty:
            lines = render_progress(p)
            # Cursor up to the first line of the previous frame, clear to the end, redraw.
            prefix = f"\x1b[{self.drawn}F\x1b[J" if self.drawn else ""
            self.stream.write(prefix + "\n".join(lines) + "\n")
            self.drawn = len(lines)
        elif force or p.elapsed - self.last_line >= self.every:
            self.stream.write(render_line(p) + "\n")
            self.last_line = p.elapsed
        self.stream.flush()

    def say(self, text: str) -> None:
        self.drawn = 0  # a message ends the frame: the next one starts below it
        self.stream.write(text + "\n")
        self.stream.flush()


# ----------------------------------------------------------------------------- Kafka / ES edges


def ensure_topics(
    bootstrap: str, names: list[str], partitions: int, reset: bool, timeout: float = 60.0
) -> None:
    """Create the topics with the retention of the real ones (`tweet_sentiment_common.retention`:
    a deleted post's text leaves Kafka within 24 hours); with `reset`, delete them first (a
    fresh demo starts from nothing)."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="tweet-sentiment-demo")
    try:
        doomed = [n for n in names if n in set(admin.list_topics())] if reset else []
        if doomed:
            admin.delete_topics(doomed)
        deadline = time.monotonic() + timeout
        for name in names:
            while True:
                try:
                    admin.create_topics(
                        [NewTopic(name, partitions, 1, topic_configs=dict(retention.TOPIC_CONFIGS))]
                    )
                    break
                except TopicAlreadyExistsError:
                    if name not in doomed:
                        break  # kept from a previous run: fine
                    # Deletion is asynchronous: retry until the old topic is gone.
                    if time.monotonic() > deadline:
                        raise DemoError(f"Kafka did not delete topic {name} within {timeout:.0f}s") from None
                    time.sleep(0.5)
    finally:
        admin.close()


class TopicWatch:
    """End offsets and distinct keys of a topic, read with one plain consumer (no group)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        from kafka import KafkaConsumer

        self.topic = topic
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)

    def _partitions(self) -> list[Any]:
        from kafka import TopicPartition

        parts = self.consumer.partitions_for_topic(self.topic) or set()
        return [TopicPartition(self.topic, p) for p in sorted(parts)]

    def end_offsets(self) -> int:
        tps = self._partitions()
        return sum(self.consumer.end_offsets(tps).values()) if tps else 0

    def distinct_keys(self, timeout: float = 60.0) -> int:
        """Unique record keys (`<source>:<id>`), i.e. the documents the index must hold."""
        tps = self._partitions()
        if not tps:
            return 0
        end = self.consumer.end_offsets(tps)
        self.consumer.assign(tps)
        self.consumer.seek_to_beginning(*tps)
        keys: set[bytes] = set()
        deadline = time.monotonic() + timeout
        while any(self.consumer.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise DemoError(f"reading topic {self.topic} took longer than {timeout:.0f}s")
            for records in self.consumer.poll(timeout_ms=500).values():
                keys.update(r.key for r in records if r.key is not None)
        return len(keys)

    def close(self) -> None:
        self.consumer.close()


def label_counts(es: Any, index: str) -> tuple[int, dict[str, int]]:
    from elasticsearch import NotFoundError

    try:
        es.indices.refresh(index=index)
        resp = es.search(
            index=index,
            body={
                "size": 0,
                "track_total_hits": True,
                "aggs": {"l": {"terms": {"field": "sentiment", "size": 20}}},
            },
        )
    except NotFoundError:
        return 0, {}
    order = ["Positive", "Neutral", "Negative", "Unsupported"]
    found = {b["key"]: b["doc_count"] for b in resp["aggregations"]["l"]["buckets"]}
    labels = {k: found.pop(k, 0) for k in order} | found
    return int(resp["hits"]["total"]["value"]), labels


# ----------------------------------------------------------------------------- processes


def start(name: str, script: str, env: dict[str, str], home: Path) -> Proc:
    """A console script in the background, in its own session: it outlives the demo, and
    `down` stops its process group through `<home>/<name>.pid`."""
    return Proc(
        name, [console_script(script)], env, home / f"{name}.log", pid_file=home / f"{name}.pid"
    ).start()


def died(proc: Proc) -> DemoError:
    return DemoError(
        f"the {proc.name} exited with code {proc.returncode()}; last lines of {proc.log_file}:\n"
        f"{proc.tail(25)}"
    )


def stop_processes(home: Path) -> list[str]:
    """Stop the producer and the job of a previous run (by their pid files)."""
    stopped = []
    for name in ("producer", "job"):
        if stop_pid(home / f"{name}.pid", timeout=30):
            stopped.append(name)
    return stopped


# ----------------------------------------------------------------------------- the run


def preflight(s: Settings) -> None:
    for port, what, var in (
        (s.producer_port, "the producer's metrics", "DEMO_PRODUCER_METRICS_PORT"),
        (s.job_port, "the job's metrics", "DEMO_JOB_METRICS_PORT"),
    ):
        if port_open("127.0.0.1", port):
            raise DemoError(
                f"port {port} ({what}) is already taken by another process; stop it "
                f"(`ss -ltnp 'sport = :{port}'` shows which) or set {var}"
            )
    require_java(versions()["JAVA_HOME_SPARK"], 17)
    for script in ("tweet-producer", "tweet-sentiment-job", "tweet-sentiment-setup-es"):
        try:
            console_script(script)
        except PipelineError as exc:
            raise DemoError(str(exc)) from None


def reset_outputs(es: Any, s: Settings) -> None:
    """A fresh demo: no documents and no checkpoint from the previous one."""
    es.options(ignore_status=404).indices.delete(index=s.index)
    es.options(ignore_status=404).indices.delete(index=s.deadletter_index)
    shutil.rmtree(s.checkpoint, ignore_errors=True)


def setup_es(s: Settings, es_url: str) -> None:
    env = dict(os.environ, ES_URL=es_url, ES_INDEX=s.index, ES_DEADLETTER_INDEX=s.deadletter_index)
    log = s.home / "setup-es.log"
    with open(log, "ab") as out:
        code = subprocess.run(
            [console_script("tweet-sentiment-setup-es")],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        ).returncode
    if code != 0:
        raise DemoError(f"tweet-sentiment-setup-es exited with {code}; last lines of {log}:\n{tail(log, 25)}")


def demo_job_env(s: Settings, bootstrap: str, es_url: str) -> dict[str, str]:
    """The job as the demo runs it: its names and ports, the demo's trigger, the job's own
    Spark master (not the tests' local[2])."""
    from devtools.services.spark_jars import spark_job_jars

    jars = ",".join(str(p) for p in spark_job_jars())
    return job_env(
        bootstrap, s.topic, es_url, s.index, s.checkpoint, jars, inherit=True,
        es_deadletter_index=s.deadletter_index, trigger=s.trigger, spark_master=None, metrics_port=s.job_port,
    )  # fmt: skip


def demo_producer_env(s: Settings, bootstrap: str) -> dict[str, str]:
    """The producer as the demo runs it: SOURCE (replay of the sample by default) and the
    source's own settings pass through from the environment."""
    return producer_env(
        inherit=True, kafka_bootstrap_servers=bootstrap, kafka_topic=s.topic, kafka_dlq_topic=s.dlq_topic,
        metrics_port=s.producer_port, source=s.source,
    )  # fmt: skip


def job_ready(s: Settings) -> bool:
    """The job's metrics answer and its streaming query has started (checkpoint metadata)."""
    return scrape(s.job_port) is not None and (s.checkpoint / "metadata").exists()


@dataclass
class Outcome:
    published: int
    invalid: int
    deadlettered: int
    expected: int | None
    indexed: int
    wall_seconds: float
    producer_exit: int | None
    note: str = ""


def watch(
    s: Settings,
    es: Any,
    producer: Proc,
    job: Proc,
    posts: TopicWatch,
    dlq: TopicWatch,
    view: View,
    env: Mapping[str, str],
) -> Outcome:
    """Show progress until the sample is indexed (finite source) or DEMO_SECONDS passed."""
    finite = s.finite(env)
    t0 = time.monotonic()
    base_posts, base_dlq = posts.end_offsets(), dlq.end_offsets()
    published = invalid = deadlettered = 0
    expected: int | None = None
    history: list[tuple[float, int]] = []
    stable_since: float | None = None
    producer_state = "running"
    last_indexed = -1
    note = ""
    while True:
        now = time.monotonic() - t0
        if job.returncode() is not None:
            raise died(job)
        metrics = scrape(s.producer_port)
        if metrics is not None:
            published = int(metric_sum(metrics, "producer_posts_published_total"))
            invalid = int(metric_sum(metrics, "producer_records_invalid_total"))
        code = producer.returncode()
        if code is None and not finite and now >= s.seconds:
            view.say(f"DEMO_SECONDS={s.seconds:g} reached: stopping the producer")
            stop_pid(s.home / "producer.pid", timeout=30)
            producer.wait(timeout=30)
            code = 0
            finite = True  # from here on: wait for the job to catch up
        if code is not None:
            if code != 0:
                raise died(producer)
            producer_state = f"exited {code}"
            # Exact counts from Kafka, not the last scrape of a process that is gone.
            published = posts.end_offsets() - base_posts
            deadlettered = dlq.end_offsets() - base_dlq
            if expected is None:
                expected = posts.distinct_keys()
        job_metrics = scrape(s.job_port) or []
        behind = metric_value(job_metrics, "sentiment_job_offsets_behind_latest", topic=s.topic)
        indexed, labels = label_counts(es, s.index)
        history = [(t, n) for t, n in history if now - t <= 5.0] + [(now, indexed)]
        rate = (
            (history[-1][1] - history[0][1]) / (history[-1][0] - history[0][0]) if len(history) > 1 else 0.0
        )
        progress = Progress(
            elapsed=now,
            published=published,
            invalid=invalid,
            deadlettered=deadlettered,
            producer=producer_state,
            job_rows=int(metric_sum(job_metrics, "sentiment_job_input_rows_total")),
            job_batches=int(metric_sum(job_metrics, "sentiment_job_batch_duration_seconds_count")),
            job_behind=None if behind is None else int(behind),
            indexed=indexed,
            labels=labels,
            expected=expected,
            rate=max(rate, 0.0),
        )
        if expected is not None and indexed >= expected:
            view.show(progress, force=True)
            break
        if expected is not None:
            # The job is caught up but some posts never arrive (dead-lettered by the job):
            # report the gap instead of waiting for the timeout.
            if indexed != last_indexed or stable_since is None:
                stable_since = time.monotonic()
            if behind == 0 and time.monotonic() - stable_since > 20:
                view.show(progress, force=True)
                note = (
                    f"{expected - indexed} of {expected} posts were not indexed; "
                    f"see the dead-letter index {s.deadletter_index} and {s.home / 'job.log'}"
                )
                break
        last_indexed = indexed
        if now > s.timeout:
            raise DemoError(
                f"timed out after {s.timeout:.0f}s (DEMO_TIMEOUT) with {indexed} of "
                f"{expected if expected is not None else '?'} posts indexed; see {s.home / 'job.log'}"
            )
        view.show(progress)
        time.sleep(1.0)
    return Outcome(
        published=published,
        invalid=invalid,
        deadlettered=deadlettered,
        expected=expected,
        indexed=indexed,
        wall_seconds=time.monotonic() - t0,
        producer_exit=producer.returncode(),
        note=note,
    )


# ----------------------------------------------------------------------------- chart and text


def draw_languages(ax: Any, summary: Any, top: int = 12) -> None:
    """One horizontal bar per language (most posted at the top), split by the job's label."""
    rows = summary.language_rows(top)
    names = [lang for lang, _ in rows]
    ys = list(range(len(rows)))[::-1]
    labels = [label for label in summary.labels if any(counts.get(label) for _, counts in rows)]
    lefts = [0] * len(rows)
    for label in labels:
        counts = [c.get(label, 0) for _, c in rows]
        ax.barh(ys, counts, left=lefts, color=LABEL_COLORS.get(label, "#7f7f7f"), label=label, height=0.75)
        lefts = [a + b for a, b in zip(lefts, counts, strict=True)]
    for y, total in zip(ys, lefts, strict=True):
        share = total / summary.total if summary.total else 0.0
        ax.text(total, y, f" {total:,} ({share:.0%})", va="center", fontsize=8)
    ax.set_yticks(ys, names)
    ax.set_xlim(0, max(lefts or [1]) * 1.18 + 1)
    ax.set_title(
        "Posts by language (the language scored as), split by label: Unsupported = no model", fontsize=11
    )
    ax.set_xlabel("posts")
    ax.legend(loc="lower right", fontsize=9, frameon=False)
    ax.grid(axis="x", alpha=0.3)


def write_chart(timeline: Any, summary: Any, path: Path) -> Path:
    """Posts per label over created_at (stacked), the polarity histogram and posts by
    language split by label, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    by_lang = summary.language_rows()
    if by_lang:
        fig, (top, bottom, langs) = plt.subplots(
            3,
            1,
            figsize=(11, 8 + 0.25 * len(by_lang) + 1),
            gridspec_kw={"height_ratios": [3, 2, 0.25 * len(by_lang) + 1]},
        )
    else:
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 8), gridspec_kw={"height_ratios": [3, 2]})
        langs = None
    fig.suptitle(
        f"tweet-sentiment demo: {summary.total:,} posts in {summary.index}", fontsize=14, weight="bold"
    )
    width_days = timeline.interval_seconds / 86400 * 0.9
    bottoms = [0] * len(timeline.starts)
    for label, counts in timeline.counts.items():
        share = summary.shares.get(label, 0.0)
        top.bar(
            timeline.starts,
            counts,
            width=width_days,
            bottom=bottoms,
            align="edge",
            color=LABEL_COLORS.get(label, "#7f7f7f"),
            label=f"{label} {summary.labels.get(label, 0):,} ({share:.0%})",
        )
        bottoms = [b + c for b, c in zip(bottoms, counts, strict=True)]
    minutes = timeline.interval_seconds // 60
    every = f"{minutes} min" if minutes else f"{timeline.interval_seconds} s"
    first, last = summary.created_first, summary.created_last
    one_day = first is not None and last is not None and first.date() == last.date()
    day = f"{first:%Y-%m-%d} UTC" if one_day and first else "UTC"
    top.set_title(f"Posts per label by created_at ({every} buckets, {day})", fontsize=11)
    top.set_ylabel("posts")
    top.legend(loc="upper left", ncols=4, fontsize=9, frameon=False)
    top.set_ylim(0, max(bottoms or [1]) * 1.25 + 1)
    clock = "%H:%M:%S" if timeline.interval_seconds < 60 else "%H:%M"
    # matplotlib's DateFormatter.__init__ carries no annotations.
    formatter = mdates.DateFormatter(clock if one_day else f"%m-%d {clock}")  # type: ignore[no-untyped-call]
    top.xaxis.set_major_formatter(formatter)
    top.grid(axis="y", alpha=0.3)
    for side in ("top", "right"):
        top.spines[side].set_visible(False)
        bottom.spines[side].set_visible(False)

    w = timeline.polarity_width
    # Stacked by the label the job gave: a bin near 0 shows where it draws the neutral line.
    stack = [0] * len(timeline.polarity_bins)
    for label, counts in timeline.polarity_counts.items():
        bottom.bar(
            timeline.polarity_bins,
            counts,
            width=w * 0.92,
            bottom=stack,
            align="edge",
            color=LABEL_COLORS.get(label, "#7f7f7f"),
            label=label,
        )
        stack = [b + c for b, c in zip(stack, counts, strict=True)]
    mean = summary.mean_polarity
    if mean is not None:
        bottom.axvline(mean, color="#202124", linestyle="--", linewidth=1, label=f"mean {mean:+.3f}")
    bottom.legend(loc="upper left", fontsize=9, frameon=False)
    bottom.set_ylim(0, max(stack or [1]) * 1.1 + 1)
    bottom.set_xlim(-1.0, 1.0)
    bottom.set_title("Polarity of the scored posts (bins of 0.1), coloured by the job's label", fontsize=11)
    bottom.set_xlabel("polarity (-1 negative … +1 positive)")
    bottom.set_ylabel("posts")
    bottom.grid(axis="y", alpha=0.3)
    if langs is not None:
        draw_languages(langs, summary)
        for side in ("top", "right"):
            langs.spines[side].set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def format_run(o: Outcome, s: Settings) -> str:
    lines = ["", "=" * 78, "Demo run", "=" * 78]
    lines.append(
        f"  source             {s.source}{f' ({SAMPLE.relative_to(REPO_ROOT)})' if s.source == 'replay' else ''}"
    )
    lines.append(f"  published          {o.published:,} records to {s.topic}")
    if o.deadlettered or o.invalid:
        lines.append(f"  dead-lettered      {o.deadlettered:,} invalid records to {s.dlq_topic}")
    if o.expected is not None:
        lines.append(f"  unique posts       {o.expected:,}; indexed {o.indexed:,}")
    lines.append(f"  wall time          {o.wall_seconds:.1f} s from producer start to the last post indexed")
    if o.note:
        lines.append(f"  NOTE               {o.note}")
    return "\n".join(lines)


def next_steps(s: Settings, es_url: str, chart: Path, state: State) -> str:
    agg = (
        '{"size":0,"aggs":{"labels":{"terms":{"field":"sentiment"}},"polarity":{"avg":{"field":"polarity"}}}}'
    )
    neg = '{"size":3,"sort":[{"polarity":"asc"}],"_source":["text","polarity","sentiment"]}'
    by_lang = (
        '{"size":0,"aggs":{"langs":{"terms":{"field":"lang","size":30},'
        '"aggs":{"labels":{"terms":{"field":"sentiment"}}}}}}'
    )
    stats_cmd = ".venv/bin/tweet-sentiment stats" + (
        "" if s.index == "tweets-sentiment" else f" --index {s.index}"
    )
    running = [
        "Kafka" + (" (started by the demo)" if state.started_kafka else ""),
        "Elasticsearch" + (" (started by the demo)" if state.started_es else ""),
        "the sentiment job",
    ]
    return "\n".join(
        [
            "",
            "Where to look next",
            f"  chart              {chart}",
            f"  documents          {es_url}/{s.index}/_search?pretty",
            f"  job metrics        http://localhost:{s.job_port}/metrics",
            f"  producer metrics   http://localhost:{s.producer_port}/metrics "
            "(while a producer runs: the sample replay has finished)",
            f"  logs               {s.home}/{{job,producer,setup-es}}.log",
            "  count by label and mean polarity:",
            f"    curl -s '{es_url}/{s.index}/_search?pretty' -H 'Content-Type: application/json' -d '{agg}'",
            "  posts by language and label:",
            f"    curl -s '{es_url}/{s.index}/_search?pretty' -H 'Content-Type: application/json' -d '{by_lang}'",
            "  the three most negative posts:",
            f"    curl -s '{es_url}/{s.index}/_search?pretty' -H 'Content-Type: application/json' -d '{neg}'",
            f"  this summary again: {stats_cmd}",
            "",
            f"Still running: {', '.join(running)}. `make demo-down` stops them.",
        ]
    )


# ----------------------------------------------------------------------------- commands


@contextlib.contextmanager
def es_client(url: str) -> Iterator[Any]:
    from elasticsearch import Elasticsearch

    es = Elasticsearch(url, request_timeout=30)
    try:
        yield es
    finally:
        es.close()


def run(s: Settings, out: Any = None) -> int:
    from sentiment_job import stats

    out = out or sys.stdout
    view = View(out)
    home = s.home
    home.mkdir(parents=True, exist_ok=True)
    previous = State.load(s.state_file)
    stopped = stop_processes(home)
    if stopped:
        view.say(f"stopped the previous demo's {' and '.join(stopped)}")
    preflight(s)

    kafka, es_node = KafkaBroker(), ElasticsearchNode()
    state = State(
        # A service a previous demo started and left running is still ours to stop.
        started_kafka=previous.started_kafka and previous.kafka_port == kafka.port and kafka.is_up(),
        started_es=previous.started_es and previous.es_port == es_node.port and es_node.is_up(),
        kafka_port=kafka.port,
        es_port=es_node.port,
        settings={k: str(v) for k, v in asdict(s).items()},
    )
    view.say(f"Kafka on {kafka.bootstrap} ...")
    if kafka.up():
        state.started_kafka = True
    # Saved after each start: if Elasticsearch fails next, `down` still stops this Kafka.
    state.save(s.state_file)
    view.say(
        f"  {'started by the demo' if state.started_kafka else 'already running'}; log: {kafka.log_file}"
    )
    view.say(f"Elasticsearch on {es_node.url} ...")
    if es_node.up():
        state.started_es = True
    state.save(s.state_file)
    view.say(f"  {'started by the demo' if state.started_es else 'already running'}; log: {es_node.log_file}")

    with es_client(es_node.url) as es:
        if not s.keep:
            reset_outputs(es, s)
        view.say(f"topics {s.topic}, {s.dlq_topic} ({s.partitions} partitions){'' if s.keep else ', fresh'}")
        ensure_topics(kafka.bootstrap, [s.topic, s.dlq_topic], s.partitions, reset=not s.keep)
        view.say(f"index template for {s.index} (tweet-sentiment-setup-es)")
        setup_es(s, es_node.url)

        view.say(f"starting the sentiment job (Spark, {s.trigger}); log: {home / 'job.log'}")
        t_job = time.monotonic()
        job = start("job", "tweet-sentiment-job", demo_job_env(s, kafka.bootstrap, es_node.url), home)
        deadline = time.monotonic() + 300
        while not job_ready(s):
            if job.returncode() is not None:
                raise died(job)
            if time.monotonic() > deadline:
                raise DemoError(f"the job did not start its query within 300 s; see {home / 'job.log'}")
            time.sleep(0.5)
        view.say(f"job ready after {time.monotonic() - t_job:.0f} s (metrics on :{s.job_port})")

        posts, dlq = TopicWatch(kafka.bootstrap, s.topic), TopicWatch(kafka.bootstrap, s.dlq_topic)
        try:
            env = demo_producer_env(s, kafka.bootstrap)
            what = (
                f"the sample {SAMPLE.relative_to(REPO_ROOT)}"
                if s.source == "replay"
                else f"SOURCE={s.source}"
            )
            view.say(f"starting the producer ({what}); log: {home / 'producer.log'}")
            producer = start("producer", "tweet-producer", env, home)
            outcome = watch(s, es, producer, job, posts, dlq, view, env)
        finally:
            posts.close()
            dlq.close()

        summary = stats.fetch_summary(es, s.index)
        timeline = stats.fetch_timeline(es, s.index, summary)
    chart = write_chart(timeline, summary, s.output_dir / CHART_NAME)
    (s.output_dir / "summary.json").write_text(
        json.dumps({"run": asdict(outcome), "summary": summary.to_dict()}, indent=2, ensure_ascii=False)
        + "\n"
    )
    out.write(format_run(outcome, s) + "\n\n")
    out.write(stats.format_summary(summary, source=es_node.url))
    out.write(next_steps(s, es_node.url, chart, state) + "\n")
    out.flush()
    return 0


def down(s: Settings, out: Any = None) -> int:
    out = out or sys.stdout
    state = State.load(s.state_file)
    stopped = stop_processes(s.home)
    out.write(f"demo: stopped {' and '.join(stopped) if stopped else 'no producer or job (none running)'}\n")
    if state.started_kafka:
        kafka = KafkaBroker(port=state.kafka_port)
        out.write(f"demo: Kafka {'stopped' if kafka.down() else 'was not running'}\n")
    if state.started_es:
        es = ElasticsearchNode(port=state.es_port)
        out.write(f"demo: Elasticsearch {'stopped' if es.down() else 'was not running'}\n")
    if not (state.started_kafka or state.started_es):
        out.write("demo: Kafka and Elasticsearch were already running before the demo; left running\n")
    s.state_file.unlink(missing_ok=True)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m devtools.demo", description="the local demo")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="start everything, stream the sample, print the summary")
    r.add_argument(
        "--keep", action="store_true", help="keep the previous index, topic and checkpoint (DEMO_KEEP)"
    )
    r.add_argument("--seconds", type=float, help="how long an endless SOURCE runs (DEMO_SECONDS, 60)")
    defaults = Settings()
    r.add_argument("--topic", help=f"Kafka topic (DEMO_TOPIC, {defaults.topic})")
    r.add_argument("--index", help=f"Elasticsearch index (DEMO_INDEX, {defaults.index})")
    r.add_argument(
        "--producer-port",
        type=int,
        help=f"producer metrics port (DEMO_PRODUCER_METRICS_PORT, {defaults.producer_port})",
    )
    r.add_argument(
        "--job-port", type=int, help=f"job metrics port (DEMO_JOB_METRICS_PORT, {defaults.job_port})"
    )
    r.add_argument("--output-dir", help="where the chart goes (DEMO_OUTPUT_DIR, demo-output)")
    r.add_argument("--state-subdir", help="under the state dir (DEMO_STATE_SUBDIR, demo)")
    d = sub.add_parser("down", help="stop what `run` started")
    d.add_argument("--state-subdir", help="under the state dir (DEMO_STATE_SUBDIR, demo)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    hint, s = "", None
    try:
        s = settings_from(os.environ, args)
        if args.command == "down":
            return down(s)
        hint = "\n(what the demo already started is still running: `make demo-down` stops it)"
        return run(s)
    except (ServiceError, PipelineError) as exc:
        print(f"\nerror: {exc}{hint if s is not None and s.state_file.exists() else ''}", file=sys.stderr)
        return 1
    except Exception as exc:
        # Kafka or Elasticsearch went away mid-run: say which, not a stack trace.
        from elasticsearch import ApiError, TransportError
        from kafka.errors import KafkaError

        if not isinstance(exc, (ApiError, TransportError, KafkaError)):
            raise
        print(f"\nerror: {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "\ninterrupted; what already started is still running: `make demo-down` stops it", file=sys.stderr
        )
        return 130


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main())
