"""Bluesky through Jetstream: keyless JSON over WebSocket, post creations only.

https://github.com/bluesky-social/jetstream: `wantedCollections=app.bsky.feed.post`
limits the firehose to posts; every event has a `time_us` cursor. The cursor of the last
post Kafka acknowledged is saved to JETSTREAM_CURSOR_FILE and sent back as `cursor=` on
restart, so a restart skips nothing (Jetstream replays from there; the few repeats are
deduplicated downstream by key).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import connect

from tweet_producer.backoff import Failure, ReconnectBackoff
from tweet_producer.events import (
    BLUESKY_POST,
    InvalidRecord,
    check_size,
    decode_json,
    internal_error,
    post_from_jetstream,
    reject,
    valid_time_us,
)
from tweet_producer.metrics import Metrics
from tweet_producer.sources.base import FatalSourceError, Item, Source

log = logging.getLogger(__name__)

# Jetstream sends thousands of events a minute even for posts only; this long a silence
# means the connection is dead even if pings still pass.
STALL_SECONDS = 60.0
RECV_POLL_SECONDS = 0.5


def jetstream_url(base: str, cursor: int | None) -> str:
    """The subscribe URL with wantedCollections=app.bsky.feed.post and the cursor, if any."""
    parts = urlsplit(base)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "cursor"]
    if not any(k == "wantedCollections" for k, _ in query):
        query.append(("wantedCollections", BLUESKY_POST))
    if cursor is not None:
        query.append(("cursor", str(cursor)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def read_cursor(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("cannot read the Jetstream cursor %s (%s); starting live", path, exc)
        return None
    if not text.isdigit():
        log.warning("ignoring the Jetstream cursor in %s: %r is not a time_us", path, text[:40])
        return None
    return int(text)


def write_cursor(path: Path, cursor: int) -> None:
    """Atomically (write then rename), so a crash never leaves half a number."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{cursor}\n", encoding="ascii")
    os.replace(tmp, path)


class JetstreamSource(Source):
    name = "bluesky"

    def __init__(
        self,
        url: str,
        cursor_file: Path,
        max_post_bytes: int,
        metrics: Metrics,
        sleep: Callable[[float], object] | None = None,
        stall_seconds: float = STALL_SECONDS,
    ) -> None:
        super().__init__(metrics)
        self.url = url
        self.cursor_file = cursor_file
        self.max_post_bytes = max_post_bytes
        self.stall_seconds = stall_seconds
        self._sleep = sleep
        # The time_us of the last event read: where a reconnect resumes.
        self.last_time_us: int | None = None
        self._committed: int | None = None
        self._warned_write = False

    def commit(self, position: int) -> None:
        if position == self._committed:
            return
        try:
            self.cursor_file.parent.mkdir(parents=True, exist_ok=True)
            write_cursor(self.cursor_file, position)
            self._committed = position
        except OSError as exc:
            if not self._warned_write:
                log.error(
                    "cannot save the Jetstream cursor to %s: %s (a restart will start live)",
                    self.cursor_file,
                    exc,
                )
                self._warned_write = True

    def _handle(self, message: str | bytes) -> Item | None:
        # surrogatepass: a text frame is valid UTF-8 by the WebSocket protocol, but keep the
        # per-record guard's promise even for a str that is not.
        data = message.encode("utf-8", "surrogatepass") if isinstance(message, str) else message
        try:
            check_size(data, self.max_post_bytes)
            doc = decode_json(data)
            # The reconnect cursor moves only on a time_us that is one (not `true`, not 10**18).
            time_us = valid_time_us(doc.get("time_us")) if isinstance(doc, dict) else None
            if time_us is not None:
                self.last_time_us = time_us
            return post_from_jetstream(doc)
        except InvalidRecord as exc:
            return reject(self.name, data, exc)
        except Exception as exc:  # the per-record guard: no message may stop the source
            log.exception("unexpected error on a Jetstream message; dead-lettered as internal_error")
            return internal_error(self.name, data, exc)

    def _messages(self, ws: Any, stop: threading.Event) -> Iterator[Item]:
        last_message = time.monotonic()
        while not stop.is_set():
            try:
                message = ws.recv(timeout=RECV_POLL_SECONDS)
            except TimeoutError:
                if time.monotonic() - last_message > self.stall_seconds:
                    raise
                continue
            last_message = time.monotonic()
            item = self._handle(message)
            if item is not None:
                yield item

    def records(self, stop: threading.Event) -> Generator[Item, None, None]:
        sleep = self._sleep or stop.wait
        self.last_time_us = read_cursor(self.cursor_file)
        self._committed = self.last_time_us
        if self.last_time_us is not None:
            log.info("resuming Jetstream from the saved cursor %d", self.last_time_us)
        backoff = ReconnectBackoff()
        while not stop.is_set():
            url = jetstream_url(self.url, self.last_time_us)
            try:
                ws = connect(
                    url,
                    open_timeout=10,
                    max_size=max(2**20, 4 * self.max_post_bytes),
                    compression=None,
                    user_agent_header="tweet-sentiment-producer/0.1",
                )
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status == 429:
                    reason, delay = "rate_limited", backoff.next_delay(Failure.RATE_LIMIT)
                else:
                    reason, delay = "http_error", backoff.next_delay(Failure.HTTP)
                log.warning("Jetstream %s refused the connection: HTTP %d", self.url, status)
            except InvalidURI as exc:
                raise FatalSourceError(f"JETSTREAM_URL: {exc}") from exc
            except (OSError, TimeoutError, InvalidHandshake) as exc:
                reason, delay = "network", backoff.next_delay(Failure.NETWORK)
                log.warning("cannot connect to Jetstream %s: %s", self.url, exc)
            else:
                backoff.reset()
                self.metrics.set_connected(True)
                log.info("connected to %s", url)
                try:
                    yield from self._messages(ws, stop)
                    reason = "stopped"
                except TimeoutError:
                    reason = "stall"
                    log.warning("no message from Jetstream for %.0fs: stalled", self.stall_seconds)
                except ConnectionClosed as exc:
                    reason = "closed" if exc.rcvd is not None else "network"
                    log.warning("Jetstream connection closed: %s", exc)
                except OSError as exc:
                    reason = "network"
                    log.warning("Jetstream connection broke: %s", exc)
                finally:
                    self.metrics.set_connected(False)
                    with contextlib.suppress(Exception):
                        ws.close()
                delay = backoff.next_delay(Failure.NETWORK)
            if stop.is_set():
                return
            self.metrics.reconnect(reason)
            log.info("reconnecting to Jetstream in %.2fs (%s, cursor %s)", delay, reason, self.last_time_us)
            sleep(delay)
