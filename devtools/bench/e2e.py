"""End-to-end benchmarks: sustained throughput, latency, memory of the whole local pipeline.

Everything runs on this machine: the shared Kafka and Elasticsearch, the producer
(`SOURCE=synthetic`) and the job, as the real console scripts.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from devtools.bench.cost import Cost, CostMeter
from devtools.bench.memory import MemorySampler
from devtools.bench.stats import percentile, slope, sustained
from devtools.harness.env import job_env, producer_env
from devtools.harness.poll import wait_until
from devtools.harness.process import Proc, Supervisor, console_script


def parse_ts(value: str) -> float:
    """RFC 3339 (`...Z`) → epoch seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@dataclass
class Env:
    """The services and names one benchmark session uses."""

    bootstrap: str
    es_url: str
    spark_jars: str
    workdir: Path
    run_id: str
    # Processes whose CPU the cost figures report beside the job's ("Kafka", "Elasticsearch").
    service_pids: dict[str, Callable[[], int | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from elasticsearch import Elasticsearch

        self.es = Elasticsearch(self.es_url, request_timeout=60)


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench")
    try:
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        admin.close()


def delete_topics(bootstrap: str, names: list[str]) -> None:
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench")
    # Cleanup must not hide the results.
    with contextlib.suppress(Exception):
        admin.delete_topics(names)
    admin.close()


class EndOffsets:
    """Total records ever written to a topic (sum of end offsets), with one reused consumer."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        from kafka import KafkaConsumer, TopicPartition

        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
        parts = wait_until(
            lambda: self.consumer.partitions_for_topic(topic), 30, f"partitions of {topic}", interval=1
        )
        self.tps = [TopicPartition(topic, p) for p in sorted(parts)]

    def total(self) -> int:
        return sum(self.consumer.end_offsets(self.tps).values())

    def close(self) -> None:
        self.consumer.close()


@dataclass
class Pipeline:
    """One job on one topic/index, and producers started against it one after another."""

    env: Env
    model: str
    sup: Supervisor
    topic: str
    index: str
    partitions: int
    job: Proc | None = None
    producers: int = 0
    offsets: EndOffsets | None = None
    # time.monotonic() when the job's process started: its age decides how warm its JIT is.
    started_at: float = 0.0

    @classmethod
    def start(cls, env: Env, model: str, partitions: int, sampler: MemorySampler) -> Pipeline:
        name = f"bench-{env.run_id}-{model}"
        sup = Supervisor(env.workdir / name)
        p = cls(env, model, sup, f"{name}-posts", f"{name}-tweets", partitions)
        create_topic(env.bootstrap, p.topic, partitions)
        create_topic(env.bootstrap, p.topic + ".deadletter", 1)
        p.offsets = EndOffsets(env.bootstrap, p.topic)
        # Default trigger (sentiment_job.settings.DEFAULT_TRIGGER_MS) and default master (local[*]): the job as it ships.
        job_settings = job_env(
            env.bootstrap, p.topic, env.es_url, p.index, sup.workdir / "checkpoint", env.spark_jars,
            spark_master=None, sentiment_model=model,
        )  # fmt: skip
        p.job = sup.add("job", [console_script("tweet-sentiment-job")], job_settings).start()
        p.started_at = time.monotonic()
        sampler.watch(f"job ({model})", lambda: p.job.pid if p.job and p.job.running() else None)
        return p

    def producer(self, rate: float, sampler: MemorySampler, limit: int = 0) -> Proc:
        self.producers += 1
        env = producer_env(
            kafka_bootstrap_servers=self.env.bootstrap, kafka_topic=self.topic,
            kafka_dlq_topic=self.topic + ".deadletter",
            source="synthetic", synthetic_rate=rate, synthetic_limit=limit,
            # A new seed per producer run: its posts get new ids, so ES counts them all.
            synthetic_seed=random.randrange(1, 2**31),
        )  # fmt: skip
        proc = self.sup.add(f"producer-{self.producers}", [console_script("tweet-producer")], env).start()
        sampler.watch("producer", lambda: proc.pid if proc.running() else None)
        return proc

    def meter(self) -> CostMeter:
        """CPU of this job's tree and of the services, posts = records written to the topic."""
        assert self.offsets is not None  # Pipeline.start sets it
        return CostMeter(
            lambda: self.job.pid if self.job and self.job.running() else None,
            self.offsets.total,
            self.env.service_pids,
            job_started=self.started_at,
        )

    def indexed(self) -> int:
        resp = self.env.es.count(index=self.index)
        return int(resp["count"])

    def backlog(self) -> int:
        """Posts in Kafka not yet searchable in the index (ids are unique per run)."""
        assert self.offsets is not None
        return self.offsets.total() - self.indexed()

    def wait_ready(self, timeout: float, sampler: MemorySampler) -> float:
        """Feed a trickle until the first document is indexed, then drain; returns the time to
        that first document (the job's start-up: JVM, first batch, Python workers)."""
        t0 = time.monotonic()
        proc = self.producer(20, sampler)
        try:
            wait_until(
                lambda: self.env.es.indices.exists(index=self.index) and self.indexed() > 0,
                timeout, f"first document in {self.index}", self.sup, allow_exit=[proc], interval=1,
            )  # fmt: skip
            first = time.monotonic() - t0
        finally:
            proc.stop()
        self.drain(timeout)
        return first

    def hold(self, seconds: float, interval: float = 1.0) -> None:
        """Let `seconds` pass, stopping early with the reason if a supervised process died."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.sup.check()
            time.sleep(interval)

    def drain(self, timeout: float) -> None:
        self.env.es.indices.refresh(index=self.index)
        wait_until(lambda: self.backlog() <= 0, timeout, f"{self.index} to catch up", self.sup, interval=2)

    def close(self) -> None:
        self.sup.close()
        if self.offsets:
            self.offsets.close()
        delete_topics(self.env.bootstrap, [self.topic, self.topic + ".deadletter"])
        with contextlib.suppress(Exception):
            self.env.es.indices.delete(index=f"{self.index}*", ignore_unavailable=True, allow_no_indices=True)


# ----------------------------------------------------------------------------- throughput


@dataclass
class Step:
    rate: float
    produced_rate: float
    indexed_rate: float
    backlog_start: int
    backlog_end: int
    backlog_slope: float
    sustained: bool
    why: str
    cost: Cost | None = None


def throughput_step(p: Pipeline, rate: float, ramp: float, window: float, sampler: MemorySampler) -> Step:
    proc = p.producer(rate, sampler)
    try:
        p.hold(ramp)
        points: list[tuple[float, float]] = []
        meter = p.meter()
        meter.start()
        t0 = time.monotonic()
        assert p.offsets is not None  # Pipeline.start sets it
        produced0, indexed0 = p.offsets.total(), p.indexed()
        while (now := time.monotonic()) - t0 < window:
            p.sup.check()
            points.append((now - t0, p.backlog()))
            time.sleep(2)
        elapsed = time.monotonic() - t0
        produced1, indexed1 = p.offsets.total(), p.indexed()
        cost = meter.stop(f"{rate:,.0f}/s", rate)
    finally:
        proc.stop()
    produced_rate = (produced1 - produced0) / elapsed
    indexed_rate = (indexed1 - indexed0) / elapsed
    growth = slope(points)
    ok, why = sustained(rate, produced_rate, growth)
    return Step(
        rate, produced_rate, indexed_rate, int(points[0][1]), int(points[-1][1]), growth, ok, why, cost
    )


# ----------------------------------------------------------------------------- latency


class SearchablePoller:
    """Tails the topic; for sampled posts, polls `_search` until each is found.

    Latency to searchable = the moment a search first returns the post − its `ingested_at`.
    """

    def __init__(self, p: Pipeline, samples_per_second: float, rate: float) -> None:
        self.p = p
        self.keep = min(1.0, samples_per_second / max(rate, 1))
        self.latencies: list[float] = []
        self.pending: dict[str, float] = {}
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._tail, daemon=True),
            threading.Thread(target=self._search, daemon=True),
        ]
        self._lock = threading.Lock()
        self.errors = 0
        self.last_error: Exception | None = None
        self._ready = threading.Event()

    def _tail(self) -> None:
        from kafka import KafkaConsumer

        consumer = KafkaConsumer(
            bootstrap_servers=self.p.env.bootstrap, enable_auto_commit=False, group_id=None
        )
        assert self.p.offsets is not None  # Pipeline.start sets it
        consumer.assign(self.p.offsets.tps)
        consumer.seek_to_end()
        for tp in consumer.assignment():
            consumer.position(tp)
        self._ready.set()
        rng = random.Random(1)
        try:
            while not self._stop.is_set():
                for records in consumer.poll(timeout_ms=200).values():
                    for rec in records:
                        if rng.random() >= self.keep or rec.key is None:
                            continue
                        with contextlib.suppress(ValueError, KeyError, TypeError):
                            ingested = parse_ts(json.loads(rec.value)["ingested_at"])
                            with self._lock:
                                self.pending[rec.key.decode()] = ingested
        finally:
            consumer.close()

    def _search(self) -> None:
        while not self._stop.wait(0.05):
            with self._lock:
                ids = list(self.pending)
            if not ids:
                continue
            try:
                resp = self.p.env.es.search(
                    index=self.p.index, query={"ids": {"values": ids}}, source=False, size=len(ids)
                )
            except Exception as exc:  # keep polling through a slow moment
                self.errors += 1
                self.last_error = exc
                continue
            now = time.time()
            with self._lock:
                for hit in resp["hits"]["hits"]:
                    ingested = self.pending.pop(hit["_id"], None)
                    if ingested is not None:
                        self.latencies.append(now - ingested)

    def __enter__(self) -> SearchablePoller:
        for t in self._threads:
            t.start()
        self._ready.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)


@dataclass
class LatencyRun:
    rate: float
    indexed: list[float] = field(default_factory=list)  # seconds, ingested_at → indexed_at
    searchable: list[float] = field(default_factory=list)  # seconds, ingested_at → found by _search
    unfound: int = 0
    cost: Cost | None = None  # CPU over the window

    def pct(self, which: str, q: float) -> float:
        return percentile(getattr(self, which), q)


def indexed_latencies(p: Pipeline, since: float, until: float) -> list[float]:
    """`indexed_at − ingested_at` of every document ingested in [since, until] (epoch s)."""
    from elasticsearch.helpers import scan

    p.env.es.indices.refresh(index=p.index)
    query = {
        "query": {
            "range": {
                "ingested_at": {
                    "gte": datetime.fromtimestamp(since, tz=timezone.utc).isoformat(),
                    "lte": datetime.fromtimestamp(until, tz=timezone.utc).isoformat(),
                }
            }
        }
    }
    out = []
    for hit in scan(p.env.es, index=p.index, query=query, _source=["ingested_at", "indexed_at"], size=5000):
        src = hit["_source"]
        with contextlib.suppress(KeyError, ValueError, TypeError):
            out.append(parse_ts(src["indexed_at"]) - parse_ts(src["ingested_at"]))
    return out


def latency_run(p: Pipeline, rate: float, warmup: float, window: float, sampler: MemorySampler) -> LatencyRun:
    run = LatencyRun(rate)
    proc = p.producer(rate, sampler)
    try:
        time.sleep(warmup)
        with SearchablePoller(p, samples_per_second=10, rate=rate) as poller:
            meter = p.meter()
            meter.start()
            since = time.time()
            p.hold(window, interval=0.5)
            until = time.time()
            run.cost = meter.stop(f"{rate:,.0f}/s", rate)
            proc.stop()
            # Give the last sampled posts time to arrive before giving up on them.
            end = time.monotonic() + 30
            while poller.pending and time.monotonic() < end:
                time.sleep(0.2)
        run.searchable = poller.latencies
        run.unfound = len(poller.pending)
    finally:
        proc.stop()
    p.drain(120)
    run.indexed = indexed_latencies(p, since, until)
    return run


def warm_up(p: Pipeline, rate: float, seconds: float, sampler: MemorySampler) -> None:
    """Run the producer at `rate` for `seconds`, then drain: a fresh JVM's CPU per batch falls
    over its first hundreds of batches while the JIT compiles the per-batch path
    (docs/spark-job.md, "Cost per batch"), and users run the job for days."""
    proc = p.producer(rate, sampler)
    try:
        p.hold(seconds)
    finally:
        proc.stop()
    p.drain(120)


def steady_cost(p: Pipeline, rate: float, age: float, window: float, sampler: MemorySampler) -> Cost:
    """CPU at `rate` once the job is `age` seconds old: the producer runs at `rate` until then
    (at least 30 s, so the window starts on a settled pace), then one `window` is measured.
    What a job running for days costs, after its JIT has compiled the per-batch path."""
    proc = p.producer(rate, sampler)
    try:
        p.hold(max(30.0, p.started_at + age - time.monotonic()))
        meter = p.meter()
        meter.start()
        p.hold(window, interval=0.5)
        cost = meter.stop(f"{rate:,.0f}/s warm", rate)
    finally:
        proc.stop()
    p.drain(120)
    return cost


def idle_cost(p: Pipeline, seconds: float) -> Cost:
    """The job running with nothing to read (the backlog drained): what it costs to wait."""
    meter = p.meter()
    meter.start()
    p.hold(seconds)
    return meter.stop("idle", 0.0)
