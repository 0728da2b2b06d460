"""Settings: env → typed object, defaults, and errors that name the variable."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.producer.producer_helpers import TWEET_PRODUCER, producer_env
from tweet_producer.publisher import producer_config
from tweet_producer.settings import REPO_SAMPLE, SettingsError, SourceKind, load_settings
from tweet_producer.sources import event_source_name


def test_defaults_match_the_design(clean_env: pytest.MonkeyPatch) -> None:
    s = load_settings()
    assert s.source is SourceKind.REPLAY  # no X token
    assert s.replay_file == REPO_SAMPLE
    assert Path(__file__).resolve().parents[2] / "images/producer/samples/posts.jsonl" == REPO_SAMPLE
    assert (s.kafka_bootstrap_servers, s.kafka_topic, s.kafka_dlq_topic) == (
        "localhost:9092",
        "posts",
        "posts.deadletter",
    )
    assert (s.kafka_security_protocol, s.kafka_sasl_mechanism, s.kafka_compression) == (
        "PLAINTEXT",
        "SCRAM-SHA-512",
        "gzip",
    )
    assert (s.kafka_linger_ms, s.kafka_batch_size, s.kafka_buffer_memory) == (20, 65536, 33554432)
    assert s.x_api_base_url == "https://api.x.com"
    assert s.x_stall_timeout_seconds == 20
    assert s.jetstream_url == "wss://jetstream2.us-east.bsky.network/subscribe"
    assert s.jetstream_cursor_file == Path("/var/lib/tweet-producer/jetstream.cursor")
    assert s.jetstream_cursor_save_seconds == 5
    assert (s.replay_rate, s.replay_loop) == (0, False)
    assert (s.synthetic_rate, s.synthetic_seed, s.synthetic_limit) == (50, 42, 0)
    assert s.max_post_bytes == 65536
    assert (s.metrics_host, s.metrics_port) == ("0.0.0.0", 9108)
    assert s.shutdown_timeout_seconds == 10
    assert (s.log_level, s.log_format) == ("INFO", "text")


def test_an_x_token_makes_the_sample_stream_the_default(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("X_BEARER_TOKEN", "AAAA-token")
    s = load_settings()
    assert s.source is SourceKind.X_SAMPLE
    assert event_source_name(s.source) == "x"


def test_token_file_wins_and_is_stripped(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("from-file\n")
    clean_env.setenv("X_BEARER_TOKEN", "inline")
    clean_env.setenv("X_BEARER_TOKEN_FILE", str(token))
    s = load_settings()
    assert s.x_bearer_token is not None
    assert s.x_bearer_token.get_secret_value() == "from-file"


def test_secrets_never_show_in_repr_or_the_startup_dump(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("X_BEARER_TOKEN", "sekrit-token-1")
    clean_env.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    clean_env.setenv("KAFKA_SASL_USERNAME", "producer")
    clean_env.setenv("KAFKA_SASL_PASSWORD", "sekrit-password-2")
    s = load_settings()
    for text in (repr(s), str(s), json.dumps(s.redacted())):
        assert "sekrit" not in text
    config = producer_config(s)
    assert config["sasl_plain_password"] == "sekrit-password-2"  # noqa: S105 - a test value
    assert config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert config["security_protocol"] == "SASL_SSL"


def test_producer_config_is_durable_by_default(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    clean_env.setenv("KAFKA_BOOTSTRAP_SERVERS", "a:9093, b:9093")
    clean_env.setenv("KAFKA_SECURITY_PROTOCOL", "SSL")
    clean_env.setenv("KAFKA_SSL_CAFILE", str(ca))
    clean_env.setenv("KAFKA_COMPRESSION", "none")
    config = producer_config(load_settings())
    assert config["bootstrap_servers"] == ["a:9093", "b:9093"]
    assert config["acks"] == "all"
    assert config["enable_idempotence"] is True
    assert config["compression_type"] is None
    assert config["ssl_cafile"] == str(ca)
    assert "sasl_plain_password" not in config


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"METRICS_PORT": "70000"}, "METRICS_PORT"),
        ({"METRICS_PORT": "abc"}, "METRICS_PORT"),
        ({"SOURCE": "mastodon"}, "SOURCE"),
        ({"REPLAY_RATE": "-1"}, "REPLAY_RATE"),
        ({"REPLAY_LOOP": "maybe"}, "REPLAY_LOOP"),
        ({"KAFKA_TOPIC": "bad topic!"}, "KAFKA_TOPIC"),
        ({"KAFKA_BOOTSTRAP_SERVERS": "localhost"}, "KAFKA_BOOTSTRAP_SERVERS"),
        ({"KAFKA_COMPRESSION": "brotli"}, "KAFKA_COMPRESSION"),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "KAFKA_SASL_USERNAME"),
        ({"KAFKA_SSL_CAFILE": "/nonexistent/ca.crt"}, "KAFKA_SSL_CAFILE"),
        ({"KAFKA_SASL_PASSWORD_FILE": "/nonexistent/pw"}, "KAFKA_SASL_PASSWORD_FILE"),
        ({"SOURCE": "x-sample"}, "X_BEARER_TOKEN"),
        ({"X_BEARER_TOKEN_FILE": "/nonexistent/token"}, "X_BEARER_TOKEN_FILE"),
        ({"SOURCE": "x-filtered", "X_BEARER_TOKEN": "t"}, "X_RULES"),
        ({"SOURCE": "x-filtered", "X_BEARER_TOKEN": "t", "X_RULES": '{"value": "x"}'}, "X_RULES"),
        ({"SOURCE": "x-filtered", "X_BEARER_TOKEN": "t", "X_RULES": '[{"tag": "no value"}]'}, "X_RULES"),
        ({"X_API_BASE_URL": "ftp://x"}, "X_API_BASE_URL"),
        ({"X_STALL_TIMEOUT_SECONDS": "0"}, "X_STALL_TIMEOUT_SECONDS"),
        ({"JETSTREAM_URL": "https://jetstream"}, "JETSTREAM_URL"),
        ({"REPLAY_FILE": "/nonexistent.jsonl"}, "REPLAY_FILE"),
        ({"MAX_POST_BYTES": "10000000"}, "MAX_POST_BYTES"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"KAFKA_DLQ_TOPIC": "posts"}, "KAFKA_DLQ_TOPIC"),
    ],
)
def test_bad_values_name_the_variable(
    clean_env: pytest.MonkeyPatch, env: dict[str, str], variable: str
) -> None:
    for key, value in env.items():
        clean_env.setenv(key, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert str(err.value).startswith(variable + ":"), str(err.value)


def test_rules_come_inline_or_from_a_file(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    rules = [{"value": "cats has:images", "tag": "cats"}, {"value": "dogs"}]
    clean_env.setenv("SOURCE", "x-filtered")
    clean_env.setenv("X_BEARER_TOKEN", "t")
    clean_env.setenv("X_RULES", json.dumps(rules))
    assert [r.model_dump() for r in load_settings().rules or []] == [
        {"value": "cats has:images", "tag": "cats"},
        {"value": "dogs", "tag": None},
    ]
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules))
    clean_env.setenv("X_RULES", str(path))
    assert len(load_settings().rules or []) == 2


def test_empty_variables_count_as_unset(clean_env: pytest.MonkeyPatch) -> None:
    # Kubernetes renders optional secrets as empty strings.
    clean_env.setenv("X_BEARER_TOKEN", "")
    clean_env.setenv("METRICS_PORT", "")
    s = load_settings()
    assert s.source is SourceKind.REPLAY
    assert s.metrics_port == 9108


def test_bad_config_exits_2_with_the_variable_and_no_secret() -> None:
    env = producer_env(
        METRICS_PORT="not-a-port",
        X_BEARER_TOKEN="sekrit-token-3",  # noqa: S106 - a test value
        SOURCE="x-filtered",
        X_RULES="[]",
    )
    result = subprocess.run([str(TWEET_PRODUCER)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "METRICS_PORT" in result.stderr
    assert "sekrit" not in result.stderr + result.stdout
