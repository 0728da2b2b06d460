"""The job's settings (and the ES-only settings of setup-es and the `tweet-sentiment` CLI).

One pydantic-settings layer shared with the producer (`tweet_sentiment_common.settings`):
every field is the environment variable of the same name in upper case; `Settings.load()`
reads the environment once into a frozen object, and every problem is one `SettingsError`
naming the variable (the console scripts exit 2). Secrets (passwords, the API key, ES_URL,
which may carry `user:password@`) are `SecretStr`: out of `repr`, out of error messages;
log lines show `es_hosts`, the URLs without their userinfo.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from tweet_sentiment_common.contract import LANG_RE
from tweet_sentiment_common.settings import (
    SASL_JAAS_MODULES,
    EnvSettings,
    KafkaClientSettings,
    LogLevel,
    ReadableFile,
    SecretHttpUrls,
    SettingsError,
    lower_stripped,
    redact_url,
    resolve_secret_files,
    split_urls,
)

from . import language, sentiment

__all__ = ["EsSettings", "Settings", "SettingsError", "Trigger", "parse_duration_ms", "parse_trigger"]

# SENTIMENT_MODEL's choices are the analyzers sentiment.py has: one list, not a copy.
MODELS: tuple[str, ...] = tuple(sentiment.MODELS)
DEFAULT_MODEL: str = getattr(sentiment, "DEFAULT_MODEL", "textblob")
SentimentModel = Literal[MODELS]  # type: ignore[valid-type]  # a Literal built from a tuple at runtime
# SENTIMENT_LANGUAGE_SOURCE's choices: which language a post is scored as (sentiment_job.language).
LanguageSource = Literal[language.SOURCES]  # type: ignore[valid-type]  # likewise
DEFAULT_JARS_DIR = "spark-jars"
# The job's own JVM classes (images/spark-job/java): the Hadoop local filesystem
# (job.NIO_FILESYSTEM_CLASS) and the stats collect (batch.STRING_COLLECT_CLASS). In
# $SPARK_HOME/jars in the image, in DEFAULT_JARS_DIR locally.
JOB_JAR = "tweet-sentiment-jvm.jar"
# How long Kafka may hold a fetch that finds no new record (Kafka's default: 500 ms). Spark
# keeps one consumer per partition between batches, and the fetch it leaves open at the end
# of the log must return before the next batch's fetch can go: with 500 ms, a batch at a
# low rate waited for that fetch (measured: up to 500 ms per task; 30 ms on average at 50
# posts/s). Only an empty fetch returns sooner, and consumers only fetch inside a task.
KAFKA_FETCH_MAX_WAIT_MS = 10

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")
_UNIT_MS = {
    "": 1000.0,
    "ms": 1.0,
    "millisecond": 1.0,
    "milliseconds": 1.0,
    "s": 1000.0,
    "sec": 1000.0,
    "second": 1000.0,
    "seconds": 1000.0,
    "m": 60_000.0,
    "min": 60_000.0,
    "minute": 60_000.0,
    "minutes": 60_000.0,
    "h": 3_600_000.0,
    "hour": 3_600_000.0,
    "hours": 3_600_000.0,
}
# Elasticsearch's index name rules (lowercase, none of these characters, not . or ..).
_BAD_INDEX_CHARS = set('\\/*?"<>| ,#:')


# The default micro-batch interval. A batch costs a fixed ~0.1-0.15 CPU-seconds however few rows
# it holds (planning, offsets, checkpoint files, the Python round trip), so the job's cores at a
# low rate are batches per second times that (issue 17). With `processingTime=0`, 50 posts/s ran
# batches back to back, ~5.5 a second; at 300 ms they run ~3.3 a second for about 60% of the
# cores, and the p99 to indexed stays under 0.5 s: a post waits at most one interval plus one
# batch (docs/spark-job.md, "The trigger"). A batch that takes longer than the interval is
# followed at once, so a backlog drains as fast as with `0`.
DEFAULT_TRIGGER_MS = 300


@dataclass(frozen=True)
class Trigger:
    """`availableNow` (drain what is there, then stop) or a processing-time interval."""

    available_now: bool = False
    interval_ms: int = DEFAULT_TRIGGER_MS

    def spark_kwargs(self) -> dict[str, Any]:  # DataStreamWriter.trigger's keyword, one of its overloads
        if self.available_now:
            return {"availableNow": True}
        return {"processingTime": f"{self.interval_ms} milliseconds"}


def parse_duration_ms(value: str) -> int:
    """`0`, `500ms`, `2 seconds`, `1.5s`, `1 minute` → milliseconds; ValueError otherwise."""
    match = _DURATION.match(value.lower())
    if not match or match.group(2) not in _UNIT_MS:
        raise ValueError(value)
    return round(float(match.group(1)) * _UNIT_MS[match.group(2)])


def parse_trigger(value: Any) -> Any:
    """TRIGGER: `availableNow` or `processingTime=<duration>` → Trigger (ValueError otherwise)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lower() in ("availablenow", "available_now", "available-now"):
        return Trigger(available_now=True)
    key, sep, rest = text.partition("=")
    if not sep or key.strip().lower() not in ("processingtime", "processing_time"):
        raise ValueError(
            f"{value!r} is not `availableNow` or `processingTime=<duration>` (e.g. processingTime=5s)"
        )
    try:
        return Trigger(interval_ms=parse_duration_ms(rest))
    except ValueError:
        raise ValueError(f"{rest.strip()!r} is not a duration such as 0, 500ms, 5s, 1 minute") from None


