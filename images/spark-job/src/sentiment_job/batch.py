"""One micro-batch of Kafka rows: prepare, score and write them, partition by partition.

Parsing, validation, cleaning, scoring and writing share one `mapInPandas` pass
(`run_partition`) so each row crosses the JVM/Python boundary once (Arrow), and the only
thing collected on the driver is one small stats record per partition.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import pandas as pd
from py4j.java_gateway import JavaClass  # type: ignore[import-untyped]
from py4j.protocol import Py4JJavaError  # type: ignore[import-untyped]
from pyspark.errors.exceptions.captured import UnknownException, convert_exception
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.functions import pandas_udf
from pyspark.sql.types import StringType, StructField, StructType
from pyspark.util import PythonEvalType

from .settings import Settings
from .sink import PartitionStats, PartitionWriter, RowWriter, apply_deletions, merge_stats, shared_client
from .transform import SOURCE_COLUMNS, prepare_pandas, score_pandas
from .worker_setup import ack_task_header, prepare_worker

if TYPE_CHECKING:
    from pyspark.sql import Column, SparkSession

log = logging.getLogger(__name__)

# A StructType, not the DDL string "stats STRING": pyspark parses a string schema in the JVM
# (a py4j round trip and the SQL parser) every time mapInPandas is called, i.e. every batch.
STATS_SCHEMA = StructType([StructField("stats", StringType())])
# Where a task's time goes, in order (`PartitionStats.phase_seconds`, the batch log line):
# waiting for the rows (the JVM's Kafka fetch and Arrow conversion), decode/parse/validate/
# clean, score, and the bulk request(s) with their documents.
TASK_PHASES = ("rows in", "prepare", "score", "bulk")
# A batch after one of at most this many rows runs as a single task. Spark makes one task per
# Kafka partition, and each task pays a fixed cost, however few rows it holds: a Python worker
# round trip, pandas set-up, a bulk request (~20 ms of CPU on a 2-core machine, issue 17). At 50
# posts/s a batch holds a few rows per partition, so that fixed cost was most of the job's CPU.
# At 1,000 posts/s (~300 rows a batch) one task also beat three: p99 to indexed 0.50 s against
# 0.81 s with a threshold of 200, and the same sustained rate (make bench, docs/spark-job.md).
# A backlog (a restart, a burst) makes the batch after it large, and that one is spread.
SMALL_BATCH_ROWS = 1000
# Makes a partition's writer: the job's (Elasticsearch) unless told otherwise (sink.MemoryWriter).
NewWriter = Callable[[Settings], RowWriter]
# Our JVM helper that collects the stats column without Spark's per-call closure cleaning
# (images/spark-job/java; in the job's jar, settings.JOB_JAR).
STRING_COLLECT_CLASS = "tweetsentiment.spark.StringCollect"


def es_writer(settings: Settings) -> RowWriter:
    return PartitionWriter(shared_client(settings), settings)


def run_partition(frames: Iterable[pd.DataFrame], settings: Settings, writer: RowWriter) -> PartitionStats:
    """The per-partition pass, one assembly for the job, the bench and the tests: each Arrow
    batch of `transform.source_columns` rows is prepared (decode, parse, validate with the
    contract, clean), scored and handed to `writer`, its time summed by TASK_PHASES."""
    spent = writer.stats.phase_seconds
    mark = time.perf_counter()
    for pdf in frames:
        mark = _lap(spent, "rows in", mark)
        writer.stats.rows += len(pdf)
        prepared = prepare_pandas(pdf)
        mark = _lap(spent, "prepare", mark)
        scored = score_pandas(
            prepared,
            settings.sentiment_model,
            settings.sentiment_languages,
            language_source=settings.sentiment_language_source,
        )
        mark = _lap(spent, "score", mark)
        writer.write_rows(cast("list[dict[str, Any]]", scored.to_dict("records")))  # str column names
        mark = _lap(spent, "bulk", mark)
    return writer.stats


def write_partition(
    frames: Iterator[pd.DataFrame], settings: Settings, new_writer: NewWriter = es_writer
) -> Iterator[pd.DataFrame]:
    """Executor side: `run_partition` in a prepared Python worker, then yield the stats."""
    prepare_worker(settings.sentiment_model)
    writer = new_writer(settings)
    ack_task_header()  # before the first read of the rows
    stats = run_partition(frames, settings, writer)
    yield pd.DataFrame({"stats": [stats.to_json()]})


def _lap(spent: dict[str, float], phase: str, since: float) -> float:
    now = time.perf_counter()
    spent[phase] = spent.get(phase, 0.0) + now - since
    return now


def warm_partition(frames: Iterator[pd.DataFrame], model: str) -> Iterator[pd.DataFrame]:
    """Executor side, before the first batch: import the transform and build the analyzer
    (its lexicon load) in this Python worker, which Spark then reuses for the batches."""
    prepare_worker(model)
    for _ in frames:
        pass
    yield pd.DataFrame({"warm": [1]})


def warm_workers(spark: SparkSession, settings: Settings) -> int:
    """Start one Python worker per core and warm it; returns how many tasks ran."""
    cores = max(1, int(spark.sparkContext.defaultParallelism))
    df = spark.range(cores, numPartitions=cores)
    return len(df.mapInPandas(partial(warm_partition, model=settings.sentiment_model), "warm INT").collect())


def tasks_after(previous_rows: int | None) -> int | None:
    """How many tasks the next batch runs in: 1 after a small batch, else None (Spark's one
    per Kafka partition). The first batch, whose predecessor is unknown (a restart with a
    backlog), is spread."""
    return 1 if previous_rows is not None and previous_rows <= SMALL_BATCH_ROWS else None


class BatchPass:
    """Driver side, one per query: the micro-batch's `mapInPandas` pass, its UDF built once.

    `DataFrame.mapInPandas` builds its pandas UDF anew on every call: it pickles the function
    with its Settings, registers it in the JVM and resolves each input column, a dozen Py4J
    round trips and most of the driver's Python time per batch (py-spy at 50 posts/s, issue
    17). The UDF and its column do not depend on the batch, so they are made at the first
    batch and reused: each batch then costs one Py4J call to attach them to its rows. That
    call is `Dataset.mapInPandas` itself, which pyspark 4.0 reaches only through its private
    `_jdf`/`_jc` handles (the version is pinned; tests/spark_job run every batch through it).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._udf_column: Column | None = None
        self._collect: Callable[[DataFrame], list[str]] | None = None

    def _column(self) -> Column:
        if self._udf_column is None:
            udf = pandas_udf(  # type: ignore[call-overload]  # mapInPandas' own internal use
                partial(write_partition, settings=self.settings),
                returnType=STATS_SCHEMA,
                functionType=PythonEvalType.SQL_MAP_PANDAS_ITER_UDF,
            )
            self._udf_column = cast("Column", udf(*(F.col(name) for name in SOURCE_COLUMNS)))
        return self._udf_column

    def run(self, source: DataFrame, tasks: int | None = None) -> PartitionStats:
        """Prepare, score and write one micro-batch of `transform.source_columns` rows (in
        `tasks` tasks if given, see `tasks_after`), then apply its deletion events; raises if
        any partition could not write or a deletion failed (the batch then fails and is
        replayed: both steps are idempotent).

        Deletions run after every partition has indexed, so a create and its deletion in one
        batch end deleted even when two tasks read slices of the same Kafka partition."""
        if tasks is not None:
            # A narrow coalesce: the task reads its Kafka partitions one after the other, in
            # offset order within each, as the spread tasks do.
            source = source.coalesce(tasks)
        if self._collect is None:
            self._collect = stats_collector(source.sparkSession)
        texts = self._collect(
            DataFrame(source._jdf.mapInPandas(self._column()._jc, False, None), source.sparkSession)
        )
        stats = merge_stats(texts)
        stats.tasks = len(texts)  # one stats record per task
        if stats.deletions or stats.author_deletions:
            stats.deleted = apply_deletions(
                shared_client(self.settings), self.settings, stats.deletions, authors=stats.author_deletions
            )
        return stats


