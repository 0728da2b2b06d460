"""The job's shared SparkSession fixtures, for the devtools tests that run Spark (the stage
benchmark's input): one JVM per test run, whichever directory starts it."""

from tests.spark_job.conftest import spark, spark_factory

__all__ = ["spark", "spark_factory"]
