"""`tweet-sentiment-job`: Kafka → Spark Structured Streaming → Elasticsearch.

Exit codes: 0 when an `availableNow` run has drained the topic or a SIGTERM stopped the
query cleanly; 1 when the query failed (Elasticsearch down past the retry budget, Kafka
unreachable, lost offsets with FAIL_ON_DATA_LOSS=true): the restart (Kubernetes, or the
operator) resumes from the checkpoint and nothing is lost; 2 for invalid settings.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from prometheus_client import REGISTRY, start_http_server
from pyspark import SparkConf
from pyspark.errors import StreamingQueryException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming.query import StreamingQuery

from .batch import TASK_PHASES, BatchPass, tasks_after, warm_workers
from .es_setup import SetupError, install_with_retries
from .metrics import JobMetrics, progress_listener
from .settings import JOB_JAR, Settings, SettingsError
from .sink import PartitionStats
from .transform import source_columns

log = logging.getLogger("sentiment_job")

QUERY_NAME = "tweet-sentiment"
# Set by the image: its copy of spark-defaults.conf (see build_spark).
SPARK_DEFAULTS_ENV = "TWEET_SENTIMENT_SPARK_DEFAULTS"
LOCAL_CHECKPOINT_MANAGER = "org.apache.spark.sql.execution.streaming.FileSystemBasedCheckpointFileManager"
# With TRIGGER=processingTime=0 (the default is an interval, settings.DEFAULT_TRIGGER_MS): how
# long the query waits, when Kafka has nothing new, before asking again (Spark's default is
# 10 ms). Each ask is a ListOffsets round trip to the brokers: at 10 ms that busy loop was
# most of the idle job's CPU (issue 17). While records keep arriving, batches still run back
# to back, so only the first post after a quiet spell waits for it: up to this long, which
# with a batch of ~0.1-0.2 s stays inside the 0.5 s p99 target.
IDLE_POLL_INTERVAL = "250ms"
# Our Hadoop local filesystem (images/spark-job/java): Hadoop's own, but it sets a file's
# permissions through java.nio instead of forking `chmod` for each checkpoint file and its
# .crc (4 processes a batch, issue 17). The image puts its jar (settings.JOB_JAR) in
# $SPARK_HOME/jars; locally `make fetch` builds it beside the Kafka source jars (SPARK_JARS).
# The job uses it when the jar is there and the checkpoint is on a local filesystem.
NIO_FILESYSTEM_CLASS = "tweetsentiment.hadoop.NioLocalFileSystem"
# Ours unless the submission (the SparkApplication's sparkConf) sets them itself.
SUBMISSION_WINS = (
    "spark.sql.streaming.pollingDelay",
    "spark.hadoop.fs.file.impl",
    "spark.sql.codegen.wholeStage",
    "spark.sql.codegen.factoryMode",
)


def spark_configs(settings: Settings, under_submit: bool) -> dict[str, str]:
    """Session configs: what the job needs everywhere, plus quiet local defaults.

    Under spark-submit (the image) the cluster's spark-defaults.conf decides master,
    jars, UI and Prometheus endpoints; we only add what the job itself relies on.
    """
    conf = {
        # Timestamps are formatted in UTC (the `Z` in created_at, ingested_at).
        "spark.sql.session.timeZone": "UTC",
        # The analyzer and the Elasticsearch client are cached per Python worker.
        "spark.python.worker.reuse": "true",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.streaming.pollingDelay": IDLE_POLL_INTERVAL,
        # The JVM's part of a batch is one projection of six Kafka columns (the rest is the
        # Python pass): generating its code (and finding the compiled class) every batch cost
        # more than running it interpreted.
        # One run at 50 posts/s: 0.37 -> 0.33 cores, p99 unchanged (docs/spark-job.md).
        "spark.sql.codegen.wholeStage": "false",
        # Each task also builds its row projections (one per Kafka partition it reads, the
        # select of source_columns, the Arrow input), and Spark generates and formats their
        # Java source every time before it finds the compiled class in its cache: 58% of the
        # executor's task thread at 50 posts/s (JFR). NO_CODEGEN builds them interpreted,
        # the same rows for a few columns per record. Spark marks the setting internal (its
        # tests use it) but reads it on every projection; a submission can set FALLBACK.
        # A/B at 50 posts/s: task thread 0.058 -> 0.026 cores, job 0.34 -> 0.27 (docs/spark-job.md).
        "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    }
    if settings.checkpoint_is_local:
        # Spark's default checkpoint manager (Hadoop's FileContext API) runs `chmod` and
        # `readlink` as child processes on a local filesystem: 20 forks and 60 ms per batch
        # (measured with JFR). The FileSystem API does neither; on a local filesystem its
        # rename is rename(2), atomic, which is what the offset and commit logs rely on.
        conf["spark.sql.streaming.checkpointFileManagerClass"] = LOCAL_CHECKPOINT_MANAGER
        jar = _job_jar(settings, under_submit)
        if jar:
            conf["spark.hadoop.fs.file.impl"] = NIO_FILESYSTEM_CLASS
            if not under_submit:
                # On the JVM's own classpath from its start: spark-submit already reads files
                # (the spark.jars) through this filesystem before spark.jars are loaded.
                conf["spark.driver.extraClassPath"] = str(jar)
    master = settings.spark_master or ("" if under_submit else "local[*]")
    if master:
        conf["spark.master"] = master
    if settings.spark_jars:
        conf["spark.jars"] = ",".join(settings.spark_jars)
    if master.startswith("local"):
        # No shuffles in this job; a small number keeps any incidental one cheap.
        conf["spark.sql.shuffle.partitions"] = "4"
        conf["spark.ui.enabled"] = "false"
    return conf


def _job_jar(settings: Settings, under_submit: bool) -> Path | None:
    """Our JVM classes' jar (settings.JOB_JAR): in $SPARK_HOME/jars under spark-submit (the
    image), else among SPARK_JARS (`make fetch` builds it there); None when it is not there."""
    if under_submit:
        jars = [Path(os.environ["SPARK_HOME"]) / "jars" / JOB_JAR] if os.environ.get("SPARK_HOME") else []
    else:
        jars = [Path(j) for j in settings.spark_jars if "://" not in j]
    return next((j for j in jars if j.name == JOB_JAR and j.is_file()), None)


def read_spark_defaults(path: str | os.PathLike[str]) -> dict[str, str]:
    """A spark-defaults.conf as a dict (`key value` or `key=value` lines, `#` comments)."""
    conf = {}
    for line in Path(path).read_text().splitlines():
        match = re.match(r"([^\s=#]+)\s*[=\s]\s*(.*)$", line.strip())
        if match:
            conf[match.group(1)] = match.group(2).strip()
    return conf


def build_spark(settings: Settings) -> SparkSession:
    under_submit = "PYSPARK_GATEWAY_PORT" in os.environ
    conf = spark_configs(settings, under_submit)
    if under_submit:
        submitted = SparkConf()
        # A submission's own idle poll interval, filesystem or code generation (sparkConf)
        # wins over ours.
        for key in SUBMISSION_WINS:
            if submitted.contains(key):
                conf.pop(key, None)
        # The image's spark-defaults.conf is hidden on Kubernetes (Spark mounts its generated
        # conf over /opt/spark/conf): apply its settings unless the submission set them.
        defaults_file = os.environ.get(SPARK_DEFAULTS_ENV)
        if defaults_file and Path(defaults_file).is_file():
            applied = []
            for key, value in read_spark_defaults(defaults_file).items():
                if not submitted.contains(key) and key not in conf:
                    conf[key] = value
                    applied.append(key)
            log.info("applied %d settings from %s: %s", len(applied), defaults_file, ", ".join(applied))
    else:
        # Python workers must import this package: use our interpreter, not `python3` on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(QUERY_NAME)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def start_query(spark: SparkSession, settings: Settings, metrics: JobMetrics) -> StreamingQuery:
    """Start the streaming query (the caller awaits it and registers the listener)."""

    previous_rows: list[int | None] = [None]  # the last batch's Kafka records
    batch_pass = BatchPass(settings)

    def handle(batch_df: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        tasks = tasks_after(previous_rows[0])
        try:
            stats = batch_pass.run(batch_df, tasks)
        except Exception as exc:
            metrics.batch_failures.inc()
            log.error("batch %d failed (it is replayed from the checkpoint): %s", batch_id, _first_line(exc))
            raise
        previous_rows[0] = stats.rows
        metrics.record_batch(stats)
        log.info(
            "batch %d: %d rows in %d task(s), %d indexed, %d dead-lettered, %d rejected in %.1fs; tasks: %s",
            batch_id,
            stats.rows,
            stats.tasks,
            sum(stats.indexed.values()),
            sum(stats.deadlettered.values()),
            sum(stats.rejected.values()),
            time.monotonic() - started,
            task_phases(stats),
        )
        if stats.deletions or stats.author_deletions or stats.deletions_invalid:
            log.info(
                "batch %d: deletions: %d applied, %d for unknown posts, %d naming no post; "
                "%d dead letters of deleted posts removed",
                batch_id,
                stats.deleted.applied,
                stats.deleted.unknown,
                stats.deletions_invalid,
                stats.deleted.deadletters_removed,
            )

    options = settings.kafka_options()
    # At least one task per core even when the topic has fewer partitions than there are cores.
    options.setdefault("minPartitions", str(max(1, int(spark.sparkContext.defaultParallelism))))
    source = spark.readStream.format("kafka").options(**options).load()
    # The transform is part of the streaming plan (built once), not rebuilt for every batch.
    return (
        source_columns(source)
        .writeStream.queryName(QUERY_NAME)
        .option("checkpointLocation", settings.checkpoint_location)
        .foreachBatch(handle)
        .trigger(**settings.trigger.spark_kwargs())
        .start()
    )


def task_phases(stats: PartitionStats) -> str:
    """`rows in 12 ms, prepare 8 ms, score 9 ms, bulk 10 ms`: task time by phase, summed over
    the batch's tasks (so more than the batch's wall time when tasks ran side by side)."""
    return ", ".join(f"{phase} {stats.phase_seconds.get(phase, 0.0) * 1000:.0f} ms" for phase in TASK_PHASES)


def _first_line(exc: BaseException) -> str:
    """The useful line of an error: an executor's SinkUnavailable travels inside a Py4J/Spark
    exception whose first line only says which Java call failed."""
    text = str(exc).strip() or type(exc).__name__
    for line in text.splitlines():
        if "SinkUnavailable:" in line or "DeadLetterRefused:" in line or "DeletionFailed:" in line:
            return line.strip()[:500]
    return text.splitlines()[0][:500]


def _describe(settings: Settings) -> str:
    """A log line about where we read and write; no credentials (URLs lose their userinfo)."""
    hosts = ",".join(urlsplit(u).netloc for u in settings.es_hosts.split(","))
    trigger = "availableNow" if settings.trigger.available_now else f"every {settings.trigger.interval_ms} ms"
    return (
        f"kafka={settings.kafka_bootstrap_servers} topic={settings.kafka_topic} "
        f"({settings.kafka_security_protocol}, start={settings.starting_offsets}) "
        f"es={hosts} index={settings.es_index} deadletter={settings.es_deadletter_index} "
        f"model={settings.sentiment_model} languages={','.join(sorted(settings.sentiment_languages))} "
        f"language_source={settings.sentiment_language_source} "
        f"trigger={trigger} checkpoint={settings.checkpoint_location}"
    )


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("py4j", "elastic_transport", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    try:
        settings = Settings.load()
    except SettingsError as exc:
        print(f"error: invalid setting {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings.log_level)
    log.info("starting: %s", _describe(settings))
    if not settings.fail_on_data_loss:
        log.warning(
            "FAIL_ON_DATA_LOSS=false: if Kafka deleted records before the job read them (retention, "
            "topic re-created), the job skips the gap and goes on; those posts are never indexed"
        )

    try:
        install_with_retries(settings)
    except SetupError as exc:
        log.error("%s", exc)
        return 1

    metrics = JobMetrics(REGISTRY)
    if settings.metrics_port:
        try:
            start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=metrics.registry)
        except OSError as exc:
            print(
                f"error: invalid setting METRICS_PORT: cannot listen on {settings.metrics_port}: {exc}",
                file=sys.stderr,
            )
            return 2
        log.info("metrics on http://%s:%d/metrics", settings.metrics_host, settings.metrics_port)

    spark = build_spark(settings)
    try:
        return run(spark, settings, metrics)
    finally:
        spark.stop()


def _warm(spark: SparkSession, settings: Settings) -> None:
    """Start and warm the Python workers before the first batch (else the first batch pays
    for the worker start-up and the analyzer's lexicon load). Best effort: a failure here
    shows again, with its real cause, in the first batch."""
    started = time.monotonic()
    try:
        tasks = warm_workers(spark, settings)
    except Exception as exc:
        log.warning("could not warm the Python workers: %s", _first_line(exc))
        return
    log.info("%d Python workers warm in %.1fs", tasks, time.monotonic() - started)


def run(spark: SparkSession, settings: Settings, metrics: JobMetrics) -> int:
    """Start the query and wait for it; 0 when it ended normally or on SIGTERM."""
    spark.streams.addListener(progress_listener(metrics, settings.kafka_topic))
    _warm(spark, settings)
    query = start_query(spark, settings, metrics)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping the query (the checkpoint keeps what was committed)", signum)
        stopping.set()
        # Not from the handler itself: stop() is a Py4J call and may block.
        threading.Thread(target=query.stop, name="stop-query", daemon=True).start()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        query.awaitTermination()
    except StreamingQueryException as exc:
        if stopping.is_set():
            return 0
        if "UnknownTopicOrPartition" in str(exc):
            # Kafka's own words would be a 200-line stack trace about a partition.
            log.error(
                "the Kafka topic %r does not exist on %s: create it (the chart's KafkaTopic, or "
                "`python -m devtools.services kafka up` locally), then start the job again",
                settings.kafka_topic,
                settings.kafka_bootstrap_servers,
            )
            return 1
        log.error("query failed: %s", _first_line(exc))
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("query ended")
    return 0


if __name__ == "__main__":
    sys.exit(main())
