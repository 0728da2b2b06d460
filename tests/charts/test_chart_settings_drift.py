"""The chart and the code agree: every env var the chart sets is a setting of the program
that reads it (read from the settings models: field names and aliases), and the values
schema's enums are the settings' choices. (The docs' tables are generated from the same
models: tests/test_docs.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.charts.checks import (
    CHART_DIR,
    by_kind,
    container_env,
    job_setting_names,
    job_settings_models,
    one,
    producer_setting_names,
    producer_settings_model,
    setting_choices,
)
from tests.charts.conftest import VARIANTS

SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text())


def schema_enum(*path: str) -> list[str]:
    node = SCHEMA
    for key in path:
        node = node["properties"][key]
    return node["enum"]


def producer_env(rendered) -> set[str]:
    return {
        name
        for docs in rendered.values()
        for dep in by_kind(docs, "Deployment")
        for name in container_env(dep["spec"]["template"]["spec"])
    }


def job_env(rendered) -> set[str]:
    names = set()
    for docs in rendered.values():
        for app in by_kind(docs, "SparkApplication"):
            for role in ("driver", "executor"):
                names |= {e["name"] for e in app["spec"][role]["env"]}
        for job in by_kind(docs, "Job"):
            if job["metadata"]["name"].endswith("-setup-es"):
                names |= set(container_env(job["spec"]["template"]["spec"]))
    return names


def test_settings_parsers_find_the_settings() -> None:
    # Guard the readers themselves: an empty set would make the drift checks vacuous.
    producer = producer_setting_names()
    job = job_setting_names()
    assert {
        "SOURCE",
        "KAFKA_BOOTSTRAP_SERVERS",
        "X_BEARER_TOKEN_FILE",
        "SHUTDOWN_TIMEOUT_SECONDS",
    } <= producer
    assert {"CHECKPOINT_LOCATION", "ES_URL", "ES_PASSWORD_FILE", "TRIGGER", "METRICS_PORT"} <= job
    assert "MODEL_CONFIG" not in producer


def test_every_variant_is_checked(rendered) -> None:
    assert set(rendered) == set(VARIANTS)


def test_producer_env_is_producer_settings(rendered) -> None:
    env = producer_env(rendered)
    assert len(env) >= 30, sorted(env)  # every source's variables appear in some variant
    assert env - producer_setting_names() == set()


def test_job_env_is_job_settings(rendered) -> None:
    env = job_env(rendered)
    assert len(env) >= 20, sorted(env)
    assert env - job_setting_names() == set()


def test_drift_is_detected(rendered) -> None:
    """A misspelt variable in a rendered Deployment is caught by the same set difference."""
    docs = [dict(d) for d in rendered["default"]]
    dep = json.loads(json.dumps(one(docs, "Deployment")))
    dep["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "KAFKA_BOOTSTRAP_SERVER", "value": "x"}
    )
    assert producer_env({"one": [dep]}) - producer_setting_names() == {"KAFKA_BOOTSTRAP_SERVER"}


def _producer(field: str):  # type: ignore[no-untyped-def]
    return lambda: setting_choices(producer_settings_model(), field)


def _job(field: str):  # type: ignore[no-untyped-def]
    return lambda: setting_choices(job_settings_models()[0], field)


@pytest.mark.parametrize(
    ("schema_path", "choices"),
    [
        (("producer", "source"), _producer("source")),
        (("producer", "kafka", "compression"), _producer("kafka_compression")),
        (("producer", "logFormat"), _producer("log_format")),
        (("producer", "logLevel"), _producer("log_level")),
        (("kafka", "securityProtocol"), _job("kafka_security_protocol")),
        (("kafka", "securityProtocol"), _producer("kafka_security_protocol")),
        (("kafka", "saslMechanism"), _job("kafka_sasl_mechanism")),
        (("kafka", "saslMechanism"), _producer("kafka_sasl_mechanism")),
        (("job", "sentimentModel"), _job("sentiment_model")),
        (("job", "logLevel"), _job("log_level")),
    ],
    ids=lambda v: ".".join(v) if isinstance(v, tuple) else "",
)
def test_schema_enums_are_the_settings_choices(schema_path, choices) -> None:
    assert sorted(schema_enum(*schema_path)) == sorted(choices())


# ---- the programs accept what the chart renders ----------------------------------------------

SECRETS = "/var/run/secrets/tweet-sentiment/"


def materialize(env: dict[str, dict], tmp: Path) -> dict[str, str]:
    """Rendered env as the container sees it: mounted secret files become temp files."""
    out = {}
    for name, var in env.items():
        assert set(var) == {"name", "value"}, f"{name}: only plain values (secrets are files)"
        value = var["value"]
        if value.startswith(SECRETS):
            path = tmp / value.removeprefix(SECRETS)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("placeholder-secret\n")
            value = str(path)
        out[name] = value
    return out


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_producer_accepts_the_rendered_env(rendered, variant: str, tmp_path: Path, monkeypatch) -> None:
    from tweet_producer.settings import load_settings

    dep = one(rendered[variant], "Deployment", "-producer")
    env = materialize(container_env(dep["spec"]["template"]["spec"]), tmp_path)
    # The image's Dockerfile sets REPLAY_FILE to its bundled sample; stand in for it.
    sample = tmp_path / "sample.jsonl"
    sample.write_text("")
    env.setdefault("REPLAY_FILE", str(sample))
    for name in producer_setting_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.source.value == env["SOURCE"]
    assert settings.metrics_port == 9108
    assert settings.kafka_bootstrap_servers == env["KAFKA_BOOTSTRAP_SERVERS"]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_job_and_setup_hook_accept_the_rendered_env(rendered, variant: str, tmp_path: Path) -> None:
    from sentiment_job.settings import EsSettings, Settings

    app = one(rendered[variant], "SparkApplication", "-job")
    for role in ("driver", "executor"):
        env = materialize({e["name"]: e for e in app["spec"][role]["env"]}, tmp_path)
        settings = Settings.load(env)
        assert settings.checkpoint_location == env["CHECKPOINT_LOCATION"]
        assert settings.metrics_port == 9109
        assert settings.es_username == env["ES_USERNAME"]
    for job in by_kind(rendered[variant], "Job"):
        if job["metadata"]["name"].endswith("-setup-es"):
            env = materialize(container_env(job["spec"]["template"]["spec"]), tmp_path)
            assert EsSettings.load(env).es_index == "tweets-sentiment"
