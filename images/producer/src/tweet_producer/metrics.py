"""The producer's Prometheus metrics (names are a contract; `make docs` writes the README's table from them).

One Metrics object per process holds its own registry, so tests can build several
without clashing. The counters the hot path touches are resolved to their label children
once, not per post.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
)


class Metrics:
    def __init__(self, source: str, registry: CollectorRegistry | None = None) -> None:
        self.source = source
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        if registry is None:
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)
        self.posts_received = Counter(
            "producer_posts_received", "Records read from the source (valid or not).", ["source"], registry=r
        )
        self.posts_published = Counter(
            "producer_posts_published", "Events Kafka acknowledged on KAFKA_TOPIC.", registry=r
        )
        self.publish_errors = Counter(
            "producer_publish_errors",
            "Failed Kafka sends or deliveries, by Kafka error (each is retried or dead-lettered).",
            ["reason"],
            registry=r,
        )
        self.records_invalid = Counter(
            "producer_records_invalid",
            "Records that could not become an event and went to the dead-letter topic; a new reason or a jump "
            "means the source changed.",
            ["source", "reason"],
            registry=r,
        )
        self.records_skipped = Counter(
            "producer_records_skipped",
            "Records that are not text posts (e.g. image-only), by reason: neither published nor dead-lettered.",
            ["source", "reason"],
            registry=r,
        )
        self.deletions_published = Counter(
            "producer_deletions_published",
            "Deletion events Kafka acknowledged on KAFKA_TOPIC (a post deleted at the source; the job "
            "removes it from the index).",
            registry=r,
        )
        self.deadletter_published = Counter(
            "producer_deadletter_published", "Dead-letter records Kafka acknowledged.", registry=r
        )
        self.stream_connected = Gauge(
            "producer_stream_connected",
            "1 while the source is connected (or the file open).",
            ["source"],
            registry=r,
        )
        self.stream_reconnects = Counter(
            "producer_stream_reconnects",
            "Reconnects of the source stream, by cause; steady growth means a flapping stream.",
            ["source", "reason"],
            registry=r,
        )
        self.stream_error_messages = Counter(
            "producer_stream_error_messages",
            'Error messages inside the stream (X {"errors": [...]} lines), by type.',
            ["source", "type"],
            registry=r,
        )
        self.publish_latency = Histogram(
            "producer_publish_latency_seconds",
            "From send() to Kafka's acknowledgement (acks=all).",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.last_post_timestamp = Gauge(
            "producer_last_post_timestamp_seconds",
            "Unix time of the last event Kafka acknowledged (alert on staleness).",
            registry=r,
        )
        self.kafka_ready = Gauge(
            "producer_kafka_ready",
            "1 when the Kafka cluster is reachable and no delivery failure is unresolved.",
            registry=r,
        )

        # Hot-path children, resolved once; series start at 0 so dashboards see them.
        self.received = self.posts_received.labels(source)
        self.stream_connected.labels(source).set(0)
        self._connected = False

    def set_connected(self, connected: bool) -> None:
        self._connected = connected
        self.stream_connected.labels(self.source).set(1 if connected else 0)

    @property
    def connected(self) -> bool:
        return self._connected

    def reconnect(self, reason: str) -> None:
        self.stream_reconnects.labels(self.source, reason).inc()

    def stream_error(self, kind: str) -> None:
        self.stream_error_messages.labels(self.source, kind).inc()

    def skipped(self, reason: str) -> None:
        self.records_skipped.labels(self.source, reason).inc()

    def invalid(self, reason: str) -> None:
        self.records_invalid.labels(self.source, reason).inc()
