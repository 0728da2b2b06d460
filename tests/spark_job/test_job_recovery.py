"""Delivery under failure: the job killed mid-stream, and Elasticsearch going away.

Both recover the way Kubernetes would: the process dies (SIGKILL, or exit 1 when
Elasticsearch stays down past the retry budget), a new process starts from the same
checkpoint, and the index ends with every unique post exactly once.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from spark_job_helpers import (
    all_docs,
    catch_up,
    count,
    event,
    killed_mid_stream,
    produce,
    run_job,
    start_job,
    start_until_indexed,
)

from devtools.harness.env import deadletter_index, job_env
from devtools.harness.poll import wait_until
from devtools.services.elasticsearch import ElasticsearchNode

pytestmark = [pytest.mark.kafka, pytest.mark.es, pytest.mark.spark, pytest.mark.slow]

FAULT_ES_PORT = int(os.environ.get("TS_JOB_FAULT_ES_PORT", "19200"))


def posts(n: int, prefix: str) -> list[dict[str, Any]]:
    return [event(f"{prefix}-{i}", f"post number {i} is {'great' if i % 2 else 'awful'}") for i in range(n)]


def test_killed_twice_mid_stream_then_resumed_indexes_everything_exactly_once(
    kafka_bootstrap: str,
    new_topic: Any,
    es_url: str,
    es_client: Any,
    indices: Any,
    spark_jars: str,
    tmp_path: Path,
) -> None:
    topic, index = new_topic("job-kill"), indices()
    unique = posts(600, "k")
    # Every 10th post is sent a second time, later: the replays and the duplicates both must
    # collapse onto one document per post.
    produce(kafka_bootstrap, topic, [*unique, *unique[::10], "junk-1", "junk-2"])
    env = job_env(
        kafka_bootstrap, topic, es_url, index, tmp_path / "checkpoint", spark_jars,
        trigger="processingTime=0", max_offsets_per_trigger=60,
    )  # fmt: skip
    after_first = killed_mid_stream(env, tmp_path / "job-1.log", es_client, index, len(unique))
    killed_mid_stream(env, tmp_path / "job-2.log", es_client, index, len(unique), more_than=after_first)

    # The last run catches up without a cap, then is stopped the way an operator would
    # (SIGTERM to the job): a clean stop exits 0.
    third = start_job({**catch_up(env), "TRIGGER": "processingTime=0"}, tmp_path / "job-3.log")
    wait_until(lambda: count(es_client, index) == len(unique), 300, "all posts indexed", alive=third.running)
    dead_index = deadletter_index(index)
    wait_until(lambda: count(es_client, dead_index) == 2, 120, "the dead letters", alive=third.running)
    assert third.running(), third.tail()
    third.send(signal.SIGTERM)
    assert third.wait(timeout=120) == 0, third.tail()
    docs = all_docs(es_client, index)
    assert len(docs) == len(unique)
    assert set(docs) == {f"synthetic:{p['id']}" for p in unique}
    assert len(all_docs(es_client, dead_index)) == 2


@pytest.fixture
def fault_es() -> Iterator[ElasticsearchNode]:
    """Our own Elasticsearch, to stop and start; the shared one stays up for everyone else."""
    node = ElasticsearchNode(port=FAULT_ES_PORT, name="es-faults-job")
    node.wipe()
    node.up()
    yield node
    node.wipe()


def test_elasticsearch_outage_fails_the_batch_and_a_restart_loses_nothing(
    kafka_bootstrap: str, new_topic: Any, fault_es: ElasticsearchNode, spark_jars: str, tmp_path: Path
) -> None:
    from elasticsearch import Elasticsearch

    es = Elasticsearch(fault_es.url, request_timeout=30)
    topic, index = new_topic("job-es-down"), "outage"
    before, during = posts(300, "a"), posts(100, "b")
    produce(kafka_bootstrap, topic, before)
    env = job_env(
        kafka_bootstrap, topic, fault_es.url, index, tmp_path / "checkpoint", spark_jars,
        trigger="processingTime=0", max_offsets_per_trigger=50,
        es_max_retries=2,  # 0.5 s + 1 s of retries, then the batch fails
    )  # fmt: skip
    job = start_until_indexed(env, tmp_path / "job-1.log", es, index)

    fault_es.down()
    # New records keep arriving while Elasticsearch is down: the next batch must fail.
    produce(kafka_bootstrap, topic, during)
    code = job.wait(timeout=300)
    assert code == 1, job.tail()
    assert re.search(r"batch \d+ failed .*SinkUnavailable: Elasticsearch", job.output()), job.tail()

    # As Kubernetes would: Elasticsearch comes back, the job is restarted on its checkpoint.
    fault_es.up()
    code, log = run_job(catch_up(env), tmp_path / "job-2.log", timeout=420)
    assert code == 0, log
    docs = all_docs(es, index)
    assert set(docs) == {f"synthetic:{p['id']}" for p in [*before, *during]}
    es.close()
