"""Settings: read once from the environment at start, validated into one typed object.

Every field is an environment variable of the same name in upper case (docs/producer.md
lists them). A bad value raises SettingsError whose message names the variable; the
console script turns that into exit code 2. Secrets are SecretStr so they never reach a
log line or a repr.
"""

from __future__ import annotations

import json
import re
from enum import Enum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The repository's sample: the default replay file in a dev checkout. The image sets
# REPLAY_FILE to its own copy (see the Dockerfile), so this path only matters in dev.
REPO_SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "posts.jsonl"
DEFAULT_CURSOR_FILE = Path("/var/lib/tweet-producer/jetstream.cursor")
# Kafka's own rule for topic names.
_TOPIC_RE = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
# A Kafka message must stay under the broker's default message.max.bytes (1 MiB) even
# when a dead-letter record wraps the raw payload.
MAX_POST_BYTES_LIMIT = 512 * 1024
SECRET_FIELDS = frozenset({"x_bearer_token", "kafka_sasl_password"})


class SettingsError(ValueError):
    """Invalid configuration; the message names the environment variable(s)."""


class SourceKind(str, Enum):
    X_SAMPLE = "x-sample"
    X_FILTERED = "x-filtered"
    BLUESKY = "bluesky"
    REPLAY = "replay"
    SYNTHETIC = "synthetic"


class XRule(BaseModel):
    """One filtered-stream rule as X's rules endpoint takes it."""

    value: str = Field(min_length=1, max_length=1024)
    tag: str | None = Field(default=None, max_length=1024)


def parse_rules(raw: str) -> list[XRule]:
    """X_RULES: a JSON list of {"value", "tag"} or the path of a file holding one."""
    text = raw.strip()
    if not text.startswith("["):
        path = Path(text)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"is neither a JSON list nor a readable file ({exc.strerror}: {path})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not valid JSON: {exc}") from None
    if not isinstance(doc, list):
        raise ValueError('must be a JSON list like [{"value": "cats lang:en", "tag": "cats"}]')
    try:
        return [XRule.model_validate(item) for item in doc]
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(f"has an invalid rule: {first['msg']} at {list(first['loc'])}") from None


