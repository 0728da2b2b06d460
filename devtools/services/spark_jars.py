"""The jars the job adds to pyspark's own, in the cache: Spark's Kafka source (resolved once
from Maven Central) and our own JVM classes (compiled once from images/spark-job/java).

pyspark from PyPI already carries Spark's own jars; this adds the connector and what it
needs that pyspark lacks. The job's `SPARK_JARS` default points at this directory.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from sentiment_job.settings import JOB_JAR

from .common import REPO_ROOT, ServiceError, cache_dir, maven_resolve, versions

# Java sources of images/spark-job's own jar; the image's Dockerfile compiles the same files.
JAVA_SOURCES = REPO_ROOT / "images" / "spark-job" / "java"
# The Java release the jar targets: the image's Java (Dockerfile), the oldest Spark 4 runs on.
JAVA_RELEASE = "17"
# Names our jar had before JOB_JAR: removed from the job's jar directory, where the job loads
# every jar, so an older build cannot shadow the current classes.
FORMER_JOB_JARS = ("tweet-sentiment-hadoop.jar",)

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


def spark_job_jars() -> list[Path]:
    """Every jar the job runs with locally (its `SPARK_JARS`): the Kafka source's and ours."""
    return [*spark_kafka_jars(), job_jvm_jar()]


def job_jvm_jar() -> Path:
    """`tweet-sentiment-jvm.jar` in the job's jar directory (our Hadoop filesystem and the
    stats collect, images/spark-job/java), compiled with the machine's `javac` against
    pyspark's own jars whenever its sources change."""
    import pyspark

    sources = sorted(JAVA_SOURCES.rglob("*.java"))
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.relative_to(JAVA_SOURCES).as_posix().encode() + b"\0" + source.read_bytes())
    flat = spark_jars_dir().parent
    built = flat / "built" / f"{Path(JOB_JAR).stem}-{digest.hexdigest()[:12]}.jar"
    if not built.exists():
        javac = shutil.which("javac")
        if javac is None:
            raise ServiceError(f"javac is required to build {JOB_JAR}: install a JDK {JAVA_RELEASE}+")
        spark_jars = Path(pyspark.__file__).parent / "jars"
        if not any(spark_jars.glob("spark-sql_*.jar")):
            raise ServiceError(f"pyspark {pyspark.__version__} carries no Spark SQL jar in {spark_jars}")
        with tempfile.TemporaryDirectory() as tmp:
            classes = Path(tmp)
            cmd = [
                javac,
                "--release",
                JAVA_RELEASE,
                "-cp",
                str(spark_jars / "*"),
                "-d",
                str(classes),
                *map(str, sources),
            ]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                raise ServiceError(f"javac failed building {JOB_JAR}:\n{done.stderr}")
            built.parent.mkdir(parents=True, exist_ok=True)
            partial = built.with_suffix(".tmp")
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as jar:
                for path in sorted(classes.rglob("*.class")):
                    jar.write(path, path.relative_to(classes).as_posix())
            partial.replace(built)
    for former in FORMER_JOB_JARS:
        (flat / former).unlink(missing_ok=True)
    link = flat / JOB_JAR
    if not link.is_symlink() or link.resolve() != built.resolve():
        link.unlink(missing_ok=True)
        link.symlink_to(built)
    return link


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
        print(",".join(str(j) for j in spark_job_jars()))
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
