"""Sentiment stage throughput: our Spark transform vs the pure-Python ceiling vs the original.

All three score the same N synthetic posts (the producer's generator, published as event v1
JSON exactly as the producer would), held in a parquet file shaped like the rows of Spark's
Kafka source:

- `spark`: the job's own per-partition pass (`sentiment_job.batch.write_partition`: parse,
  validate, clean, score and build the documents in one `mapInPandas` pass) on the job's
  own session configs with `local[2]`, its bulk requests kept in memory (`sink.MemoryWriter`)
  instead of sent to Elasticsearch;
- `python`: one process looping over the same `clean_text` + `score_frame` (the per-core
  ceiling of the same code);
- `original`: the original design's shape: row-at-a-time Python UDFs (clean; TextBlob for
  polarity; TextBlob again for subjectivity; label) on one partition.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import reduce
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devtools.bench.cpu import Measured, measure
from devtools.bench.report import StageResult

if TYPE_CHECKING:
    from sentiment_job.sink import PartitionStats

LANGUAGES = frozenset({"en", "und"})


def make_events(n: int, seed: int = 42) -> list[tuple[bytes, bytes]]:
    """(key, value) of `n` synthetic posts as the producer publishes them."""
    from tweet_producer.events import Post, event_value, format_time, post_from_x
    from tweet_producer.sources.synthetic_text import SyntheticTextGenerator

    gen = SyntheticTextGenerator(seed)
    ingested = format_time(datetime.now(timezone.utc))
    out = []
    for _ in range(n):
        post = post_from_x(gen.next_envelope(), "synthetic")
        assert isinstance(post, Post), "the synthetic generator always writes text"
        out.append((post.key, event_value(post, ingested)))
    return out


def write_parquet(spark: Any, events: list[tuple[bytes, bytes]], path: Path, partitions: int) -> None:
    """Kafka-source-shaped rows in `partitions` equal files, as `partitions` Kafka partitions
    would hold them. (Hash-partitioning on the `partition` column, as this did before, can
    put every row in one file, and did: the Spark figure then ran on one core of two.)"""
    from datetime import datetime as dt

    per = -(-len(events) // partitions)
    rows = [
        (key, value, "bench", i // per, i % per, dt.now(timezone.utc), 0)
        for i, (key, value) in enumerate(events)
    ]
    schema = "key BINARY, value BINARY, topic STRING, partition INT, offset BIGINT, timestamp TIMESTAMP, timestampType INT"
    # One Spark partition (one file) per Kafka partition, exactly.
    parts = [
        spark.createDataFrame(rows[k * per : (k + 1) * per], schema).coalesce(1) for k in range(partitions)
    ]
    reduce(lambda a, b: a.union(b), parts).write.mode("overwrite").parquet(str(path))


def read_balanced(spark: Any, path: Path, partitions: int) -> Any:
    """The parquet rows as `partitions` Spark partitions of equal size, or an error: the
    comparison with the 2-core ceiling only holds when each core gets half of the rows."""
    from pyspark.sql import functions as F

    df = spark.read.parquet(str(path))
    counts = sorted(row["count"] for row in df.groupBy(F.spark_partition_id().alias("p")).count().collect())
    if len(counts) != partitions or counts[-1] - counts[0] > max(1, counts[-1] // 100):
        raise RuntimeError(f"the stage input is not {partitions} equal partitions: {counts} rows")
    return df


# ----------------------------------------------------------------------------- approaches


def ours(df: Any, model: str) -> tuple[Measured, PartitionStats]:
    """The job's per-partition pass over `df` (`read_balanced`'s rows), every bulk kept in
    memory: (the measurement, the partitions' stats with their time by phase)."""
    from functools import partial

    from sentiment_job.batch import STATS_SCHEMA, write_partition
    from sentiment_job.settings import Settings
    from sentiment_job.sink import MemoryWriter, merge_stats
    from sentiment_job.transform import source_columns

    settings = Settings(checkpoint_location="unused", sentiment_model=model, sentiment_languages=LANGUAGES)
    write = partial(write_partition, settings=settings, new_writer=MemoryWriter)
    plan = source_columns(df).mapInPandas(write, STATS_SCHEMA)
    rows: list[Any] = []
    measured = measure(lambda: rows.extend(plan.collect()))
    return measured, merge_stats(row["stats"] for row in rows)


def pure_python(events: list[tuple[bytes, bytes]], model: str) -> Measured:
    """The same clean + score code in one process, from the event JSON."""
    import json

    import pandas as pd

    from sentiment_job.cleaning import clean_text
    from sentiment_job.sentiment import get_analyzer, score_frame

    get_analyzer(model)  # loading the lexicon is start-up, not throughput

    def run() -> None:
        texts, langs = [], []
        for _, value in events:
            event = json.loads(value)
            texts.append(clean_text(event["text"]))
            langs.append(event["lang"])
        score_frame(pd.Series(texts), pd.Series(langs), model, LANGUAGES)

    return measure(run)


def original(spark: Any, path: Path) -> float:
    """Row-at-a-time UDFs as in the original write-up: TextBlob twice per row, one partition."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import FloatType, StringType

    from sentiment_job.cleaning import clean_text

    def polarity(text: str) -> float:
        from textblob import TextBlob

        return float(TextBlob(text).sentiment.polarity)

    def subjectivity(text: str) -> float:
        from textblob import TextBlob

        return float(TextBlob(text).sentiment.subjectivity)

    def label(p: float) -> str:
        return "Negative" if p < 0 else ("Neutral" if p == 0 else "Positive")

    clean_udf = F.udf(clean_text, StringType())
    polarity_udf = F.udf(polarity, FloatType())
    subjectivity_udf = F.udf(subjectivity, FloatType())
    label_udf = F.udf(label, StringType())
    schema = "id STRING, source STRING, text STRING, lang STRING, created_at STRING, ingested_at STRING"
    df = (
        spark.read.parquet(str(path))
        .coalesce(1)
        .select(F.from_json(F.col("value").cast("string"), schema).alias("e"))
        .select("e.*")
        .withColumn("processed_text", clean_udf("text"))
        .withColumn("polarity", polarity_udf("processed_text"))
        .withColumn("subjectivity", subjectivity_udf("processed_text"))
        .withColumn("sentiment", label_udf("polarity"))
    )
    return measure(lambda: df.write.format("noop").mode("overwrite").save()).seconds


# ----------------------------------------------------------------------------- driver


def run(posts: int, models: list[str], runs: int, workdir: Path, partitions: int = 2) -> StageResult:
    from sentiment_job.job import build_spark
    from sentiment_job.settings import Settings

    events = make_events(posts)
    warm = make_events(min(500, posts), seed=7)
    spark = build_spark(Settings(checkpoint_location="unused", spark_master="local[2]"))
    # The original's UDFs are classic pickled row UDFs, not Arrow-batched ones.
    spark.conf.set("spark.sql.execution.pythonUDF.arrow.enabled", "false")
    result = StageResult(posts)
    try:
        data, warm_data = workdir / "stage-posts.parquet", workdir / "stage-warm.parquet"
        write_parquet(spark, events, data, partitions)
        write_parquet(spark, warm, warm_data, partitions)
        rows, warm_rows = read_balanced(spark, data, partitions), read_balanced(spark, warm_data, partitions)
        # One untimed pass of each: Python workers start and lexicons load once per worker.
        for model in models:
            ours(warm_rows, model)
            pure_python(warm, model)
        original(spark, warm_data)
        for i in range(runs):
            for model in models:
                spark_run, stats = ours(rows, model)
                for name, measured in (("spark", spark_run), ("python", pure_python(events, model))):
                    result.runs.setdefault(f"{name}/{model}", []).append(posts / measured.seconds)
                    result.cpu.setdefault(f"{name}/{model}", []).append(measured)
                if model == models[0]:
                    # The pass's prepare phase alone, its task seconds shared by the partitions' cores.
                    prepare = stats.phase_seconds["prepare"] / partitions
                    result.runs.setdefault("prepare/python", []).append(posts / prepare)
            result.runs.setdefault("original/textblob", []).append(posts / original(spark, data))
            print(
                f"[stage] run {i + 1}/{runs}: "
                + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in sorted(result.runs.items())),
                flush=True,
            )
    finally:
        spark.stop()
    return result
