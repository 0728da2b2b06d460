"""X's compliance streams: deletions of X posts, as deletion events (docs/deletions.md#x).

`GET /2/tweets/compliance/stream` (Post events) and `GET /2/users/compliance/stream`
(User events), Enterprise access, each split into 4 partitions (`partition=1..4`): 8
connections, one thread each, every one with the X streams' reconnect rules (sources/x.py:
keep-alives, stall timeout, linear/exponential/429 backoff, 401/403 fatal). A reconnect asks
for `backfill_minutes` (1-5, X's maximum) of the events it may have missed; the repeats it
brings are harmless (a deletion applied twice is `unknown_post` the second time).

Each line is `{"data": {<event>: {...}}}` (events.deletion_from_x_compliance): `delete`,
`drop`, `withheld` and `tweet_edit` become deletion events keyed `x:<id>`; `user_delete`,
`user_protect`, `user_suspend` and `user_withheld` account-level deletion events keyed
`x:author:<id>`; reverse events are skipped (`no_action`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator
from typing import Any

import requests

from tweet_producer.events import deletion_from_x_compliance
from tweet_producer.metrics import Metrics
from tweet_producer.sources.base import FatalSourceError, Item, Source
from tweet_producer.sources.x import XStreamSource
from tweet_producer.sources.xenvelope import x_stream_parser

POST_COMPLIANCE_PATH = "/2/tweets/compliance/stream"
USER_COMPLIANCE_PATH = "/2/users/compliance/stream"
PARTITIONS = (1, 2, 3, 4)
# X accepts 1-5: the most it keeps for a reconnecting client.
BACKFILL_MINUTES = 5
HANDOFF_SECONDS = 0.2


class _PartitionMetrics:
    """The source's metrics as one partition sees them: `connected` is true only while every
    partition is connected (a missing partition misses a quarter of its stream's events)."""

    def __init__(self, metrics: Metrics, connected: dict[str, bool], lock: threading.Lock, name: str) -> None:
        self._metrics = metrics
        self._connected = connected
        self._lock = lock
        self._name = name

    def set_connected(self, connected: bool) -> None:
        with self._lock:
            self._connected[self._name] = connected
            self._metrics.set_connected(all(self._connected.values()))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._metrics, name)


class CompliancePartition(XStreamSource):
    """One partition of one compliance stream: an X stream with its own path and parser."""

    def __init__(self, *, path: str, partition: int, **kwargs: Any) -> None:
        super().__init__(filtered=False, rules=None, **kwargs)
        self.path = path
        self.partition = partition
        parse = x_stream_parser(self.label, kwargs["metrics"], deletion_from_x_compliance)
        self._parse = parse  # type: ignore[assignment]

    @property
    def label(self) -> str:
        return f"{self.path}?partition={self.partition}"

    @property
    def stream_url(self) -> str:
        return self.base_url + self.path

    def stream_params(self, reconnecting: bool) -> dict[str, str]:
        params = {"partition": str(self.partition)}
        if reconnecting:
            params["backfill_minutes"] = str(BACKFILL_MINUTES)
        return params


class XComplianceSource(Source):
    """Both compliance streams, all partitions, merged into one sequence of items."""

    name = "x"

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        stall_timeout: float,
        max_post_bytes: int,
        metrics: Metrics,
        sleep: Callable[[float], object] | None = None,
        paths: tuple[str, ...] = (POST_COMPLIANCE_PATH, USER_COMPLIANCE_PATH),
        partitions: tuple[int, ...] = PARTITIONS,
    ) -> None:
        super().__init__(metrics)
        connected: dict[str, bool] = {}
        lock = threading.Lock()
        self.parts: list[CompliancePartition] = []
        for path in paths:
            for partition in partitions:
                label = f"{path}#{partition}"
                connected[label] = False
                self.parts.append(
                    CompliancePartition(
                        path=path,
                        partition=partition,
                        base_url=base_url,
                        token=token,
                        stall_timeout=stall_timeout,
                        max_post_bytes=max_post_bytes,
                        metrics=_PartitionMetrics(metrics, connected, lock, label),
                        session=requests.Session(),
                        sleep=sleep,
                    )
                )

    def interrupt(self) -> None:
        for part in self.parts:
            part.interrupt()

    def records(self, stop: threading.Event) -> Generator[Item, None, None]:
        items: queue.Queue[Item | BaseException] = queue.Queue(maxsize=10_000)
        inner = threading.Event()  # stops the partitions: ours, so a failing one stops all

        def pump(part: CompliancePartition) -> None:
            try:
                for item in part.records(inner):
                    while not inner.is_set():
                        try:
                            items.put(item, timeout=HANDOFF_SECONDS)
                            break
                        except queue.Full:
                            continue
            except BaseException as exc:  # a FatalSourceError (401/403) or a bug: end the source
                items.put(exc)

        threads = [
            threading.Thread(target=pump, args=(part,), name=f"x-compliance-{i}", daemon=True)
            for i, part in enumerate(self.parts)
        ]
        for thread in threads:
            thread.start()
        try:
            while not stop.is_set():
                try:
                    item = items.get(timeout=HANDOFF_SECONDS)
                except queue.Empty:
                    continue
                if isinstance(item, FatalSourceError):
                    raise item
                if isinstance(item, BaseException):
                    raise FatalSourceError(f"an X compliance stream failed: {item!r}") from item
                yield item
        finally:
            inner.set()
            self.interrupt()
            for thread in threads:
                thread.join(timeout=5)
