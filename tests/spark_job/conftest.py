"""Fixtures of the job's tests: one local SparkSession (with the Kafka source jars) shared by
every in-process test of this directory, unique index names, and cleanup."""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.harness.env import deadletter_index
from devtools.services.common import ServiceError
from devtools.services.spark_jars import spark_job_jars

# Python workers must run this interpreter (it has the packages), not `python3` on PATH.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
# One JVM serves every in-process Spark test of the run, and jars only reach the driver's
# classpath when that JVM starts: whichever module starts it first must bring Spark's Kafka
# source along, or the streaming tests that come later cannot find it.
# (If the jars cannot be resolved, the spark_jars fixture reports it where it is needed.)
if "PYSPARK_SUBMIT_ARGS" not in os.environ:
    with contextlib.suppress(ServiceError):
        os.environ["PYSPARK_SUBMIT_ARGS"] = f"--jars {','.join(map(str, spark_job_jars()))} pyspark-shell"


def _alive(session: Any) -> bool:
    return session is not None and session.sparkContext._jsc is not None


@pytest.fixture(scope="session")
def spark_factory(spark_jars: str) -> Iterator[Callable[[], Any]]:
    """Returns the shared session, rebuilding it if another test module stopped it."""
    from pyspark.sql import SparkSession

    def get() -> Any:
        active = SparkSession.getActiveSession()
        if _alive(active) and active.conf.get("spark.jars", "") == spark_jars:
            return active
        if _alive(active):
            active.stop()
        session = (
            SparkSession.builder.master("local[2]")
            .appName("tests-spark-job")
            .config("spark.jars", spark_jars)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.python.worker.reuse", "true")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        return session

    yield get
    active = SparkSession.getActiveSession()
    if _alive(active):
        active.stop()


@pytest.fixture
def spark(spark_factory: Callable[[], Any]) -> Any:
    return spark_factory()


@pytest.fixture
def indices(es_client: Any) -> Iterator[Callable[[str], str]]:
    """Factory of unique index names; the indices (and their dead-letter twins and
    templates) are deleted after the test."""
    made: list[str] = []

    def make(prefix: str = "test-job") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        made.append(name)
        return name

    yield make
    for name in made:
        for index in (name, f"{name}-dl", deadletter_index(name)):
            es_client.options(ignore_status=404).indices.delete(index=index)
            es_client.options(ignore_status=404).indices.delete_index_template(name=f"{index}-template")


@pytest.fixture
def val_jsonl(shared_dir: Path) -> Path:
    """TweetEval's val split from ../shared; the test skips where it is absent."""
    path = shared_dir / "data" / "tweeteval-sentiment" / "val.jsonl"
    if not path.exists():
        pytest.skip(f"shared data absent: {path} (set TS_SHARED_DIR)")
    return path
