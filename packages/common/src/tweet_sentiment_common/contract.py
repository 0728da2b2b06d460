"""The data contract: event v1, the two dead-letter records, the Elasticsearch document.

This module is the one place these shapes and rules are written down (docs/event-schema.md
explains them). The rest is derived from it:

- the JSON Schema files the producer ships are *generated* (`make schemas`, checked by
  tests/test_contract.py);
- the job's Spark schema, column lists and dead-letter reasons are *computed* from the
  models and constants below at import time;
- the index templates' field names are *checked* against `Document`/`JobDeadLetter` by
  tests/test_contract.py.

Hot paths (the producer per post, the Spark job per row) use the precomputed constants
(`MAX_DOC_ID_BYTES`, `SOURCES`, `LANG_RE`, ...) and pure functions here, not a pydantic
instance per record; the models are what tests and generators validate against.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema

SCHEMA_VERSION = 1

Source = Literal["x", "bluesky", "replay", "synthetic"]
SOURCES: tuple[str, ...] = get_args(Source)

# --- the id rule ----------------------------------------------------------------------
# A post's identity everywhere (Kafka key, Elasticsearch _id) is `<source>:<id>`, and
# Elasticsearch caps _id at 512 BYTES. The rule is in bytes of UTF-8, checked by the
# producer (dead letter `bad_value`) and by the job (`bad_value`) with this one function.
MAX_DOC_ID_BYTES = 512


def document_id(source: str, post_id: str) -> str:
    """`<source>:<id>`: the Kafka message key and the Elasticsearch `_id` of a post."""
    return f"{source}:{post_id}"


def document_id_bytes(source: str, post_id: str) -> int:
    # surrogatepass: a lone surrogate counts as the 3 bytes it would take, never less.
    return len(document_id(source, post_id).encode("utf-8", "surrogatepass"))


def id_fits(source: str, post_id: str) -> bool:
    return document_id_bytes(source, post_id) <= MAX_DOC_ID_BYTES


# --- fallbacks ------------------------------------------------------------------------
# `lang`: BCP-47 as the source reports it; absent, malformed or of the wrong type -> `und`
# (the post is kept: a language tag is metadata, not the post).
UNDETERMINED_LANG = "und"
LANG_PATTERN = r"^(und|[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*)$"
LANG_RE = re.compile(LANG_PATTERN)


def normalize_lang(value: object) -> str:
    """The tag if it is a well-formed BCP-47 string, else `und`. Never raises."""
    if isinstance(value, str) and LANG_RE.match(value):
        return value
    return UNDETERMINED_LANG


# `created_at` of an X post that lacks it: X ids are snowflakes, whose top 42 bits are
# milliseconds since X's epoch. Only ids that are snowflakes qualify (decimal, at most
# 19 digits, at least 2**22 so the time is after the epoch); anything else stays a
# `missing_field` dead letter.
SNOWFLAKE_EPOCH_MS = 1288834974657
_SNOWFLAKE_RE = re.compile(r"[0-9]{7,19}\Z")


def snowflake_time_ms(post_id: str) -> int | None:
    """Unix milliseconds encoded in an X snowflake id, or None when it is not one."""
    if not _SNOWFLAKE_RE.match(post_id):
        return None
    value = int(post_id)
    if value < 1 << 22 or value >= 1 << 63:
        return None
    return (value >> 22) + SNOWFLAKE_EPOCH_MS


# --- what is not a post ---------------------------------------------------------------
# A record whose text is present but empty or only whitespace (Bluesky image-only,
# link-only and embed-only posts; X media-only posts) is not a text post: it is SKIPPED
# and counted in producer_records_skipped_total{source,reason}, never dead-lettered.
# A text that is absent or not a string is still a dead letter (the source changed).
SkipReason = Literal["no_text"]
SKIP_REASONS: tuple[str, ...] = get_args(SkipReason)


def is_blank(text: str) -> bool:
    return not text.strip()


# --- dead-letter reasons --------------------------------------------------------------
# ONE vocabulary for the producer's dead-letter topic and the job's dead-letter index,
# and the `reason` label of their metrics. Each side uses the subset below.
Reason = Literal[
    "bad_encoding",
    "bad_json",
    "bad_shape",
    "unsupported_schema_version",
    "missing_field",
    "wrong_type",
    "bad_value",
    "oversized",
    "publish_failed",
    "sentiment_error",
    "es_rejected",
]
REASONS: tuple[str, ...] = get_args(Reason)
# What each reason means: the "Dead-letter reasons" table of docs/event-schema.md (`make docs`).
REASON_DESCRIPTIONS: dict[str, str] = {
    "bad_encoding": "not valid UTF-8 (the job's `raw` holds the bytes with replacement characters)",
    "bad_json": "not JSON (cut-off line, plain text); for the job also not a JSON object, or no value at all "
    "(a tombstone) or only white space",
    "bad_shape": "JSON, but not the source's envelope: not an object, no `data` object, `data` not an object, "
    "a commit without `commit`/`record`",
    "unsupported_schema_version": "`schema_version` is not the integer 1 (producer and job versions disagree)",
    "missing_field": "a required field absent, null, empty or blank: `id`, `text`, `source`, `created_at`, "
    "`ingested_at` (for X input: `created_at` absent and the id not a snowflake; a missing or empty "
    "`lang` is `und`, not an error)",
    "wrong_type": 'a field of the wrong JSON type, e.g. a numeric `id`, `text: 12345`, an event\'s `lang: ["en"]`',
    "bad_value": "right type, unusable value: a timestamp that is not RFC 3339 with `Z` or an offset, an "
    "unknown `source`, `<source>:<id>` over 512 UTF-8 bytes (Elasticsearch's `_id` limit)",
    "oversized": "the raw record is larger than `MAX_POST_BYTES` (default 65536)",
    "publish_failed": "a valid event Kafka refused for good (a non-retriable error such as a record too large "
    "for the broker); `raw` is the event",
    "sentiment_error": "the analyzer raised on this post (the rest of the batch is scored)",
    "es_rejected": "Elasticsearch refused the document itself (e.g. a 400 mapping error); `error` has its reason",
}
PRODUCER_REASONS: tuple[str, ...] = (
    "bad_json",
    "bad_encoding",
    "bad_shape",
    "missing_field",
    "wrong_type",
    "bad_value",
    "oversized",
    "publish_failed",
)
JOB_REASONS: tuple[str, ...] = (
    "bad_json",
    "bad_encoding",
    "unsupported_schema_version",
    "missing_field",
    "wrong_type",
    "bad_value",
    "sentiment_error",
    "es_rejected",
)

# The dead-letter record keeps at most this much of the raw payload, so it always fits in
# one Kafka message; `error` says when it was cut.
RAW_CAP_BYTES = 256 * 1024

# Every timestamp of the contract: RFC 3339, UTC, milliseconds, `Z` (2024-05-01T12:00:00.123Z).
TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$"


def format_time(moment: datetime) -> str:
    """A timestamp in the contract's form: RFC 3339 in UTC with milliseconds and a Z."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _time(description: str) -> Any:
    return Field(description=description, pattern=TIME_PATTERN, json_schema_extra={"format": "date-time"})


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _uri(schema: dict[str, Any]) -> None:
    _no_default(schema)
    schema["format"] = "uri"


