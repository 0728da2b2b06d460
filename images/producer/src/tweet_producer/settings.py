"""Settings: read once from the environment at start, validated into one typed object.

Every field is an environment variable of the same name in upper case; `make docs` writes
the README's Configuration tables from the fields' descriptions. A bad value raises SettingsError whose message names the variable; the
console script turns that into exit code 2. Secrets are SecretStr so they never reach a
log line or a repr.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator

from tweet_sentiment_common.settings import (
    KafkaClientSettings,
    LogLevel,
    SettingsError,
    TopicName,
    lower_stripped,
    resolve_secret_files,
)

__all__ = ["Settings", "SettingsError", "SourceKind", "XRule", "load_settings", "parse_rules"]

# The repository's sample: the default replay file in a dev checkout. The image sets
# REPLAY_FILE to its own copy (see the Dockerfile), so this path only matters in dev.
REPO_SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "posts.jsonl"
DEFAULT_CURSOR_FILE = Path("/var/lib/tweet-producer/jetstream.cursor")
# A Kafka message must stay under the broker's default message.max.bytes (1 MiB) even
# when a dead-letter record wraps the raw payload.
MAX_POST_BYTES_LIMIT = 512 * 1024


class SourceKind(str, Enum):
    X_SAMPLE = "x-sample"
    X_FILTERED = "x-filtered"
    X_COMPLIANCE = "x-compliance"
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


class Settings(KafkaClientSettings):
    source: SourceKind | None = Field(
        default=None,
        description="Where posts come from (see docs/producer.md, Sources).",
        json_schema_extra={"doc_default": "`replay` when no X token is set, else `x-sample`"},
    )

    kafka_dlq_topic: TopicName = Field(
        default="posts.deadletter",
        description="Topic for dead-letter records; must differ from `KAFKA_TOPIC`.",
    )
    kafka_compression: Literal["none", "gzip"] = Field(
        default="gzip", description="Compression of Kafka batches."
    )
    kafka_linger_ms: int = Field(
        default=20, ge=0, le=60_000, description="How long kafka-python waits to fill a batch (ms)."
    )
    kafka_batch_size: int = Field(
        default=65536, ge=1024, le=16 * 1024 * 1024, description="Batch size in bytes per partition."
    )
    kafka_buffer_memory: int = Field(
        default=33554432,
        ge=1024 * 1024,
        description="Bytes sent but not yet acknowledged; above it the producer stops reading the source "
        "until Kafka catches up.",
    )

    x_api_base_url: str = Field(default="https://api.x.com", description="X API base URL (`http(s)://`).")
    x_bearer_token: SecretStr | None = Field(
        default=None,
        description="X app bearer token; required for `x-sample`, `x-filtered` and `x-compliance`.",
    )
    x_bearer_token_file: Path | None = Field(
        default=None, description="File holding the X bearer token; wins over `X_BEARER_TOKEN`."
    )
    x_rules: str | None = Field(
        default=None,
        description='`x-filtered` only, required: JSON list `[{"value": "cats lang:en", "tag": "cats"}]` '
        "or the path of a file holding one.",
    )
    x_stall_timeout_seconds: float = Field(
        default=20.0, gt=0, le=600, description="No byte for this long = stalled stream, reconnect."
    )

    jetstream_url: str = Field(
        default="wss://jetstream2.us-east.bsky.network/subscribe",
        description="Jetstream endpoint (`ws://` or `wss://`).",
    )
    jetstream_cursor_file: Path = Field(
        default=DEFAULT_CURSOR_FILE,
        description="Where the Jetstream cursor is saved (the image's only writable path).",
    )
    jetstream_cursor_save_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="How often the cursor is saved."
    )

    replay_file: Path = Field(
        default=REPO_SAMPLE,
        description="JSON Lines file, plain or gzip (detected by content), X v2 envelope per line.",
        json_schema_extra={"doc_default": "the bundled sample"},
    )
    replay_rate: float = Field(default=0.0, ge=0, description="Posts/s, `0` = as fast as possible.")
    replay_loop: bool = Field(default=False, description="Start over at the end of the file.")

    synthetic_rate: float = Field(default=50.0, ge=0, description="Posts/s, `0` = as fast as possible.")
    synthetic_seed: int = Field(default=42, description="Same seed, same posts.")
    synthetic_limit: int = Field(default=0, ge=0, description="Stop after this many posts, `0` = endless.")

    max_post_bytes: int = Field(
        default=65536,
        ge=256,
        le=MAX_POST_BYTES_LIMIT,
        description="Larger records are dead-lettered as `oversized`.",
    )
    metrics_host: str = Field(default="0.0.0.0", description="Address of the metrics/health server.")
    metrics_port: int = Field(
        default=9108, ge=0, le=65535, description="Its port (`0` = any free port; the log says which)."
    )
    shutdown_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="After SIGTERM, time to publish what was read and get Kafka's acknowledgements.",
    )
    log_level: LogLevel = Field(default="INFO", description="Log level.")
    log_format: Literal["text", "json"] = Field(
        default="text", description="`text`, or `json` (one object per line)."
    )

    @field_validator("source", mode="before")
    @classmethod
    def _source_lower(cls, value: Any) -> Any:
        return lower_stripped(value)

    @model_validator(mode="before")
    @classmethod
    def _secret_files_and_source(cls, data: Any) -> Any:
        # File-provided secrets win over inline ones (that is how Kubernetes mounts them).
        data = resolve_secret_files(data, {"x_bearer_token": "x_bearer_token_file"})
        if isinstance(data, dict) and not data.get("source"):
            data["source"] = SourceKind.X_SAMPLE if data.get("x_bearer_token") else SourceKind.REPLAY
        return data

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

    @model_validator(mode="after")
    def _check(self) -> Settings:
        x_sources = (SourceKind.X_SAMPLE, SourceKind.X_FILTERED, SourceKind.X_COMPLIANCE)
        if self.source in x_sources and not self.x_bearer_token:
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
        if self.source is SourceKind.REPLAY and not self.replay_file.is_file():
            raise ValueError(f"REPLAY_FILE: {self.replay_file} is not a readable file")
        if self.kafka_topic == self.kafka_dlq_topic:
            raise ValueError("KAFKA_DLQ_TOPIC: must differ from KAFKA_TOPIC")
        return self

    @property
    def rules(self) -> list[XRule] | None:
        return parse_rules(self.x_rules) if self.x_rules is not None else None


def load_settings() -> Settings:
    """Settings from os.environ, or SettingsError naming every bad variable."""
    return Settings.load()