def _index_name(name: str) -> str:
    if not name:
        raise ValueError("must not be empty")
    if name != name.lower():
        raise ValueError(f"{name!r}: Elasticsearch index names must be lowercase")
    if name in (".", "..") or name[0] in "-_+" or _BAD_INDEX_CHARS & set(name):
        raise ValueError(
            f'{name!r} is not a valid index name (no leading -_+, none of \\ / * ? " < > | , # : space)'
        )
    if len(name.encode()) > 255:
        raise ValueError("index names are at most 255 bytes")
    return name


IndexName = Annotated[str, AfterValidator(_index_name)]


def default_spark_jars() -> tuple[str, ...]:
    """The Kafka source jars `make fetch` resolved into the cache, if they are there.

    In the image they are in $SPARK_HOME/jars instead and this finds nothing.
    """
    try:
        import pyspark

        version = pyspark.__version__
    except ImportError:  # pragma: no cover - the job cannot run without pyspark anyway
        return ()
    cache = os.environ.get("TS_CACHE_DIR") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tweet-sentiment"
    )
    jars_dir = Path(cache) / DEFAULT_JARS_DIR / version
    return tuple(sorted(str(p) for p in jars_dir.glob("*.jar")))


def _jars(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    jars = tuple(j.strip() for j in value.split(",") if j.strip())
    for jar in jars:
        if "://" not in jar and not Path(jar).is_file():
            raise ValueError(f"{jar} does not exist")
    return jars


def _languages(value: Any) -> Any:
    if isinstance(value, str):
        value = value.split(",")
    if isinstance(value, (list, tuple, set, frozenset)):
        langs = frozenset(str(v).strip().lower() for v in value if str(v).strip())
        if not langs:
            raise ValueError("must name at least one language (e.g. en,und)")
        for lang in langs:
            if not LANG_RE.match(lang):  # the contract's BCP-47 rule
                raise ValueError(f"{lang!r} is not a language tag")
        return langs
    return value


def _starting_offsets(value: str) -> str:
    raw = value.strip() or "earliest"
    if raw.lower() in ("earliest", "latest"):
        return raw.lower()
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ValueError(f'{raw!r} is not earliest, latest or a JSON object like {{"posts":{{"0":-2}}}}')
    return raw


def _jaas_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class EsSettings(EnvSettings):
    """What every Elasticsearch client of ours takes: the job, setup-es and the CLI."""

    es_url: SecretHttpUrls = Field(
        default=SecretStr("http://localhost:9200"),
        description="One or more comma-separated `http(s)://` URLs; may carry `user:password@`.",
    )
    es_username: str | None = Field(
        default=None, description="Basic-auth user (ECK: `elastic`, or the job's file-realm user)."
    )
    es_password: SecretStr | None = Field(
        default=None, description="Its password; required with `ES_USERNAME` (or `ES_PASSWORD_FILE`)."
    )
    es_password_file: Path | None = Field(
        default=None, description="File holding the password (a mounted Secret); wins over `ES_PASSWORD`."
    )
    es_api_key: SecretStr | None = Field(default=None, description="API key, instead of username/password.")
    es_ca_certs: ReadableFile | None = Field(
        default=None,
        description="PEM CA of the cluster's HTTP certificate (ECK `<cluster>-es-http-certs-public`).",
    )
    es_index: IndexName = Field(default="tweets-sentiment", description="Index of the post documents.")
    es_deadletter_index: IndexName = Field(
        default="tweets-sentiment-deadletter",
        description="Index of the records that could not be indexed; must differ from `ES_INDEX`.",
    )
    es_bulk_chunk_size: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Documents per bulk request (per Spark task): bigger means fewer round trips but a longer "
        "wait and more memory per request; measured in docs/benchmarks.md.",
    )
    es_max_retries: int = Field(
        default=5,
        ge=0,
        le=20,
        description="Retries of 429/5xx/connection errors, backoff 0.5 s doubling to 30 s max "
        "(5 → ~15 s in total).",
    )
    es_request_timeout: float = Field(
        default=30.0,
        gt=0,
        le=600,
        alias="ES_REQUEST_TIMEOUT_SECONDS",
        description="Timeout of one request (s).",
    )

    @model_validator(mode="before")
    @classmethod
    def _es_password_file(cls, data: Any) -> Any:
        return resolve_secret_files(data, {"es_password": "es_password_file"})

    @model_validator(mode="after")
    def _es_checks(self) -> EsSettings:
        if self.es_username and not self.es_password:
            raise ValueError("ES_PASSWORD: (or ES_PASSWORD_FILE) is required with ES_USERNAME")
        if self.es_api_key and self.es_username:
            raise ValueError("ES_API_KEY: set either ES_API_KEY or ES_USERNAME/ES_PASSWORD, not both")
        if self.es_index == self.es_deadletter_index:
            raise ValueError(f"ES_DEADLETTER_INDEX: must differ from ES_INDEX ({self.es_index!r})")
        return self

    @property
    def es_hosts(self) -> str:
        """ES_URL for log lines and messages: no userinfo, query or fragment."""
        return ",".join(redact_url(u) for u in split_urls(self.es_url.get_secret_value()))

    def es_client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `elasticsearch.Elasticsearch` (holds secrets: never log).

        Credentials in ES_URL's userinfo become basic auth (unless ES_USERNAME or
        ES_API_KEY is set): the hosts the client holds, and so its errors, carry none."""
        hosts, userinfo = [], None
        for url in split_urls(self.es_url.get_secret_value()):
            parts = urlsplit(url)
            if parts.username is not None and userinfo is None:
                userinfo = (unquote(parts.username), unquote(parts.password or ""))
            hosts.append(urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])))
        kwargs: dict[str, Any] = {
            "hosts": hosts,
            "request_timeout": self.es_request_timeout,
            # Retries are ours (sink.py): classified, with backoff, counted.
            "max_retries": 0,
            "retry_on_timeout": False,
        }
        if self.es_api_key:
            kwargs["api_key"] = self.es_api_key.get_secret_value()
        elif self.es_username:
            password = self.es_password.get_secret_value() if self.es_password else ""
            kwargs["basic_auth"] = (self.es_username, password)
        elif userinfo is not None:
            kwargs["basic_auth"] = userinfo
        if self.es_ca_certs:
            kwargs["ca_certs"] = str(self.es_ca_certs)
        return kwargs


class Settings(KafkaClientSettings, EsSettings):
    """The streaming job's settings (`make docs` writes the README's Configuration tables from them)."""

    checkpoint_location: str = Field(
        description="Spark checkpoint: a local path, a PVC mount path or an `s3a://` URI (needs `hadoop-aws` and "
        "the AWS SDK bundle on the classpath; the image does not ship them).",
        min_length=1,
    )
    kafka_group_id_prefix: str = Field(
        default="spark-kafka-source",
        pattern=r"^[A-Za-z0-9._-]{1,200}$",
        description="Spark names its consumer groups `<prefix>-<uuid>-...`; the Kafka ACL grants this prefix "
        "(Strimzi KafkaUser: `type: group, patternType: prefix`, see `k8s/strimzi`).",
    )
    starting_offsets: Annotated[str, AfterValidator(_starting_offsets)] = Field(
        default="earliest",
        description="`earliest`, `latest` or Spark's per-partition JSON; only used when the checkpoint is new.",
    )
    max_offsets_per_trigger: int | None = Field(
        default=None,
        ge=1,
        description="At most this many records per micro-batch, split over partitions; unset = no cap.",
    )
    fail_on_data_loss: bool = Field(
        default=True,
        description="Stop when Kafka deleted records the job had not read (docs/spark-job.md, Delivery semantics).",
    )
    sentiment_model: Annotated[SentimentModel, BeforeValidator(lower_stripped)] = Field(
        default=DEFAULT_MODEL, description="The analyzer (docs/sentiment-quality.md compares them)."
    )
    sentiment_languages: Annotated[frozenset[str], NoDecode, BeforeValidator(_languages)] = Field(
        default=sentiment.model_languages(DEFAULT_MODEL),
        description="Languages scored, matched against the language a post is scored as (`sentiment_lang`) or "
        "its tag; posts in others, and for `multi-lr` in languages it has no model for, are indexed with "
        "`sentiment: Unsupported` and null scores (`en` also matches `en-GB`).",
        json_schema_extra={
            "doc_default": "every language the model has: `multi-lr` `ar,de,en,es,fr,hi,it,pt`; "
            "`tweet-lr`, `textblob`, `vader` `en`"
        },
    )
    sentiment_language_source: Annotated[LanguageSource, BeforeValidator(lower_stripped)] = Field(
        default=language.DEFAULT_SOURCE,
        description="Which language a post is scored as: `tag-then-detect` (the source's tag, the language "
        "identifier for `und` or untagged posts), `tag` (the tag only; `und` stays `und`) or `detect` (the "
        "identifier for every post).",
    )
    trigger: Annotated[Trigger, NoDecode, BeforeValidator(parse_trigger)] = Field(
        default=Trigger(),
        description="`processingTime=<duration>` (`0`, `500ms`, `5s`, `2 seconds`, `1 minute`) or "
        "`availableNow` (drain the topic, then exit 0).",
        json_schema_extra={"doc_default": f"`processingTime={DEFAULT_TRIGGER_MS}ms`"},
    )
    spark_master: str | None = Field(
        default=None,
        description="Spark master URL.",
        json_schema_extra={"doc_default": "`local[*]` unless run by spark-submit"},
    )
    spark_jars: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_jars)] = Field(
        default_factory=default_spark_jars,
        description="Comma-separated jars (paths or URLs); the image has them in `$SPARK_HOME/jars`.",
        json_schema_extra={
            "doc_default": "the jars in `~/.cache/tweet-sentiment/spark-jars/<spark version>/` if present"
        },
    )
    metrics_host: str = Field(default="0.0.0.0", description="Address of the Prometheus endpoint `/metrics`.")
    metrics_port: int = Field(default=9109, ge=0, le=65535, description="Its port; `0` disables it.")
    log_level: LogLevel = Field(default="INFO", description="Log level (the JVM logs at WARN).")

    @model_validator(mode="before")
    @classmethod
    def _model_languages(cls, data: Any) -> Any:
        # SENTIMENT_LANGUAGES unset: the languages of the chosen model, not of the default one.
        if isinstance(data, dict) and data.get("sentiment_languages") in (None, ""):
            model = data.get("sentiment_model")
            model = model.strip().lower() if isinstance(model, str) else DEFAULT_MODEL
            if model in MODELS:
                data = {**data, "sentiment_languages": sentiment.model_languages(model)}
        return data

    @field_validator("checkpoint_location", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @property
    def checkpoint_is_local(self) -> bool:
        """A path on a local or mounted filesystem (a PVC), not an object store URI."""
        return urlsplit(self.checkpoint_location).scheme in ("", "file")

    def kafka_options(self) -> dict[str, str]:
        """Options of Spark's Kafka source. Holds the SASL password: never log it."""
        opts = {
            "kafka.bootstrap.servers": self.kafka_bootstrap_servers,
            "subscribe": self.kafka_topic,
            # Spark names its consumer groups <prefix>-<uuid>; a Kafka ACL grants the prefix.
            "groupIdPrefix": self.kafka_group_id_prefix,
            "startingOffsets": self.starting_offsets,
            "failOnDataLoss": "true" if self.fail_on_data_loss else "false",
            "kafka.security.protocol": self.kafka_security_protocol,
            "kafka.fetch.max.wait.ms": str(KAFKA_FETCH_MAX_WAIT_MS),
        }
        if self.max_offsets_per_trigger is not None:
            opts["maxOffsetsPerTrigger"] = str(self.max_offsets_per_trigger)
        if self.kafka_security_protocol.startswith("SASL_"):
            module = SASL_JAAS_MODULES[self.kafka_sasl_mechanism]
            password = self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else ""
            opts["kafka.sasl.mechanism"] = self.kafka_sasl_mechanism
            opts["kafka.sasl.jaas.config"] = (
                f'{module} required username="{_jaas_escape(self.kafka_sasl_username or "")}" '
                f'password="{_jaas_escape(password)}";'
            )
        if self.kafka_ssl_cafile and self.kafka_security_protocol in ("SSL", "SASL_SSL"):
            opts["kafka.ssl.truststore.type"] = "PEM"
            opts["kafka.ssl.truststore.location"] = str(self.kafka_ssl_cafile)
        return opts
