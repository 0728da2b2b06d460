"""The Elasticsearch sink: retry classification, documents, and bulk writes on the real node."""

from __future__ import annotations

import math
import socket
from typing import Any

import pytest
from spark_job_helpers import all_docs

from sentiment_job.es_setup import install
from sentiment_job.settings import Settings
from sentiment_job.sink import (
    LATENCY_BUCKETS,
    METRIC_LANGUAGES,
    DeadLetterRefused,
    PartitionStats,
    PartitionWriter,
    SinkUnavailable,
    apply_deletions,
    backoff_seconds,
    bulk_with_retries,
    classify_outcome,
    classify_status,
    deadletter_action,
    document_action,
    language_label,
    merge_stats,
    scored_language,
)
from tweet_sentiment_common import contract


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, "ok"),
        (201, "ok"),
        (None, "retry"),
        (408, "retry"),
        (429, "retry"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
        (504, "retry"),
        (400, "reject"),
        (404, "reject"),
        (409, "reject"),
        (413, "reject"),
    ],
)
def test_classify_status(status: int | None, kind: str) -> None:
    assert classify_status(status) == kind


@pytest.mark.parametrize(
    ("status", "error_type", "kind"),
    [
        (201, None, "ok"),
        (429, "es_rejected_execution_exception", "retry"),
        (400, "document_parsing_exception", "reject"),
        # A write block is never the document's fault, whatever the status: the flood-stage
        # watermark's read-only-allow-delete block (429) or an operator's write block (403).
        (429, "cluster_block_exception", "blocked"),
        (403, "cluster_block_exception", "blocked"),
    ],
)
def test_classify_outcome_waits_for_blocks(status: int, error_type: str | None, kind: str) -> None:
    assert classify_outcome(status, error_type) == kind


def test_backoff_doubles_and_is_capped() -> None:
    delays = [backoff_seconds(i) for i in range(10)]
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert max(delays) == 30.0
    assert delays == sorted(delays)


def row(**overrides: Any) -> dict[str, Any]:
    base = {
        "raw": '{"id": "1"}',
        "topic": "posts",
        "partition": 2,
        "offset": 41,
        "kafka_timestamp": "2026-01-02T03:04:06.100Z",
        "id": "1",
        "source": "x",
        "text": "Great!",
        "clean_text": "Great!",
        "lang": "en",
        "created_at": "2026-01-02T03:04:05.000Z",
        "ingested_at": "2026-01-02T03:04:06.000Z",
        "ingested_at_epoch": 1767323046.0,
        "reason": None,
        "error": None,
        "polarity": 1.0,
        "subjectivity": 0.75,
        "confidence": None,
        "sentiment": "Positive",
        "model": "textblob",
    }
    base.update(overrides)
    return base


def test_document_action_has_the_contract_fields_and_a_deterministic_id() -> None:
    action = document_action(
        "idx", row(polarity=math.nan, subjectivity=math.nan, sentiment="Unsupported"), "T"
    )
    assert action["_op_type"] == "index"
    assert action["_id"] == "x:1"
    doc = action["_source"]
    assert tuple(doc) == contract.DOCUMENT_FIELDS
    # NaN would make the bulk body invalid JSON: it must become null.
    assert doc["polarity"] is None
    assert doc["subjectivity"] is None
    assert doc["indexed_at"] == "T"


def test_deadletter_action_id_is_kafka_coordinates() -> None:
    action = deadletter_action("dl", row(reason="bad_json"), "bad_json", "not JSON", "T")
    assert action["_id"] == "posts:2:41"
    assert set(action["_source"]) == {
        "raw", "key", "reason", "error", "topic", "partition", "offset", "kafka_timestamp", "failed_at",
    }  # fmt: skip
    # Without Kafka coordinates (enrich on a plain DataFrame) Elasticsearch picks the id.
    assert "_id" not in deadletter_action("dl", row(topic=None, partition=math.nan), "r", None, "T")


def test_stats_merge_and_roundtrip() -> None:
    a, b = PartitionStats(), PartitionStats()
    a.indexed["Positive"] += 2
    a.observe_latency(0.05)
    b.observe_latency(10_000)
    b.observe_latency(-3)  # clock skew counts as zero, not as a negative latency
    b.deadlettered["bad_json"] += 1
    a.phase_seconds["score"] = 0.25
    b.phase_seconds["score"] = 0.5
    b.phase_seconds["bulk"] = 0.125
    total = merge_stats([a.to_json(), b.to_json()])
    assert total.phase_seconds == {"score": 0.75, "bulk": 0.125}
    assert total.indexed == {"Positive": 2}
    assert total.deadlettered == {"bad_json": 1}
    assert total.latency_count == 3
    assert total.latency_buckets[0] == 2
    assert total.latency_buckets[-1] == 1
    assert len(total.latency_buckets) == len(LATENCY_BUCKETS) + 1


