"""Elasticsearch side: the bulk round trip by bulk size, and what `refresh_interval` buys and costs.

Against the local Elasticsearch the bench starts, with the job's own documents and code:
the posts are the producer's synthetic ones, prepared and scored by the job's per-partition
pass (`batch.run_partition`, the default analyzer), turned into bulk actions by
`sink.document_action` and sent by `sink.bulk_with_retries` with the job's client settings.
Every index is created fresh from the job's own template (`es_setup.load_template`), only
`refresh_interval` overridden, and deleted afterwards.

1. **bulk size**: one writer sends requests of N documents back to back for a window;
   round trip = the `bulk_with_retries` call (serialise, send, Elasticsearch indexes, the
   response parsed), the span the job's `indexed_at` stamp does not include.
2. **refresh interval**, for each value:
   - *acknowledged → searchable*: a writer sends small bulks (10 documents) at random gaps
     while a poller counts the index's searchable documents (`_count`) back to back; a bulk
     is searchable at the first count, answered after its acknowledgement, that includes it
     (counts only grow: every bulk is acknowledged before the next is sent);
   - *indexing rate*: two writers (the job's 2 cores) send bulks of ES_BULK_CHUNK_SIZE
     documents back to back; docs/s acknowledged over the window, median of the runs (the
     intervals interleaved, so a drifting load hits them alike), with the index's refresh
     and merge counts and its segments at the end.

The statistics and the page section are pure functions (tested in tests/devtools).
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from devtools.bench.stats import median, percentile

BULK_SIZES = (25, 100, 500, 1000, 2000, 5000)
REFRESH_INTERVALS = ("1s", "500ms", "250ms", "100ms")
VISIBILITY_BULK = 10
POLL_SLEEP = 0.005
THROUGHPUT_WRITERS = 2
T = TypeVar("T")


# ----------------------------------------------------------------------------- results


@dataclass
class BulkSize:
    """Round trips (s) of back-to-back bulk requests of `size` documents from one writer."""

    size: int
    seconds: list[float] = field(default_factory=list)
    wall: float = 0.0  # the window: first send to last acknowledgement
    retried: int = 0  # requests that needed a retry (429/5xx): their backoff is in `seconds`

    def p(self, q: float) -> float:
        return percentile(self.seconds, q)

    @property
    def docs_per_s(self) -> float:
        return self.size * len(self.seconds) / self.wall if self.wall > 0 else float("nan")


@dataclass
class Refresh:
    """One `refresh_interval`: acknowledged → searchable (s), and indexing runs (docs/s)."""

    interval: str
    visible: list[float] = field(default_factory=list)
    poll_gap: float = float("nan")  # median time between two counts (s): the resolution
    rates: list[float] = field(default_factory=list)
    refreshes_per_s: list[float] = field(default_factory=list)
    merges: list[int] = field(default_factory=list)
    segments: list[int] = field(default_factory=list)
    # Elasticsearch's own accounting: time spent refreshing and merging per 1,000 documents (ms).
    upkeep_ms: list[float] = field(default_factory=list)

    def p(self, q: float) -> float:
        return percentile(self.visible, q)

    @property
    def rate(self) -> float:
        return median(self.rates)


@dataclass
class EsResult:
    bulk: list[BulkSize] = field(default_factory=list)
    refresh: list[Refresh] = field(default_factory=list)
    doc_bytes: float = 0.0  # mean bytes of one document in a bulk body (action + source lines)
    throughput_chunk: int = 0  # documents per bulk in the indexing-rate runs
    bulk_window: float = 0.0
    visibility_window: float = 0.0
    throughput_window: float = 0.0
    runs: int = 1


# ----------------------------------------------------------------------------- pure statistics


def searchable_after(acks: Sequence[tuple[float, int]], polls: Sequence[tuple[float, int]]) -> list[float]:
    """Acknowledged → searchable (s) of each bulk.

    `acks`: (time the bulk was acknowledged, documents acknowledged in total after it), in
    order; `polls`: (time a count came back, the count), in order. A bulk is searchable at
    the first count that came back after its acknowledgement and includes it. Bulks that no
    count included are left out.
    """
    times = [t for t, _ in polls]
    out = []
    for acked_at, total in acks:
        i = bisect.bisect_left(times, acked_at)
        for t, count in polls[i:]:
            if count >= total:
                out.append(t - acked_at)
                break
    return out


def rotated(items: Sequence[T], k: int) -> list[T]:
    """`items` started at position k (mod len): run k of an interleaved series."""
    if not items:
        return []
    k %= len(items)
    return [*items[k:], *items[:k]]


def interval_seconds(value: str) -> float:
    """An Elasticsearch time value (`1s`, `250ms`, `-1`) in seconds (`-1`: never, inf)."""
    value = value.strip()
    if value == "-1":
        return float("inf")
    for unit, factor in (("ms", 0.001), ("s", 1.0), ("m", 60.0)):
        if value.endswith(unit):
            return float(value[: -len(unit)]) * factor
    raise ValueError(f"not an Elasticsearch time value: {value!r}")


# ----------------------------------------------------------------------------- the page


def _ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:,.0f}"


def _rate(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.0f}"


def _bytes(value: float) -> str:
    if math.isnan(value) or value <= 0:
        return "n/a"
    return f"{value / 1024:,.0f} KiB" if value < 1024 * 1024 else f"{value / 1024 / 1024:,.1f} MiB"


def _rel(value: float, base: float) -> str:
    if math.isnan(value) or math.isnan(base) or not base:
        return "n/a"
    return f"{value / base - 1:+.0%}"


def _row(rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(r) + " |" for r in rows]


def section(result: EsResult | None, defaults: dict[str, Any]) -> list[str]:
    """The page's Elasticsearch section. `defaults`: the shipped `refresh_interval` and
    `ES_BULK_CHUNK_SIZE`, to name them in the text."""
    if result is None:
        return []
    out = [
        "## 6. Elasticsearch: bulk size and refresh interval",
        "",
        "Against the same local Elasticsearch, without Kafka or Spark, with the job's own documents",
        "and code: synthetic posts prepared and scored by the job's transform "
        f"(~{result.doc_bytes:,.0f} bytes per",
        "document in a bulk body), bulk actions built by `sink.document_action` and sent by",
        "`sink.bulk_with_retries` with the job's client settings; each index fresh from the job's",
        "template (`es_setup`), only `refresh_interval` changed. `python -m devtools.bench.es`",
        "runs this part alone (see its docstring).",
        "",
    ]
    if result.bulk:
        base = min(result.bulk, key=lambda b: b.size)
        out += [
            "**Bulk round trip by bulk size**: one writer, requests back to back into a fresh index, "
            f"{result.runs} window(s)",
            f"of {result.bulk_window:g} s per size (sizes interleaved), all requests pooled; round trip = "
            "`bulk_with_retries` (build",
            "the request, send it, Elasticsearch indexes, the answer parsed), the span the job's",
            "`indexed_at` stamp does not include:",
            "",
            "| documents per bulk | request body | requests | round trip p50 / p99 (ms) | ms per 1,000 docs (p50) "
            "| docs/s |",
            "| --- | --- | --- | --- | --- | --- |",
            *_row(
                [
                    [
                        f"{b.size:,}" + (" (default)" if b.size == defaults.get("bulk_chunk_size") else ""),
                        _bytes(b.size * result.doc_bytes),
                        f"{len(b.seconds):,}" + (f" ({b.retried} retried)" if b.retried else ""),
                        f"{_ms(b.p(50))} / {_ms(b.p(99))}",
                        _ms(b.p(50) / b.size * 1000) if b.seconds else "n/a",
                        _rate(b.docs_per_s),
                    ]
                    for b in result.bulk
                ]
            ),
            "",
        ]
        best = max(result.bulk, key=lambda b: -1.0 if math.isnan(b.docs_per_s) else b.docs_per_s)
        out += [
            f"One writer peaks at {_rate(best.docs_per_s)} docs/s with bulks of {best.size:,} "
            f"({_rel(best.docs_per_s, base.docs_per_s)} over {base.size:,} per bulk).",
            "",
        ]
    if result.refresh:
        base_r = next((r for r in result.refresh if r.interval == "1s"), result.refresh[0])
        rows = []
        for r in result.refresh:
            name = r.interval + (" (default)" if r.interval == defaults.get("refresh_interval") else "")
            rows.append(
                [
                    name,
                    f"{_ms(r.p(50))} / {_ms(r.p(99))}",
                    f"{len(r.visible):,}",
                    _rate(r.rate),
                    _rel(r.rate, base_r.rate) if r is not base_r else "(baseline)",
                    f"{median(r.refreshes_per_s):.1f}" if r.refreshes_per_s else "n/a",
                    f"{median([float(m) for m in r.merges]):.0f}" if r.merges else "n/a",
                    f"{median([float(s) for s in r.segments]):.0f}" if r.segments else "n/a",
                    f"{median(r.upkeep_ms):.1f}" if r.upkeep_ms else "n/a",
                ]
            )
        gaps = [r.poll_gap for r in result.refresh if not math.isnan(r.poll_gap)]
        out += [
            f"**Refresh interval.** *Acknowledged → searchable*: one writer sends bulks of {VISIBILITY_BULK} "
            f"documents at random gaps (20–80 ms) for {result.visibility_window:.0f} s,",
            "while a poller counts the index's searchable documents (`_count`) back to back"
            + (f", one count every ~{median(gaps) * 1000:.0f} ms" if gaps else "")
            + "; a bulk's latency runs",
            "from its acknowledgement to the first count, answered after it, that includes it (the",
            f"poll's own round trip is in it). *Indexing rate*: {THROUGHPUT_WRITERS} writers (the job's "
            f"2 cores), bulks of {result.throughput_chunk:,} back to back",
            f"for {result.throughput_window:.0f} s into a fresh index, median of {result.runs} run(s), "
            "the intervals interleaved. These bodies are the same",
            "documents serialised once, only the ids filled in per request, so that the client's Python",
            "does not take the CPU Elasticsearch needs on 2 cores. Refreshes/s, merges (since the index",
            "was created), segments (at the end) and *upkeep* (Elasticsearch's own refresh + merge time",
            "per 1,000 documents indexed) are the index's stats, medians of the runs.",
            "",
            "| refresh_interval | acknowledged → searchable p50 / p99 (ms) | bulks | indexing docs/s | vs 1s "
            "| refreshes/s | merges | segments | upkeep ms / 1,000 docs |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            *_row(rows),
            "",
        ]
    out += [
        "**What you trade** (the figures above; the defaults are `refresh_interval: "
        f"{defaults.get('refresh_interval', 'n/a')}` in the index template and "
        f"`ES_BULK_CHUNK_SIZE={defaults.get('bulk_chunk_size', 'n/a')}`; why, in "
        "[spark-job.md](spark-job.md#elasticsearch-tuning-what-you-trade)):",
        "",
        "- a lower `refresh_interval` makes a post searchable sooner (the wait after the",
        "  acknowledgement is up to one interval plus the refresh itself), but every refresh writes",
        "  a new small segment: more segments to merge and to search, and a lower peak indexing rate;",
        "- a higher one (or `-1`, no refresh, during a backfill or re-index; set it back afterwards)",
        "  indexes faster and makes documents searchable later;",
        "- bigger bulks mean fewer round trips (the fixed cost per request is amortised), but each",
        "  request waits longer for its answer and the job holds the whole request (documents, JSON",
        "  body, response) in memory per task; past a few thousand documents the gain flattens.",
        "",
    ]
    return out


# ----------------------------------------------------------------------------- measurement


def make_rows(n: int, model: str) -> list[dict[str, Any]]:
    """`n` documents as the job builds them: synthetic events through its per-partition pass
    (`batch.run_partition`), the bulk requests kept in memory."""
    import pandas as pd

    from devtools.bench.stage import LANGUAGES, make_events
    from sentiment_job.batch import run_partition
    from sentiment_job.settings import Settings
    from sentiment_job.sink import MemoryWriter

    events = make_events(n, seed=11)
    pdf = pd.DataFrame(
        {
            "value": [v for _, v in events],
            "topic": "bench",
            "partition": 0,
            "offset": range(n),
            "kafka_timestamp": None,
        }
    )
    settings = Settings(checkpoint_location="unused", sentiment_model=model, sentiment_languages=LANGUAGES)
    writer = MemoryWriter(settings)
    run_partition([pdf], settings, writer)
    return writer.documents


class Docs:
    """Bulk actions of the job's documents, each with a new `_id` (new posts, never updates)."""

    def __init__(self, rows: list[dict[str, Any]], index: str) -> None:
        self.rows, self.index = rows, index
        self.ids = itertools.count()
        self.lock = threading.Lock()

    def actions(self, n: int) -> list[dict[str, Any]]:
        from sentiment_job.sink import document_action, utc_iso

        with self.lock:
            start = next(self.ids)
            for _ in range(n - 1):
                next(self.ids)
        now = utc_iso(time.time())
        out = []
        for k in range(n):
            row = dict(self.rows[(start + k) % len(self.rows)])
            row["id"] = f"{start + k:019d}"  # as long as a real post id
            out.append(document_action(self.index, row, now))
        return out


