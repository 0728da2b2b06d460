"""The job end to end on the real Kafka, Spark and Elasticsearch.

`test_console_script_*` runs `tweet-sentiment-job` exactly as the acceptance criterion does
(TRIGGER=availableNow, exit 0); `test_metrics_*` runs the same query in this process to read
the driver's Prometheus registry afterwards.
"""

from __future__ import annotations

import re
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from prometheus_client import generate_latest
from spark_job_helpers import all_docs, count, event, produce, run_job

from devtools.harness.env import deadletter_index, job_env
from devtools.harness.poll import wait_until
from devtools.harness.process import Proc, free_port
from sentiment_job import job
from sentiment_job.cleaning import clean_text
from sentiment_job.es_setup import install
from sentiment_job.metrics import JobMetrics
from sentiment_job.sentiment import DEFAULT_MODEL, score_frame
from sentiment_job.settings import Settings, Trigger
from sentiment_job.sink import METRIC_LANGUAGES

pytestmark = [pytest.mark.kafka, pytest.mark.es, pytest.mark.spark]

IMAGE_DIR = Path(__file__).resolve().parents[2] / "images" / "spark-job"

ISO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TEXTS = [
    "I love this, what a wonderful day @friend https://t.co/x",
    "This is the worst service ever, I hate it",
    "The meeting is at 3pm",
    "Not bad at all #happy",
    "Terrible, awful, disappointing &amp; sad",
]
MALFORMED: list[Any] = [
    "this is not json",
    None,  # tombstone: no value
    {"schema_version": 2, "id": "v2", "source": "x", "text": "hi"},
    event("no-text", text=""),
    event(42),  # type: ignore[arg-type]
    event("bad-source", source="myspace"),
    event("bad-date", created_at="last tuesday"),
    b"\xff\xfe\xfd binary junk",
]


def corpus(n: int, prefix: str) -> list[dict[str, Any]]:
    """n unique posts; every 7th tagged Japanese (no model: Unsupported), sources and texts varied."""
    posts = []
    for i in range(n):
        lang = "ja" if i % 7 == 3 else ("en" if i % 2 else "und")
        source = ("x", "bluesky", "replay", "synthetic")[i % 4]
        posts.append(event(f"{prefix}-{i}", f"{TEXTS[i % len(TEXTS)]} #{i}", lang=lang, source=source))
    return posts


def expected_labels(posts: list[dict[str, Any]], model: str = DEFAULT_MODEL) -> dict[str, str]:
    """The label each post must get: the analysis module's pure-Python path as the oracle."""
    scores = score_frame(
        pd.Series([clean_text(p["text"]) for p in posts]),
        pd.Series([p.get("lang", "und") for p in posts]),
        model,
    )
    return {f"{p['source']}:{p['id']}": label for p, label in zip(posts, scores["sentiment"], strict=True)}