@pytest.mark.parametrize(
    ("tag", "label"),
    [
        ("en", "en"),
        ("pt-BR", "pt"),
        ("PT_br", "pt"),
        ("ja", "ja"),
        (" ko ", "ko"),
        ("zh-Hant-TW", "zh"),
        ("in", "id"),  # X's tag for Indonesian
        ("und", "und"),
        ("", "und"),
        (None, "und"),
        (["en"], "und"),
        ("qme", "other"),  # X: media only
        ("zxx", "other"),
        ("eo", "other"),
        ("x" * 500, "other"),  # a label value is never the raw tag
    ],
)
def test_language_label_is_the_primary_subtag_from_a_fixed_list(tag: Any, label: str) -> None:
    assert language_label(tag) == label


def test_language_labels_are_bounded_and_cover_the_models_languages() -> None:
    assert {"ar", "de", "en", "es", "fr", "hi", "it", "pt", "ja", "ko", "und"} <= set(METRIC_LANGUAGES)
    assert len(set(METRIC_LANGUAGES)) == len(METRIC_LANGUAGES) <= 25
    assert "other" not in METRIC_LANGUAGES


def test_scored_language_prefers_the_language_the_job_scored_as() -> None:
    assert scored_language(row(lang="pt-BR")) == "pt"
    # `sentiment_lang` (the language identifier's guess for an untagged post) wins when present.
    assert scored_language(row(lang="und", sentiment_lang="es")) == "es"
    assert scored_language(row(lang="en", sentiment_lang="")) == "en"
    assert scored_language(row(lang="en", sentiment_lang=math.nan)) == "en"
    assert scored_language(row(lang="tlh")) == "other"


def test_stats_count_languages_by_outcome_and_survive_the_roundtrip() -> None:
    a, b = PartitionStats(), PartitionStats()
    a.count_language(row(lang="en", sentiment="Positive"))
    a.count_language(row(lang="ja", sentiment="Unsupported"))
    b.count_language(row(lang="ja", sentiment="Unsupported"))
    b.count_language(row(lang="pt-BR", sentiment="Negative"))
    b.count_language(row(lang="qme", sentiment="Unsupported"))
    total = merge_stats([a.to_json(), b.to_json()])
    assert total.scored_by_lang == {"en": 1, "pt": 1}
    assert total.unsupported_by_lang == {"ja": 2, "other": 1}
    # Stats from an executor of the previous version (no language counts) still merge.
    legacy = PartitionStats.from_json(PartitionStats().to_json().replace('"scored_by_lang"', '"x"'))
    assert legacy.scored_by_lang == {}


def test_job_metrics_expose_posts_by_language() -> None:
    from prometheus_client import CollectorRegistry

    from sentiment_job.metrics import JobMetrics

    metrics = JobMetrics(CollectorRegistry())
    name = "sentiment_job_posts_by_language_total"
    # Every series exists at zero from the start, and no other: the label set is bounded.
    series = [s for s in metrics.registry.collect() for s in s.samples if s.name == name]
    assert len(series) == 2 * (len(METRIC_LANGUAGES) + 1)
    assert all(s.value == 0 for s in series)
    stats = PartitionStats()
    for lang, sentiment in [
        ("en", "Neutral"),
        ("en", "Positive"),
        ("ja", "Unsupported"),
        ("eo", "Unsupported"),
    ]:
        stats.count_language(row(lang=lang, sentiment=sentiment))
    metrics.record_batch(stats)
    metrics.record_batch(stats)

    def value(lang: str, outcome: str) -> float | None:
        return metrics.registry.get_sample_value(name, {"lang": lang, "outcome": outcome})

    assert value("en", "scored") == 4
    assert value("en", "unsupported") == 0
    assert value("ja", "unsupported") == 2
    assert value("other", "unsupported") == 2
    assert value("eo", "unsupported") is None


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_elasticsearch_is_retried_then_raises() -> None:
    from elasticsearch import Elasticsearch

    client = Elasticsearch(f"http://127.0.0.1:{_closed_port()}", request_timeout=2, max_retries=0)
    delays: list[float] = []
    with pytest.raises(SinkUnavailable, match="after 3 retries"):
        bulk_with_retries(client, [{"_index": "x", "_id": "1", "_source": {}}], 3, delays.append)
    assert delays == [0.5, 1.0, 2.0]


