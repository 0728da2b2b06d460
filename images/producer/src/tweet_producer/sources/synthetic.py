"""Synthetic: an endless, seeded stream of realistic posts for demos, load tests, benchmarks."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Generator

from tweet_producer.events import InvalidRecord, post_from_x, reject
from tweet_producer.metrics import Metrics
from tweet_producer.pacing import Pacer
from tweet_producer.sources.base import Item, Source
from tweet_producer.sources.synthetic_text import SyntheticTextGenerator

log = logging.getLogger(__name__)


class SyntheticSource(Source):
    name = "synthetic"
    threaded = False

    def __init__(
        self,
        rate: float,
        seed: int,
        limit: int,
        metrics: Metrics,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        super().__init__(metrics)
        self.rate = rate
        self.seed = seed
        self.limit = limit
        self._sleep = sleep

    def records(self, stop: threading.Event) -> Generator[Item, None, None]:
        generator = SyntheticTextGenerator(seed=self.seed)
        pacer = Pacer(self.rate, sleep=self._sleep or stop.wait)
        log.info(
            "generating %s posts at %s posts/s (seed %d)",
            self.limit or "endless",
            self.rate or "unlimited",
            self.seed,
        )
        self.metrics.set_connected(True)
        try:
            produced = 0
            while not stop.is_set() and (self.limit == 0 or produced < self.limit):
                envelope = generator.next_envelope()
                try:
                    yield post_from_x(envelope, self.name)
                except InvalidRecord as exc:
                    # The generator is ours, but a bad record still goes to the DLQ, visibly.
                    yield reject(self.name, json.dumps(envelope, ensure_ascii=False), exc)
                produced += 1
                pacer.tick()
        finally:
            self.metrics.set_connected(False)
