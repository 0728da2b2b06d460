"""The driver's Prometheus metrics (port METRICS_PORT; `make docs` writes the README's table from them).

Two feeds: Spark's own progress reports, through a Python `StreamingQueryListener`
(rates, batch duration, Kafka lag, input rows, last batch time), and the per-partition
stats the writer sends back at the end of each micro-batch (documents indexed, rejected,
dead-lettered, end-to-end latency).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Iterable, Mapping
from types import SimpleNamespace
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector
from pyspark import SparkContext
from pyspark.sql.streaming.listener import (
    JStreamingQueryListener,
    QueryIdleEvent,
    QueryProgressEvent,
    QueryStartedEvent,
    QueryTerminatedEvent,
    StreamingQueryListener,
)

from .sink import LATENCY_BUCKETS, METRIC_LANGUAGES, OTHER_LANGUAGE, PartitionStats
from .transform import REASONS

log = logging.getLogger(__name__)

PREFIX = "sentiment_job"
LABELS = ("Negative", "Neutral", "Positive", "Unsupported")
DELETION_OUTCOMES = ("applied", "unknown_post", "invalid")
LANGUAGE_OUTCOMES = ("scored", "unsupported")
BATCH_DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class SummedHistogram(Collector):
    """A histogram whose observations were bucketed elsewhere (on the executors) and are
    added here as bucket counts; prometheus_client's Histogram only takes single values."""

    def __init__(self, name: str, documentation: str, buckets: Iterable[float]) -> None:
        self.name = name
        self.documentation = documentation
        self.bounds = tuple(buckets)
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0
        self._lock = threading.Lock()

    def add(self, bucket_counts: list[int], total: float) -> None:
        if len(bucket_counts) != len(self.counts):
            raise ValueError(f"expected {len(self.counts)} bucket counts, got {len(bucket_counts)}")
        with self._lock:
            self.counts = [a + b for a, b in zip(self.counts, bucket_counts, strict=True)]
            self.sum += total

    def collect(self) -> Iterable[HistogramMetricFamily]:
        with self._lock:
            cumulative, running = [], 0
            for bound, count in zip([*map(str, self.bounds), "+Inf"], self.counts, strict=True):
                running += count
                cumulative.append((bound, running))
            total = self.sum
        yield HistogramMetricFamily(self.name, self.documentation, buckets=cumulative, sum_value=total)


