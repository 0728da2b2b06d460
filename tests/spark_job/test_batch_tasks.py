"""How many tasks a micro-batch runs in (issue 17): one after a small batch, one per Kafka
partition otherwise, with the same documents either way (real Kafka, Spark, Elasticsearch)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from spark_job_helpers import all_docs, event, produce

from sentiment_job import job
from sentiment_job.batch import SMALL_BATCH_ROWS, BatchPass, process_batch, tasks_after
from sentiment_job.es_setup import install
from sentiment_job.settings import Settings
from sentiment_job.transform import source_columns


def kafka_rows(spark: Any, bootstrap: str, topic: str) -> Any:
    """The whole topic as one micro-batch would see it: the job's source columns."""
    return source_columns(
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .load()
    )


def installed_settings(
    es_client: Any, tmp_path: Path, bootstrap: str, topic: str, es_url: str, index: str
) -> Settings:
    """The job's settings for `index` (and its dead-letter index), with the template installed."""
    settings = Settings(
        checkpoint_location=str(tmp_path / "unused"),
        kafka_bootstrap_servers=bootstrap,
        kafka_topic=topic,
        es_url=es_url,
        es_index=index,
        es_deadletter_index=f"{index}-dl",
    )
    install(es_client, settings)
    return settings


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
    source = kafka_rows(spark, kafka_bootstrap, topic)
    docs = {}
    for tasks in (1, None):
        index = indices()
        settings = installed_settings(es_client, tmp_path, kafka_bootstrap, topic, es_url, index)
        stats = process_batch(source, settings, tasks)
        assert stats.tasks == (tasks or 3)
        assert stats.rows == 31
        assert sum(stats.indexed.values()) == 30
        assert sum(stats.deadlettered.values()) == 1
        docs[tasks] = {k: v["sentiment"] for k, v in all_docs(es_client, index).items()}
    assert len(docs[1]) == 30
    assert docs[1] == docs[None]


@pytest.mark.kafka
@pytest.mark.es
@pytest.mark.spark
def test_one_pass_reused_across_batches_writes_each_batch_s_own_rows(
    kafka_bootstrap: str,
    new_topic: Any,
    es_url: str,
    es_client: Any,
    indices: Any,
    spark: Any,
    tmp_path: Path,
) -> None:
    """The job keeps one BatchPass (one pandas UDF) for every micro-batch: a later batch, a
    different DataFrame with its own rows and tasks, must get its own rows through it."""
    batches = []
    for n, partitions in ((3, 1), (5, 3)):
        topic = new_topic("job-pass", partitions=partitions)
        produce(kafka_bootstrap, topic, [event(f"{topic}-{i}", f"post {i}, a great day") for i in range(n)])
        batches.append(kafka_rows(spark, kafka_bootstrap, topic))
    index = indices()
    settings = installed_settings(es_client, tmp_path, kafka_bootstrap, "unused", es_url, index)
    batch_pass = BatchPass(settings)
    first = batch_pass.run(batches[0], 1)
    second = batch_pass.run(batches[1])
    assert (first.rows, first.tasks, second.rows, second.tasks) == (3, 1, 5, 3)
    ids = sorted(doc["id"] for doc in all_docs(es_client, index).values())
    assert len(ids) == 8
    assert len({i.rsplit("-", 1)[0] for i in ids}) == 2  # both topics' posts, each once


@pytest.mark.spark
def test_the_job_s_tasks_build_their_projections_without_generating_code(spark: Any) -> None:
    """Every task builds its row projections again; with the job's settings it builds them
    interpreted instead of generating Java source for each (issue 17). Spark counts the
    sources it compiles: a projection it has not seen (a new literal) is one more, unless
    the job's factoryMode is in force. The control, Spark's default, must compile it."""
    from pyspark.sql import functions as F

    key = "spark.sql.codegen.factoryMode"
    confs = job.spark_configs(Settings.load({"CHECKPOINT_LOCATION": "/tmp/unused"}), under_submit=True)
    assert key in job.SUBMISSION_WINS  # a SparkApplication's sparkConf can turn it back
    compiled = (
        spark.sparkContext._jvm.org.apache.spark.metrics.source.CodegenMetrics.METRIC_SOURCE_CODE_SIZE()
    )

    def sources_compiled(mode: str) -> int:
        spark.conf.set(key, mode)
        before = int(compiled.getCount())
        literal = random.randrange(10**9, 10**12)  # a projection no earlier task compiled
        rows = spark.range(4, numPartitions=2).select((F.col("id") * literal).alias("x")).collect()
        assert sorted(r.x for r in rows) == [i * literal for i in range(4)]
        return int(compiled.getCount()) - before

    spark.conf.set("spark.sql.codegen.wholeStage", confs["spark.sql.codegen.wholeStage"])
    try:
        assert sources_compiled("FALLBACK") > 0
        assert sources_compiled(confs[key]) == 0
    finally:
        spark.conf.unset(key)
        spark.conf.unset("spark.sql.codegen.wholeStage")
