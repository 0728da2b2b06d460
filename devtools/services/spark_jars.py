"""Spark's Kafka source jars, resolved once from Maven Central into the cache.

pyspark from PyPI already carries Spark's own jars; this adds the connector and what it
needs that pyspark lacks. The job's `SPARK_JARS` default points at this directory.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .common import ServiceError, cache_dir, maven_resolve, versions

# What spark-sql-kafka-0-10 needs beyond pyspark's own jars/ directory.
NEEDED_PREFIXES = (
    "spark-sql-kafka-0-10",
    "spark-token-provider-kafka-0-10",
    "kafka-clients",
    "commons-pool2",
)


def spark_jars_dir() -> Path:
    v = versions()
    scala = v["SCALA_BINARY_VERSION"]
    coordinates = [
        f"org.apache.spark:spark-sql-kafka-0-10_{scala}:{v['SPARK_VERSION']}",
        # A direct dependency wins over the connector's own (unserved) version.
        f"org.apache.spark:spark-token-provider-kafka-0-10_{scala}:{v['SPARK_TOKEN_PROVIDER_VERSION']}",
    ]
    return maven_resolve(
        coordinates,
        cache_dir() / "spark-jars" / v["SPARK_VERSION"] / "all",
        "Spark Kafka source",
        exclude=(f"org.apache.spark:spark-token-provider-kafka-0-10_{scala}",),
    )


def spark_kafka_jars() -> list[Path]:
    jars = sorted(p for p in spark_jars_dir().glob("*.jar") if p.name.startswith(NEEDED_PREFIXES))
    if len(jars) != len(NEEDED_PREFIXES):
        raise ServiceError(
            f"expected {NEEDED_PREFIXES} in {spark_jars_dir()}, found {[j.name for j in jars]}"
        )
    # A flat directory of just these, which is where the job looks by default.
    flat = spark_jars_dir().parent
    for jar in jars:
        link = flat / jar.name
        if not link.exists():
            link.symlink_to(jar)
    return [flat / j.name for j in jars]


if __name__ == "__main__":
    try:
        print(",".join(str(j) for j in spark_kafka_jars()))
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