class Bodies:
    """Pre-serialised NDJSON bulk bodies of the same documents, only the ids filled in per request.

    For the indexing-rate runs: building and serialising the actions in Python costs more CPU
    than Elasticsearch spends indexing them, and on a 2-core machine that CPU would be taken
    from Elasticsearch, hiding what a refresh interval costs it.
    """

    MARK = "@@ID@@"

    def __init__(self, rows: list[dict[str, Any]], index: str) -> None:
        import json

        from sentiment_job.sink import document_action, utc_iso

        now = utc_iso(time.time())
        self.pieces: list[list[str]] = []
        for row in rows:
            action = document_action(index, {**row, "id": self.MARK}, now)
            meta = {"index": {"_index": index, "_id": action["_id"]}}
            line = (
                json.dumps(meta, separators=(",", ":"))
                + "\n"
                + json.dumps(action["_source"], separators=(",", ":"), ensure_ascii=False)
                + "\n"
            )
            self.pieces.append(line.split(self.MARK))
        self.ids = itertools.count()
        self.lock = threading.Lock()

    def body(self, n: int) -> bytes:
        with self.lock:
            start = next(self.ids)
            for _ in range(n - 1):
                next(self.ids)
        parts = []
        for k in range(n):
            parts.append(f"{start + k:019d}".join(self.pieces[(start + k) % len(self.pieces)]))
        return "".join(parts).encode()