class JobMetrics:
    """All job metrics, in their own registry (the default one in production)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.input_rate = Gauge(
            f"{PREFIX}_input_rows_per_second", "Rate at which Kafka records arrived (last batch).", registry=r
        )
        self.processed_rate = Gauge(
            f"{PREFIX}_processed_rows_per_second",
            "Rate at which the last batch processed records; below the input rate means falling behind.",
            registry=r,
        )
        self.batch_duration = Histogram(
            f"{PREFIX}_batch_duration_seconds",
            "Wall time of a micro-batch, trigger to commit.",
            buckets=BATCH_DURATION_BUCKETS,
            registry=r,
        )
        self.input_rows = Counter(f"{PREFIX}_input_rows", "Kafka records read by the job.", registry=r)
        self.offsets_behind = Gauge(
            f"{PREFIX}_offsets_behind_latest",
            "Kafka records not yet read, summed over the topic's partitions, after the last batch.",
            ["topic"],
            registry=r,
        )
        self.indexed = Counter(
            f"{PREFIX}_documents_indexed",
            "Post documents written to Elasticsearch.",
            ["sentiment"],
            registry=r,
        )
        self.by_language = Counter(
            f"{PREFIX}_posts_by_language",
            "Post documents written to Elasticsearch by the language they were scored as (`other`: "
            "any language not listed) and outcome: `scored` (a sentiment) or `unsupported` (no model).",
            ["lang", "outcome"],
            registry=r,
        )
        self.rejected = Counter(
            f"{PREFIX}_documents_rejected",
            "Documents Elasticsearch refused (by error type); they go to the dead-letter index.",
            ["reason"],
            registry=r,
        )
        self.deadlettered = Counter(
            f"{PREFIX}_documents_deadlettered",
            "Records written to the dead-letter index, by reason.",
            ["reason"],
            registry=r,
        )
        self.es_blocked = Counter(
            f"{PREFIX}_elasticsearch_blocked_seconds",
            "Seconds the writers waited for an Elasticsearch write block to lift (flood-stage disk "
            "watermark, index write block), summed over tasks; counted when the batch completes.",
            registry=r,
        )
        self.latency = SummedHistogram(
            f"{PREFIX}_end_to_end_latency_seconds",
            "Seconds from the producer reading a post (ingested_at) to Elasticsearch acknowledging it.",
            LATENCY_BUCKETS,
        )
        r.register(self.latency)
        self.last_batch = Gauge(
            f"{PREFIX}_last_batch_timestamp_seconds",
            "Unix time the last micro-batch completed; staleness means the job is stuck or down.",
            registry=r,
        )
        self.batch_failures = Counter(
            f"{PREFIX}_batch_failures",
            "Micro-batches that raised (they are retried from the checkpoint).",
            registry=r,
        )
        self.deletions = Counter(
            f"{PREFIX}_deletions",
            "Deletion events applied, by outcome: `applied` (the document was removed), `unknown_post` (no "
            "such document: never indexed, dead-lettered, or already deleted by a replay), `invalid` (names "
            "no post; never dead-lettered).",
            ["outcome"],
            registry=r,
        )
        self.deadletters_removed = Counter(
            f"{PREFIX}_deadletters_removed",
            "Dead-letter records removed because their post was deleted.",
            registry=r,
        )
        # Present from the start, so rate() and dashboards see zeros rather than nothing.
        for label in LABELS:
            self.indexed.labels(sentiment=label)
        for reason in REASONS:
            self.deadlettered.labels(reason=reason)
        for outcome in DELETION_OUTCOMES:
            self.deletions.labels(outcome=outcome)
        for lang in (*METRIC_LANGUAGES, OTHER_LANGUAGE):
            for outcome in LANGUAGE_OUTCOMES:
                self.by_language.labels(lang=lang, outcome=outcome)

    def record_batch(self, stats: PartitionStats) -> None:
        for label, n in stats.indexed.items():
            self.indexed.labels(sentiment=label).inc(n)
        for outcome, by_lang in (
            ("scored", stats.scored_by_lang),
            ("unsupported", stats.unsupported_by_lang),
        ):
            for lang, n in by_lang.items():
                self.by_language.labels(lang=lang, outcome=outcome).inc(n)
        for reason, n in stats.rejected.items():
            self.rejected.labels(reason=reason).inc(n)
        for reason, n in stats.deadlettered.items():
            self.deadlettered.labels(reason=reason).inc(n)
        if stats.blocked_seconds:
            self.es_blocked.inc(stats.blocked_seconds)
        if stats.latency_count:
            self.latency.add(stats.latency_buckets, stats.latency_sum)
        self.deletions.labels(outcome="applied").inc(stats.deleted.applied)
        self.deletions.labels(outcome="unknown_post").inc(stats.deleted.unknown)
        self.deletions.labels(outcome="invalid").inc(stats.deletions_invalid)
        self.deadletters_removed.inc(stats.deleted.deadletters_removed)

    def record_progress(self, progress: Any, topic: str, now: float | None = None) -> None:
        """One `StreamingQueryProgress` (or anything with the same attributes)."""
        self.input_rows.inc(max(0, int(progress.numInputRows or 0)))
        self.input_rate.set(_finite(progress.inputRowsPerSecond))
        self.processed_rate.set(_finite(progress.processedRowsPerSecond))
        self.batch_duration.observe(max(0, int(progress.batchDuration or 0)) / 1000.0)
        self.last_batch.set(time.time() if now is None else now)
        behind = offsets_behind(progress.sources)
        if behind is not None:
            self.offsets_behind.labels(topic=topic).set(behind)


def _finite(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def offsets_behind(sources: Iterable[Any]) -> float | None:
    """Total lag of the Kafka source: avgOffsetsBehindLatest x partitions (Spark reports
    min/avg/max per partition; the sum is what a Kafka lag alert wants)."""
    for source in sources:
        metrics: Mapping[str, str] = getattr(source, "metrics", None) or {}
        if "avgOffsetsBehindLatest" not in metrics:
            continue
        avg = _finite(metrics.get("avgOffsetsBehindLatest"))
        partitions = _partition_count(getattr(source, "endOffset", None))
        if partitions:
            return round(avg * partitions)
        return _finite(metrics.get("maxOffsetsBehindLatest"))
    return None


def _partition_count(offsets: Any) -> int:
    try:
        parsed = json.loads(offsets) if isinstance(offsets, str) else offsets
    except ValueError:
        return 0
    if not isinstance(parsed, Mapping):
        return 0
    return sum(len(p) for p in parsed.values() if isinstance(p, Mapping))


# Spark's phases of one micro-batch (StreamingQueryProgress.durationMs), in the order they run,
# named for what they are in this job: the Kafka source's offset and batch reads, then
# `addBatch` (our foreachBatch: parse, validate, clean, score and bulk-write in one pass),
# then the checkpoint commit.
BATCH_PHASES = (
    ("kafka offsets", ("latestOffset",)),
    ("kafka batch", ("getBatch",)),
    ("planning", ("queryPlanning",)),
    ("process+write", ("addBatch",)),
    ("commit", ("walCommit", "commitOffsets")),
)


def batch_breakdown(progress: Any) -> str:
    """One log line of where a micro-batch's time went, from Spark's own progress report."""
    durations: Mapping[str, Any] = progress.durationMs or {}
    parts = [
        f"{label} {sum(int(durations.get(key) or 0) for key in keys)} ms" for label, keys in BATCH_PHASES
    ]
    total = int(durations.get("triggerExecution") or 0)
    return f"batch {progress.batchId} ({int(progress.numInputRows or 0)} rows): {', '.join(parts)}; total {total} ms"


def progress_from_json(text: str) -> SimpleNamespace:
    """A `StreamingQueryProgress` from its JSON (`StreamingQueryProgress.json()` in the JVM), with
    the attributes `record_progress` and `batch_breakdown` read; a source's offsets stay JSON text."""
    j = json.loads(text)
    sources = [
        SimpleNamespace(
            description=s.get("description"),
            startOffset=_json_text(s.get("startOffset")),
            endOffset=_json_text(s.get("endOffset")),
            latestOffset=_json_text(s.get("latestOffset")),
            numInputRows=s.get("numInputRows"),
            metrics=dict(s.get("metrics") or {}),
        )
        for s in j.get("sources") or []
    ]
    return SimpleNamespace(
        batchId=j.get("batchId"),
        batchDuration=j.get("batchDuration"),
        durationMs=dict(j.get("durationMs") or {}),
        numInputRows=j.get("numInputRows"),
        inputRowsPerSecond=j.get("inputRowsPerSecond"),
        processedRowsPerSecond=j.get("processedRowsPerSecond"),
        sources=sources,
    )


