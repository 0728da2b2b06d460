"""The real console script (`tweet-producer`) against the real local Kafka."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kafka.partitioner.default import murmur2 as kafka_murmur2

from devtools.services.kafka import KafkaBroker
from tests.producer.fake_jetstream import DID, Connection, FakeJetstream, identity, post_create, post_delete
from tests.producer.fake_x import KEEPALIVE, OPERATIONAL_DISCONNECT, FakeX, Status, Stream, line, tweet
from tests.producer.producer_helpers import (
    MALFORMED,
    ProducerProcess,
    count_topic,
    dumps,
    poll_until,
    read_topic,
    valid_posts,
    write_jsonl,
    x_envelope,
)
from tweet_producer.events import Post, decode_json, post_from_x
from tweet_producer.settings import REPO_SAMPLE
from tweet_producer.sources.base import Line, parse_line

pytestmark = pytest.mark.kafka

Start = Callable[..., ProducerProcess]
DESIGN_METRICS = [
    "producer_posts_received_total",
    "producer_posts_published_total",
    "producer_publish_errors_total",
    "producer_records_invalid_total",
    "producer_records_skipped_total",
    "producer_deadletter_published_total",
    "producer_stream_connected",
    "producer_stream_reconnects_total",
    "producer_stream_error_messages_total",
    "producer_publish_latency_seconds",
    "producer_last_post_timestamp_seconds",
    "producer_kafka_ready",
]


def test_replay_publishes_every_valid_line_once_and_dead_letters_the_rest(
    tmp_path: Path,
    kafka_bootstrap: str,
    new_topic: Callable[..., str],
    run_producer: Start,
    event_validator,  # type: ignore[no-untyped-def]
    deadletter_validator,  # type: ignore[no-untyped-def]
) -> None:
    topic, dlq = new_topic("posts"), new_topic("dlq")
    posts = valid_posts(600)
    lines = [dumps(p) for p in posts]
    for n, (raw, _) in enumerate(MALFORMED):  # spread the bad lines through the file
        lines.insert(40 * n + 7, raw)
    lines.insert(3, b"")
    path = write_jsonl(tmp_path / "posts.jsonl", lines)

    # The acceptance command, plus a DLQ topic of its own so the test reads only its records.
    producer = run_producer(
        SOURCE="replay",
        REPLAY_FILE=str(path),
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        KAFKA_TOPIC=topic,
        KAFKA_DLQ_TOPIC=dlq,
    )
    assert producer.wait(90) == 0, producer.log
    assert producer.summary() == {
        "received": 600 + len(MALFORMED),
        "published": 600,
        "deadlettered": len(MALFORMED),
        "undelivered": 0,
    }

    records = read_topic(kafka_bootstrap, topic)
    assert len(records) == 600
    # Each key sits in the partition any Kafka client would choose for it (murmur2).
    assert all(r.partition == (kafka_murmur2(r.key) & 0x7FFFFFFF) % 3 for r in records)
    by_key = {r.key.decode(): json.loads(r.value) for r in records}
    assert len(by_key) == 600, "a post was published twice"
    assert set(by_key) == {f"replay:{p['data']['id']}" for p in posts}
    for post in posts:
        event = by_key[f"replay:{post['data']['id']}"]
        event_validator.validate(event)
        data = post["data"]
        assert event["text"] == data.get("note_tweet", data)["text"]
        assert (event["source"], event["lang"], event["author_id"]) == ("replay", "en", data["author_id"])

    dead = read_topic(kafka_bootstrap, dlq)
    assert len(dead) == len(MALFORMED)
    values = [json.loads(r.value) for r in dead]
    for value in values:
        deadletter_validator.validate(value)
    assert Counter(v["reason"] for v in values) == Counter(reason for _, reason in MALFORMED)
    assert {v["raw"] for v in values} == {raw.decode("utf-8", "backslashreplace") for raw, _ in MALFORMED}


def test_metrics_readiness_and_a_quick_clean_sigterm(
    tmp_path: Path, kafka_bootstrap: str, new_topic: Callable[..., str], run_producer: Start
) -> None:
    topic, dlq = new_topic("posts"), new_topic("dlq")
    lines = [dumps(p) for p in valid_posts(3000)]
    lines.insert(5, b"{broken")
    # A media-only post: not a text post, so skipped and counted, never dead-lettered.
    lines.insert(
        7, b'{"data": {"id": "1850000000000000777", "text": "", "created_at": "2026-11-20T10:00:00Z"}}'
    )
    path = write_jsonl(tmp_path / "posts.jsonl", lines)
    producer = run_producer(
        SOURCE="replay",
        REPLAY_FILE=str(path),
        REPLAY_RATE="300",
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        KAFKA_TOPIC=topic,
        KAFKA_DLQ_TOPIC=dlq,
    )
    poll_until(lambda: (producer.metric("producer_posts_published_total") or 0) >= 50, 30, "posts published")

    assert producer.get("/healthz") == (200, "ok\n")
    assert producer.get("/readyz") == (200, "ready\n")
    status, text = producer.get("/metrics")
    assert status == 200
    for name in DESIGN_METRICS:
        assert f"\n{name}" in text or f"\n# TYPE {name}" in text, f"{name} missing from /metrics"
    assert producer.metric("producer_stream_connected", 'source="replay"') == 1
    assert producer.metric("producer_kafka_ready") == 1
    assert (producer.metric("producer_posts_received_total", 'source="replay"') or 0) >= 50
    assert producer.metric("producer_records_invalid_total", 'reason="bad_json",source="replay"') == 1
    assert producer.metric("producer_deadletter_published_total") == 1
    assert producer.metric("producer_records_skipped_total", 'reason="no_text",source="replay"') == 1
    assert (producer.metric("producer_publish_latency_seconds_count") or 0) >= 50
    assert (producer.metric("producer_last_post_timestamp_seconds") or 0) > time.time() - 60

    producer.terminate()
    assert producer.wait(10) == 0, producer.log
    summary = producer.summary()
    assert summary["undelivered"] == 0
    assert 50 <= summary["published"] < 3000, "SIGTERM should have stopped the replay mid-file"
    # Every record received is published, dead-lettered, or (the one media-only post) skipped.
    assert summary["received"] == summary["published"] + summary["deadlettered"] + 1
    records = read_topic(kafka_bootstrap, topic)
    assert len(records) == summary["published"]
    assert len({r.key for r in records}) == len(records)


def test_a_post_kafka_refuses_for_good_is_dead_lettered_and_the_rest_still_flow(
    tmp_path: Path,
    kafka_bootstrap: str,
    kafka_admin,
    new_topic: Callable[..., str],
    run_producer: Start,  # type: ignore[no-untyped-def]
) -> None:
    """A topic whose max.message.bytes is smaller than one post: Kafka rejects that post
    (non-retriable), which makes kafka-python's idempotent producer unusable. The producer
    starts a new one, delivers every other post, and dead-letters the refused one."""
    from kafka.admin import NewTopic

    topic, dlq = f"small-{int(time.time() * 1000)}", new_topic("dlq")
    kafka_admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": "4096"})])
    try:
        posts = valid_posts(60)
        big = x_envelope("999999", "b" * 6000)
        lines = [dumps(p) for p in posts[:30]] + [dumps(big)] + [dumps(p) for p in posts[30:]]
        path = write_jsonl(tmp_path / "posts.jsonl", lines)
        producer = run_producer(
            SOURCE="replay",
            REPLAY_FILE=str(path),
            KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
            KAFKA_TOPIC=topic,
            KAFKA_DLQ_TOPIC=dlq,
            KAFKA_COMPRESSION="none",
        )
        assert producer.wait(60) == 0, producer.log
        assert producer.summary() == {"received": 61, "published": 60, "deadlettered": 1, "undelivered": 0}
        keys = sorted(r.key.decode() for r in read_topic(kafka_bootstrap, topic))
        assert keys == sorted(f"replay:{p['data']['id']}" for p in posts)
        (dead,) = [json.loads(r.value) for r in read_topic(kafka_bootstrap, dlq)]
        assert dead["reason"] == "publish_failed"
        assert "MessageSizeTooLargeError" in dead["error"]
        assert json.loads(dead["raw"])["id"] == "999999"
    finally:
        kafka_admin.delete_topics([topic])


@pytest.fixture
def fault_broker() -> Iterator[KafkaBroker]:
    """A broker of our own to stop and restart (never the shared one)."""
    broker = KafkaBroker(port=19092, name="kafka-faults-producer")
    broker.up()
    yield broker
    broker.down()


@pytest.mark.slow
def test_broker_restart_mid_replay_loses_no_accepted_post(
    tmp_path: Path, fault_broker: KafkaBroker, run_producer: Start
) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    topic = f"posts-restart-{int(time.time() * 1000)}"
    admin = KafkaAdminClient(bootstrap_servers=fault_broker.bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    admin.close()
    # 20 s of posts: the broker's restart (~10-25 s here) lands while the file is being read.
    posts = valid_posts(2000)
    path = write_jsonl(tmp_path / "posts.jsonl", [dumps(p) for p in posts])
    producer = run_producer(
        SOURCE="replay",
        REPLAY_FILE=str(path),
        REPLAY_RATE="100",
        KAFKA_BOOTSTRAP_SERVERS=fault_broker.bootstrap,
        KAFKA_TOPIC=topic,
        KAFKA_DLQ_TOPIC=f"{topic}.dlq",
    )
    poll_until(lambda: count_topic(fault_broker.bootstrap, topic) >= 150, 60, "150 posts before the restart")

    fault_broker.down()
    # The producer notices and says so, but keeps reading the file meanwhile.
    poll_until(lambda: producer.get("/readyz")[0] == 503, 20, "/readyz to report Kafka down")
    received_while_down = producer.metric("producer_posts_received_total", 'source="replay"') or 0
    assert producer.metric("producer_kafka_ready") == 0
    fault_broker.up()

    assert producer.wait(150) == 0, producer.log
    assert producer.summary()["undelivered"] == 0
    records = read_topic(fault_broker.bootstrap, topic, timeout=60)
    ids = [r.key.decode().removeprefix("replay:") for r in records]
    assert set(ids) == {p["data"]["id"] for p in posts}  # duplicates allowed (at-least-once), loss not
    assert received_while_down > 150


def test_bluesky_posts_reach_kafka_and_the_cursor_survives_a_restart(
    tmp_path: Path, kafka_bootstrap: str, new_topic: Callable[..., str], run_producer: Start
) -> None:
    topic, dlq = new_topic("posts"), new_topic("dlq")
    jetstream = FakeJetstream(
        [
            Connection(
                [
                    identity(10_000),
                    *[post_create(10_001 + i, f"rkey{i}", f"bluesky post {i} 🦋", ["en"]) for i in range(5)],
                    post_delete(10_010, "rkey0"),
                ],
                hold=True,
            ),
            Connection([post_create(10_011, "rkey9", "after restart", ["en"])], hold=True),
        ]
    )
    cursor = tmp_path / "state" / "jetstream.cursor"
    settings = {
        "SOURCE": "bluesky",
        "JETSTREAM_URL": jetstream.url,
        "JETSTREAM_CURSOR_FILE": str(cursor),
        "JETSTREAM_CURSOR_SAVE_SECONDS": "0.2",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KAFKA_TOPIC": topic,
        "KAFKA_DLQ_TOPIC": dlq,
    }
    try:
        first = run_producer(**settings)
        poll_until(
            lambda: count_topic(kafka_bootstrap, topic) >= 6, 30, "5 bluesky posts and a deletion in Kafka"
        )
        # The cursor moves past the deletion as past a post.
        poll_until(lambda: cursor.exists() and cursor.read_text().strip() == "10010", 30, "the cursor file")
        assert first.metric("producer_deletions_published_total") == 1
        assert first.metric("producer_posts_published_total") == 5
        first.terminate()
        assert first.wait(10) == 0, first.log

        second = run_producer(**settings)
        poll_until(lambda: len(jetstream.paths) >= 2, 30, "the restarted producer to connect")
        poll_until(lambda: count_topic(kafka_bootstrap, topic) >= 7, 30, "the post after the restart")
        second.terminate()
        assert second.wait(10) == 0, second.log
    finally:
        jetstream.close()

    assert jetstream.queries()[1]["cursor"] == ["10010"]
    records = read_topic(kafka_bootstrap, topic)
    keys = sorted(r.key.decode() for r in records)
    expected = sorted(f"bluesky:at://{DID}/app.bsky.feed.post/rkey{i}" for i in (0, 0, 1, 2, 3, 4, 9))
    assert keys == expected
    assert all(json.loads(r.value)["source"] == "bluesky" for r in records)
    # The deletion has the post's key, so it lands after the creation on one partition.
    rkey0 = [r for r in records if r.key.decode().endswith("/rkey0")]
    assert len({r.partition for r in rkey0}) == 1
    assert [json.loads(r.value).get("kind") for r in sorted(rkey0, key=lambda r: r.offset)] == [
        None,
        "delete",
    ]


def test_x_stream_reaches_kafka_and_a_revoked_token_stops_the_producer(
    kafka_bootstrap: str, new_topic: Callable[..., str], run_producer: Start
) -> None:
    topic, dlq = new_topic("posts"), new_topic("dlq")
    fake = FakeX(
        [
            Stream(
                [
                    line(tweet("101")),
                    KEEPALIVE,
                    line(tweet("102")),
                    line(tweet("103")),
                    line(OPERATIONAL_DISCONNECT),
                ]
            ),
            Status(401),
        ]
    )
    try:
        producer = run_producer(
            SOURCE="x-sample",
            X_API_BASE_URL=fake.base_url,
            X_BEARER_TOKEN="sekrit-bearer-4",  # noqa: S106 - a test value
            KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
            KAFKA_TOPIC=topic,
            KAFKA_DLQ_TOPIC=dlq,
        )
        assert producer.wait(30) == 1, producer.log
    finally:
        fake.close()
    assert "X_BEARER_TOKEN" in producer.log
    assert "sekrit" not in producer.log
    assert producer.summary() == {"received": 3, "published": 3, "deadlettered": 0, "undelivered": 0}
    assert sorted(r.key for r in read_topic(kafka_bootstrap, topic)) == [b"x:101", b"x:102", b"x:103"]


def test_synthetic_with_a_limit_publishes_exactly_that_many(
    kafka_bootstrap: str,
    new_topic: Callable[..., str],
    run_producer: Start,
    event_validator,  # type: ignore[no-untyped-def]
) -> None:
    topic, dlq = new_topic("posts"), new_topic("dlq")
    producer = run_producer(
        SOURCE="synthetic",
        SYNTHETIC_RATE="0",
        SYNTHETIC_LIMIT="2000",
        SYNTHETIC_SEED="3",
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        KAFKA_TOPIC=topic,
        KAFKA_DLQ_TOPIC=dlq,
        LOG_FORMAT="json",
    )
    assert producer.wait(90) == 0, producer.log
    logged = [json.loads(line) for line in producer.lines]  # every log line is one JSON object
    assert {"ts", "level", "logger", "msg"} <= set(logged[0])
    assert any(entry["msg"].startswith("stopped: received=2000 published=2000") for entry in logged)
    records = read_topic(kafka_bootstrap, topic)
    assert len(records) == 2000
    assert len({r.key for r in records}) == 2000
    for record in records[::50]:
        event = json.loads(record.value)
        event_validator.validate(event)
        assert record.key.decode() == f"synthetic:{event['id']}"


def test_without_settings_it_replays_the_bundled_sample(
    kafka_bootstrap: str, new_topic: Callable[..., str], run_producer: Start
) -> None:
    topic, dlq = new_topic("posts"), new_topic("dlq")
    expected = []
    for raw in REPO_SAMPLE.read_bytes().splitlines():
        item = parse_line(
            Line(raw, len(raw)), "replay", 65536, lambda d: post_from_x(decode_json(d), "replay")
        )
        if isinstance(item, Post):
            expected.append(item.key)
    producer = run_producer(KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, KAFKA_TOPIC=topic, KAFKA_DLQ_TOPIC=dlq)
    assert producer.wait(60) == 0, producer.log
    assert len(expected) >= 300
    assert sorted(r.key for r in read_topic(kafka_bootstrap, topic)) == sorted(expected)
