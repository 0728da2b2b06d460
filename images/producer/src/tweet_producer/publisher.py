"""Kafka publishing: events to KAFKA_TOPIC, bad records to KAFKA_DLQ_TOPIC, nothing lost.

kafka-python does the batching, compression and in-protocol retries (acks=all,
idempotent). On top of it this module:
- counts every delivery from the send futures' callbacks (published, dead-lettered,
  errors, latency);
- re-sends records whose delivery failed with a retriable error (the broker was down for
  longer than delivery_timeout_ms, an idempotent epoch bump failed in-flight batches), so
  an accepted post is never dropped; a record Kafka refuses for good is dead-lettered;
- bounds the bytes waiting for acknowledgement (KAFKA_BUFFER_MEMORY: kafka-python 3 has
  no buffer limit of its own), which pushes back on the source instead of growing;
- knows whether Kafka is reachable, for /readyz and producer_kafka_ready.
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaConfigurationError, KafkaTimeoutError

from tweet_producer.events import (
    Deletion,
    Post,
    Rejected,
    deadletter_value,
    deletion_value,
    event_value,
    raw_text,
    utc_now,
)
from tweet_producer.metrics import Metrics
from tweet_producer.partitioner import KeyPartitioner
from tweet_producer.settings import Settings

log = logging.getLogger(__name__)

PROBE_INTERVAL_SECONDS = 5.0
RETRY_MIN_SECONDS = 0.5
RETRY_MAX_SECONDS = 10.0
CONNECT_MAX_BACKOFF_SECONDS = 30.0


def producer_config(settings: Settings) -> dict[str, Any]:
    """KafkaProducer arguments for `settings` (pure; the secret stays a SecretStr until here)."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": "tweet-producer",
        "acks": "all",
        "enable_idempotence": True,
        # Retries are unbounded inside delivery_timeout_ms; the publisher re-sends after.
        "retry_backoff_ms": 250,
        "reconnect_backoff_ms": 250,
        "reconnect_backoff_max_ms": 5000,
        "delivery_timeout_ms": 120_000,
        "request_timeout_ms": 30_000,
        "max_in_flight_requests_per_connection": 5,
        "compression_type": None if settings.kafka_compression == "none" else settings.kafka_compression,
        "linger_ms": settings.kafka_linger_ms,
        "batch_size": settings.kafka_batch_size,
        # send() must not block a shutdown for long when metadata is unavailable.
        "max_block_ms": 5000,
        "bootstrap_timeout_ms": 5000,
        "security_protocol": settings.kafka_security_protocol,
        "partitioner": KeyPartitioner(),
    }
    if settings.kafka_security_protocol.startswith("SASL_"):
        assert settings.kafka_sasl_password is not None  # settings checked it
        config["sasl_mechanism"] = settings.kafka_sasl_mechanism
        config["sasl_plain_username"] = settings.kafka_sasl_username
        config["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL") and settings.kafka_ssl_cafile is not None:
        config["ssl_cafile"] = str(settings.kafka_ssl_cafile)
    return config


def is_retriable(exc: BaseException) -> bool:
    """Kafka errors say whether retrying can help; anything else (a socket error) is transient."""
    retriable = getattr(exc, "retriable", None)
    return True if retriable is None else bool(retriable)


def broker_reachable(servers: list[str], timeout: float = 2.0) -> bool:
    """Whether any bootstrap server accepts a TCP connection."""
    for server in servers:
        host, _, port = server.rpartition(":")
        with (
            contextlib.suppress(OSError),
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout),
        ):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    key: bytes | None
    value: bytes
    is_post: bool
    # A deletion event (on KAFKA_TOPIC, like posts; counted apart, dead-lettered like a post).
    is_deletion: bool = False

    @property
    def size(self) -> int:
        return len(self.value) + (len(self.key) if self.key else 0)


@dataclass(frozen=True, slots=True)
class Failed:
    """A record Kafka did not take. `confirmed`: the error is known to be this record's own
    (not a producer-wide failure it was caught up in)."""

    record: Record
    exc: BaseException
    confirmed: bool