# --- the models -----------------------------------------------------------------------


class Event(BaseModel):
    """One social post as the producer publishes it to Kafka (value of a message on
    KAFKA_TOPIC). The message key is `<source>:<id>` in UTF-8, at most 512 bytes.

    The Field descriptions are the JSON Schema's and docs/event-schema.md's (`make schemas`,
    `make docs`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Post event v1")

    schema_version: Literal[1] = Field(
        description="Version of this shape, always `1`; consumers reject versions they do not know."
    )
    id: str = Field(
        description=(
            "The source's own post id: the X post id (digits, as a string), the Bluesky AT-URI "
            "`at://<did>/app.bsky.feed.post/<rkey>`, the replayed or generated id. "
            "`<source>:<id>` must fit in 512 UTF-8 bytes (Elasticsearch's _id limit); "
            "maxLength is the character bound that follows from it."
        ),
        min_length=1,
        max_length=MAX_DOC_ID_BYTES,
    )
    source: Source = Field(description="Where the post came from (`x` for both X streams).")
    text: str = Field(
        description="The full text of the post, never truncated (X long posts: `note_tweet.text`); X's HTML "
        "escaping (`&amp;`, `&lt;`, `&gt;`) is kept as X sent it.",
        min_length=1,
    )
    lang: str = Field(
        description="BCP-47 language tag as the source reports it (`en`, `pt-BR`, X's `qme`/`zxx`...), "
        "or `und` when absent or malformed.",
        pattern=LANG_PATTERN,
    )
    created_at: str = _time("When the author posted it: RFC 3339, UTC, millisecond precision.")
    ingested_at: str = _time(
        "When the producer read it: RFC 3339, UTC, millisecond precision; `ingested_at` to indexed is the "
        "pipeline's end-to-end latency."
    )
    author_id: str | SkipJsonSchema[None] = Field(
        default=None,
        description="The author's id at the source (X user id, Bluesky DID); omitted (not null) when unknown.",
        min_length=1,
        json_schema_extra=_no_default,
    )
    url: Annotated[str, StringConstraints(pattern="^https://")] | SkipJsonSchema[None] = Field(
        default=None,
        description="A link to the post on the web: `https://x.com/i/web/status/<id>` or "
        "`https://bsky.app/profile/<did>/post/<rkey>`; omitted for `replay` and `synthetic`.",
        json_schema_extra=_uri,
    )

    @model_validator(mode="after")
    def _id_fits(self) -> Event:
        if not id_fits(self.source, self.id):
            raise ValueError(f"<source>:<id> is longer than {MAX_DOC_ID_BYTES} UTF-8 bytes")
        return self


class ProducerDeadLetter(BaseModel):
    """A record the producer could not turn into a valid event (value of a message on
    KAFKA_DLQ_TOPIC)."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Producer dead-letter record v1")

    # A Literal built from the tuple at runtime (one list of reasons); mypy cannot evaluate it.
    reason: Literal[PRODUCER_REASONS] = Field(  # type: ignore[valid-type]
        description="Machine-readable cause: one of the dead-letter reasons the producer uses (also the "
        "`reason` label of `producer_records_invalid_total`)."
    )
    source: Source = Field(description="The source the record came from.")
    raw: str = Field(
        description=(
            "The original payload as text (invalid UTF-8 bytes backslash-escaped; "
            "cut at 256 KiB, the error then says so)."
        )
    )
    error: str = Field(description="Human-readable detail: which field, what was wrong.")
    failed_at: str = _time("When the producer rejected it: RFC 3339, UTC.")