def _read_secret_file(path: Path, var: str) -> SecretStr:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"{var}: cannot read {path}: {exc.strerror}") from None
    if not value:
        raise ValueError(f"{var}: {path} is empty")
    return SecretStr(value)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, env_ignore_empty=True, extra="ignore")

    source: SourceKind | None = None

    kafka_bootstrap_servers: str = "localhost:9092"
    kafka_topic: str = "posts"
    kafka_dlq_topic: str = "posts.deadletter"
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_sasl_password_file: Path | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_compression: Literal["none", "gzip"] = "gzip"
    kafka_linger_ms: int = Field(default=20, ge=0, le=60_000)
    kafka_batch_size: int = Field(default=65536, ge=1024, le=16 * 1024 * 1024)
    kafka_buffer_memory: int = Field(default=33554432, ge=1024 * 1024)

    x_api_base_url: str = "https://api.x.com"
    x_bearer_token: SecretStr | None = None
    x_bearer_token_file: Path | None = None
    x_rules: str | None = None
    x_stall_timeout_seconds: float = Field(default=20.0, gt=0, le=600)

    jetstream_url: str = "wss://jetstream2.us-east.bsky.network/subscribe"
    jetstream_cursor_file: Path = DEFAULT_CURSOR_FILE
    jetstream_cursor_save_seconds: float = Field(default=5.0, gt=0, le=3600)

    replay_file: Path | None = None
    replay_rate: float = Field(default=0.0, ge=0)
    replay_loop: bool = False

    synthetic_rate: float = Field(default=50.0, ge=0)
    synthetic_seed: int = 42
    synthetic_limit: int = Field(default=0, ge=0)

    max_post_bytes: int = Field(default=65536, ge=256, le=MAX_POST_BYTES_LIMIT)
    metrics_host: str = "0.0.0.0"
    metrics_port: int = Field(default=9108, ge=0, le=65535)
    shutdown_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("source", mode="before")
    @classmethod
    def _source_lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("kafka_topic", "kafka_dlq_topic")
    @classmethod
    def _topic_name(cls, value: str) -> str:
        if not _TOPIC_RE.match(value) or value in {".", ".."}:
            raise ValueError("must be 1-249 characters of [A-Za-z0-9._-]")
        return value

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _bootstrap(cls, value: str) -> str:
        servers = [s.strip() for s in value.split(",") if s.strip()]
        if not servers:
            raise ValueError("must list at least one host:port")
        for server in servers:
            host, sep, port = server.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{server!r} is not host:port")
        return ",".join(servers)

    @field_validator("x_api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an http(s) URL like https://api.x.com")
        return value.rstrip("/")

    @field_validator("jetstream_url")
    @classmethod
    def _ws_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"ws", "wss"} or not parts.netloc:
            raise ValueError("must be a ws(s) URL like wss://jetstream2.us-east.bsky.network/subscribe")
        return value

    @field_validator("kafka_ssl_cafile")
    @classmethod
    def _cafile(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a readable file")
        return value

    @model_validator(mode="after")
    def _resolve(self) -> Settings:
        # File-provided secrets win over inline ones (that is how Kubernetes mounts them).
        if self.x_bearer_token_file is not None:
            self.x_bearer_token = _read_secret_file(self.x_bearer_token_file, "X_BEARER_TOKEN_FILE")
        if self.kafka_sasl_password_file is not None:
            self.kafka_sasl_password = _read_secret_file(
                self.kafka_sasl_password_file, "KAFKA_SASL_PASSWORD_FILE"
            )
        if self.source is None:
            self.source = SourceKind.X_SAMPLE if self.x_bearer_token else SourceKind.REPLAY
        if self.source in (SourceKind.X_SAMPLE, SourceKind.X_FILTERED) and not self.x_bearer_token:
            raise ValueError(
                f"X_BEARER_TOKEN: SOURCE={self.source.value} needs an X API bearer token "
                "in X_BEARER_TOKEN or X_BEARER_TOKEN_FILE"
            )
        if self.source is SourceKind.X_FILTERED and self.x_rules is None:
            raise ValueError("X_RULES: SOURCE=x-filtered needs the stream rules (JSON list or file path)")
        if self.x_rules is not None:
            try:
                parse_rules(self.x_rules)
            except ValueError as exc:
                raise ValueError(f"X_RULES: {exc}") from None
        if self.kafka_security_protocol.startswith("SASL_") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"KAFKA_SASL_USERNAME: KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE)"
            )
        if self.replay_file is None:
            self.replay_file = REPO_SAMPLE
        if self.source is SourceKind.REPLAY and not self.replay_file.is_file():
            raise ValueError(f"REPLAY_FILE: {self.replay_file} is not a readable file")
        if self.kafka_topic == self.kafka_dlq_topic:
            raise ValueError("KAFKA_DLQ_TOPIC: must differ from KAFKA_TOPIC")
        return self

    @property
    def rules(self) -> list[XRule] | None:
        return parse_rules(self.x_rules) if self.x_rules is not None else None

    @property
    def bootstrap_servers(self) -> list[str]:
        return self.kafka_bootstrap_servers.split(",")

    def redacted(self) -> dict[str, Any]:
        """For the start-up log line: secrets masked (SecretStr dumps as '**********')."""
        return self.model_dump(mode="json")


def _describe(error: Any) -> str:
    loc = error.get("loc") or ()
    msg = str(error.get("msg", "invalid"))
    if loc:
        field = str(loc[0])
        shown = "" if field in SECRET_FIELDS else f" (got {error.get('input')!r})"
        return f"{field.upper()}: {msg}{shown}"
    # Model-level checks already start with the variable's name; pydantic prefixes them.
    return msg.removeprefix("Value error, ")


def load_settings() -> Settings:
    """Settings from os.environ, or SettingsError naming every bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError("; ".join(_describe(e) for e in exc.errors())) from None
