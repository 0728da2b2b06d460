"""The job's settings: read from the environment once, validated, immutable.

Every problem is reported as `SettingsError` naming the variable, so `job.main` can exit 2
with a message an operator can act on. Secrets (passwords, API keys) are kept out of
`repr` and never appear in an error message.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")
MODELS = ("textblob", "vader")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_JARS_DIR = "spark-jars"

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


class SettingsError(ValueError):
    """A setting is missing or invalid; `variable` names the environment variable."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable


@dataclass(frozen=True)
class Trigger:
    """`availableNow` (drain what is there, then stop) or a processing-time interval."""

    available_now: bool = False
    interval_ms: int = 0

    def spark_kwargs(self) -> dict[str, object]:
        if self.available_now:
            return {"availableNow": True}
        return {"processingTime": f"{self.interval_ms} milliseconds"}


@dataclass(frozen=True)
class Settings:
    checkpoint_location: str
    kafka_bootstrap_servers: str = "localhost:9092"
    kafka_topic: str = "posts"
    kafka_group_id_prefix: str = "spark-kafka-source"
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = field(default=None, repr=False)
    kafka_ssl_cafile: str | None = None
    starting_offsets: str = "earliest"
    max_offsets_per_trigger: int | None = None
    fail_on_data_loss: bool = True
    es_url: str = "http://localhost:9200"
    es_username: str | None = None
    es_password: str | None = field(default=None, repr=False)
    es_api_key: str | None = field(default=None, repr=False)
    es_ca_certs: str | None = None
    es_index: str = "tweets-sentiment"
    es_deadletter_index: str = "tweets-sentiment-deadletter"
    es_bulk_chunk_size: int = 500
    es_max_retries: int = 5
    es_request_timeout: float = 30.0
    sentiment_model: str = "textblob"
    sentiment_languages: frozenset[str] = frozenset({"en", "und"})
    trigger: Trigger = field(default_factory=Trigger)
    spark_master: str | None = None
    spark_jars: tuple[str, ...] = ()
    metrics_host: str = "0.0.0.0"
    metrics_port: int = 9109
    log_level: str = "INFO"

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
        }
        if self.max_offsets_per_trigger is not None:
            opts["maxOffsetsPerTrigger"] = str(self.max_offsets_per_trigger)
        if self.kafka_security_protocol.startswith("SASL_"):
            module = (
                "org.apache.kafka.common.security.plain.PlainLoginModule"
                if self.kafka_sasl_mechanism == "PLAIN"
                else "org.apache.kafka.common.security.scram.ScramLoginModule"
            )
            opts["kafka.sasl.mechanism"] = self.kafka_sasl_mechanism
            opts["kafka.sasl.jaas.config"] = (
                f'{module} required username="{_jaas_escape(self.kafka_sasl_username or "")}" '
                f'password="{_jaas_escape(self.kafka_sasl_password or "")}";'
            )
        if self.kafka_ssl_cafile and self.kafka_security_protocol in ("SSL", "SASL_SSL"):
            opts["kafka.ssl.truststore.type"] = "PEM"
            opts["kafka.ssl.truststore.location"] = self.kafka_ssl_cafile
        return opts

    def es_client_kwargs(self) -> dict[str, object]:
        """Keyword arguments for `elasticsearch.Elasticsearch` (holds secrets: never log)."""
        kwargs: dict[str, object] = {
            "hosts": [u.strip() for u in self.es_url.split(",") if u.strip()],
            "request_timeout": self.es_request_timeout,
            # Retries are ours (sink.py): classified, with backoff, counted.
            "max_retries": 0,
            "retry_on_timeout": False,
        }
        if self.es_api_key:
            kwargs["api_key"] = self.es_api_key
        elif self.es_username:
            kwargs["basic_auth"] = (self.es_username, self.es_password or "")
        if self.es_ca_certs:
            kwargs["ca_certs"] = self.es_ca_certs
        return kwargs


def _jaas_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def parse_duration_ms(value: str) -> int:
    """`0`, `500ms`, `2 seconds`, `1.5s`, `1 minute` → milliseconds; ValueError otherwise."""
    match = _DURATION.match(value.lower())
    if not match or match.group(2) not in _UNIT_MS:
        raise ValueError(value)
    return round(float(match.group(1)) * _UNIT_MS[match.group(2)])


def parse_trigger(value: str) -> Trigger:
    text = value.strip()
    if text.lower() in ("availablenow", "available_now", "available-now"):
        return Trigger(available_now=True)
    key, sep, rest = text.partition("=")
    if not sep or key.strip().lower() not in ("processingtime", "processing_time"):
        raise SettingsError(
            "TRIGGER",
            f"{value!r} is not `availableNow` or `processingTime=<duration>` (e.g. processingTime=5s)",
        )
    try:
        return Trigger(interval_ms=parse_duration_ms(rest))
    except ValueError:
        raise SettingsError(
            "TRIGGER", f"{rest.strip()!r} is not a duration such as 0, 500ms, 5s, 1 minute"
        ) from None