def test_console_script_indexes_each_unique_valid_post_once(
    kafka_bootstrap: str,
    new_topic: Any,
    es_url: str,
    es_client: Any,
    indices: Any,
    spark_jars: str,
    tmp_path: Path,
) -> None:
    topic, index = new_topic("job-it"), indices()
    posts = corpus(60, "p")
    edited = dict(posts[1], text="Edited later: wonderful!")
    # Duplicates: ten posts sent twice, one of them edited (last write wins).
    produce(kafka_bootstrap, topic, [*posts, *posts[10:19], edited, *MALFORMED])

    env = job_env(
        kafka_bootstrap, topic, es_url, index, tmp_path / "checkpoint", spark_jars, trigger="availableNow"
    )
    code, log = run_job(env, tmp_path / "job.log", timeout=420)
    assert code == 0, log

    docs = all_docs(es_client, index)
    posts[1] = edited
    labels = expected_labels(posts)
    assert set(docs) == set(labels)  # exactly the unique valid ids, nothing else
    assert docs[f"{edited['source']}:{edited['id']}"]["text"] == edited["text"]
    for _id, doc in docs.items():
        assert doc["sentiment"] == labels[_id], (_id, doc)
        assert f"{doc['source']}:{doc['id']}" == _id
        assert doc["model"] == DEFAULT_MODEL
        for field in ("created_at", "ingested_at", "indexed_at"):
            assert ISO_MILLIS.match(doc[field]), (field, doc[field])
        if doc["lang"] != "und":
            assert doc["sentiment_lang"] == doc["lang"]  # the tag's primary subtag
        else:
            assert doc["sentiment_lang"]  # the identifier's answer
        if doc["sentiment"] == "Unsupported":
            assert doc["lang"] == "ja"
            assert doc["polarity"] is None
            assert doc["subjectivity"] is None
            assert doc["confidence"] is None
        else:
            assert isinstance(doc["polarity"], float)
            assert -1.0 <= doc["polarity"] <= 1.0
            assert doc["subjectivity"] is None  # the tweet model has none
            assert 1 / 3 <= doc["confidence"] <= 1.0
    assert {d["sentiment"] for d in docs.values()} == {"Positive", "Negative", "Neutral", "Unsupported"}

    dead = all_docs(es_client, deadletter_index(index))
    assert len(dead) == len(MALFORMED)
    reasons = sorted(d["reason"] for d in dead.values())
    assert reasons == sorted(
        [
            "bad_json",  # not JSON
            "bad_json",  # tombstone
            "unsupported_schema_version",
            "missing_field",  # blank text
            "wrong_type",  # numeric id
            "bad_value",  # unknown source
            "bad_value",  # unparsable created_at
            "bad_encoding",
        ]
    )
    for _id, d in dead.items():
        assert _id == f"{topic}:{d['partition']}:{d['offset']}"
        assert d["topic"] == topic
        assert d["error"]
        assert ISO_MILLIS.match(d["failed_at"])
    assert any(d["raw"] == "this is not json" for d in dead.values())


def test_metrics_from_an_in_process_run(
    kafka_bootstrap: str,
    new_topic: Any,
    es_url: str,
    es_client: Any,
    indices: Any,
    spark: Any,
    tmp_path: Path,
) -> None:
    topic, index = new_topic("job-metrics", partitions=2), indices()
    posts = corpus(21, "m")
    produce(kafka_bootstrap, topic, [*posts, "garbage", "{}"])
    settings = Settings(
        checkpoint_location=str(tmp_path / "checkpoint"),
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic=topic,
        es_url=es_url,
        es_index=index,
        es_deadletter_index=f"{index}-dl",
        trigger=Trigger(available_now=True),
    )
    install(es_client, settings)
    metrics = JobMetrics()
    assert job.run(spark, settings, metrics) == 0

    def value(name: str, **labels: str) -> float:
        return metrics.registry.get_sample_value(name, labels or None) or 0.0

    # Progress events reach the listener asynchronously.
    wait_until(lambda: value("sentiment_job_input_rows_total") == 23, 60, "the progress listener")
    labels = expected_labels(posts)
    for label in ("Positive", "Negative", "Neutral", "Unsupported"):
        assert value("sentiment_job_documents_indexed_total", sentiment=label) == sum(
            1 for v in labels.values() if v == label
        )
    # By language: every indexed post once; French by its tag, whatever the models cover.
    by_language = {
        (lang, outcome): value("sentiment_job_posts_by_language_total", lang=lang, outcome=outcome)
        for lang in (*METRIC_LANGUAGES, "other")
        for outcome in ("scored", "unsupported")
    }
    assert sum(by_language.values()) == 21
    unsupported = sum(n for (_, outcome), n in by_language.items() if outcome == "unsupported")
    assert unsupported == sum(1 for v in labels.values() if v == "Unsupported")
    assert by_language["fr", "scored"] + by_language["fr", "unsupported"] == sum(
        1 for p in posts if p["lang"] == "fr"
    )
    assert value("sentiment_job_documents_deadlettered_total", reason="bad_json") == 1
    assert value("sentiment_job_documents_deadlettered_total", reason="unsupported_schema_version") == 1
    assert value("sentiment_job_end_to_end_latency_seconds_count") == 21
    assert value("sentiment_job_end_to_end_latency_seconds_sum") > 0
    assert value("sentiment_job_batch_duration_seconds_count") >= 1
    assert value("sentiment_job_last_batch_timestamp_seconds") > 0
    assert value("sentiment_job_offsets_behind_latest", topic=topic) == 0
    assert value("sentiment_job_batch_failures_total") == 0

    exposition = generate_latest(metrics.registry).decode()
    for name in (
        "sentiment_job_input_rows_per_second",
        "sentiment_job_processed_rows_per_second",
        "sentiment_job_batch_duration_seconds_bucket",
        "sentiment_job_input_rows_total",
        "sentiment_job_offsets_behind_latest",
        "sentiment_job_documents_indexed_total",
        "sentiment_job_posts_by_language_total",
        "sentiment_job_documents_rejected_total",
        "sentiment_job_documents_deadlettered_total",
        "sentiment_job_end_to_end_latency_seconds_bucket",
        "sentiment_job_last_batch_timestamp_seconds",
        "sentiment_job_batch_failures_total",
    ):
        assert name in exposition, name


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.read().decode()
    except OSError:
        return ""


