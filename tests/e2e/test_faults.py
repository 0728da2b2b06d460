"""Faults across the whole chain: producer → Kafka → job → Elasticsearch, all real processes.

Each test replays a generated file of a few thousand posts at a moderate rate so that the
fault lands mid-run, then checks the index holds exactly the unique valid posts: nothing
lost, nothing duplicated, every document labelled. The chaos run puts every fault into one
run under load (2,000 posts/s and a live Jetstream feed); its figures are in
docs/reliability.md.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from devtools.demo import metric_sum, scrape
from devtools.harness.poll import wait_until
from devtools.services.elasticsearch import ElasticsearchNode
from devtools.services.kafka import KafkaBroker
from tests.e2e.conftest import Run, assert_exactly
from tests.e2e.data import (
    bad_replay_lines,
    es_count,
    es_docs,
    post_text,
    read_topic,
    topic_size,
    write_replay,
)
from tests.producer.fake_jetstream import DID, JetstreamFeed, post_create

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.kafka,
    pytest.mark.es,
    pytest.mark.spark,
    # Three Spark start-ups (or an Elasticsearch restart) on a loaded 2-core machine.
    pytest.mark.timeout(900),
]

# Generous: a cold Spark start on a loaded 2-core machine takes tens of seconds.
DONE_TIMEOUT = 300
# Unique valid posts per replay file, and the replay rate: ~40 s of producing, so that the
# faults land while posts are still flowing.
POSTS = 2000
RATE = 50


def create_topics(bootstrap: str, *names: str) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="e2e")
    try:
        admin.create_topics([NewTopic(n, num_partitions=3, replication_factor=1) for n in names])
    finally:
        admin.close()


def delete_topics(bootstrap: str, *names: str) -> None:
    from kafka.admin import KafkaAdminClient

    # Cleanup must not mask the test's own result.
    with contextlib.suppress(Exception):
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="e2e")
        admin.delete_topics(list(names))
        admin.close()


def es(url: str) -> Any:
    from elasticsearch import Elasticsearch

    return Elasticsearch(url, request_timeout=30, retry_on_timeout=True)


def split_lines(path: Path, share: float) -> tuple[Path, Path]:
    """The file's first `share` of lines and the rest, as two replay files."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    cut = int(len(lines) * share)
    head, tail = path.with_suffix(".head.jsonl"), path.with_suffix(".tail.jsonl")
    head.write_text("".join(lines[:cut]), encoding="utf-8")
    tail.write_text("".join(lines[cut:]), encoding="utf-8")
    return head, tail


def progress(client: Any, index: str, at_least: int) -> Any:
    """A poll check: at least `at_least` posts are searchable in `index`."""
    return lambda: es_count(client, index) >= at_least


@pytest.fixture
def topics(run: Run, request: pytest.FixtureRequest) -> Any:
    """Creates the run's topics on a given broker, deletes them afterwards."""
    made: list[str] = []

    def make(bootstrap: str) -> None:
        create_topics(bootstrap, run.topic, run.dlq_topic)
        made.append(bootstrap)

    yield make
    for bootstrap in made:
        delete_topics(bootstrap, run.topic, run.dlq_topic)


@pytest.fixture
def index_cleanup(run: Run) -> Any:
    clients: list[Any] = []
    yield clients.append
    for client in clients:
        # The node may be the one the test stopped.
        with contextlib.suppress(Exception):
            client.indices.delete(index=f"{run.index}*", ignore_unavailable=True, allow_no_indices=True)
        client.close()


# The chaos run: a replay at CHAOS_RATE posts/s and a live Jetstream feed at the same time.
CHAOS_POSTS = 50_000  # unique valid replay posts (+2% repeated lines): ~25 s at CHAOS_RATE
CHAOS_RATE = 2000
# Jetstream posts at FEED_RATE: 200 s, so the stream is live through every fault (a loaded
# 2-core machine needs ~4 min for the five faults; a faster one waits for the feed's end).
FEED_POSTS = 20_000
FEED_RATE = 100
FEED_T0 = 1_780_000_000_000_000  # time_us of the first feed event
FRESH = 3000  # posts newly indexed before each job kill and before the Elasticsearch restart
DRAIN_TIMEOUT = 900