def test_a_cluster_wide_block_is_waited_out_and_spends_no_retry_budget(monkeypatch: Any) -> None:
    """A cluster-wide block refuses the whole bulk request (HTTP 403): waited out like an
    index block, with no retry budget at all, then the documents go through."""
    from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
    from elasticsearch import AuthorizationException, helpers

    body = {"error": {"type": "cluster_block_exception", "reason": "blocked by: [FORBIDDEN/13/...]"}}
    meta = ApiResponseMeta(403, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "localhost", 9200))
    calls: list[int] = []

    def fake_bulk(client: Any, actions: list[dict[str, Any]], **_: Any) -> Any:
        calls.append(len(actions))
        if len(calls) <= 3:
            raise AuthorizationException("cluster_block_exception", meta, body)
        return iter([(True, {"index": {"_id": a["_id"], "status": 201}}) for a in actions])

    monkeypatch.setattr(helpers, "streaming_bulk", fake_bulk)
    delays: list[float] = []
    blocked: list[float] = []
    actions = [{"_index": "x", "_id": str(i), "_source": {}} for i in range(3)]
    outcomes = bulk_with_retries(object(), actions, 0, delays.append, blocked.append)
    assert [o.ok for o in outcomes] == [True, True, True]
    assert delays == blocked == [0.5, 1.0, 2.0]
    assert calls == [3, 3, 3, 3]


def test_a_transient_error_still_spends_the_budget_during_a_block(monkeypatch: Any) -> None:
    from elasticsearch import helpers

    statuses = iter([(429, "cluster_block_exception"), (503, "unavailable_shards_exception")] * 10)

    def fake_bulk(client: Any, actions: list[dict[str, Any]], **_: Any) -> Any:
        status, kind = next(statuses)
        return iter(
            [
                (False, {"index": {"_id": a["_id"], "status": status, "error": {"type": kind}}})
                for a in actions
            ]
        )

    monkeypatch.setattr(helpers, "streaming_bulk", fake_bulk)
    delays: list[float] = []
    with pytest.raises(SinkUnavailable, match="after 2 retries: HTTP 503"):
        bulk_with_retries(object(), [{"_index": "x", "_id": "1", "_source": {}}], 2, delays.append)
    # block, 503 (budget 1), block, 503 (budget 2), block, 503: out of budget.
    assert delays == [0.5, 0.5, 0.5, 1.0, 0.5]


@pytest.mark.es
@pytest.mark.parametrize(
    ("block", "status"),
    [("index.blocks.read_only_allow_delete", 429), ("index.blocks.write", 403)],
)
def test_a_write_block_is_waited_out_and_nothing_is_dead_lettered(
    es_client: Any, es_url: str, indices: Any, block: str, status: int
) -> None:
    """The flood-stage disk watermark sets `read_only_allow_delete` on every index of the
    node (the dead-letter index too); an operator may set a write block. Either way the
    writer keeps the rows, waits, and writes them once the block lifts, with no retry budget
    (ES_MAX_RETRIES=0) spent on it."""
    index = indices()
    settings = Settings(
        checkpoint_location="unused",
        es_url=es_url,
        es_index=index,
        es_deadletter_index=f"{index}-dl",
        es_max_retries=0,
    )
    install(es_client, settings)
    both = f"{index},{index}-dl"
    es_client.indices.put_settings(index=both, settings={block: True})
    # What Elasticsearch answers per item under the block (9.4: 429 for the watermark's block,
    # 403 for an operator's): not a status the job could tell from a bad document by itself.
    answer = es_client.bulk(operations=[{"index": {"_index": index, "_id": "probe"}}, {"text": "x"}])
    (item,) = answer["items"]
    assert (item["index"]["status"], item["index"]["error"]["type"]) == (status, "cluster_block_exception")
    seen: list[tuple[float, int, int]] = []

    def sleep(seconds: float) -> None:
        # While blocked, nothing is written anywhere (reads still work under the block).
        es_client.indices.refresh(index=both)
        seen.append(
            (seconds, es_client.count(index=index)["count"], es_client.count(index=f"{index}-dl")["count"])
        )
        if len(seen) == 3:  # the posts' index first, the dead-letter index two waits later
            es_client.indices.put_settings(index=index, settings={block: None})
        if len(seen) == 5:
            es_client.indices.put_settings(index=f"{index}-dl", settings={block: None})

    writer = PartitionWriter(es_client, settings, sleep=sleep)
    try:
        writer.write_rows(
            [
                row(id="1", offset=1),
                row(id="2", offset=2),
                row(id="3", offset=3, reason="bad_json", error="not JSON"),
            ]
        )
    finally:
        es_client.indices.put_settings(index=both, settings={block: None})
    assert seen == [(0.5, 0, 0), (1.0, 0, 0), (2.0, 0, 0), (0.5, 2, 0), (1.0, 2, 0)]
    assert set(all_docs(es_client, index)) == {"x:1", "x:2"}
    assert set(all_docs(es_client, f"{index}-dl")) == {"posts:2:3"}
    assert writer.stats.indexed == {"Positive": 2}
    assert writer.stats.rejected == {}
    assert writer.stats.deadlettered == {"bad_json": 1}
    assert writer.stats.blocked_seconds == 5.0


