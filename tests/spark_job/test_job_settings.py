"""The job's settings: defaults, validation (error names the variable), derived options."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from spark_job_helpers import console_script

from sentiment_job import job
from sentiment_job.settings import JOB_JAR, Settings, SettingsError, Trigger, parse_duration_ms

BASE = {"CHECKPOINT_LOCATION": "/tmp/ckpt"}


def from_env(env: dict[str, str]) -> Settings:
    return Settings.load(env)


def test_defaults() -> None:
    s = from_env(BASE)
    assert s.kafka_bootstrap_servers == "localhost:9092"
    assert s.kafka_topic == "posts"
    assert s.starting_offsets == "earliest"
    assert s.max_offsets_per_trigger is None
    assert s.fail_on_data_loss is True
    assert s.es_url.get_secret_value() == "http://localhost:9200"
    assert s.es_hosts == "http://localhost:9200"
    assert (s.es_index, s.es_deadletter_index) == ("tweets-sentiment", "tweets-sentiment-deadletter")
    assert (s.es_bulk_chunk_size, s.es_max_retries) == (500, 5)
    assert s.sentiment_model == "multi-lr"
    assert s.sentiment_languages == frozenset({"ar", "de", "en", "es", "fr", "hi", "it", "pt"})
    assert s.sentiment_language_source == "tag-then-detect"
    assert s.trigger == Trigger(available_now=False, interval_ms=300)
    assert (s.metrics_host, s.metrics_port) == ("0.0.0.0", 9109)
    assert s.log_level == "INFO"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CHECKPOINT_LOCATION", ""),
        ("KAFKA_BOOTSTRAP_SERVERS", "no-port"),
        ("KAFKA_TOPIC", "bad topic"),
        ("KAFKA_SECURITY_PROTOCOL", "TLS"),
        ("KAFKA_SASL_MECHANISM", "GSSAPI"),
        ("STARTING_OFFSETS", "yesterday"),
        ("MAX_OFFSETS_PER_TRIGGER", "0"),
        ("MAX_OFFSETS_PER_TRIGGER", "lots"),
        ("FAIL_ON_DATA_LOSS", "maybe"),
        ("ES_URL", "localhost:9200"),
        ("ES_INDEX", "Tweets"),
        ("ES_INDEX", "a*b"),
        ("ES_DEADLETTER_INDEX", "tweets-sentiment"),
        ("ES_BULK_CHUNK_SIZE", "0"),
        ("ES_MAX_RETRIES", "-1"),
        ("ES_REQUEST_TIMEOUT_SECONDS", "0"),
        ("SENTIMENT_MODEL", "bert"),
        ("SENTIMENT_LANGUAGES", " , "),
        ("SENTIMENT_LANGUAGE_SOURCE", "guess"),
        ("TRIGGER", "continuous=1s"),
        ("TRIGGER", "processingTime=soon"),
        ("METRICS_PORT", "70000"),
        ("LOG_LEVEL", "LOUD"),
        ("KAFKA_SSL_CAFILE", "/nonexistent/ca.crt"),
        ("SPARK_JARS", "/nonexistent/x.jar"),
    ],
)
def test_bad_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        from_env({**BASE, variable: value})
    assert info.value.variable == variable
    assert str(info.value).startswith(variable)


def test_sasl_needs_credentials_and_builds_a_scram_jaas_config(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        from_env({**BASE, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL"})
    assert info.value.variable == "KAFKA_SASL_USERNAME"

    secret = tmp_path / "password"
    secret.write_text('p"w\\d\n')
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    s = from_env(
        {
            **BASE,
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_USERNAME": "job",
            "KAFKA_SASL_PASSWORD_FILE": str(secret),
            "KAFKA_SSL_CAFILE": str(ca),
            "MAX_OFFSETS_PER_TRIGGER": "1000",
        }
    )
    opts = s.kafka_options()
    assert opts["kafka.security.protocol"] == "SASL_SSL"
    assert opts["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert opts["kafka.sasl.jaas.config"] == (
        'org.apache.kafka.common.security.scram.ScramLoginModule required username="job" password="p\\"w\\\\d";'
    )
    assert opts["kafka.ssl.truststore.type"] == "PEM"
    assert opts["kafka.ssl.truststore.location"] == str(ca)
    assert opts["maxOffsetsPerTrigger"] == "1000"
    assert opts["failOnDataLoss"] == "true"
    # The password never shows in the settings' repr (which a log line might print).
    assert "p\\" not in repr(s)
    assert 'p"w' not in repr(s)


def test_plaintext_has_no_security_options() -> None:
    opts = from_env(BASE).kafka_options()
    assert opts["kafka.security.protocol"] == "PLAINTEXT"
    # Spark's own group prefix unless set: the Strimzi KafkaUser ACL grants it.
    assert opts["groupIdPrefix"] == "spark-kafka-source"
    assert not any(k.startswith(("kafka.sasl", "kafka.ssl")) for k in opts)


def test_es_credentials() -> None:
    s = from_env({**BASE, "ES_USERNAME": "elastic", "ES_PASSWORD": "s3cret"})
    assert s.es_client_kwargs()["basic_auth"] == ("elastic", "s3cret")
    assert "s3cret" not in repr(s)
    # Credentials in ES_URL's userinfo become basic auth; the client's hosts carry none.
    s = from_env({**BASE, "ES_URL": "https://job:p%40ss@es.example:9200"})
    kwargs = s.es_client_kwargs()
    assert kwargs["hosts"] == ["https://es.example:9200"]
    assert kwargs["basic_auth"] == ("job", "p@ss")
    assert s.es_hosts == "https://es.example:9200"
    assert "p%40ss" not in repr(s)
    with pytest.raises(SettingsError) as info:
        from_env({**BASE, "ES_USERNAME": "elastic"})
    assert info.value.variable == "ES_PASSWORD"
    with pytest.raises(SettingsError) as info:
        from_env({**BASE, "ES_USERNAME": "elastic", "ES_PASSWORD": "x", "ES_API_KEY": "k"})
    assert info.value.variable == "ES_API_KEY"


@pytest.mark.parametrize(
    ("text", "ms"),
    [("0", 0), ("500ms", 500), ("2 seconds", 2000), ("1.5s", 1500), ("1 minute", 60_000), ("3", 3000)],
)
def test_durations(text: str, ms: int) -> None:
    assert parse_duration_ms(text) == ms


def test_triggers() -> None:
    assert from_env({**BASE, "TRIGGER": "availableNow"}).trigger.spark_kwargs() == {"availableNow": True}
    assert from_env({**BASE, "TRIGGER": "processingTime=2 seconds"}).trigger.spark_kwargs() == {
        "processingTime": "2000 milliseconds"
    }


def test_spark_configs_local_and_under_spark_submit() -> None:
    s = from_env(BASE)
    local = job.spark_configs(s, under_submit=False)
    assert local["spark.master"] == "local[*]"
    assert local["spark.ui.enabled"] == "false"
    assert local["spark.python.worker.reuse"] == "true"
    submitted = job.spark_configs(s, under_submit=True)
    # spark-submit (the image on Kubernetes) decides master, jars and UI.
    assert "spark.master" not in submitted
    assert "spark.ui.enabled" not in submitted


def test_no_whole_stage_code_generation_for_the_one_projection_a_batch_runs() -> None:
    for under_submit in (False, True):
        assert (
            job.spark_configs(from_env(BASE), under_submit=under_submit)["spark.sql.codegen.wholeStage"]
            == "false"
        )


def test_the_query_polls_kafka_every_quarter_second_when_idle_not_every_10_ms() -> None:
    # Spark's default (10 ms) made the idle job ask Kafka for offsets ~100 times a second.
    for under_submit in (False, True):
        conf = job.spark_configs(from_env(BASE), under_submit=under_submit)
        assert conf["spark.sql.streaming.pollingDelay"] == job.IDLE_POLL_INTERVAL == "250ms"


@pytest.mark.parametrize(
    ("location", "local"),
    [
        ("/checkpoint", True),
        ("file:///var/ckpt", True),
        ("relative/ckpt", True),
        ("s3a://bucket/ckpt", False),
    ],
)
def test_checkpoint_manager_without_forks_only_for_local_checkpoints(location: str, local: bool) -> None:
    s = from_env({**BASE, "CHECKPOINT_LOCATION": location})
    assert s.checkpoint_is_local is local
    for under_submit in (False, True):
        conf = job.spark_configs(s, under_submit=under_submit)
        manager = conf.get("spark.sql.streaming.checkpointFileManagerClass")
        # An object store keeps Spark's default manager.
        assert manager == (job.LOCAL_CHECKPOINT_MANAGER if local else None)


def test_the_filesystem_without_chmod_forks_when_its_jar_is_there_and_the_checkpoint_is_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jar = tmp_path / "local" / JOB_JAR
    jar.parent.mkdir()
    jar.write_bytes(b"PK")
    key = "spark.hadoop.fs.file.impl"
    monkeypatch.delenv("SPARK_HOME", raising=False)
    # Locally: among SPARK_JARS (make fetch builds it beside the Kafka source jars).
    with_jar = from_env({**BASE, "SPARK_JARS": str(jar)})
    local = job.spark_configs(with_jar, under_submit=False)
    assert local[key] == job.NIO_FILESYSTEM_CLASS
    # On the JVM's classpath from its start (spark-submit reads the jars through it).
    assert local["spark.driver.extraClassPath"] == str(jar)
    other = tmp_path / "local" / "spark-sql-kafka.jar"
    other.write_bytes(b"PK")
    without = from_env({**BASE, "SPARK_JARS": str(other)})
    assert key not in job.spark_configs(without, under_submit=False)
    assert key not in job.spark_configs(without, under_submit=True)
    # An object store checkpoint keeps Hadoop's defaults.
    remote = from_env({**BASE, "SPARK_JARS": str(jar), "CHECKPOINT_LOCATION": "s3a://bucket/ckpt"})
    assert key not in job.spark_configs(remote, under_submit=False)
    # Under spark-submit (the image): in $SPARK_HOME/jars.
    (tmp_path / "jars").mkdir()
    (tmp_path / "jars" / JOB_JAR).write_bytes(b"PK")
    monkeypatch.setenv("SPARK_HOME", str(tmp_path))
    submitted = job.spark_configs(without, under_submit=True)
    assert submitted[key] == job.NIO_FILESYSTEM_CLASS
    assert "spark.driver.extraClassPath" not in submitted  # $SPARK_HOME/jars is on it
    assert key not in job.spark_configs(without, under_submit=False)


def test_kafka_fetch_returns_soon_when_the_log_has_no_new_record() -> None:
    assert from_env(BASE).kafka_options()["kafka.fetch.max.wait.ms"] == "10"


def test_console_script_exits_2_naming_the_variable() -> None:
    result = subprocess.run(
        [console_script("tweet-sentiment-job")],
        env={"PATH": "/usr/bin:/bin", "CHECKPOINT_LOCATION": "/tmp/x", "TRIGGER": "sometimes"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "TRIGGER" in result.stderr


def test_missing_checkpoint_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CHECKPOINT_LOCATION", raising=False)
    assert job.main() == 2
    assert "CHECKPOINT_LOCATION" in capsys.readouterr().err


def test_settings_are_frozen() -> None:
    s = from_env(BASE)
    with pytest.raises(ValueError, match="frozen"):
        s.kafka_topic = "other"  # type: ignore[misc]


def test_sentiment_model_choices_are_the_analyzers() -> None:
    """One list of models: the settings take theirs from sentiment.py."""
    from sentiment_job import sentiment

    assert Settings.choices("sentiment_model") == tuple(sentiment.MODELS)
    assert from_env({**BASE, "SENTIMENT_MODEL": "VADER"}).sentiment_model == "vader"
