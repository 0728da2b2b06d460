"""Writing to Elasticsearch from the executors: documents, dead letters, retries, stats.

Each Spark partition writes its own rows with `helpers.streaming_bulk`; nothing but a small
stats record per partition goes back to the driver. The rules:

* every document has a deterministic `_id` and is written with `_op_type: index`, so a
  replayed micro-batch overwrites what an earlier attempt wrote (no duplicates);
* 429, 5xx and connection errors are retried with exponential backoff, `ES_MAX_RETRIES`
  times; if Elasticsearch is still failing the partition raises `SinkUnavailable`, the
  micro-batch fails and Spark replays it from the checkpoint after a restart (no loss);
* a write block (`cluster_block_exception`: the read-only-allow-delete block the flood-stage
  disk watermark puts on every index of a full node, answered 429, or a read-only/write block
  an operator set, answered 403) is not the documents' fault and can last minutes: the writer
  waits it out with the same capped backoff, for as long as it lasts and without using up
  the retry budget, logging each wait; the batch resumes when the block lifts;
* any other per-document failure (400 mapping errors and the like) cannot succeed on
  retry: the record goes to the dead-letter index with the reason, and the batch goes on;
* a dead letter itself refused means the dead-letter index is broken: the batch fails;
* a deletion event is not written by the partition: its `_id` goes back to the driver with
  the stats, and `apply_deletions` removes the documents and dead letters once every
  partition of the micro-batch has indexed (so a post created and deleted in one batch, even
  in two tasks reading slices of one Kafka partition, ends deleted).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError, helpers

from tweet_sentiment_common import contract

from .settings import Settings
from .transform import DELETE_AUTHOR_OP, DELETE_OP

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# The error type of a write refused by an index or cluster block (flood-stage watermark,
# `index.blocks.write`, ...): whatever its status, waited out, never dead-lettered.
BLOCK_ERROR_TYPE = "cluster_block_exception"
# End-to-end latency buckets (seconds). Shared by the executors (which count) and the
# driver's histogram (which exposes the sums), so they must be one list. 2.0 is the latency
# SLO's threshold (the alert rules count le="2.0").
LATENCY_BUCKETS: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
INITIAL_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0

# The fields of a document and of a dead letter: the contract's models (the index
# templates are checked against the same models by tests/test_contract.py).
DOCUMENT_FIELDS = contract.DOCUMENT_FIELDS
DEADLETTER_FIELDS = contract.JOB_DEADLETTER_FIELDS

# The `lang` label of `sentiment_job_posts_by_language_total`. Tags come from the public
# internet, so only these become label values (the eight languages with a model, then the
# most posted others on X and Bluesky, and `und`); any other tag is counted as `other`.
METRIC_LANGUAGES = (
    "ar", "de", "en", "es", "fr", "hi", "it", "pt",
    "ja", "ko", "zh", "ru", "tr", "id", "th", "nl", "pl", "fa", "uk", "und",
)  # fmt: skip
OTHER_LANGUAGE = "other"
# X still tags Indonesian with the withdrawn ISO 639 code `in`.
LANGUAGE_ALIASES = {"in": "id"}


def language_label(tag: Any) -> str:
    """The metric's `lang` value for a BCP-47 tag: its primary subtag, lower-cased (`pt-BR` ->
    `pt`), if it is one of METRIC_LANGUAGES; `und` for none; `other` for anything else."""
    if not isinstance(tag, str):
        return "und"
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    if not primary:
        return "und"
    primary = LANGUAGE_ALIASES.get(primary, primary)
    return primary if primary in METRIC_LANGUAGES else OTHER_LANGUAGE


def scored_language(row: Mapping[str, Any]) -> str:
    """The language a row was scored as (`sentiment_lang`, where the job records it), else the
    primary subtag of the source's `lang`; as a metric label (`language_label`)."""
    value = row.get("sentiment_lang")
    if not isinstance(value, str) or not value.strip():
        value = row.get("lang")
    return language_label(value)


class SinkUnavailable(RuntimeError):
    """Elasticsearch kept failing past the retry budget: fail the batch, replay it later."""


class DeadLetterRefused(RuntimeError):
    """The dead-letter index refused a record: nowhere left to put it, so fail the batch."""


def classify_status(status: int | None) -> str:
    """`ok`, `retry` (transient: 429, 5xx, timeouts, no answer) or `reject` (will never work)."""
    if status is None:
        return "retry"
    if 200 <= status < 300:
        return "ok"
    if status in RETRYABLE_STATUSES or status >= 500:
        return "retry"
    return "reject"