def validate_index_name(variable: str, name: str) -> str:
    if not name:
        raise SettingsError(variable, "must not be empty")
    if name != name.lower():
        raise SettingsError(variable, f"{name!r}: Elasticsearch index names must be lowercase")
    if name in (".", "..") or name[0] in "-_+" or _BAD_INDEX_CHARS & set(name):
        raise SettingsError(
            variable,
            f'{name!r} is not a valid index name (no leading -_+, none of \\ / * ? " < > | , # : space)',
        )
    if len(name.encode()) > 255:
        raise SettingsError(variable, "index names are at most 255 bytes")
    return name


def _int(
    env: Mapping[str, str], name: str, default: int | None, minimum: int, maximum: int | None = None
) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(name, f"{raw!r} is not an integer") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise SettingsError(name, f"{value} must be {bound}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(name, f"{raw!r} is not a boolean (true/false)")


def _choice(
    env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...], upper: bool = True
) -> str:
    raw = env.get(name, "").strip() or default
    value = raw.upper() if upper else raw.lower()
    if value not in choices:
        raise SettingsError(name, f"{raw!r} is not one of {', '.join(choices)}")
    return value


def _readable_file(env: Mapping[str, str], name: str) -> str | None:
    path = env.get(name, "").strip()
    if not path:
        return None
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise SettingsError(name, f"cannot read {path}: {exc.strerror}") from None
    return path


def _secret(env: Mapping[str, str], name: str, file_name: str) -> str | None:
    """A secret from `name` or from the file named by `file_name` (Kubernetes secret mounts)."""
    path = env.get(file_name, "").strip()
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise SettingsError(file_name, f"cannot read {path}: {exc.strerror}") from None
    return env.get(name) or None


def default_spark_jars(env: Mapping[str, str]) -> tuple[str, ...]:
    """The Kafka source jars `make fetch` resolved into the cache, if they are there.

    In the image they are in $SPARK_HOME/jars instead and this finds nothing.
    """
    try:
        import pyspark

        version = pyspark.__version__
    except ImportError:  # pragma: no cover - the job cannot run without pyspark anyway
        return ()
    cache = env.get("TS_CACHE_DIR") or str(
        Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tweet-sentiment"
    )
    jars_dir = Path(cache) / DEFAULT_JARS_DIR / version
    return tuple(sorted(str(p) for p in jars_dir.glob("*.jar")))


def _starting_offsets(env: Mapping[str, str]) -> str:
    raw = env.get("STARTING_OFFSETS", "").strip() or "earliest"
    if raw.lower() in ("earliest", "latest"):
        return raw.lower()
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise SettingsError(
            "STARTING_OFFSETS",
            f'{raw!r} is not earliest, latest or a JSON object like {{"posts":{{"0":-2}}}}',
        )
    return raw