@dataclass
class Bench:
    """The measurements against one Elasticsearch (`es_url`)."""

    es_url: str
    run_id: str
    rows: list[dict[str, Any]]
    max_retries: int = 5
    indices: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from sentiment_job.settings import EsSettings

        # The job's own client settings (timeouts, no client-side retries).
        self.settings = EsSettings.load({"ES_URL": self.es_url})
        self.client = self.new_client()

    def new_client(self) -> Any:
        from elasticsearch import Elasticsearch

        return Elasticsearch(**self.settings.es_client_kwargs())

    def create(self, name: str, refresh_interval: str | None = None) -> str:
        from sentiment_job.es_setup import load_template

        template = load_template("documents")["template"]
        settings = {k: dict(v) for k, v in template["settings"].items()}
        if refresh_interval is not None:
            settings["index"]["refresh_interval"] = refresh_interval
        index = f"bench-es-{self.run_id}-{name}"
        self.client.indices.create(index=index, settings=settings, mappings=template["mappings"])
        self.client.cluster.health(index=index, wait_for_status="yellow", timeout="30s")
        self.indices.append(index)
        return index

    def drop(self, index: str) -> None:
        self.client.options(ignore_status=404).indices.delete(index=index)
        if index in self.indices:
            self.indices.remove(index)

    def close(self) -> None:
        for index in list(self.indices):
            with contextlib.suppress(Exception):  # cleanup must not hide the results
                self.drop(index)
        self.client.close()

    def send(self, client: Any, actions: list[dict[str, Any]]) -> tuple[float, bool]:
        """One bulk through the job's sink: (round trip in s, whether it needed a retry)."""
        from sentiment_job.sink import bulk_with_retries

        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            time.sleep(seconds)

        start = time.perf_counter()
        outcomes = bulk_with_retries(client, actions, self.max_retries, sleep)
        took = time.perf_counter() - start
        failed = [o for o in outcomes if not o.ok]
        if failed:
            raise RuntimeError(f"{len(failed)} documents refused, e.g. {failed[0].error}")
        return took, bool(slept)

    # ------------------------------------------------------------------ parts

    def bulk_size(self, result: BulkSize, window: float) -> BulkSize:
        """Back-to-back bulks of `result.size` into a fresh index for `window` s (at least 5),
        added to `result`."""
        size = result.size
        index = self.create(f"bulk-{size}")
        docs = Docs(self.rows, index)
        try:
            self.send(self.client, docs.actions(size))  # untimed: the index's first request
            start, n = time.perf_counter(), 0
            while time.perf_counter() - start < window or n < 5:
                took, retried = self.send(self.client, docs.actions(size))
                result.seconds.append(took)
                result.retried += retried
                n += 1
            result.wall += time.perf_counter() - start
        finally:
            self.drop(index)
        return result

    def visibility(self, interval: str, window: float) -> tuple[list[float], float]:
        """(acknowledged → searchable of each bulk, median gap between two counts), in s."""
        index = self.create(f"vis-{interval}", interval)
        docs = Docs(self.rows, index)
        acks: list[tuple[float, int]] = []
        polls: list[tuple[float, int]] = []
        done = threading.Event()
        poll_client = self.new_client()

        def poll() -> None:
            while not done.is_set():
                count = int(poll_client.count(index=index)["count"])
                polls.append((time.perf_counter(), count))
                time.sleep(POLL_SLEEP)  # a resolution of a few ms, without taking a core

        poller = threading.Thread(target=poll, daemon=True)
        try:
            poller.start()
            rng = random.Random(interval)
            total, start = 0, time.perf_counter()
            while time.perf_counter() - start < window:
                self.send(self.client, docs.actions(VISIBILITY_BULK))
                total += VISIBILITY_BULK
                acks.append((time.perf_counter(), total))
                time.sleep(rng.uniform(0.02, 0.08))
            # The last bulks become searchable within one more interval.
            time.sleep(min(interval_seconds(interval), 5.0) + 0.5)
        finally:
            done.set()
            poller.join(10)
            poll_client.close()
            self.drop(index)
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(polls)]
        return searchable_after(acks, polls), median(gaps)

    def throughput(self, interval: str, chunk: int, window: float) -> dict[str, float]:
        """`THROUGHPUT_WRITERS` writers for `window` s: docs/s, refreshes/s, merges, segments,
        and Elasticsearch's refresh + merge time per 1,000 documents (ms)."""
        index = self.create(f"rate-{interval}", interval)
        bodies = Bodies(self.rows, index)
        acked = [0] * THROUGHPUT_WRITERS
        stop = threading.Event()
        errors: list[BaseException] = []

        def send(client: Any) -> None:
            resp = client.bulk(operations=bodies.body(chunk), filter_path="errors,items.*.error")
            if resp.get("errors"):
                raise RuntimeError(f"bulk refused documents: {str(resp.get('items'))[:300]}")

        def write(k: int) -> None:
            client = self.new_client()
            try:
                while not stop.is_set():
                    send(client)
                    acked[k] += chunk
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                client.close()

        try:
            send(self.client)  # untimed first request
            before = self._stats(index)
            threads = [
                threading.Thread(target=write, args=(k,), daemon=True) for k in range(THROUGHPUT_WRITERS)
            ]
            start = time.perf_counter()
            for t in threads:
                t.start()
            time.sleep(window)
            stop.set()
            for t in threads:
                t.join(120)
            wall = time.perf_counter() - start
            if errors:
                raise errors[0]
            after = self._stats(index)
            docs = after["docs"] - before["docs"]
            upkeep = after["refresh_ms"] + after["merge_ms"] - before["refresh_ms"] - before["merge_ms"]
            return {
                "rate": sum(acked) / wall,
                "refreshes_per_s": (after["refresh"] - before["refresh"]) / wall,
                "merges": after["merges"],
                "segments": after["segments"],
                "upkeep_ms": upkeep / docs * 1000 if docs else float("nan"),
            }
        finally:
            self.drop(index)

    def _stats(self, index: str) -> dict[str, int]:
        s = self.client.indices.stats(index=index, metric="indexing,refresh,merge,segments")["_all"][
            "primaries"
        ]
        return {
            "docs": int(s["indexing"]["index_total"]),
            "refresh": int(s["refresh"]["total"]),
            "refresh_ms": int(s["refresh"]["total_time_in_millis"]),
            "merges": int(s["merges"]["total"]),
            "merge_ms": int(s["merges"]["total_time_in_millis"]),
            "segments": int(s["segments"]["count"]),
        }


