"""Replay: JSON Lines files (plain or gzip) in the X API v2 stream envelope, one post per line."""

from __future__ import annotations

import gzip
import io
import logging
import threading
from collections.abc import Callable, Generator
from pathlib import Path

from tweet_producer.metrics import Metrics
from tweet_producer.pacing import Pacer
from tweet_producer.sources.base import Item, LineSplitter, Source, parse_line, split_limit
from tweet_producer.sources.xenvelope import x_line_parser

log = logging.getLogger(__name__)
READ_CHUNK = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"


def open_replay(path: Path) -> io.BufferedIOBase:
    """The file's bytes, gunzipped when it is gzip (by content, whatever its name)."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == GZIP_MAGIC:
        return gzip.open(path, "rb")
    return open(path, "rb")


class ReplaySource(Source):
    name = "replay"
    threaded = False

    def __init__(
        self,
        path: Path,
        rate: float,
        loop: bool,
        max_post_bytes: int,
        metrics: Metrics,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        super().__init__(metrics)
        self.path = path
        self.rate = rate
        self.loop = loop
        self.max_post_bytes = max_post_bytes
        self._sleep = sleep
        self._parse = x_line_parser(self.name, metrics)

    def records(self, stop: threading.Event) -> Generator[Item, None, None]:
        pacer = Pacer(self.rate, sleep=self._sleep or stop.wait)
        passes = 0
        self.metrics.set_connected(True)
        try:
            while not stop.is_set():
                passes += 1
                log.info("replaying %s (pass %d, %s posts/s)", self.path, passes, self.rate or "unlimited")
                splitter = LineSplitter(split_limit(self.max_post_bytes))
                with open_replay(self.path) as stream:
                    while chunk := stream.read(READ_CHUNK):
                        for line in splitter.feed(chunk):
                            item = parse_line(line, self.name, self.max_post_bytes, self._parse)
                            if item is not None:
                                yield item
                                pacer.tick()
                        if stop.is_set():
                            return
                for line in splitter.finish():
                    item = parse_line(line, self.name, self.max_post_bytes, self._parse)
                    if item is not None:
                        yield item
                if not self.loop:
                    log.info("replay of %s done", self.path)
                    return
        finally:
            self.metrics.set_connected(False)