def _json_text(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else json.dumps(value)


def progress_listener(metrics: JobMetrics, topic: str) -> StreamingQueryListener:
    """A `StreamingQueryListener` feeding `metrics`.

    pyspark's own bridge turns every progress event into Python objects with ~25 Py4J calls
    (one per field, each a round trip between the JVM's listener thread and this process);
    at several batches a second that was a measurable share of the job's CPU (issue 17).
    This one asks the JVM for the progress as JSON: two calls per event.
    """

    class JsonProgressBridge(JStreamingQueryListener):
        def onQueryProgress(self, jevent: Any) -> None:
            event = SimpleNamespace(progress=progress_from_json(jevent.progress().json()))
            self.pylistener.onQueryProgress(event)  # type: ignore[arg-type]  # duck-typed event

    class ProgressListener(StreamingQueryListener):
        @property
        def _jlistener(self) -> Any:
            if not hasattr(self, "_jlistener_json"):
                jvm = SparkContext._jvm
                assert jvm is not None  # the session exists before a listener is added
                self._jlistener_json = jvm.PythonStreamingQueryListenerWrapper(JsonProgressBridge(self))
            return self._jlistener_json

        def onQueryStarted(self, event: QueryStartedEvent) -> None:
            log.info("query started: id=%s run=%s", event.id, event.runId)

        def onQueryProgress(self, event: QueryProgressEvent) -> None:
            started = time.perf_counter()
            try:
                metrics.record_progress(event.progress, topic)
                if event.progress.numInputRows:
                    log.info(
                        "%s; listener %.1f ms",
                        batch_breakdown(event.progress),
                        (time.perf_counter() - started) * 1000,
                    )
            except Exception:  # a metrics bug must not take the query down
                log.exception("could not record query progress")

        def onQueryIdle(self, event: QueryIdleEvent) -> None:
            pass

        def onQueryTerminated(self, event: QueryTerminatedEvent) -> None:
            if event.exception:
                log.error("query terminated with an error: %s", event.exception.splitlines()[0])
            else:
                log.info("query terminated")

    return ProgressListener()
