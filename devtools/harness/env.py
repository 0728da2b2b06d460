"""A program's environment, built from its settings model so the names and the defaults
cannot drift: a setting is given by its field name (or its variable, any case), an unknown
one fails at once, and a setting not given is left to the program's own default."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from devtools.harness.poll import PipelineError
from devtools.harness.process import VENV_BIN, free_port
from devtools.services.common import versions
from sentiment_job.settings import Settings as JobSettings
from tweet_producer.settings import Settings as ProducerSettings
from tweet_sentiment_common.settings import EnvSettings


def producer_default(name: str) -> Any:
    """The producer's default for the setting `name` (a field name)."""
    return ProducerSettings.model_fields[name].default


def job_default(name: str) -> Any:
    """The job's default for the setting `name` (a field name)."""
    return JobSettings.model_fields[name].default


def deadletter_index(index: str) -> str:
    """The dead-letter index the harness gives a job writing `index`."""
    return f"{index}-deadletter"


def settings_env(model: type[EnvSettings], settings: Mapping[str, Any], inherit: bool) -> dict[str, str]:
    """This environment with `settings` (None: unset, the program's default) on top.

    `inherit=False` drops the model's settings found in this environment first (a test or a
    benchmark runs only what it says); `inherit=True` passes them through (the demo).
    """
    names = model.env_names()
    variables = {var.upper() for var in names.values()}
    by_key = {**{field: var for field, var in names.items()}, **{var.lower(): var for var in names.values()}}
    env = {k: v for k, v in os.environ.items() if inherit or k.upper() not in variables}
    for key, value in settings.items():
        var = by_key.get(key.lower())
        if var is None:
            raise PipelineError(f"{key} is not a setting of {model.__module__}.{model.__name__}")
        if value is None:
            env.pop(var, None)
        elif isinstance(value, bool):
            env[var] = "true" if value else "false"
        else:
            env[var] = str(value)
    return env


def producer_env(*, inherit: bool = False, **settings: Any) -> dict[str, str]:
    """The producer's environment: metrics on 127.0.0.1 and a free port, then `settings`."""
    defaults = {"metrics_host": "127.0.0.1", "metrics_port": free_port(), "log_level": "INFO"}
    return settings_env(ProducerSettings, {**defaults, **settings}, inherit)


def job_env(
    bootstrap: str,
    topic: str,
    es_url: str,
    index: str,
    checkpoint: Path,
    spark_jars: str,
    *,
    inherit: bool = False,
    **settings: Any,
) -> dict[str, str]:
    """The job's environment: Spark on the pinned Java with this virtualenv's Python (its
    workers need textblob, vader, pandas); where it reads and writes, with its dead letters
    in `deadletter_index(index)`; `local[2]` and a free metrics port; then `settings`.

    `spark_master=None` leaves the job's own master (the job as it ships).
    """
    names = {
        "kafka_bootstrap_servers": bootstrap,
        "kafka_topic": topic,
        "es_url": es_url,
        "es_index": index,
        "es_deadletter_index": deadletter_index(index),
        "checkpoint_location": checkpoint,
        "spark_jars": spark_jars,
        "spark_master": "local[2]",
        "metrics_port": free_port(),
    }
    env = settings_env(JobSettings, {**names, **settings}, inherit)
    env.pop("PYSPARK_SUBMIT_ARGS", None)  # a test session's own Spark launch arguments
    env.update(
        {
            "JAVA_HOME": versions()["JAVA_HOME_SPARK"],
            "PATH": f"{VENV_BIN}:{env.get('PATH', '/usr/bin:/bin')}",
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
        }
    )
    return env