def _positives(posts: list[dict[str, Any]]) -> str:
    return f"{float(sum(1 for label in expected_labels(posts).values() if label == 'Positive'))}"


def test_spark_submit_of_main_py_as_in_the_image(
    kafka_bootstrap: str,
    new_topic: Any,
    es_url: str,
    es_client: Any,
    indices: Any,
    spark_jars: str,
    tmp_path: Path,
) -> None:
    """What the SparkApplication does: spark-submit main.py; master and jars from the
    submission, Spark's Prometheus endpoints from the image's spark-defaults.conf."""
    topic, index = new_topic("job-submit", partitions=1), indices()
    posts = corpus(12, "s")
    produce(kafka_bootstrap, topic, posts)
    ui_port, metrics_port = free_port(), free_port()
    # Master and jars come from the submission, not from the job's settings.
    env = job_env(
        kafka_bootstrap, topic, es_url, index, tmp_path / "checkpoint", "",
        spark_master=None, trigger="processingTime=1s",
        metrics_host="127.0.0.1", metrics_port=metrics_port,
    )  # fmt: skip
    env["TWEET_SENTIMENT_SPARK_DEFAULTS"] = str(IMAGE_DIR / "spark-defaults.conf")
    cmd = [
        str(Path(sys.executable).parent / "spark-submit"),
        "--master", "local[2]",
        "--jars", spark_jars,
        "--conf", f"spark.ui.port={ui_port}",
        str(IMAGE_DIR / "main.py"),
    ]  # fmt: skip
    submit = Proc("spark-submit", cmd, env, tmp_path / "submit.log").start()
    try:
        wait_until(lambda: count(es_client, index) == len(posts), 300, "the documents", alive=submit.running)
        assert submit.running(), submit.tail(100)
        # The image's spark-defaults.conf settings, applied by the job under spark-submit.
        assert re.search(r"applied \d+ settings .*spark\.ui\.prometheus\.enabled", submit.output())
        # Spark's own Prometheus endpoints (driver UI port) and the job's.
        # (The UI's first answer can take seconds: Jetty warms up.)
        ui = f"http://127.0.0.1:{ui_port}"
        wait_until(lambda: "_driver_" in _get(f"{ui}/metrics/prometheus"), 120, "Spark's driver metrics")
        wait_until(
            lambda: "metrics_executor_" in _get(f"{ui}/metrics/executors/prometheus"), 120, "executor metrics"
        )
        indexed = f'sentiment_job_documents_indexed_total{{sentiment="Positive"}} {_positives(posts)}'
        wait_until(
            lambda: indexed in _get(f"http://127.0.0.1:{metrics_port}/metrics"), 120, "the job's metrics"
        )
    finally:
        submit.kill()
    assert set(all_docs(es_client, index)) == {f"{p['source']}:{p['id']}" for p in posts}


def test_a_missing_topic_is_named_not_a_stack_trace(
    kafka_bootstrap: str, es_url: str, indices: Any, spark_jars: str, tmp_path: Path
) -> None:
    """Issue 16: a job started before its topic exists ends with a message that names the topic."""
    topic = f"missing-{uuid.uuid4().hex[:8]}"
    env = job_env(
        kafka_bootstrap, topic, es_url, indices(), tmp_path / "checkpoint", spark_jars, trigger="availableNow"
    )
    code, log = run_job(env, tmp_path / "job.log", timeout=300)
    assert code == 1, log
    assert f"the Kafka topic {topic!r} does not exist on {kafka_bootstrap}" in log, log[-3000:]