def feed_events(count: int, seed: int) -> tuple[list[dict[str, Any]], set[str]]:
    """Jetstream post creations, one a millisecond, and the `_id`s they must end up as."""
    rng = random.Random(seed)
    events = [post_create(FEED_T0 + 1000 * i, f"chaos{i:06d}", post_text(rng), ["en"]) for i in range(count)]
    return events, {f"bluesky:at://{DID}/app.bsky.feed.post/chaos{i:06d}" for i in range(count)}


def producer_summary(proc: Any) -> dict[str, int]:
    """The counts of a producer's last `stopped: received=... published=...` log line."""
    found = re.findall(
        r"stopped: (received=\d+ published=\d+ deadlettered=\d+ undelivered=\d+)", proc.tail(400)
    )
    assert found, f"no summary in {proc.log_file}"
    return {k: int(v) for k, v in (pair.split("=") for pair in found[-1].split())}


def log_seconds(proc: Any, first: str, last: str) -> float:
    """Seconds between the first log line containing `first` and the last containing `last`."""
    from datetime import datetime

    def stamps(text: str) -> list[datetime]:
        return [
            datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
            for line in proc.log_file.read_text(errors="replace").splitlines()
            if text in line and line[:4].isdigit()
        ]

    return (stamps(last)[-1] - stamps(first)[0]).total_seconds()


def version_overwrites(client: Any, index: str) -> int:
    """Writes beyond the first over all documents (sum of `_version` - 1): the replays the
    deterministic `_id`s absorbed."""
    from elasticsearch.helpers import scan

    client.indices.refresh(index=index)
    hits = scan(
        client, index=index, query={"query": {"match_all": {}}}, _source=False, version=True, size=5000
    )
    return sum(int(hit["_version"]) - 1 for hit in hits)