class Publisher:
    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        stop: threading.Event,
        factory: Callable[..., Any] = KafkaProducer,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._stop = stop
        self._factory = factory
        self._producer: Any = None
        self._lock = threading.Lock()
        self._sent = 0
        self._done = 0
        self._sent_bytes = 0
        self._done_bytes = 0
        self._failed: deque[Failed] = deque()
        self._poisoned = False
        # When close() must be done by (monotonic); unbounded until then.
        self._deadline: Callable[[], float] = lambda: math.inf
        self._retry_at = 0.0
        self._retry_delay = RETRY_MIN_SECONDS
        self._last_ok = 0.0
        self._last_fail = 0.0
        self._reachable = False
        self.lost = 0

    # -- lifecycle -----------------------------------------------------------------------

    def connect(self) -> bool:
        """Create the Kafka producer, retrying until the cluster answers; False if stopped first."""
        attempt = 0
        servers = self._settings.kafka_bootstrap_servers
        while not self._stop.is_set():
            # A refused TCP connection is a cheap answer; only then let kafka-python
            # bootstrap (which blocks for bootstrap_timeout_ms when nobody answers).
            if not broker_reachable(self._settings.bootstrap_servers):
                attempt += 1
                delay = min(2.0**attempt, CONNECT_MAX_BACKOFF_SECONDS)
                log.warning("Kafka at %s is not reachable; retrying in %.0fs", servers, delay)
                self._stop.wait(delay)
                continue
            try:
                self._producer = self._factory(**producer_config(self._settings))
            except KafkaConfigurationError:
                raise
            except Exception as exc:
                attempt += 1
                delay = min(2.0**attempt, CONNECT_MAX_BACKOFF_SECONDS)
                self._metrics.publish_errors.labels(type(exc).__name__).inc()
                log.warning("Kafka at %s is not reachable (%s); retrying in %.0fs", servers, exc, delay)
                self._stop.wait(delay)
                continue
            log.info("connected to Kafka at %s", servers)
            self._reachable = True
            self._update_ready()
            threading.Thread(target=self._probe_loop, name="kafka-probe", daemon=True).start()
            return True
        return False

    def close(self, deadline: Callable[[], float]) -> int:
        """Wait (and re-send) until everything is acknowledged or deadline() (monotonic; it
        may move closer while we wait, e.g. on SIGTERM) passes, then close the producer.
        Returns how many records were not delivered."""
        if self._producer is None:
            return 0
        self._deadline = deadline
        while not self.idle() and time.monotonic() < deadline():
            self.service(force=True)
            self._wait_acks(min(deadline(), time.monotonic() + 1.0))
            if self._failed and not self.pending:
                # They failed again at once (Kafka still away): pause before the next round.
                time.sleep(max(0.0, min(0.5, deadline() - time.monotonic())))
        undelivered = self.pending + len(self._failed)
        try:
            self._producer.close(timeout=max(0.0, min(deadline() - time.monotonic(), 5.0)))
        except KafkaTimeoutError:
            log.error("Kafka producer closed with records still in flight")
        self._metrics.kafka_ready.set(0)
        return undelivered

    # -- state ---------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Records handed to kafka-python and not yet acknowledged or failed."""
        return self._sent - self._done

    @property
    def pending_bytes(self) -> int:
        return self._sent_bytes - self._done_bytes

    def idle(self) -> bool:
        return self.pending == 0 and not self._failed

    def backlogged(self) -> bool:
        """Too much is waiting for Kafka: stop taking posts from the source for now."""
        return self.pending_bytes >= self._settings.kafka_buffer_memory or len(self._failed) > 10_000

    def kafka_ready(self) -> bool:
        """Connected once, the brokers answer, and no retriable failure since the last success."""
        ready = self._producer is not None and self._reachable and self._last_fail <= self._last_ok
        self._metrics.kafka_ready.set(1 if ready else 0)
        return ready

    def _update_ready(self) -> None:
        self.kafka_ready()

    def _probe_loop(self) -> None:
        servers = self._settings.bootstrap_servers
        while not self._stop.wait(PROBE_INTERVAL_SECONDS):
            reachable = broker_reachable(servers)
            if reachable != self._reachable:
                log.log(
                    logging.INFO if reachable else logging.WARNING,
                    "Kafka %s",
                    "reachable again" if reachable else "unreachable",
                )
            self._reachable = reachable
            self._update_ready()

    def wait_idle(self, timeout: float) -> bool:
        """Block until every record sent so far is acknowledged (for cursor commits)."""
        deadline = time.monotonic() + timeout
        while not self.idle():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.002)
        return True

    def _wait_acks(self, until: float) -> None:
        while self.pending and time.monotonic() < until:
            time.sleep(0.005)

    # -- sending -------------------------------------------------------------------------

    def publish(self, post: Post) -> None:
        value = event_value(post, utc_now())
        self._send(Record(self._settings.kafka_topic, post.key, value, is_post=True))

    def publish_deletion(self, deletion: Deletion) -> None:
        value = deletion_value(deletion, utc_now())
        self._send(Record(self._settings.kafka_topic, deletion.key, value, is_post=True, is_deletion=True))

    def deadletter(self, rejected: Rejected) -> None:
        self._metrics.invalid(rejected.reason)
        value = deadletter_value(rejected, utc_now())
        self._send(Record(self._settings.kafka_dlq_topic, None, value, is_post=False))

    def _send(self, record: Record) -> None:
        size = record.size
        limit = self._settings.kafka_buffer_memory
        while self.pending_bytes + size > limit and self.pending and not self._stop.is_set():
            time.sleep(0.002)
        started = time.monotonic()
        try:
            future = self._producer.send(record.topic, value=record.value, key=record.key)
        except Exception as exc:
            # Refused before it was queued (e.g. larger than max_request_size): about this
            # record only, and the producer stays usable.
            self._failure(Failed(record, exc, confirmed=True))
            return
        # Only this (the main) thread writes the sent counters; callbacks write the done ones.
        self._sent += 1
        self._sent_bytes += size
        future.add_callback(self._on_success, record, started)
        future.add_errback(self._on_failure, record)

    def _on_success(self, record: Record, started: float, _metadata: Any) -> None:
        now = time.monotonic()
        with self._lock:
            self._done += 1
            self._done_bytes += record.size
        self._last_ok = now
        self._metrics.publish_latency.observe(now - started)
        if record.is_deletion:
            self._metrics.deletions_published.inc()
        elif record.is_post:
            self._metrics.posts_published.inc()
            self._metrics.last_post_timestamp.set(time.time())
        else:
            self._metrics.deadletter_published.inc()

    def _on_failure(self, record: Record, exc: BaseException) -> None:
        with self._lock:
            self._done += 1
            self._done_bytes += record.size
        if not is_retriable(exc):
            # kafka-python's idempotent producer turns any non-retriable delivery error
            # into a fatal state that fails every later send; service() starts a new one.
            self._poisoned = True
        self._failure(Failed(record, exc, confirmed=False))

    def _failure(self, failed: Failed) -> None:
        self._metrics.publish_errors.labels(type(failed.exc).__name__).inc()
        if is_retriable(failed.exc):
            self._last_fail = time.monotonic()
        if not self._failed:
            log.warning(
                "Kafka did not take a record for %s: %s: %s",
                failed.record.topic,
                type(failed.exc).__name__,
                failed.exc,
            )
        self._failed.append(failed)

    def service(self, force: bool = False) -> None:
        """Re-send failed records (with a growing pause between rounds); dead-letter the
        ones Kafka refuses for good. Called often from the main loop; cheap when idle."""
        if not self._failed:
            return
        now = time.monotonic()
        if not force and now < self._retry_at:
            return
        if self._poisoned:
            self._recover()
        if self._last_ok > self._last_fail:
            self._retry_delay = RETRY_MIN_SECONDS
        batch = [self._failed.popleft() for _ in range(len(self._failed))]
        if batch:
            log.warning("re-sending %d record(s) Kafka did not acknowledge", len(batch))
        for failed in batch:
            record, exc = failed.record, failed.exc
            if is_retriable(exc):
                self._send(record)
            elif not failed.confirmed:
                self._failed.append(failed)  # still a suspect: the next _recover() tries it alone
            elif record.is_post:
                error = f"Kafka refused the event: {type(exc).__name__}: {exc}"
                self.deadletter(
                    Rejected(self._metrics.source, raw_text(record.value), "publish_failed", error)
                )
            else:
                self.lost += 1
                log.error("dead-letter record lost: Kafka refused it: %s: %s", type(exc).__name__, exc)
        self._retry_at = now + self._retry_delay
        self._retry_delay = min(self._retry_delay * 2, RETRY_MAX_SECONDS)

    def _replace_producer(self) -> bool:
        old = self._producer
        # The old producer fails everything it still holds; collect those failures first.
        self._wait_acks(min(self._deadline(), time.monotonic() + 10.0))
        try:
            new = self._factory(**producer_config(self._settings))
        except Exception as exc:
            log.warning("cannot start a new Kafka producer yet: %s", exc)
            return False
        with contextlib.suppress(Exception):
            old.close(timeout=1.0)
        self._producer = new
        self._poisoned = False
        return True

    def _recover(self) -> None:
        """Replace a producer that a non-retriable error made unusable, then find the
        record(s) that caused it by sending each suspect alone: the innocent ones are
        delivered, a guilty one is marked `confirmed` (service() dead-letters it)."""
        while self._poisoned:
            log.error("the Kafka producer stopped after a non-retriable error; starting a new one")
            if not self._replace_producer():
                return
            suspects = [f for f in self._failed if not f.confirmed and not is_retriable(f.exc)]
            self._failed = deque(f for f in self._failed if f.confirmed or is_retriable(f.exc))
            if suspects:
                log.warning(
                    "re-sending %d record(s) one at a time to find the one Kafka refuses", len(suspects)
                )
            for index, suspect in enumerate(suspects):
                if time.monotonic() >= self._deadline():
                    self._failed.extend(suspects[index:])
                    return
                self._send(suspect.record)
                with contextlib.suppress(KafkaTimeoutError):
                    self._producer.flush(timeout=30.0)
                if self._poisoned:
                    # This record alone broke the producer: the culprit. The others are
                    # tried on the next producer.
                    culprit = self._failed.pop()
                    self._failed.append(Failed(culprit.record, culprit.exc, confirmed=True))
                    self._failed.extend(suspects[index + 1 :])
                    break