class Document(BaseModel):
    """One post in the Elasticsearch index (`ES_INDEX`), `_id` = `<source>:<id>`.

    The Field descriptions are the reference table in docs/event-schema.md (`make docs`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="The event's `id` (the source's own post id).")
    source: Source = Field(description="The event's `source`.")
    text: str = Field(description="The event's full text, as posted.")
    clean_text: str = Field(
        description="The text the analyzer scored: HTML entities decoded; `RT @user:`, URLs and @mentions "
        "removed; `#` dropped from hashtags; white space folded."
    )
    lang: str = Field(description="The event's BCP-47 tag, `und` when unknown.")
    created_at: str = _time("When the author posted it (the event's `created_at`).")
    ingested_at: str = _time("When the producer read it (the event's `ingested_at`).")
    indexed_at: str = _time(
        "When the job built the bulk request; `indexed_at - ingested_at` is the end-to-end latency."
    )
    polarity: float | None = Field(
        description="-1 (negative) to +1 (positive): `tweet-lr`'s P(positive) - P(negative), TextBlob's "
        "polarity, VADER's compound score; null for `Unsupported` posts."
    )
    subjectivity: float | None = Field(
        description="0 (objective) to 1 (subjective), TextBlob only; null for `Unsupported` posts and for "
        "analyzers without one (VADER, `tweet-lr`)."
    )
    confidence: float | None = Field(
        description="0 to 1: the probability the model gives its label (`tweet-lr`); null for "
        "`Unsupported` posts and for analyzers without one (TextBlob, VADER)."
    )
    sentiment: str = Field(
        description="`Negative`, `Neutral` or `Positive`; `Unsupported` for a language not in "
        "`SENTIMENT_LANGUAGES`."
    )
    model: str = Field(description="The analyzer that scored it (`SENTIMENT_MODEL`).")
    sentiment_lang: str = Field(
        description="The language the post was scored as: the primary subtag of `lang` (`pt-BR` -> `pt`), or "
        "the language identifier's answer for `und`/untagged posts (`SENTIMENT_LANGUAGE_SOURCE`), `und` when "
        "there is none; also set on `Unsupported` posts."
    )


class JobDeadLetter(BaseModel):
    """One Kafka record the job could not index (`ES_DEADLETTER_INDEX`),
    `_id` = `<topic>:<partition>:<offset>` (a replayed batch overwrites, never duplicates)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    raw: str | None = Field(
        description="The Kafka value as text (bytes that are not UTF-8 replaced); null for a tombstone."
    )
    # A runtime-built Literal, as above.
    reason: Literal[JOB_REASONS] = Field(  # type: ignore[valid-type]
        description="Machine-readable cause: one of the dead-letter reasons the job uses (also the `reason` "
        "label of `sentiment_job_documents_deadlettered_total`)."
    )
    error: str | None = Field(description="Human-readable detail: which field, what was wrong.")
    topic: str | None = Field(description="Kafka topic of the record.")
    partition: int | None = Field(description="Its partition.")
    offset: int | None = Field(description="Its offset.")
    kafka_timestamp: str | None = Field(description="The Kafka record's timestamp, RFC 3339 UTC.")
    failed_at: str = _time("When the job dead-lettered it.")


