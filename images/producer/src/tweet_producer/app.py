"""`tweet-producer`: read posts from the configured source and publish them to Kafka.

Threads: a network source (X, Jetstream) runs in its own thread and hands items over a
bounded queue, so a slow broker pushes back on it through the queue; replay and synthetic
never block and run in the main thread. Sources parse; the main thread only publishes. SIGTERM/SIGINT: stop reading,
publish what was already read, wait for Kafka's acknowledgements, exit 0, all within
SHUTDOWN_TIMEOUT_SECONDS.

Exit codes: 0 done (replay finished, or stopped by a signal with everything delivered);
1 the source failed for good (e.g. X answered 401) or records could not be delivered
before the shutdown deadline; 2 invalid configuration.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import queue
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

from tweet_producer.events import Deletion, Post, Rejected, Skipped
from tweet_producer.health import HealthServer
from tweet_producer.metrics import Metrics
from tweet_producer.publisher import Publisher
from tweet_producer.settings import Settings, SettingsError, load_settings
from tweet_producer.sources import FatalSourceError, Source, build_source, event_source_name

log = logging.getLogger("tweet_producer")

QUEUE_SIZE = 10_000
POLL_SECONDS = 0.1
# When the source ends by itself (replay done) nobody is waiting for us to exit, so give
# Kafka time to come back (a broker restart) before declaring records undelivered.
END_FLUSH_SECONDS = 300.0
EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


@dataclass(frozen=True, slots=True)
class End:
    """The source thread is done; `error` says why when it failed."""

    error: BaseException | None = None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # kafka-python logs every metadata retry as a warning while a broker is down; the
    # publisher reports reachability itself, so only kafka-python's errors show.
    if level != "DEBUG":
        logging.getLogger("kafka").setLevel(logging.ERROR)
        logging.getLogger("websockets").setLevel(logging.WARNING)


class ProducerApp:
    def __init__(self, settings: Settings, metrics: Metrics | None = None) -> None:
        assert settings.source is not None
        self.settings = settings
        self.metrics = metrics or Metrics(event_source_name(settings.source))
        self.stop = threading.Event()
        self.publisher = Publisher(settings, self.metrics, self.stop)
        self.source: Source | None = None
        self._queue: queue.Queue[Post | Deletion | Rejected | Skipped | End] = queue.Queue(maxsize=QUEUE_SIZE)
        self._abandon = threading.Event()
        self._deadline = math.inf
        self._position: int | None = None
        self._next_commit = time.monotonic() + settings.jetstream_cursor_save_seconds
        self.received = 0
        # Bind the port now so a taken port fails at start, not later.
        self.health = HealthServer(
            settings.metrics_host, settings.metrics_port, self.metrics.registry, self.readiness
        )

    # -- signals and health --------------------------------------------------------------

    def request_stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        if signum is not None:
            log.info("received %s: stopping", signal.Signals(signum).name)
        self._deadline = min(self._deadline, time.monotonic() + self.settings.shutdown_timeout_seconds - 0.5)
        self.stop.set()
        if self.source is not None:
            self.source.interrupt()

    def readiness(self) -> tuple[bool, str]:
        problems = []
        if not self.metrics.connected:
            problems.append("source not connected")
        if not self.publisher.kafka_ready():
            problems.append("Kafka not reachable")
        return (not problems, ", ".join(problems))

    # -- source thread -------------------------------------------------------------------

    def _put(self, item: Post | Deletion | Rejected | Skipped | End) -> bool:
        """Hand an item to the main thread; blocks while the queue is full (back-pressure).

        Gives up only when the shutdown drain is over (`_abandon`): an item read is an item
        accepted, and the drain publishes it.
        """
        while not self._abandon.is_set():
            try:
                self._queue.put(item, timeout=POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _pump(self, source: Source) -> None:
        error: BaseException | None = None
        try:
            with contextlib.closing(source.records(self.stop)) as records:
                for item in records:
                    if not self._put(item) or self.stop.is_set():
                        break
        except FatalSourceError as exc:
            error = exc
        except Exception as exc:
            log.exception("the %s source failed", source.name)
            error = exc
        finally:
            self._put(End(error))

    # -- main loop -----------------------------------------------------------------------

    def _handle(self, item: Post | Deletion | Rejected | Skipped) -> None:
        self.received += 1
        self.metrics.received.inc()
        if isinstance(item, Post):
            self.publisher.publish(item)
            if item.position is not None:
                self._position = item.position
        elif isinstance(item, Deletion):
            # Same topic, same key as the post: Kafka keeps it after the post's creation.
            self.publisher.publish_deletion(item)
            if item.position is not None:
                self._position = item.position
        elif isinstance(item, Skipped):
            # Not a text post (contract): counted, neither published nor dead-lettered.
            self.metrics.skipped(item.reason)
            if item.position is not None:
                self._position = item.position
        else:
            self.publisher.deadletter(item)

    def _maybe_commit(self, force: bool = False) -> None:
        """Save the source's cursor once everything before it is in Kafka."""
        if self._position is None or self.source is None:
            return
        now = time.monotonic()
        if not force and now < self._next_commit:
            return
        self._next_commit = now + self.settings.jetstream_cursor_save_seconds
        if self.publisher.wait_idle(timeout=1.0):
            self.source.commit(self._position)

    def run(self) -> int:
        health = self.health
        health.start()
        log.info("metrics and health on %s:%d", self.settings.metrics_host, health.port)
        try:
            if not self.publisher.connect():
                return EXIT_OK
            self.source = build_source(self.settings, self.metrics)
            if self.stop.is_set():
                return EXIT_OK
            if not self.source.threaded:
                return self._shutdown(None, self._loop_inline(self.source))
            pump = threading.Thread(target=self._pump, args=(self.source,), name="source", daemon=True)
            pump.start()
            end = self._loop()
            return self._shutdown(pump, end)
        finally:
            health.stop()

    def _loop_inline(self, source: Source) -> End | None:
        """The main loop for sources that never block: they run right here."""
        publisher = self.publisher
        try:
            with contextlib.closing(source.records(self.stop)) as records:
                for item in records:
                    self._handle(item)
                    publisher.service()
                    while publisher.backlogged() and not self.stop.is_set():
                        time.sleep(0.005)
                        publisher.service()
                    if self.stop.is_set():
                        return None
        except Exception as exc:
            log.exception("the %s source failed", source.name)
            return End(exc)
        return End(None)

    def _loop(self) -> End | None:
        publisher = self.publisher
        get = self._queue.get
        while not self.stop.is_set():
            publisher.service()
            self._maybe_commit()
            if publisher.backlogged():
                time.sleep(0.005)
                continue
            try:
                item = get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if isinstance(item, End):
                return item
            self._handle(item)
        return None

    def _drain_nowait(self) -> Iterator[Post | Deletion | Rejected | Skipped | End]:
        while True:
            try:
                yield self._queue.get_nowait()
            except queue.Empty:
                return

    def _shutdown(self, pump: threading.Thread | None, end: End | None) -> int:
        now = time.monotonic()
        if end is None:
            self._deadline = min(self._deadline, now + self.settings.shutdown_timeout_seconds - 0.5)
        else:
            self._deadline = min(
                self._deadline, now + max(END_FLUSH_SECONDS, self.settings.shutdown_timeout_seconds)
            )
        self.stop.set()
        if self.source is not None:
            self.source.interrupt()
        if end is None and pump is not None:
            # Publish what the source already read; give the drain at most a third of the budget.
            drain_until = time.monotonic() + self.settings.shutdown_timeout_seconds / 3
            while time.monotonic() < drain_until:
                try:
                    item = self._queue.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    if not pump.is_alive():
                        break
                    continue
                if isinstance(item, End):
                    end = item
                    break
                self._handle(item)
            self._abandon.set()
        # Read but never handed to Kafka (only when the drain ran out of time).
        unsent = sum(1 for item in self._drain_nowait() if not isinstance(item, End))
        undelivered = self.publisher.close(lambda: self._deadline) + unsent
        if undelivered == 0:
            self._maybe_commit(force=True)
        sample = self.metrics.registry.get_sample_value
        log.info(
            "stopped: received=%d published=%d deadlettered=%d undelivered=%d",
            self.received,
            int(sample("producer_posts_published_total") or 0),
            int(sample("producer_deadletter_published_total") or 0),
            undelivered,
        )
        if undelivered:
            log.error("%d record(s) were not acknowledged by Kafka before the shutdown deadline", undelivered)
            return EXIT_FAILED
        if self.publisher.lost:
            return EXIT_FAILED
        if end is not None and end.error is not None:
            log.error("source failed: %s", end.error)
            return EXIT_FAILED
        return EXIT_OK


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"tweet-producer: invalid configuration: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings.log_level, settings.log_format)
    log.info("starting with %s", settings.redacted())
    try:
        app = ProducerApp(settings)
    except OSError as exc:
        log.error("cannot start: %s", exc)
        return EXIT_FAILED
    signal.signal(signal.SIGTERM, app.request_stop)
    signal.signal(signal.SIGINT, app.request_stop)
    return app.run()


if __name__ == "__main__":
    sys.exit(main())