@pytest.mark.timeout(1800)
def test_chaos_under_load_every_post_indexed_exactly_once(
    run: Run,
    fault_kafka: KafkaBroker,
    fault_es: ElasticsearchNode,
    topics: Any,
    index_cleanup: Any,
    record_property: Any,
) -> None:
    """2,000 posts/s from a replay plus a Jetstream feed, and during the load: the job
    SIGKILLed twice, the broker killed and restarted, Elasticsearch restarted, the Jetstream
    connection dropped twice (the producer resumes from its cursor). Every post is indexed
    exactly once; the figures go to docs/reliability.md."""
    client = es(fault_es.url)
    index_cleanup(client)
    bootstrap = fault_kafka.bootstrap
    topics(bootstrap)
    replay = write_replay(run.tmp / "posts.jsonl", valid=CHAOS_POSTS, duplicates=CHAOS_POSTS // 50, seed=6)
    warm, load = split_lines(replay.path, 0.001)
    events, feed_ids = feed_events(FEED_POSTS, seed=6)
    expected = replay.expected_ids | feed_ids
    total = len(expected)
    load_t0 = 0.0
    marks: dict[str, float] = {}  # seconds since the load started

    def mark(what: str, at: float | None = None) -> None:
        marks[what] = round((time.monotonic() if at is None else at) - load_t0, 1)

    def mark_exit(proc: Any, what: str) -> None:
        def watch() -> None:
            while proc.running():
                time.sleep(0.2)
            mark(what)

        threading.Thread(target=watch, daemon=True).start()

    # The job restarts on a non-zero exit (an outage past its retry budget), as Kubernetes would.
    job = run.job(bootstrap, fault_es.url, restart=True, MAX_OFFSETS_PER_TRIGGER=20_000).start()
    warmup = run.producer(bootstrap, name="producer-warmup", SOURCE="replay", REPLAY_FILE=warm).start()
    wait_until(progress(client, run.index, 1), DONE_TIMEOUT, "the job to index", run.sup, [warmup])

    feed = JetstreamFeed(events, FEED_RATE, drop_after=[FEED_POSTS // 3, 2 * FEED_POSTS // 3])
    try:
        load_t0 = time.monotonic()
        replayer = run.producer(
            bootstrap, name="producer-replay", SOURCE="replay", REPLAY_FILE=load, REPLAY_RATE=CHAOS_RATE
        ).start()
        bluesky = run.producer(
            bootstrap,
            name="producer-bluesky",
            SOURCE="bluesky",
            JETSTREAM_URL=feed.url,
            JETSTREAM_CURSOR_FILE=run.tmp / "jetstream.cursor",
            JETSTREAM_CURSOR_SAVE_SECONDS=1,
        ).start()
        may_end = [warmup, replayer]
        mark_exit(replayer, "replay sent")

        def fresh_progress(what: str) -> None:
            target = es_count(client, run.index) + FRESH
            wait_until(progress(client, run.index, target), DRAIN_TIMEOUT, what, run.sup, may_end)

        # 1. The broker, killed while both producers publish, down 10 s.
        in_kafka = int(0.3 * replay.lines)
        wait_until(
            lambda: topic_size(bootstrap, run.topic) >= in_kafka,
            DRAIN_TIMEOUT,
            f"{in_kafka} records in Kafka",
            run.sup,
            may_end,
            interval=0.2,
        )
        assert replayer.running(), "the replay ended before the broker went down: raise CHAOS_POSTS"
        fault_kafka.kill()
        mark("broker killed")
        down_since = time.monotonic()
        while time.monotonic() - down_since < 10:  # the outage itself
            run.sup.check(may_end)
            time.sleep(0.5)
        fault_kafka.up()
        mark("broker up")

        # 2. The job, SIGKILLed mid-stream (as when its node dies).
        fresh_progress("progress before the first kill")
        job.kill()
        job.start()
        mark("job killed (1)")

        # 3. The job again, once it made fresh progress.
        fresh_progress("progress before the second kill")
        job.kill()
        job.start()
        mark("job killed (2)")

        # 4. Elasticsearch restarted (stopped, then started: its start takes tens of seconds).
        fresh_progress("progress before the Elasticsearch restart")
        fault_es.down()
        mark("Elasticsearch stopped")
        fault_es.up()
        mark("Elasticsearch up")

        wait_until(progress(client, run.index, total), DRAIN_TIMEOUT, "every post indexed", run.sup, may_end)
        mark("every post indexed")
        assert replayer.wait(60) == 0
        assert bluesky.stop() == 0
    finally:
        feed.close()

    assert_exactly(client, run.index, expected)
    assert es_count(client, run.deadletter_index) == 0
    assert job.kills == 2
    assert feed.dropped == 2
    cursors = feed.cursors()
    assert cursors[0] is None
    assert len(cursors) >= 3
    assert all(c is not None for c in cursors[1:]), cursors
    sent = {
        name: producer_summary(p)
        for name, p in (("warmup", warmup), ("replay", replayer), ("bluesky", bluesky))
    }
    assert all(s["undelivered"] == 0 for s in sent.values())
    in_topic = topic_size(bootstrap, run.topic)
    figures = {
        "posts_unique": total,
        "replay_lines": replay.lines,
        "posts_sent": sum(s["published"] for s in sent.values()),
        "kafka_records": in_topic,
        "indexed": es_count(client, run.index),
        "duplicates_in_index": es_count(client, run.index) - total,
        "dead_letters": es_count(client, run.deadletter_index),
        "overwrites_absorbed": version_overwrites(client, run.index),
        "job_exits_restarted": run.sup.restarts.get("job", 0),
        "jetstream_connections": len(cursors),
        # The replay's reading pace (the file read at CHAOS_RATE, Kafka down or not).
        "replay_read_posts_per_s": round(
            (replay.lines - len(warm.read_text().splitlines())) / log_seconds(replayer, "replaying", "done")
        ),
    }
    for i, at in enumerate(feed.drop_times, 1):
        mark(f"Jetstream dropped ({i})", at)
    assert feed.finished_at is not None
    mark("feed ended", feed.finished_at)
    load_end = max(marks["replay sent"], marks["feed ended"])
    figures["drain_after_load_end_s"] = round(marks["every post indexed"] - load_end, 1)
    figures["drain_after_last_fault_s"] = round(marks["every post indexed"] - marks["Elasticsearch up"], 1)
    figures.update({f"t_{k}": v for k, v in sorted(marks.items(), key=lambda kv: kv[1])})
    for key, value in figures.items():
        record_property(key, value)
    print("chaos figures: " + json.dumps(figures))


def test_broker_restart_while_producing_loses_and_duplicates_nothing(
    run: Run, fault_kafka: KafkaBroker, es_url: str, topics: Any, index_cleanup: Any
) -> None:
    client = es(es_url)
    index_cleanup(client)
    topics(fault_kafka.bootstrap)
    replay = write_replay(run.tmp / "posts.jsonl", valid=POSTS, duplicates=POSTS // 50, seed=2)
    first, rest = split_lines(replay.path, 0.2)
    total = len(replay.expected_ids)

    # The job restarts on a non-zero exit, as the spark-operator's restart policy would.
    job = run.job(fault_kafka.bootstrap, es_url, restart=True).start()
    # A first producer run, so that the job is up and consuming when the second one starts;
    # the broker then dies while the second one is mid-file.
    warmup = run.producer(
        fault_kafka.bootstrap, name="producer-1", SOURCE="replay", REPLAY_FILE=first
    ).start()
    wait_until(progress(client, run.index, 1), DONE_TIMEOUT, "the job to index", run.sup, [warmup])
    producer = run.producer(
        fault_kafka.bootstrap, name="producer-2", SOURCE="replay", REPLAY_FILE=rest, REPLAY_RATE=RATE
    ).start()
    lines_first = sum(1 for _ in first.open())
    in_kafka = lines_first + (replay.lines - lines_first) // 4
    wait_until(
        lambda: topic_size(fault_kafka.bootstrap, run.topic) >= in_kafka,
        DONE_TIMEOUT,
        f"{in_kafka} records in Kafka",
        run.sup,
        [warmup, producer],
        interval=0.2,
    )

    fault_kafka.kill()  # a crash, not a clean shutdown
    down_since = time.monotonic()
    while time.monotonic() - down_since < 10:  # the outage; the producer keeps reading its file
        run.sup.check([warmup, producer])
        time.sleep(0.5)
    assert producer.running(), "the replay finished before the broker went down: raise POSTS"
    fault_kafka.up()

    wait_until(
        progress(client, run.index, total), DONE_TIMEOUT, "every post indexed", run.sup, [warmup, producer]
    )
    assert warmup.wait(10) == 0
    assert producer.wait(120) == 0
    assert_exactly(client, run.index, replay.expected_ids)
    job = run.sup.procs[0]
    print(
        f"job exit codes around the broker outage: {job.exits} (restarts: {run.sup.restarts.get('job', 0)})"
    )


def test_elasticsearch_down_30s_job_recovers(
    run: Run,
    fault_es: ElasticsearchNode,
    kafka_bootstrap: str,
    topics: Any,
    index_cleanup: Any,
    record_property: Any,
) -> None:
    client = es(fault_es.url)
    index_cleanup(client)
    topics(kafka_bootstrap)
    replay = write_replay(run.tmp / "posts.jsonl", valid=POSTS, duplicates=POSTS // 50, seed=3)
    total = len(replay.expected_ids)

    job = run.job(kafka_bootstrap, fault_es.url, restart=True).start()
    producer = run.producer(
        kafka_bootstrap, SOURCE="replay", REPLAY_FILE=replay.path, REPLAY_RATE=RATE
    ).start()
    wait_until(
        progress(client, run.index, int(0.25 * total)), DONE_TIMEOUT, "25% indexed", run.sup, [producer]
    )

    fault_es.down()
    down_since = time.monotonic()
    while time.monotonic() - down_since < 30:
        run.sup.check([producer])  # restarts the job if it gives up while ES is away
        time.sleep(0.5)
    fault_es.up()

    wait_until(progress(client, run.index, total), DONE_TIMEOUT, "every post indexed", run.sup, [producer])
    assert producer.wait(60) == 0
    assert_exactly(client, run.index, replay.expected_ids)
    assert es_count(client, run.deadletter_index) == 0
    restarts = run.sup.restarts.get("job", 0)
    record_property("job_restarts", restarts)
    print(f"job exit codes while Elasticsearch was down: {job.exits} (restarts: {restarts})")


def bad_topic_values(count: int) -> list[bytes]:
    """Values the job must dead-letter: not JSON, not UTF-8, not an object, not an event v1."""
    event = {
        "schema_version": 1,
        "source": "replay",
        "text": "looks fine",
        "lang": "en",
        "created_at": "2026-01-01T00:00:00.000Z",
        "ingested_at": "2026-01-01T00:00:00.000Z",
    }
    kinds = [
        lambda i: f"not json {i} {{".encode(),
        lambda i: b"\xff\xfe\xfa invalid utf-8 " + str(i).encode(),
        lambda i: json.dumps([i, "an array"]).encode(),
        lambda i: json.dumps({"schema_version": 1, "id": f"direct-partial-{i}"}).encode(),
        lambda i: json.dumps({**event, "id": f"direct-v2-{i}", "schema_version": 2}).encode(),
    ]
    return [kinds[i % len(kinds)](i) for i in range(count)]


def test_malformed_records_all_dead_lettered_none_indexed(
    run: Run, kafka_bootstrap: str, es_url: str, topics: Any, index_cleanup: Any
) -> None:
    from kafka import KafkaProducer

    client = es(es_url)
    index_cleanup(client)
    topics(kafka_bootstrap)
    max_bytes = 4096
    bad_lines = bad_replay_lines(500, max_bytes)
    replay = write_replay(run.tmp / "posts.jsonl", valid=2000, bad=bad_lines, duplicates=40, seed=4)
    bad_values = bad_topic_values(500)

    run.job(kafka_bootstrap, es_url).start()
    producer = run.producer(
        kafka_bootstrap, SOURCE="replay", REPLAY_FILE=replay.path, REPLAY_RATE=250, MAX_POST_BYTES=max_bytes
    ).start()

    # Bad values straight to the topic, interleaved with the producer's posts.
    sent: list[str] = []
    errors: list[BaseException] = []

    def send_bad() -> None:
        kp = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        try:
            for i in range(0, len(bad_values), 50):
                futures = [kp.send(run.topic, value=v) for v in bad_values[i : i + 50]]
                kp.flush()
                sent.extend(f"{m.topic}:{m.partition}:{m.offset}" for m in (f.get(30) for f in futures))
                time.sleep(0.5)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            kp.close()

    sender = threading.Thread(target=send_bad)
    sender.start()
    sender.join(timeout=120)
    assert not errors, errors
    assert len(sent) == len(bad_values)

    total = len(replay.expected_ids)
    wait_until(
        progress(client, run.index, total), DONE_TIMEOUT, "every valid post indexed", run.sup, [producer]
    )
    wait_until(
        progress(client, run.deadletter_index, len(bad_values)),
        DONE_TIMEOUT,
        "the job's dead letters",
        run.sup,
        [producer],
    )
    assert producer.wait(60) == 0

    assert_exactly(client, run.index, replay.expected_ids)
    # The job: one dead letter per bad record that reached the topic, keyed by its position.
    dead = es_docs(client, run.deadletter_index, ["reason", "raw"])
    assert set(dead) == set(sent), (
        f"missing {sorted(set(sent) - set(dead))[:5]}, extra {sorted(set(dead) - set(sent))[:5]}"
    )
    assert all(d.get("reason") for d in dead.values())
    # The producer: one dead letter per malformed line, carrying the line itself.
    wait_until(
        lambda: topic_size(kafka_bootstrap, run.dlq_topic) >= len(bad_lines),
        60,
        "the producer's dead letters",
    )
    records = [json.loads(r.value) for r in read_topic(kafka_bootstrap, run.dlq_topic)]
    assert len(records) == len(bad_lines)
    assert sorted(r["raw"] for r in records) == sorted(bad_lines)
    assert {r["reason"] for r in records} <= {
        "bad_json",
        "bad_shape",
        "missing_field",
        "wrong_type",
        "oversized",
    }
    print(
        f"dead letters: producer {len(records)} (topic {run.dlq_topic}), job {len(dead)} "
        f"(index {run.deadletter_index}); indexed {total}"
    )


def blocked_waits(job: Any) -> int:
    """The longest run of consecutive waits on a write block one task has logged so far."""
    found = re.findall(
        r"Elasticsearch write blocked .*\(wait (\d+);", job.log_file.read_text(errors="replace")
    )
    return max(map(int, found), default=0)


def test_flood_stage_block_job_waits_then_indexes_everything_once(
    run: Run, kafka_bootstrap: str, es_url: str, topics: Any, index_cleanup: Any, record_property: Any
) -> None:
    """Elasticsearch's flood-stage disk watermark puts `index.blocks.read_only_allow_delete`
    on every index of the full node, and lifts it when disk is freed: the job must keep its
    batch, back off past its retry budget without exiting, dead-letter nothing, and index
    everything once the block is gone. The block is set by API (the watermark itself is off
    on the local nodes) on the run's post and dead-letter indices."""
    client = es(es_url)
    index_cleanup(client)
    topics(kafka_bootstrap)
    replay = write_replay(run.tmp / "posts.jsonl", valid=1000, duplicates=20, seed=5)
    first, rest = split_lines(replay.path, 0.3)
    first_ids = {f"replay:{json.loads(line)['data']['id']}" for line in first.read_text().splitlines()}

    # The default retry budget (ES_MAX_RETRIES=5: 0.5 + 1 + 2 + 4 + 8 = 15.5 s of backoff): a
    # block that outlasts it must not end the batch (restart=False: any exit fails the test).
    job = run.job(kafka_bootstrap, es_url).start()
    warmup = run.producer(kafka_bootstrap, name="producer-1", SOURCE="replay", REPLAY_FILE=first).start()
    wait_until(
        progress(client, run.index, len(first_ids)), DONE_TIMEOUT, "the first posts", run.sup, [warmup]
    )

    blocked = f"{run.index},{run.deadletter_index}"
    client.indices.put_settings(index=blocked, settings={"index.blocks.read_only_allow_delete": True})
    blocked_since = time.monotonic()
    try:
        producer = run.producer(kafka_bootstrap, name="producer-2", SOURCE="replay", REPLAY_FILE=rest).start()
        wait_until(
            lambda: topic_size(kafka_bootstrap, run.topic) >= replay.lines,
            DONE_TIMEOUT,
            "every line in Kafka",
            run.sup,
            [warmup, producer],
        )
        # A sixth wait in a row by one task: it has waited out the whole retry budget (15.5 s)
        # and starts a 16 s wait, still holding its rows.
        wait_until(
            lambda: blocked_waits(job) >= 6, DONE_TIMEOUT, "6 waits on the block", run.sup, [warmup, producer]
        )
        assert es_count(client, run.index) == len(first_ids), "written while blocked"
        assert es_count(client, run.deadletter_index) == 0, "dead-lettered while blocked"
    finally:
        client.indices.put_settings(index=blocked, settings={"index.blocks.read_only_allow_delete": None})
    lifted = time.monotonic()
    wait_until(
        progress(client, run.index, len(replay.expected_ids)),
        DONE_TIMEOUT,
        "every post",
        run.sup,
        [warmup, producer],
    )
    resumed_after = time.monotonic() - lifted

    assert producer.wait(60) == 0
    assert job.running()
    assert job.starts == 1, "the job restarted"
    assert_exactly(client, run.index, replay.expected_ids)
    assert es_count(client, run.deadletter_index) == 0
    samples = wait_until(lambda: scrape(int(job.env["METRICS_PORT"])), 30, "the job's metrics")
    waited = metric_sum(samples, "sentiment_job_elasticsearch_blocked_seconds_total")
    assert waited >= 31.5  # the six waits of one task
    assert metric_sum(samples, "sentiment_job_documents_deadlettered_total") == 0
    assert metric_sum(samples, "sentiment_job_batch_failures_total") == 0
    record_property("blocked_seconds", round(time.monotonic() - blocked_since))
    print(
        f"blocked {lifted - blocked_since:.0f} s ({waited:.1f} s of task waits, the longest run "
        f"{blocked_waits(job)} waits); every post indexed {resumed_after:.0f} s after the block lifted"
    )