EVENT_FIELDS: tuple[str, ...] = tuple(Event.model_fields)
DOCUMENT_FIELDS: tuple[str, ...] = tuple(Document.model_fields)
JOB_DEADLETTER_FIELDS: tuple[str, ...] = tuple(JobDeadLetter.model_fields)
PRODUCER_DEADLETTER_FIELDS: tuple[str, ...] = tuple(ProducerDeadLetter.model_fields)
# The event fields a document is made of (what the job reads from each event).
EVENT_FIELDS_INDEXED: tuple[str, ...] = tuple(f for f in EVENT_FIELDS if f in Document.model_fields)
# Fields the writer adds when it writes (not computed by the transform).
WRITE_TIME_FIELDS = ("indexed_at", "failed_at")


# --- JSON Schema files ----------------------------------------------------------------

SCHEMA_BASE_URL = "https://github.com/tweet-sentiment/tweet-sentiment/schemas/"


def _json_schema(model: type[BaseModel], file_name: str) -> dict[str, Any]:
    body = model.model_json_schema()
    body.pop("title", None)
    body.pop("description", None)
    properties = body.pop("properties")
    for prop in properties.values():
        prop.pop("title", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_BASE_URL + file_name,
        "title": model.model_config.get("title"),
        "description": " ".join((model.__doc__ or "").split()),
        **body,
        "properties": properties,
    }


def json_schemas() -> dict[str, dict[str, Any]]:
    """file name -> JSON Schema (2020-12) of the Kafka records, generated from the models."""
    return {
        "event-v1.schema.json": _json_schema(Event, "event-v1.schema.json"),
        "deadletter-v1.schema.json": _json_schema(ProducerDeadLetter, "deadletter-v1.schema.json"),
    }


def render_json_schema(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_json_schemas(directory: Path) -> list[Path]:
    written = []
    for name, schema in json_schemas().items():
        path = directory / name
        path.write_text(render_json_schema(schema), encoding="utf-8")
        written.append(path)
    return written
