"""The interface every source implements, and the line splitting the line-based ones share."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator
from dataclasses import dataclass

from tweet_producer.events import (
    RAW_CAP_BYTES,
    Deletion,
    InvalidRecord,
    Post,
    Rejected,
    Skipped,
    check_size,
    internal_error,
    reject,
)
from tweet_producer.metrics import Metrics

log = logging.getLogger(__name__)

Item = Post | Deletion | Rejected | Skipped


class FatalSourceError(RuntimeError):
    """The source cannot go on and retrying will not help (bad credentials, rejected rules)."""


class Source(ABC):
    """Yields posts (and records to dead-letter) until the stream ends or `stop` is set.

    records() runs in its own thread (see `threaded`). It handles its own reconnects and reports
    connection state through `metrics`; it raises FatalSourceError when it must give up.
    """

    #: The `source` value of the events it produces (x, bluesky, replay, synthetic).
    name: str
    #: Run records() in a thread of its own (sources that block on the network). Sources
    #: that never block run in the main thread: at thousands of posts a second, handing
    #: each post from one thread to another costs more than producing it.
    threaded: bool = True

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    @abstractmethod
    def records(self, stop: threading.Event) -> Generator[Item, None, None]: ...

    def interrupt(self) -> None:  # noqa: B027 - optional hook, most sources need nothing
        """Called from another thread after `stop` is set: unblock a blocking read."""

    def commit(self, position: int) -> None:  # noqa: B027 - optional hook
        """Every post up to `position` is in Kafka: remember it for the next start."""


@dataclass(frozen=True, slots=True)
class Line:
    """One line: its content (at most the splitter's limit) and its full size in bytes."""

    data: bytes
    size: int


class LineSplitter:
    """Splits a byte stream into lines without ever holding more than `limit` bytes of one.

    Both "\\n" and "\\r\\n" end a line. A line longer than `limit` keeps its first `limit`
    bytes and reports its real size, so an oversized record is dead-lettered instead of
    exhausting memory.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._buf = bytearray()
        self._overflow = 0

    def _append(self, piece: bytes) -> None:
        room = self.limit - len(self._buf)
        if room >= len(piece):
            self._buf += piece
        else:
            if room > 0:
                self._buf += piece[:room]
            self._overflow += len(piece) - max(room, 0)

    def _take(self) -> Line:
        data = bytes(self._buf)
        size = len(data) + self._overflow
        if data.endswith(b"\r") and not self._overflow:
            data = data[:-1]
            size -= 1
        self._buf.clear()
        self._overflow = 0
        return Line(data, size)

    def feed(self, chunk: bytes) -> list[Line]:
        lines: list[Line] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                self._append(chunk[start:])
                return lines
            if not self._buf and not self._overflow:
                # Fast path: the whole line is inside this chunk.
                data = chunk[start:end]
                if len(data) <= self.limit:
                    if data.endswith(b"\r"):
                        data = data[:-1]
                    lines.append(Line(data, len(data)))
                    start = end + 1
                    continue
            self._append(chunk[start:end])
            lines.append(self._take())
            start = end + 1

    def finish(self) -> list[Line]:
        """The last line when the stream does not end with a newline."""
        if self._buf or self._overflow:
            return [self._take()]
        return []


def split_limit(max_post_bytes: int) -> int:
    """Keep enough of a line to parse it, or to quote it in the dead-letter record."""
    return max(max_post_bytes + 1, RAW_CAP_BYTES)


def parse_line(
    line: Line, source: str, max_post_bytes: int, parse: Callable[[bytes], Post | Skipped | None]
) -> Item | None:
    """One line of a line-based source → Post, Rejected, Skipped (no text), or None (blank line, or a line
    `parse` consumed itself, such as a stream error message)."""
    if line.size == 0 or not line.data.strip():
        return None
    try:
        check_size(line.data, max_post_bytes, line.size)
        return parse(line.data)
    except InvalidRecord as exc:
        return reject(source, line.data, exc, line.size)
    except Exception as exc:  # the per-record guard: no line may stop the source
        log.exception("unexpected error on a %s record; dead-lettered as internal_error", source)
        return internal_error(source, line.data, exc, line.size)