def classify_outcome(status: int | None, error_type: str | None) -> str:
    """`classify_status`, except that a write block is `blocked` (wait until it lifts)."""
    if error_type == BLOCK_ERROR_TYPE:
        return "blocked"
    return classify_status(status)


def backoff_seconds(attempt: int) -> float:
    """Delay before retry number `attempt + 1`: 0.5 s, 1 s, 2 s, ... capped at 30 s."""
    return min(MAX_BACKOFF_SECONDS, INITIAL_BACKOFF_SECONDS * 2.0**attempt)


def utc_iso(epoch_seconds: float) -> str:
    return contract.format_time(datetime.fromtimestamp(epoch_seconds, tz=timezone.utc))


def _clean(value: Any) -> Any:
    """JSON-safe scalar: NaN/None → None (a NaN would make the whole bulk body invalid JSON)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return _clean(value.item())
    return value


def document_id(source: str, post_id: str) -> str:
    return contract.document_id(source, post_id)


def deadletter_id(topic: str | None, partition: int | None, offset: int | None) -> str | None:
    """`<topic>:<partition>:<offset>`; None (Elasticsearch picks one) without Kafka coordinates."""
    if topic is None or partition is None or offset is None:
        return None
    return f"{topic}:{int(partition)}:{int(offset)}"


def document_action(index: str, row: Mapping[str, Any], indexed_at: str) -> dict[str, Any]:
    doc = {name: _clean(row.get(name)) for name in DOCUMENT_FIELDS}
    doc["indexed_at"] = indexed_at
    return {
        "_op_type": "index",
        "_index": index,
        "_id": document_id(doc["source"], doc["id"]),
        "_source": doc,
    }


def deadletter_action(
    index: str, row: Mapping[str, Any], reason: str, error: str | None, failed_at: str
) -> dict[str, Any]:
    doc = {name: _clean(row.get(name)) for name in DEADLETTER_FIELDS}
    doc.update(reason=reason, error=error, failed_at=failed_at)
    action: dict[str, Any] = {"_op_type": "index", "_index": index, "_source": doc}
    _id = deadletter_id(doc["topic"], doc["partition"], doc["offset"])
    if _id is not None:
        action["_id"] = _id
    return action


@dataclass
class Outcome:
    ok: bool
    status: int | None = None
    error_type: str | None = None
    error: str | None = None


def _item_outcome(item: Mapping[str, Any]) -> Outcome:
    (info,) = item.values()
    status = info.get("status")
    err = info.get("error")
    error_type: str | None
    message: str | None
    if isinstance(err, Mapping):
        error_type = str(err.get("type", "unknown"))
        message = f"{error_type}: {err.get('reason', '')}"
        cause = err.get("caused_by")
        if isinstance(cause, Mapping):
            message += f" (caused by {cause.get('type')}: {cause.get('reason')})"
    else:
        error_type, message = ("unknown", str(err)) if err else (None, None)
    return Outcome(ok=classify_status(status) == "ok", status=status, error_type=error_type, error=message)


def bulk_with_retries(
    client: Elasticsearch,
    actions: Sequence[dict[str, Any]],
    max_retries: int,
    sleep: Callable[[float], None] = time.sleep,
    on_blocked: Callable[[float], None] | None = None,
) -> list[Outcome]:
    """Send `actions`; retry the transient failures; return one final Outcome per action.

    Only `ok` or rejected (non-retryable) outcomes come back; anything still transient after
    `max_retries` retries raises `SinkUnavailable`. A round in which every failure was a
    write block does not count against `max_retries`: it is waited out (capped backoff) for
    as long as the block lasts, and `on_blocked` is told each wait's seconds.
    """
    results: list[Outcome | None] = [None] * len(actions)
    pending = list(range(len(actions)))
    last_problem = ""
    failures = 0  # rounds with a transient failure: the retry budget
    blocked = 0  # consecutive rounds refused by a write block only
    while True:
        batch = [actions[i] for i in pending]
        kind = "retry"
        try:
            items = list(
                helpers.streaming_bulk(
                    client,
                    batch,
                    chunk_size=max(1, len(batch)),
                    raise_on_error=False,
                    raise_on_exception=True,
                    max_retries=0,
                )
            )
        except ApiError as exc:
            # A cluster-wide block refuses the whole request (403 cluster_block_exception).
            kind = classify_outcome(exc.status_code, str(exc.message))
            if kind not in ("retry", "blocked"):
                # 401/403/413...: a setup problem, not data; fail loudly rather than dead-letter.
                raise
            last_problem = f"bulk request failed with HTTP {exc.status_code} {exc.message}"
        except TransportError as exc:
            last_problem = f"{type(exc).__name__}: {exc}"
        else:
            still: list[int] = []
            kinds: set[str] = set()
            for i, (_, item) in zip(pending, items, strict=True):
                outcome = _item_outcome(item)
                item_kind = classify_outcome(outcome.status, outcome.error_type)
                if not outcome.ok and item_kind in ("retry", "blocked"):
                    still.append(i)
                    kinds.add(item_kind)
                    last_problem = f"HTTP {outcome.status} {outcome.error}"
                else:
                    results[i] = outcome
            pending = still
            if not pending:
                return [r for r in results if r is not None]
            kind = "retry" if "retry" in kinds else "blocked"
        if kind == "blocked":
            delay = backoff_seconds(blocked)
            blocked += 1
            log.warning(
                "Elasticsearch write blocked for %d of %d actions (%s); waiting %.1fs for the block "
                "to lift (wait %d; documents kept, nothing dead-lettered)",
                len(pending),
                len(actions),
                last_problem[:300],
                delay,
                blocked,
            )
            if on_blocked is not None:
                on_blocked(delay)
        else:
            if failures >= max_retries:
                raise SinkUnavailable(
                    f"Elasticsearch still failing for {len(pending)} of {len(actions)} actions after "
                    f"{max_retries} retries: {last_problem}"
                )
            delay = backoff_seconds(failures)
            failures += 1
            blocked = 0
        sleep(delay)


@dataclass
class DeletionStats:
    """What `apply_deletions` did for one micro-batch."""

    applied: int = 0  # documents removed
    unknown: int = 0  # deletions naming a post the index does not hold (never seen, or already gone)
    deadletters_removed: int = 0  # dead-letter records of deleted posts removed


@dataclass
class PartitionStats:
    """What one partition did; summed on the driver into the Prometheus metrics."""

    rows: int = 0  # Kafka records read (the next batch's task count depends on it)
    indexed: Counter[str] = field(default_factory=Counter)  # by sentiment label
    rejected: Counter[str] = field(default_factory=Counter)  # by Elasticsearch error type
    deadlettered: Counter[str] = field(default_factory=Counter)  # by reason
    latency_buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0
    # Seconds the partition's task spent in each of TASK_PHASES (summed over the batch's tasks).
    phase_seconds: dict[str, float] = field(default_factory=dict)
    # Seconds spent waiting for an Elasticsearch write block to lift (flood-stage watermark).
    blocked_seconds: float = 0.0
    # `_id`s of the posts the batch's deletion events name, in offset order (applied on the driver).
    deletions: list[str] = field(default_factory=list)
    # Account-level deletions: [source, author id] pairs (every post of the account goes).
    author_deletions: list[list[str]] = field(default_factory=list)
    # Deletion events that name no post (no usable source/id): counted, never dead-lettered.
    deletions_invalid: int = 0
    # Set on the driver by `apply_deletions` (not sent by the partitions).
    deleted: DeletionStats = field(default_factory=DeletionStats)
    # Set on the driver: how many tasks (partitions) the batch ran in.
    tasks: int = 0
    # Indexed documents by `language_label`: scored (a sentiment) and `Unsupported`.
    scored_by_lang: Counter[str] = field(default_factory=Counter)
    unsupported_by_lang: Counter[str] = field(default_factory=Counter)

    def count_language(self, row: Mapping[str, Any]) -> None:
        by_lang = self.unsupported_by_lang if row.get("sentiment") == "Unsupported" else self.scored_by_lang
        by_lang[scored_language(row)] += 1

    def observe_latency(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        for i, bound in enumerate(LATENCY_BUCKETS):
            if seconds <= bound:
                self.latency_buckets[i] += 1
                break
        else:
            self.latency_buckets[-1] += 1
        self.latency_sum += seconds

    @property
    def latency_count(self) -> int:
        return sum(self.latency_buckets)

    def merge(self, other: PartitionStats) -> PartitionStats:
        self.rows += other.rows
        self.indexed.update(other.indexed)
        self.rejected.update(other.rejected)
        self.deadlettered.update(other.deadlettered)
        self.latency_buckets = [
            a + b for a, b in zip(self.latency_buckets, other.latency_buckets, strict=True)
        ]
        self.latency_sum += other.latency_sum
        for phase, seconds in other.phase_seconds.items():
            self.phase_seconds[phase] = self.phase_seconds.get(phase, 0.0) + seconds
        self.deletions.extend(other.deletions)
        self.author_deletions.extend(other.author_deletions)
        self.deletions_invalid += other.deletions_invalid
        self.scored_by_lang.update(other.scored_by_lang)
        self.unsupported_by_lang.update(other.unsupported_by_lang)
        self.blocked_seconds += other.blocked_seconds
        return self

    def to_json(self) -> str:
        return json.dumps(
            {
                "rows": self.rows,
                "indexed": self.indexed,
                "rejected": self.rejected,
                "deadlettered": self.deadlettered,
                "latency_buckets": self.latency_buckets,
                "latency_sum": self.latency_sum,
                "phase_seconds": self.phase_seconds,
                "deletions": self.deletions,
                "author_deletions": self.author_deletions,
                "deletions_invalid": self.deletions_invalid,
                "scored_by_lang": self.scored_by_lang,
                "unsupported_by_lang": self.unsupported_by_lang,
                "blocked_seconds": self.blocked_seconds,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> PartitionStats:
        data = json.loads(text)
        return cls(
            rows=int(data.get("rows", 0)),
            indexed=Counter(data["indexed"]),
            rejected=Counter(data["rejected"]),
            deadlettered=Counter(data["deadlettered"]),
            latency_buckets=list(data["latency_buckets"]),
            latency_sum=float(data["latency_sum"]),
            phase_seconds={k: float(v) for k, v in data.get("phase_seconds", {}).items()},
            deletions=[str(k) for k in data.get("deletions", [])],
            author_deletions=[[str(s), str(a)] for s, a in data.get("author_deletions", [])],
            deletions_invalid=int(data.get("deletions_invalid", 0)),
            scored_by_lang=Counter(data.get("scored_by_lang", {})),
            unsupported_by_lang=Counter(data.get("unsupported_by_lang", {})),
            blocked_seconds=float(data.get("blocked_seconds", 0.0)),
        )


class RowWriter:
    """Writes rows (dicts of the prepared+scored columns) of one partition in bulk chunks:
    documents, dead letters, deletions (sent to the driver with `stats`). `_bulk` sends one
    request: to Elasticsearch (`PartitionWriter`) or into memory (`MemoryWriter`)."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.stats = PartitionStats()

    def _bulk(self, actions: Sequence[dict[str, Any]]) -> list[Outcome]:
        raise NotImplementedError

    def write_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        chunk: list[Mapping[str, Any]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= self.settings.es_bulk_chunk_size:
                self._write_chunk(chunk)
                chunk = []
        if chunk:
            self._write_chunk(chunk)

    def _write_chunk(self, rows: Sequence[Mapping[str, Any]]) -> None:
        s = self.settings
        now = utc_iso(self.clock())
        actions, dead = [], []
        for row in rows:
            if row.get("op") in (DELETE_OP, DELETE_AUTHOR_OP):
                self._deletion(row)
            elif row.get("reason"):
                dead.append((row, str(row["reason"]), row.get("error")))
            else:
                actions.append((row, document_action(s.es_index, row, now)))
        if actions:
            outcomes = self._bulk([a for _, a in actions])
            acked = self.clock()
            for (row, _), outcome in zip(actions, outcomes, strict=True):
                if outcome.ok:
                    self.stats.indexed[str(row.get("sentiment"))] += 1
                    self.stats.count_language(row)
                    ingested = row.get("ingested_at_epoch")
                    if ingested is not None and not math.isnan(ingested):
                        self.stats.observe_latency(acked - float(ingested))
                else:
                    self.stats.rejected[outcome.error_type or "unknown"] += 1
                    dead.append((row, "es_rejected", f"HTTP {outcome.status} {outcome.error}"))
        if dead:
            self._write_deadletters(dead, now)

    def _deletion(self, row: Mapping[str, Any]) -> None:
        source, post_id = _clean(row.get("source")), _clean(row.get("id"))
        if isinstance(source, str) and isinstance(post_id, str):
            if row.get("op") == DELETE_AUTHOR_OP:
                self.stats.author_deletions.append([source, post_id])
            else:
                self.stats.deletions.append(document_id(source, post_id))
        else:
            self.stats.deletions_invalid += 1

    def _write_deadletters(self, dead: Sequence[tuple[Mapping[str, Any], str, str | None]], now: str) -> None:
        s = self.settings
        actions = [
            deadletter_action(s.es_deadletter_index, row, reason, error, now) for row, reason, error in dead
        ]
        outcomes = self._bulk(actions)
        refused = []
        for (row, reason, _), outcome in zip(dead, outcomes, strict=True):
            if outcome.ok:
                self.stats.deadlettered[reason] += 1
            else:
                refused.append(
                    f"{row.get('topic')}:{row.get('partition')}:{row.get('offset')}: {outcome.error}"
                )
        if refused:
            # Dead letters are built by us with a fixed shape: a refusal is a broken or blocked
            # dead-letter index, not bad data. Fail the batch (it is replayed) rather than drop.
            raise DeadLetterRefused(f"{len(refused)} dead letters refused, e.g. {refused[0]}")


class PartitionWriter(RowWriter):
    """The job's writer: each bulk to Elasticsearch through `bulk_with_retries`."""

    def __init__(
        self,
        client: Elasticsearch,
        settings: Settings,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(settings, clock)
        self.client = client
        self.sleep = sleep

    def _blocked(self, seconds: float) -> None:
        self.stats.blocked_seconds += seconds

    def _bulk(self, actions: Sequence[dict[str, Any]]) -> list[Outcome]:
        return bulk_with_retries(
            self.client, actions, self.settings.es_max_retries, self.sleep, self._blocked
        )


class MemoryWriter(RowWriter):
    """The same writer with every bulk accepted and kept in memory (no Elasticsearch): for the
    bench and the tests. `documents` and `deadletters` are the `_source`s it was given."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        super().__init__(settings, clock)
        self.documents: list[dict[str, Any]] = []
        self.deadletters: list[dict[str, Any]] = []

    def _bulk(self, actions: Sequence[dict[str, Any]]) -> list[Outcome]:
        for action in actions:
            kept = (
                self.deadletters if action["_index"] == self.settings.es_deadletter_index else self.documents
            )
            kept.append(action["_source"])
        return [Outcome(ok=True, status=201) for _ in actions]


_clients: dict[tuple[Any, ...], Elasticsearch] = {}
_clients_lock = threading.Lock()


def shared_client(settings: Settings) -> Elasticsearch:
    """One Elasticsearch client per Python worker process (workers are reused across tasks)."""
    kwargs = settings.es_client_kwargs()
    key = tuple(sorted((k, repr(v)) for k, v in kwargs.items()))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = Elasticsearch(**kwargs)
        return client


def merge_stats(texts: Iterable[str]) -> PartitionStats:
    total = PartitionStats()
    for text in texts:
        total.merge(PartitionStats.from_json(text))
    return total


# --- deletions ------------------------------------------------------------------------

# Keys per search of the dead-letter index (a `terms` query's size stays far below
# Elasticsearch's 65,536-term limit).
DEADLETTER_DELETE_CHUNK = 1000
# Dead letters fetched per chunk of keys: a post has one (a replay overwrites it) or a few
# (the producer sent it twice); far more than that many would be removed by the next deletion.
DEADLETTER_SEARCH_SIZE = 10_000


class DeletionFailed(RuntimeError):
    """Elasticsearch refused a delete for a reason other than "not found": fail the batch
    (it is replayed from the checkpoint, and a delete applied twice is harmless)."""


def delete_action(index: str, doc_id: str) -> dict[str, Any]:
    return {"_op_type": "delete", "_index": index, "_id": doc_id}


def apply_deletions(
    client: Elasticsearch,
    settings: Settings,
    doc_ids: Sequence[str],
    sleep: Callable[[float], None] = time.sleep,
    authors: Sequence[Sequence[str]] = (),
) -> DeletionStats:
    """Remove the documents `doc_ids` and every dead letter whose Kafka key is one of them.

    Idempotent (a replayed batch deletes again: `unknown`), so exactly-once in effect. Run on
    the driver after every partition of the batch has indexed its posts. A 404 is a deletion
    for an unknown post, never a dead letter; transient failures are retried, then the batch
    fails (`SinkUnavailable`)."""
    stats = DeletionStats()
    s = settings
    # An account's posts: found by `source` + `author_id`, then deleted by `_id` like any post.
    found, without_posts = _posts_of_authors(client, s, authors, sleep)
    stats.unknown += without_posts
    unique = list(dict.fromkeys([*doc_ids, *found]))
    if not unique:
        return stats
    actions = [delete_action(s.es_index, doc_id) for doc_id in unique]
    for doc_id, outcome in zip(
        unique, bulk_with_retries(client, actions, s.es_max_retries, sleep), strict=True
    ):
        if outcome.ok:
            stats.applied += 1
        elif outcome.status == 404:
            stats.unknown += 1
        else:
            raise DeletionFailed(f"deleting {doc_id} failed: HTTP {outcome.status} {outcome.error}")
    stats.deadletters_removed = _delete_deadletters(client, s, unique, sleep)
    return stats


def _posts_of_authors(
    client: Elasticsearch,
    settings: Settings,
    authors: Sequence[Sequence[str]],
    sleep: Callable[[float], None],
) -> tuple[list[str], int]:
    """(`_id`s of the documents of these accounts (`source` + `author_id`), how many accounts
    have none), after a refresh so this batch's own documents are found."""
    found: list[str] = []
    without_posts = 0
    for source, author in dict.fromkeys(tuple(a) for a in authors):
        before = len(found)
        query = {"bool": {"filter": [{"term": {"source": source}}, {"term": {"author_id": author}}]}}
        search_after: list[Any] | None = None
        problem = ""
        attempt = 0
        while True:
            if attempt:
                sleep(backoff_seconds(attempt - 1))
            try:
                if search_after is None:
                    client.indices.refresh(index=settings.es_index)
                answer = client.search(
                    index=settings.es_index,
                    query=query,
                    size=DEADLETTER_SEARCH_SIZE,
                    source=False,
                    sort=["_doc"],
                    track_total_hits=False,
                    search_after=search_after,
                )
            except ApiError as exc:
                if exc.status_code == 404:  # no index yet: no posts
                    break
                if classify_status(exc.status_code) != "retry" or attempt >= settings.es_max_retries:
                    raise SinkUnavailable(f"finding the posts of {source}:{author} failed: {exc}") from exc
                attempt += 1
                continue
            except TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                if attempt >= settings.es_max_retries:
                    raise SinkUnavailable(
                        f"finding the posts of {source}:{author} kept failing: {problem}"
                    ) from exc
                attempt += 1
                continue
            hits = answer["hits"]["hits"]
            found.extend(hit["_id"] for hit in hits)
            if len(hits) < DEADLETTER_SEARCH_SIZE:
                break
            search_after = hits[-1]["sort"]
            attempt = 0
        without_posts += len(found) == before
    return found, without_posts


def _delete_deadletters(
    client: Elasticsearch, settings: Settings, doc_ids: Sequence[str], sleep: Callable[[float], None]
) -> int:
    """Remove the dead letters whose `key` (the Kafka key: the post's `<source>:<id>`) is one of
    `doc_ids`: a refresh (so this batch's own dead letters are seen), a `terms` search for their
    `_id`s, a bulk delete. Not `_delete_by_query`: it needs Elasticsearch's reindex module, which
    a minimal distribution lacks, and a post has one dead letter or a few."""
    index = settings.es_deadletter_index
    found: list[str] = []
    for start in range(0, len(doc_ids), DEADLETTER_DELETE_CHUNK):
        keys = list(doc_ids[start : start + DEADLETTER_DELETE_CHUNK])
        problem = ""
        for attempt in range(settings.es_max_retries + 1):
            if attempt:
                sleep(backoff_seconds(attempt - 1))
            try:
                client.indices.refresh(index=index)
                answer = client.search(
                    index=index,
                    query={"terms": {"key": keys}},
                    size=DEADLETTER_SEARCH_SIZE,
                    source=False,
                    track_total_hits=False,
                )
            except ApiError as exc:
                if exc.status_code == 404:  # no dead-letter index (yet): nothing to remove
                    return 0
                if classify_status(exc.status_code) != "retry":
                    raise
                problem = f"HTTP {exc.status_code}"
                continue
            except TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            found.extend(hit["_id"] for hit in answer["hits"]["hits"])
            break
        else:
            raise SinkUnavailable(f"finding the dead letters of deleted posts kept failing: {problem}")
    if not found:
        return 0
    actions = [delete_action(index, _id) for _id in found]
    removed = 0
    for _id, outcome in zip(
        found, bulk_with_retries(client, actions, settings.es_max_retries, sleep), strict=True
    ):
        if outcome.ok:
            removed += 1
        elif outcome.status != 404:
            raise DeletionFailed(
                f"deleting the dead letter {_id} failed: HTTP {outcome.status} {outcome.error}"
            )
    return removed