@pytest.mark.es
def test_writer_indexes_deduplicates_and_deadletters_rejections(
    es_client: Any, es_url: str, indices: Any
) -> None:
    index = indices()
    settings = Settings(
        checkpoint_location="unused",
        es_url=es_url,
        es_index=index,
        es_deadletter_index=f"{index}-dl",
        es_bulk_chunk_size=2,
    )
    install(es_client, settings)
    # An index whose mapping makes `text` a number: the document cannot be indexed, ever.
    bad_index = f"{index}-dl-bad"
    es_client.indices.create(index=bad_index, mappings={"properties": {"text": {"type": "long"}}})
    try:
        rows = [
            row(id="1", offset=1),
            row(id="1", offset=2, text="Great again!"),  # same post twice: one document
            row(id="2", offset=3, sentiment="Unsupported", polarity=math.nan, subjectivity=math.nan),
            row(id="3", offset=4, reason="missing_field", error="text is missing or blank"),
        ]
        writer = PartitionWriter(es_client, settings, sleep=lambda _: None)
        writer.write_rows(rows)
        docs = all_docs(es_client, index)
        assert set(docs) == {"x:1", "x:2"}
        assert docs["x:1"]["text"] == "Great again!"
        assert docs["x:2"]["polarity"] is None
        assert docs["x:2"]["sentiment"] == "Unsupported"
        dead = all_docs(es_client, f"{index}-dl")
        assert set(dead) == {"posts:2:4"}
        assert dead["posts:2:4"]["reason"] == "missing_field"
        assert writer.stats.indexed == {"Positive": 2, "Unsupported": 1}
        assert writer.stats.scored_by_lang == {"en": 2}
        assert writer.stats.unsupported_by_lang == {"en": 1}
        assert writer.stats.latency_count == 3

        # Per-document rejection (400 mapping error) → dead letter with the reason, no exception.
        bad = Settings(
            checkpoint_location="unused", es_url=es_url, es_index=bad_index, es_deadletter_index=f"{index}-dl"
        )
        writer = PartitionWriter(es_client, bad, sleep=lambda _: None)
        writer.write_rows([row(id="9", offset=9)])
        assert writer.stats.indexed == {}
        assert sum(writer.stats.rejected.values()) == 1
        assert writer.stats.deadlettered == {"es_rejected": 1}
        dead = all_docs(es_client, f"{index}-dl")
        assert dead["posts:2:9"]["reason"] == "es_rejected"
        assert "HTTP 400" in dead["posts:2:9"]["error"]
    finally:
        es_client.options(ignore_status=404).indices.delete(index=bad_index)


@pytest.mark.es
def test_a_refused_dead_letter_fails_the_batch_instead_of_dropping_it(
    es_client: Any, es_url: str, indices: Any
) -> None:
    index = indices()
    # A dead-letter index someone broke: `reason` mapped as a number.
    es_client.indices.create(index=f"{index}-dl", mappings={"properties": {"reason": {"type": "long"}}})
    settings = Settings(
        checkpoint_location="unused", es_url=es_url, es_index=index, es_deadletter_index=f"{index}-dl"
    )
    writer = PartitionWriter(es_client, settings, sleep=lambda _: None)
    with pytest.raises(DeadLetterRefused, match="posts:2:5"):
        writer.write_rows([row(id="5", offset=5, reason="bad_json", error="not JSON")])


def deletion_row(post_id: str | None, source: str | None = "x", offset: int = 100) -> dict[str, Any]:
    """A prepared row of a deletion event (transform: `op` = delete, no text, no reason)."""
    return {"raw": "{}", "key": f"{source}:{post_id}", "topic": "posts", "partition": 2, "offset": offset,
            "id": post_id, "source": source, "op": "delete"}  # fmt: skip