def stats_collector(spark: SparkSession) -> Callable[[DataFrame], list[str]]:
    """How a batch's stats records reach the driver: our `StringCollect` when its jar is on the
    JVM's classpath (the image, `make fetch`'s SPARK_JARS), else `DataFrame.collect`.

    `collect` hands Spark Scala lambdas whose defining classes (`RDD`, `SparkContext`) Spark's
    ClosureCleaner reads from their jars and parses on every call: a quarter of the stream
    thread's CPU at 50 posts/s (JFR, docs/spark-job.md). StringCollect runs the same job, in
    an SQL execution as `collect` does, with functions that are classes, not lambdas."""
    helper = _jvm_class(spark, STRING_COLLECT_CLASS)
    if helper is None:
        log.warning(
            "%s is not on the JVM's classpath; collecting batch stats with DataFrame.collect",
            STRING_COLLECT_CLASS,
        )
        return lambda frame: [row[0] for row in frame.collect() if row[0]]

    def collect(frame: DataFrame) -> list[str]:
        try:
            text = cast(str, helper.collect(frame._jdf))
        except Py4JJavaError as exc:
            # The exception pyspark's own actions raise (a failed task's PythonException, ...).
            converted = convert_exception(exc.java_exception)
            if isinstance(converted, UnknownException):
                raise
            raise converted from None
        # One JSON object per line: json.dumps escapes any newline inside a string.
        return text.split("\n") if text else []

    return collect


def _jvm_class(spark: SparkSession, name: str) -> Any | None:
    """The py4j handle of a JVM class, or None when the JVM cannot load it."""
    found: Any = spark.sparkContext._jvm
    for part in name.split("."):
        found = getattr(found, part)
    return found if isinstance(found, JavaClass) else None


def process_batch(source: DataFrame, settings: Settings, tasks: int | None = None) -> PartitionStats:
    """`BatchPass.run` once (the job keeps one BatchPass per query)."""
    return BatchPass(settings).run(source, tasks)
