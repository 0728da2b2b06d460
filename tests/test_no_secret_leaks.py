"""No log line, error or exception text ever carries a credential.

For EVERY settings field that can hold one (the SecretStr fields of every settings model,
found from the models, so a new secret is covered or this test fails), set a recognisable
value, inline and through its `_FILE`, then trigger what a real run prints: start-up
logging (repr, the redacted dump, the job's start-up line), validation errors, and
connection failures (setup-es retrying, the CLI), and assert the value appears nowhere.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from sentiment_job import cli, es_setup, job
from sentiment_job.settings import EsSettings
from sentiment_job.settings import Settings as JobSettings
from tweet_producer.settings import Settings as ProducerSettings
from tweet_sentiment_common.settings import SettingsError

SECRET = "Zq9-hunter2-SECRET-7xK"  # noqa: S105 - the value we look for
UNREACHABLE = "127.0.0.1:1"  # nothing listens: connection refused at once

# field -> how to put the secret into the environment (the field's own variable).
HOW = {
    "x_bearer_token": lambda: {"X_BEARER_TOKEN": SECRET},
    "kafka_sasl_password": lambda: {
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_USERNAME": "u",
        "KAFKA_SASL_PASSWORD": SECRET,
    },
    "es_password": lambda: {"ES_USERNAME": "elastic", "ES_PASSWORD": SECRET},
    "es_api_key": lambda: {"ES_API_KEY": SECRET},
    "es_url": lambda: {"ES_URL": f"http://elastic:{SECRET}@{UNREACHABLE}"},
}
MODELS = {"producer": ProducerSettings, "job": JobSettings, "es": EsSettings}
CASES = [(name, field) for name, model in MODELS.items() for field in sorted(model.secret_fields())]
BASE = {"producer": {}, "job": {"CHECKPOINT_LOCATION": "/tmp/ckpt", "SPARK_JARS": ""}, "es": {}}


def test_every_secret_field_is_covered() -> None:
    fields = {field for _, field in CASES}
    assert fields == set(HOW), "a new secret setting: teach this test how to set it"
    assert {"x_bearer_token", "kafka_sasl_password", "es_password", "es_api_key", "es_url"} <= fields


def env_for(model: str, field: str, tmp_path: Path, via_file: bool) -> dict[str, str]:
    env = {**BASE[model], **HOW[field]()}
    if model != "producer" or field != "x_bearer_token":
        env.setdefault("ES_URL", f"http://{UNREACHABLE}")
    if via_file:
        for var in [v for v, value in env.items() if value == SECRET]:
            path = tmp_path / var.lower()
            path.write_text(SECRET + "\n")
            env[f"{var}_FILE"] = str(path)
            del env[var]
    if model == "producer":
        env["REPLAY_FILE"] = str(tmp_path / "none.jsonl")
        (tmp_path / "none.jsonl").write_text("")
    return env


def can_use_file(field: str) -> bool:
    return field in {"x_bearer_token", "kafka_sasl_password", "es_password"}


@pytest.mark.parametrize(("model", "field"), CASES)
@pytest.mark.parametrize("via_file", [False, True], ids=["inline", "file"])
def test_startup_logging_and_repr_never_show_the_secret(
    model: str, field: str, via_file: bool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if via_file and not can_use_file(field):
        pytest.skip(f"{field} has no _FILE variant")
    settings: Any = MODELS[model].load(env_for(model, field, tmp_path, via_file))
    caplog.set_level(logging.DEBUG)
    texts = [repr(settings), str(settings), str(settings.redacted()), str(settings.model_dump())]
    if model == "job":
        logging.getLogger("sentiment_job").info("starting: %s", job._describe(settings))
    if model == "producer":
        logging.getLogger("tweet_producer").info("starting with %s", settings.redacted())
    texts.append(caplog.text)
    for text in texts:
        assert SECRET not in text


@pytest.mark.parametrize(("model", "field"), CASES)
def test_validation_errors_never_show_the_secret(model: str, field: str, tmp_path: Path) -> None:
    env = env_for(model, field, tmp_path, via_file=False)
    # Another setting wrong: the error lists problems but not the secret.
    bad = {**env, "ES_INDEX": "UPPER", "METRICS_PORT": "-1", "KAFKA_TOPIC": "bad topic"}
    with pytest.raises(SettingsError) as err:
        MODELS[model].load(bad)
    assert SECRET not in str(err.value)
    # The secret's own variable wrong, around the secret value.
    if field == "es_url":
        wrong = {**env, "ES_URL": f"ftp://elastic:{SECRET}@{UNREACHABLE}"}
    elif field == "es_password":
        wrong = {**env, "ES_API_KEY": "k"}  # both auth kinds: refused, naming ES_API_KEY
    elif field == "es_api_key":
        wrong = {**env, "ES_USERNAME": "u", "ES_PASSWORD": "p"}
    elif field == "kafka_sasl_password":
        wrong = {**env, "KAFKA_SASL_USERNAME": ""}
    else:  # x_bearer_token
        wrong = {**env, "SOURCE": "x-filtered", "X_RULES": "not json"}
    with pytest.raises(SettingsError) as err:
        MODELS[model].load(wrong)
    assert SECRET not in str(err.value)
    assert err.value.variable


@pytest.mark.parametrize("field", sorted(EsSettings.secret_fields()))
def test_connection_failures_never_show_the_secret(
    field: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """setup-es (the job's start) and the CLI against an Elasticsearch that is down."""
    caplog.set_level(logging.DEBUG)
    env = env_for("es", field, tmp_path, via_file=False)
    settings = EsSettings.load({**env, "ES_MAX_RETRIES": "1", "ES_REQUEST_TIMEOUT_SECONDS": "2"})
    with pytest.raises(es_setup.SetupError) as err:
        es_setup.install_with_retries(settings, sleep=lambda _: None)
    assert "not reachable" in str(err.value)
    assert UNREACHABLE in str(err.value)  # the host is named...
    assert SECRET not in str(err.value)  # ...its credentials are not
    assert SECRET not in repr(err.value)
    assert SECRET not in caplog.text

    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        assert cli.main(["stats", "--timeout", "2"]) == 1
    out = capsys.readouterr()
    assert f"cannot reach Elasticsearch at http://{UNREACHABLE}" in out.err
    assert SECRET not in out.out + out.err + caplog.text


def test_the_url_userinfo_secret_stays_out_of_the_client_hosts() -> None:
    kwargs = EsSettings.load({"ES_URL": f"https://elastic:{SECRET}@es.example:9200"}).es_client_kwargs()
    assert all(SECRET not in host for host in kwargs["hosts"])
    assert kwargs["basic_auth"] == ("elastic", SECRET)
