"""How many tasks a micro-batch runs in (issue 17): one after a small batch, one per Kafka
partition otherwise, with the same documents either way (real Kafka, Spark, Elasticsearch)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from spark_job_helpers import all_docs, event, produce

from sentiment_job.batch import SMALL_BATCH_ROWS, process_batch, tasks_after
from sentiment_job.es_setup import install
from sentiment_job.settings import Settings
from sentiment_job.transform import source_columns


def test_a_batch_after_a_small_one_runs_as_one_task() -> None:
    assert tasks_after(None) is None  # the first batch: its predecessor is unknown
    assert tasks_after(0) == 1
    assert tasks_after(SMALL_BATCH_ROWS) == 1
    assert tasks_after(SMALL_BATCH_ROWS + 1) is None


@pytest.mark.kafka
@pytest.mark.es
@pytest.mark.spark
def test_one_task_and_one_per_partition_index_the_same_documents(
    kafka_bootstrap: str,
    new_topic: Any,
    es_url: str,
    es_client: Any,
    indices: Any,
    spark: Any,
    tmp_path: Path,
) -> None:
    topic = new_topic("job-tasks", partitions=3)
    posts = [event(f"t-{i}", f"post number {i}, what a great day") for i in range(30)]
    produce(kafka_bootstrap, topic, [*posts, "not json"])
    source = source_columns(
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", kafka_bootstrap)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .load()
    )
    docs = {}
    for tasks in (1, None):
        index = indices()
        settings = Settings(
            checkpoint_location=str(tmp_path / "unused"),
            kafka_bootstrap_servers=kafka_bootstrap,
            kafka_topic=topic,
            es_url=es_url,
            es_index=index,
            es_deadletter_index=f"{index}-dl",
        )
        install(es_client, settings)
        stats = process_batch(source, settings, tasks)
        assert stats.tasks == (tasks or 3)
        assert stats.rows == 31
        assert sum(stats.indexed.values()) == 30
        assert sum(stats.deadlettered.values()) == 1
        docs[tasks] = {k: v["sentiment"] for k, v in all_docs(es_client, index).items()}
    assert len(docs[1]) == 30
    assert docs[1] == docs[None]