def from_env(env: Mapping[str, str] | None = None, need_checkpoint: bool = True) -> Settings:
    """Read and validate every setting; raises `SettingsError` on the first bad one.

    `need_checkpoint=False` is for tools that only talk to Elasticsearch (setup-es).
    """
    env = os.environ if env is None else env
    checkpoint = env.get("CHECKPOINT_LOCATION", "").strip()
    if not checkpoint and need_checkpoint:
        raise SettingsError(
            "CHECKPOINT_LOCATION", "is required (a local path, a PVC mount path or an s3a:// URI)"
        )

    bootstrap = env.get("KAFKA_BOOTSTRAP_SERVERS", "").strip() or "localhost:9092"
    for server in bootstrap.split(","):
        host, sep, port = server.strip().rpartition(":")
        if not sep or not host or not port.isdigit():
            raise SettingsError("KAFKA_BOOTSTRAP_SERVERS", f"{server.strip()!r} is not host:port")
    topic = env.get("KAFKA_TOPIC", "").strip() or "posts"
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,249}", topic):
        raise SettingsError("KAFKA_TOPIC", f"{topic!r} is not a valid Kafka topic name")

    group_prefix = env.get("KAFKA_GROUP_ID_PREFIX", "").strip() or "spark-kafka-source"
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,200}", group_prefix):
        raise SettingsError("KAFKA_GROUP_ID_PREFIX", f"{group_prefix!r} may only use letters, digits, . _ -")
    protocol = _choice(env, "KAFKA_SECURITY_PROTOCOL", "PLAINTEXT", SECURITY_PROTOCOLS)
    mechanism = _choice(env, "KAFKA_SASL_MECHANISM", "SCRAM-SHA-512", SASL_MECHANISMS)
    username = env.get("KAFKA_SASL_USERNAME", "").strip() or None
    password = _secret(env, "KAFKA_SASL_PASSWORD", "KAFKA_SASL_PASSWORD_FILE")
    if protocol.startswith("SASL_"):
        if not username:
            raise SettingsError("KAFKA_SASL_USERNAME", f"is required with KAFKA_SECURITY_PROTOCOL={protocol}")
        if not password:
            raise SettingsError(
                "KAFKA_SASL_PASSWORD", f"(or KAFKA_SASL_PASSWORD_FILE) is required with {protocol}"
            )
    cafile = _readable_file(env, "KAFKA_SSL_CAFILE")

    es_url = env.get("ES_URL", "").strip() or "http://localhost:9200"
    for url in es_url.split(","):
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url.strip()):
            raise SettingsError("ES_URL", f"{url.strip()!r} is not an http(s):// URL")
    es_username = env.get("ES_USERNAME", "").strip() or None
    es_password = _secret(env, "ES_PASSWORD", "ES_PASSWORD_FILE")
    es_api_key = env.get("ES_API_KEY", "").strip() or None
    if es_username and not es_password:
        raise SettingsError("ES_PASSWORD", "(or ES_PASSWORD_FILE) is required with ES_USERNAME")
    if es_api_key and es_username:
        raise SettingsError("ES_API_KEY", "set either ES_API_KEY or ES_USERNAME/ES_PASSWORD, not both")

    index = validate_index_name("ES_INDEX", env.get("ES_INDEX", "").strip() or "tweets-sentiment")
    dl_index = validate_index_name(
        "ES_DEADLETTER_INDEX", env.get("ES_DEADLETTER_INDEX", "").strip() or "tweets-sentiment-deadletter"
    )
    if index == dl_index:
        raise SettingsError("ES_DEADLETTER_INDEX", f"must differ from ES_INDEX ({index!r})")

    languages = frozenset(
        lang.strip().lower()
        for lang in (env.get("SENTIMENT_LANGUAGES") or "en,und").split(",")
        if lang.strip()
    )
    if not languages:
        raise SettingsError("SENTIMENT_LANGUAGES", "must name at least one language (e.g. en,und)")
    for lang in languages:
        if not re.fullmatch(r"und|[a-z]{2,8}(-[a-z0-9]{1,8})*", lang):
            raise SettingsError("SENTIMENT_LANGUAGES", f"{lang!r} is not a language tag")

    jars_raw = env.get("SPARK_JARS")
    if jars_raw is None:
        jars = default_spark_jars(env)
    else:
        jars = tuple(j.strip() for j in jars_raw.split(",") if j.strip())
        for jar in jars:
            if "://" not in jar and not Path(jar).is_file():
                raise SettingsError("SPARK_JARS", f"{jar} does not exist")

    timeout_raw = env.get("ES_REQUEST_TIMEOUT_SECONDS", "").strip() or "30"
    try:
        timeout = float(timeout_raw)
    except ValueError:
        timeout = -1.0
    if not 0 < timeout <= 600:
        raise SettingsError(
            "ES_REQUEST_TIMEOUT_SECONDS", f"{timeout_raw!r} must be a number of seconds in (0, 600]"
        )

    return Settings(
        checkpoint_location=checkpoint,
        kafka_bootstrap_servers=bootstrap,
        kafka_topic=topic,
        kafka_group_id_prefix=group_prefix,
        kafka_security_protocol=protocol,
        kafka_sasl_mechanism=mechanism,
        kafka_sasl_username=username,
        kafka_sasl_password=password,
        kafka_ssl_cafile=cafile,
        starting_offsets=_starting_offsets(env),
        max_offsets_per_trigger=_int(env, "MAX_OFFSETS_PER_TRIGGER", None, 1),
        fail_on_data_loss=_bool(env, "FAIL_ON_DATA_LOSS", True),
        es_url=es_url,
        es_username=es_username,
        es_password=es_password,
        es_api_key=es_api_key,
        es_ca_certs=_readable_file(env, "ES_CA_CERTS"),
        es_index=index,
        es_deadletter_index=dl_index,
        es_bulk_chunk_size=_int(env, "ES_BULK_CHUNK_SIZE", 500, 1, 10_000) or 500,
        es_max_retries=_int(env, "ES_MAX_RETRIES", 5, 0, 20) or 0,
        es_request_timeout=timeout,
        sentiment_model=_choice(env, "SENTIMENT_MODEL", "textblob", MODELS, upper=False),
        sentiment_languages=languages,
        trigger=parse_trigger(env.get("TRIGGER", "").strip() or "processingTime=0"),
        spark_master=env.get("SPARK_MASTER", "").strip() or None,
        spark_jars=jars,
        metrics_host=env.get("METRICS_HOST", "").strip() or "0.0.0.0",
        metrics_port=_int(env, "METRICS_PORT", 9109, 0, 65535) or 0,
        log_level=_choice(env, "LOG_LEVEL", "INFO", LOG_LEVELS),
    )