def run(
    es_url: str,
    run_id: str,
    model: str,
    chunk: int,
    runs: int = 3,
    quick: bool = False,
    sizes: Sequence[int] = BULK_SIZES,
    intervals: Sequence[str] = REFRESH_INTERVALS,
    log: Callable[[str], None] = lambda m: print(m, flush=True),
) -> EsResult:
    """The whole part (about 2.5 min; quick about 1 min)."""

    rows = make_rows(max(sizes), model)
    result = EsResult(
        # Bytes per document in a bulk body: its action line and its source line.
        doc_bytes=len(Bodies(rows, f"bench-es-{run_id}-bulk").body(len(rows))) / max(1, len(rows)),
        throughput_chunk=chunk,
        bulk_window=2.5 if quick else 2.0,
        visibility_window=4.0 if quick else 8.0,
        throughput_window=3.0 if quick else 6.0,
        runs=1 if quick else runs,
    )
    bench = Bench(es_url, run_id, rows)
    try:
        # Warm-up: the JVM's first bulks and index creations are slower than the rest.
        bench.bulk_size(BulkSize(500), 2.0)
        result.bulk = [BulkSize(n) for n in sizes]
        for k in range(result.runs):
            for b in rotated(result.bulk, k):
                bench.bulk_size(b, result.bulk_window)
        for b in result.bulk:
            log(
                f"[es] bulk {b.size:,}: p50 {_ms(b.p(50))} ms, p99 {_ms(b.p(99))} ms, "
                f"{_rate(b.docs_per_s)} docs/s ({len(b.seconds)} requests)"
            )
        by_interval = {i: Refresh(i) for i in intervals}
        for interval in intervals:
            r = by_interval[interval]
            r.visible, r.poll_gap = bench.visibility(interval, result.visibility_window)
            log(
                f"[es] refresh {interval}: acknowledged → searchable p50 {_ms(r.p(50))} ms, "
                f"p99 {_ms(r.p(99))} ms ({len(r.visible)} bulks, a count every {r.poll_gap * 1000:.1f} ms)"
            )
        bench.throughput(intervals[0], chunk, 2.0)  # warm-up: the raw-body path's first requests
        for k in range(result.runs):
            # Interleaved, rotated: a load that drifts during the part hits every interval alike.
            for interval in rotated(intervals, k):
                r = by_interval[interval]
                m = bench.throughput(interval, chunk, result.throughput_window)
                r.rates.append(m["rate"])
                r.refreshes_per_s.append(m["refreshes_per_s"])
                r.merges.append(int(m["merges"]))
                r.segments.append(int(m["segments"]))
                r.upkeep_ms.append(m["upkeep_ms"])
                log(
                    f"[es] refresh {interval} run {k + 1}: {_rate(m['rate'])} docs/s, "
                    f"{m['refreshes_per_s']:.1f} refreshes/s, {m['merges']:.0f} merges, {m['segments']:.0f} segments, "
                    f"refresh+merge {m['upkeep_ms']:.1f} ms per 1,000 docs"
                )
        result.refresh = [by_interval[i] for i in intervals]
    finally:
        bench.close()
    return result