@pytest.mark.es
def test_deletions_remove_the_document_and_its_dead_letters_idempotently(
    es_client: Any, es_url: str, indices: Any
) -> None:
    """A batch indexes, the job dies before its deletions (nothing deleted: the batch is not
    committed), the replayed batch indexes again and deletes: the same index as one clean run.
    A deletion of a post never seen is `unknown`, never a dead letter."""
    index = indices()
    settings = Settings(
        checkpoint_location="unused", es_url=es_url, es_index=index, es_deadletter_index=f"{index}-dl"
    )
    install(es_client, settings)
    batch = [
        row(id="1", offset=1, key="x:1"),
        row(id="2", offset=2, key="x:2"),
        row(
            id="3", offset=3, key="x:3", reason="missing_field", error="text is missing"
        ),  # a dead letter of x:3
        row(id=None, offset=4, key="junk", reason="bad_json", error="not JSON"),  # stays
        deletion_row("1", offset=5),
        deletion_row("3", offset=6),
        deletion_row("never-seen", offset=7),
        deletion_row(None, source=None, offset=8),  # names no post
    ]
    writer = PartitionWriter(es_client, settings, sleep=lambda _: None)
    writer.write_rows(batch)
    assert writer.stats.deletions == ["x:1", "x:3", "x:never-seen"]
    assert writer.stats.deletions_invalid == 1
    assert sum(writer.stats.indexed.values()) == 2  # deletions are not documents
    # Killed here: indexed, not yet deleted.
    assert set(all_docs(es_client, index)) == {"x:1", "x:2"}
    assert set(all_docs(es_client, f"{index}-dl")) == {"posts:2:3", "posts:2:4"}

    # The replayed batch: index again, then delete.
    for attempt in range(2):
        writer = PartitionWriter(es_client, settings, sleep=lambda _: None)
        writer.write_rows(batch)
        done = apply_deletions(es_client, settings, writer.stats.deletions, sleep=lambda _: None)
        assert set(all_docs(es_client, index)) == {"x:2"}
        dead = all_docs(es_client, f"{index}-dl")
        assert set(dead) == {"posts:2:4"}  # x:3's dead letter went with its post
        assert dead["posts:2:4"]["key"] == "junk"
        # x:1 is removed each time (the replay re-indexed it first); x:3 was only ever a dead letter.
        assert (done.applied, done.unknown, done.deadletters_removed) == (1, 2, 1), attempt


@pytest.mark.es
def test_apply_deletions_without_a_dead_letter_index_or_deletions(
    es_client: Any, es_url: str, indices: Any
) -> None:
    index = indices()
    settings = Settings(
        checkpoint_location="unused", es_url=es_url, es_index=index, es_deadletter_index=f"{index}-dl"
    )
    assert apply_deletions(es_client, settings, []).applied == 0
    # Neither index exists yet: every deletion is for an unknown post, nothing fails.
    done = apply_deletions(es_client, settings, ["x:1", "x:1"], sleep=lambda _: None)
    assert (done.applied, done.unknown, done.deadletters_removed) == (0, 1, 0)


@pytest.mark.es
def test_an_account_deletion_removes_every_post_of_the_author_and_their_dead_letters(
    es_client: Any, es_url: str, indices: Any
) -> None:
    index = indices()
    settings = Settings(
        checkpoint_location="unused", es_url=es_url, es_index=index, es_deadletter_index=f"{index}-dl"
    )
    install(es_client, settings)
    batch = [
        row(id="1", offset=1, key="x:1", author_id="42"),
        row(id="2", offset=2, key="x:2", author_id="42"),
        row(id="3", offset=3, key="x:3", author_id="7"),
        row(id="42", offset=4, key="x:42", author_id="7"),  # a post whose id is the account's: stays
        {**deletion_row("42", offset=5), "op": "delete_author"},
        {**deletion_row("999", offset=6), "op": "delete_author"},  # an account with no posts
    ]
    writer = PartitionWriter(es_client, settings, sleep=lambda _: None)
    writer.write_rows(batch)
    assert writer.stats.author_deletions == [["x", "42"], ["x", "999"]]
    assert writer.stats.deletions == []
    done = apply_deletions(
        es_client,
        settings,
        writer.stats.deletions,
        sleep=lambda _: None,
        authors=writer.stats.author_deletions,
    )
    assert set(all_docs(es_client, index)) == {"x:3", "x:42"}
    assert (done.applied, done.unknown) == (2, 1)
