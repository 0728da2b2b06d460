"""Deletions end to end on the real Kafka, Spark and Elasticsearch (issue 18).

A Jetstream connection (the local WebSocket server) with creates and deletes goes through
the real `tweet-producer` into Kafka and through the job into Elasticsearch; a full replay
from a fresh checkpoint ends with the same index; a job killed mid-stream and restarted
ends with the same index as one clean run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from spark_job_helpers import all_docs, catch_up, count, event, killed_mid_stream, produce, run_job

from devtools.harness.env import deadletter_index, job_env
from sentiment_job import job
from sentiment_job.es_setup import install
from sentiment_job.metrics import JobMetrics
from sentiment_job.settings import Settings, Trigger
from tests.producer.fake_jetstream import DID, Connection, FakeJetstream, post_create, post_delete
from tests.producer.producer_helpers import ProducerProcess, count_topic, poll_until
from tweet_sentiment_common import contract

pytestmark = [pytest.mark.kafka, pytest.mark.es, pytest.mark.spark]


def at_uri(rkey: str) -> str:
    return f"at://{DID}/app.bsky.feed.post/{rkey}"


def send(bootstrap: str, topic: str, records: list[tuple[str, bytes]]) -> None:
    """Records with the key we choose (a dead letter needs a post's key)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for key, value in records:
            producer.send(topic, key=key.encode(), value=value)
        producer.flush(timeout=60)
    finally:
        producer.close()


def deletion(source: str, post_id: str) -> dict[str, Any]:
    made = contract.new_deletion(
        source=source, id=post_id, reason="delete", deleted_at="2026-01-02T03:05:00.000Z"
    )
    return contract.deletion_dict(made, "2026-01-02T03:05:00.100Z")


def run_in_process(spark: Any, settings: Settings) -> JobMetrics:
    metrics = JobMetrics()
    assert job.run(spark, settings, metrics) == 0
    return metrics


def deletions_metric(metrics: JobMetrics) -> dict[str, float]:
    sample = metrics.registry.get_sample_value
    out = {
        outcome: sample("sentiment_job_deletions_total", {"outcome": outcome}) or 0.0
        for outcome in ("applied", "unknown_post", "invalid")
    }
    out["deadletters_removed"] = sample("sentiment_job_deadletters_removed_total") or 0.0
    return out


def test_jetstream_creates_and_deletes_through_the_producer_and_the_job_then_a_full_replay(
    kafka_bootstrap: str,
    new_topic: Any,
    es_url: str,
    es_client: Any,
    indices: Any,
    spark: Any,
    tmp_path: Path,
) -> None:
    # One Kafka partition, read by two Spark tasks (minPartitions = the 2 cores): a create and
    # its deletion may land in different tasks of one batch, and must still end deleted.
    topic, dlq, index = new_topic("del-posts", partitions=1), new_topic("del-dlq"), indices()
    jetstream = FakeJetstream(
        [
            Connection(
                [
                    *[
                        post_create(20_000 + i, f"r{i}", f"bluesky post {i} is lovely", ["en"])
                        for i in range(10)
                    ],
                    post_delete(20_100, "r0"),
                    post_delete(20_101, "r3"),
                    post_delete(20_102, "never-created"),
                ],
                hold=True,
            )
        ]
    )
    producer = ProducerProcess.launch(
        tmp_path / "producer.log",
        source="bluesky",
        jetstream_url=jetstream.url,
        jetstream_cursor_file=tmp_path / "cursor",
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic=topic,
        kafka_dlq_topic=dlq,
    )
    try:
        poll_until(lambda: count_topic(kafka_bootstrap, topic) >= 13, 60, "10 posts and 3 deletions in Kafka")
        assert producer.metric("producer_deletions_published_total") == 3
        producer.finish()
    finally:
        producer.kill()
        jetstream.close()

    # What the job can also meet: a record it dead-letters under a post's key, then that
    # post's deletion (the dead letter must go); a dead letter of no post (stays); a
    # deletion that names no post (counted, never dead-lettered).
    bad_key = f"bluesky:{at_uri('broken')}"
    send(
        kafka_bootstrap,
        topic,
        [
            (bad_key, b'{"schema_version": 1, "id": "broken", "text": 5}'),
            (bad_key, json.dumps(deletion("bluesky", at_uri("broken"))).encode()),
            ("junk", b"not json at all"),
            ("junk2", b'{"schema_version": 1, "kind": "delete", "id": 42}'),
        ],
    )
    # X posts of two accounts, then an account-level deletion of one (X's user_delete).
    account_posts = [
        event(f"{i}", f"x post {i}", source="x", author_id=author) for i, author in enumerate("4247")
    ]
    gone = contract.new_deletion(
        source="x", id="4", reason="user_delete", deleted_at="2026-01-02T03:05:00.000Z"
    )
    produce(kafka_bootstrap, topic, account_posts)
    send(
        kafka_bootstrap,
        topic,
        [(gone.key.decode(), contract.deletion_bytes(gone, "2026-01-02T03:05:00.100Z"))],
    )
    settings = Settings(
        checkpoint_location=str(tmp_path / "checkpoint"),
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic=topic,
        es_url=es_url,
        es_index=index,
        es_deadletter_index=deadletter_index(index),
        trigger=Trigger(available_now=True),
    )
    install(es_client, settings)
    metrics = run_in_process(spark, settings)

    expected = {f"bluesky:{at_uri(f'r{i}')}" for i in range(10) if i not in (0, 3)} | {"x:1", "x:3"}
    docs = all_docs(es_client, index)
    assert set(docs) == expected
    dead = all_docs(es_client, deadletter_index(index))
    assert [d["key"] for d in dead.values()] == ["junk"]
    assert deletions_metric(metrics) == {
        "applied": 4,  # r0, r3, and x:0 and x:2 (the account "4")
        "unknown_post": 2,  # never-created; broken (only ever a dead letter)
        "invalid": 1,
        "deadletters_removed": 1,
    }

    # The checkpoint holds offsets and commit markers, never a post's text.
    checkpoint_files = [p for p in (tmp_path / "checkpoint").rglob("*") if p.is_file()]
    assert checkpoint_files
    assert not [p for p in checkpoint_files if b"lovely" in p.read_bytes()]

    # A replay of the whole topic from a fresh checkpoint: the same index (the creations are
    # indexed again, then deleted again; the dead letter of `broken` is written and removed).
    replay = settings.model_copy(update={"checkpoint_location": str(tmp_path / "checkpoint-replay")})
    again = run_in_process(spark, replay)
    replayed = all_docs(es_client, index)
    assert set(replayed) == set(docs)

    def content(d: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in d.items() if k != "indexed_at"}  # the one field a re-index changes

    assert {k: content(v) for k, v in replayed.items()} == {k: content(v) for k, v in docs.items()}
    assert set(all_docs(es_client, deadletter_index(index))) == set(dead)
    assert deletions_metric(again)["applied"] == 4
    assert docs["x:1"]["author_id"] == "2"  # indexed: what an account-level deletion finds


@pytest.mark.slow
def test_a_job_killed_mid_stream_ends_with_the_index_of_a_clean_run(
    kafka_bootstrap: str,
    new_topic: Any,
    es_url: str,
    es_client: Any,
    indices: Any,
    spark_jars: str,
    tmp_path: Path,
) -> None:
    topic, index = new_topic("del-kill"), indices()
    records: list[dict[str, Any]] = []
    deleted = set()
    for i in range(400):
        records.append(event(f"k-{i}", f"post {i} is {'great' if i % 2 else 'awful'}"))
        if i % 4 == 3:  # every 4th post is deleted a little later in the stream
            records.append(deletion("synthetic", f"k-{i - 2}"))
            deleted.add(f"synthetic:k-{i - 2}")
    produce(kafka_bootstrap, topic, records)
    expected = {f"synthetic:k-{i}" for i in range(400)} - deleted
    env = job_env(
        kafka_bootstrap, topic, es_url, index, tmp_path / "checkpoint", spark_jars,
        trigger="processingTime=0", max_offsets_per_trigger=40,
    )  # fmt: skip
    killed_mid_stream(env, tmp_path / "job-1.log", es_client, index, len(expected) + len(deleted))
    code, log = run_job(catch_up(env), tmp_path / "job-2.log", timeout=420)
    assert code == 0, log
    assert set(all_docs(es_client, index)) == expected
    assert count(es_client, deadletter_index(index)) == 0  # a deletion is never a dead letter