def shipped_defaults() -> dict[str, Any]:
    """What the job ships: the template's `refresh_interval` and the ES_BULK_CHUNK_SIZE default."""
    from sentiment_job.es_setup import load_template
    from sentiment_job.settings import EsSettings

    return {
        "refresh_interval": load_template("documents")["template"]["settings"]["index"]["refresh_interval"],
        "bulk_chunk_size": EsSettings.model_fields["es_bulk_chunk_size"].default,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m devtools.bench.es`: this part alone, against ES_URL (default: the dev node,
    started and stopped if it was not running); prints the page section. Honours
    BENCH_QUICK and BENCH_RUNS."""
    import os
    import uuid

    from devtools.bench.machine import load_average
    from devtools.bench.run import config
    from devtools.services.elasticsearch import ElasticsearchNode

    cfg = config()
    defaults = shipped_defaults()
    node, started = None, False
    url = os.environ.get("ES_URL")
    if not url:
        node = ElasticsearchNode()
        started = node.up()
        url = node.url
    try:
        print(f"load average at start: {load_average()}", flush=True)
        result = run(url, uuid.uuid4().hex[:8], cfg["latency_model"], int(defaults["bulk_chunk_size"]),
                     cfg["runs"], cfg["quick"])  # fmt: skip
        print(f"load average at end: {load_average()}\n", flush=True)
        print("\n".join(section(result, defaults)))
    finally:
        if node is not None and started:
            node.down()
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
