"""A batch's stats records reach the driver through our JVM helper (`StringCollect`, in the
job's jar), which must give what `DataFrame.collect` gives, on a real Spark."""

from __future__ import annotations

from typing import Any

import pytest

from sentiment_job import batch

pytestmark = pytest.mark.spark


def _frame(spark: Any) -> Any:
    # Three partitions; a null and an empty value, which the stats pass never yields, are skipped.
    return spark.range(0, 9, numPartitions=3).selectExpr(
        "CASE WHEN id = 4 THEN NULL WHEN id = 5 THEN '' ELSE to_json(named_struct('n', id)) END AS stats"
    )


def test_the_helper_is_on_the_job_s_classpath(spark: Any) -> None:
    # SPARK_JARS (make fetch) carries it, as the image's $SPARK_HOME/jars does: without it the
    # job would fall back to DataFrame.collect and its closure cleaning without a test noticing.
    assert batch._jvm_class(spark, batch.STRING_COLLECT_CLASS) is not None


@pytest.mark.parametrize("helper", [batch.STRING_COLLECT_CLASS, "tweetsentiment.spark.Missing"])
def test_stats_collector_gives_every_partition_s_strings(
    spark: Any, helper: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "STRING_COLLECT_CLASS", helper)
    df = _frame(spark)
    expected = sorted(row[0] for row in df.collect() if row[0])
    assert (
        sorted(batch.stats_collector(spark)(df))
        == expected
        == sorted(f'{{"n":{i}}}' for i in (0, 1, 2, 3, 6, 7, 8))
    )


def test_stats_collector_of_an_empty_frame(spark: Any) -> None:
    assert batch.stats_collector(spark)(_frame(spark).limit(0)) == []


@pytest.mark.parametrize("helper", [batch.STRING_COLLECT_CLASS, "tweetsentiment.spark.Missing"])
def test_a_failing_job_raises_what_collect_raises(
    spark: Any, helper: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The job's log line and the query's failure read the same exception either way.
    monkeypatch.setattr(batch, "STRING_COLLECT_CLASS", helper)
    failing = spark.range(0, 3, numPartitions=3).selectExpr("raise_error('stats pass failed') AS stats")
    with pytest.raises(Exception, match="stats pass failed") as by_collect:
        failing.collect()
    with pytest.raises(type(by_collect.value), match="stats pass failed"):
        batch.stats_collector(spark)(failing)
