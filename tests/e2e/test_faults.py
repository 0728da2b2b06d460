"""Faults across the whole chain: producer → Kafka → job → Elasticsearch, all real processes.

Each test replays a generated file of a few thousand posts at a moderate rate so that the
fault lands mid-run, then checks the index holds exactly the unique valid posts: nothing
lost, nothing duplicated, every document labelled.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from devtools.demo import metric_sum, scrape
from devtools.pipeline import wait_until
from devtools.services.elasticsearch import ElasticsearchNode
from devtools.services.kafka import KafkaBroker
from tests.e2e.conftest import Run, assert_exactly
from tests.e2e.data import bad_replay_lines, es_count, es_docs, read_topic, topic_size, write_replay

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


def test_job_sigkilled_twice_loses_and_duplicates_nothing(
    run: Run, kafka_bootstrap: str, es_url: str, topics: Any, index_cleanup: Any
) -> None:
    client = es(es_url)
    index_cleanup(client)
    topics(kafka_bootstrap)
    replay = write_replay(run.tmp / "posts.jsonl", valid=POSTS, duplicates=POSTS // 50, seed=1)
    total = len(replay.expected_ids)

    job = run.job(kafka_bootstrap, es_url).start()
    producer = run.producer(
        kafka_bootstrap, SOURCE="replay", REPLAY_FILE=replay.path, REPLAY_RATE=RATE
    ).start()
    done = 0
    for _ in range(2):
        # Each kill waits for fresh progress of the current run, so it lands mid-stream.
        target = done + total // 10
        wait_until(
            progress(client, run.index, target), DONE_TIMEOUT, f"{target} indexed", run.sup, [producer]
        )
        # A crash, as when the node dies: no shutdown hook runs, the checkpoint is whatever it was.
        job.kill()
        done = es_count(client, run.index)
        job.start()
    wait_until(progress(client, run.index, total), DONE_TIMEOUT, "every post indexed", run.sup, [producer])

    assert producer.wait(60) == 0
    assert job.kills == 2
    assert job.starts == 3
    assert_exactly(client, run.index, replay.expected_ids)
    assert es_count(client, run.deadletter_index) == 0
    print(f"killed after {done} of {total} posts were indexed (second kill)")


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

    # A retry budget of 1.5 s: a block that outlasts it must not end the batch (restart=False:
    # any exit of the job fails the test).
    job = run.job(kafka_bootstrap, es_url, ES_MAX_RETRIES=2).start()
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
        # Five waits in a row (0.5 + 1 + 2 + 4 + 8 s) by one task: ten times the retry budget.
        wait_until(
            lambda: blocked_waits(job) >= 5, DONE_TIMEOUT, "5 waits on the block", run.sup, [warmup, producer]
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
    assert waited >= 15.5
    assert metric_sum(samples, "sentiment_job_documents_deadlettered_total") == 0
    assert metric_sum(samples, "sentiment_job_batch_failures_total") == 0
    record_property("blocked_seconds", round(time.monotonic() - blocked_since))
    print(
        f"blocked {lifted - blocked_since:.0f} s ({waited:.1f} s of task waits, the longest run "
        f"{blocked_waits(job)} waits); every post indexed {resumed_after:.0f} s after the block lifted"
    )
