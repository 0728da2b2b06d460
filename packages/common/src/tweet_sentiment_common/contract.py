"""The data contract: event v1, the two dead-letter records, the Elasticsearch document.

This module is the one place these shapes and rules are written down (docs/event-schema.md
explains them). The rest is derived from it:

- the JSON Schema files the producer ships are *generated* (`make schemas`, checked by
  tests/test_contract.py);
- the job's Spark schema, column lists and dead-letter reasons are *computed* from the
  models and constants below at import time;
- the index templates' field names are *checked* against `Document`/`JobDeadLetter` by
  tests/test_contract.py.

The rules are executable and written once: the producer builds every event through
`new_post` + `event_bytes`, the job checks every Kafka record through `check_event`, and the
pydantic `Event` model validates its fields with the same functions (`check_id`,
`parse_time`, `valid_unicode`). Hot paths call these functions, not a pydantic instance per
record. The rule they keep (tests/test_contract_property.py): the producer accepts a post if
and only if the job accepts the bytes the producer wrote, with the same text, id and language.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

SCHEMA_VERSION = 1

Source = Literal["x", "bluesky", "replay", "synthetic"]
SOURCES: tuple[str, ...] = get_args(Source)

# --- the id rule ----------------------------------------------------------------------
# A post's identity everywhere (Kafka key, Elasticsearch _id) is `<source>:<id>`, and
# Elasticsearch caps _id at 512 BYTES. The rule is in bytes of UTF-8, checked by the
# producer (dead letter `bad_value`) and by the job (`bad_value`) with this one function.
MAX_ID_BYTES = 512

# Every string of an event is Unicode text: no lone surrogate (JSON allows "\ud800" and
# json.loads(bytes) decodes the raw bytes ED A0 80 to one; neither has a UTF-8 form, so a key
# or a document built from it cannot be written). In an id or author_id it is `bad_encoding`,
# on both sides, like bytes that are not UTF-8; in a text (clients that cut an emoji's
# UTF-16 pair in half) it becomes U+FFFD and the post is kept.
_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_unicode(text: str) -> bool:
    return text.isascii() or _SURROGATE.search(text) is None


def repair_unicode(text: str) -> str:
    """The text with each lone surrogate replaced by U+FFFD."""
    return text if valid_unicode(text) else _SURROGATE.sub("\ufffd", text)


class ContractError(ValueError):
    """A record that breaks a rule of the contract; `reason` is one of REASONS."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason: Reason = reason
        self.detail = detail


def document_id(source: str, post_id: str) -> str:
    """`<source>:<id>`: the Kafka message key and the Elasticsearch `_id` of a post."""
    return f"{source}:{post_id}"


def document_id_bytes(source: str, post_id: str) -> int:
    # surrogatepass: a lone surrogate counts as the 3 bytes it would take, never less.
    return len(document_id(source, post_id).encode("utf-8", "surrogatepass"))


def id_fits(source: str, post_id: str) -> bool:
    return document_id_bytes(source, post_id) <= MAX_ID_BYTES


def check_id(source: str, post_id: str) -> str:
    """The id rule: valid Unicode, and `<source>:<id>` within MAX_ID_BYTES of UTF-8."""
    if not valid_unicode(post_id):
        raise ContractError("bad_encoding", "id is not valid Unicode (a lone surrogate)")
    if not id_fits(source, post_id):
        raise ContractError("bad_value", f"<source>:<id> is longer than {MAX_ID_BYTES} UTF-8 bytes")
    return post_id


# --- fallbacks ------------------------------------------------------------------------
# `lang`: BCP-47 as the source reports it; absent, malformed or of the wrong type -> `und`
# (the post is kept: a language tag is metadata, not the post).
UNDETERMINED_LANG = "und"
LANG_PATTERN = r"^(und|[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*)$"
# The same for JSON Schema validators built on Python's `re.search`, where `$` also matches
# before a final newline: "not followed by any character" is the end in every dialect.
LANG_SCHEMA_PATTERN = r"^(und|[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*)(?![\s\S])"
# At least one character that is not white space (ids and texts are never blank).
NOT_BLANK_PATTERN = r"\S"
# fullmatch, not match: Python's `$` also matches before a final newline ("en\n").
LANG_RE = re.compile(r"und|[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*")


def normalize_lang(value: object) -> str:
    """The tag without surrounding white space if it is a well-formed BCP-47 string, else
    `und`. Never raises."""
    if isinstance(value, str):
        tag = value.strip()
        if LANG_RE.fullmatch(tag):
            return tag
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


# --- the labels ------------------------------------------------------------------------
# What a document's `sentiment` can be: a model's three classes, or `Unsupported` for a post
# in a language no model covers (its scores are then null).
Label = Literal["Negative", "Neutral", "Positive", "Unsupported"]
LABELS: tuple[Label, ...] = get_args(Label)


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
    "internal_error",
]
REASONS: tuple[str, ...] = get_args(Reason)
# What each reason means: the "Dead-letter reasons" table of docs/event-schema.md (`make docs`).
REASON_DESCRIPTIONS: dict[str, str] = {
    "bad_encoding": "not valid UTF-8, or a string with a lone surrogate (`\\ud800` in the JSON) that has no "
    "UTF-8 form (the job's `raw` holds the bytes with replacement characters)",
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
    "internal_error": "a bug of ours: handling this record raised an exception no rule expected; `error` has "
    "its type and message. The record is kept here instead of stopping the process (alert "
    "`TweetSentimentInternalError`)",
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
    "internal_error",
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
    "internal_error",
)

# The dead-letter record keeps at most this much of the raw payload, so it always fits in
# one Kafka message; `error` says when it was cut.
RAW_CAP_BYTES = 256 * 1024

# Every timestamp of an event: RFC 3339 with `Z` or an offset (a `t`/`z` in lower case too),
# a real date and time (no 24:00, no second 60), whose UTC form lies in years 1-9999.
# The producer and the job write them in one form: UTC, milliseconds, `Z`
# (2024-05-01T12:00:00.123Z). One parser, `parse_time`, for both sides and the models.
TIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
_CANONICAL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp as an aware UTC datetime, or None when it is not one. Never
    raises: a valid-looking value whose UTC form leaves years 1-9999 (`0001-01-01T00:00:00+01:00`)
    is None too. Written out rather than `fromisoformat`, which differs between Python 3.10
    (the Spark image) and 3.11 and accepts forms RFC 3339 does not."""
    if not isinstance(value, str):
        return None
    match = _RFC3339.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    try:
        zone = timezone.utc
        if sign is not None:
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            zone = timezone(-offset if sign == "-" else offset)
        micros = int((fraction or "0")[:6].ljust(6, "0"))
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tzinfo=zone
        )
        return moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None


def format_time(moment: datetime) -> str:
    """A timestamp in the contract's form: RFC 3339 in UTC with milliseconds and a Z."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def canonical_time(value: object) -> str | None:
    """`parse_time` then `format_time`: the contract's form of an RFC 3339 timestamp, or None."""
    if isinstance(value, str) and _CANONICAL_TIME.fullmatch(value) and parse_time(value) is not None:
        return value  # already in the form (X sends it): only checked to be a real date-time
    moment = parse_time(value)
    return None if moment is None else format_time(moment)


def time_from_micros(micros: int) -> str | None:
    """Unix microseconds in the contract's form, or None outside years 1-9999."""
    try:
        return format_time(_EPOCH + timedelta(microseconds=micros))
    except OverflowError:
        return None


def _rfc3339(value: str) -> str:
    if parse_time(value) is None:
        raise ValueError("not an RFC 3339 date-time with an offset, in years 1-9999")
    return value


def _time(description: str) -> Any:
    return Field(description=description, pattern=TIME_PATTERN, json_schema_extra={"format": "date-time"})


# A timestamp field of the models: the pattern (for the JSON Schema) and `parse_time` (the rule).
Timestamp = Annotated[str, AfterValidator(_rfc3339)]


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _uri(schema: dict[str, Any]) -> None:
    _no_default(schema)
    schema["format"] = "uri"


# --- the rules of event v1, executable -------------------------------------------------


def excerpt(value: object, limit: int = 80) -> str:
    """A value as short JSON text for an error message. Never raises (a value nested near
    json's recursion limit, a lone surrogate, a 5,000-digit integer all have a text)."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (ValueError, TypeError, RecursionError):
        text = f"a JSON {type(value).__name__}"
    return text[:limit]


@dataclass(frozen=True, slots=True)
class Post:
    """The content of a valid event v1 (all but `schema_version` and `ingested_at`). Built
    only by `new_post` (the producer) and `check_event` (the job), which check every rule."""

    source: str
    id: str
    text: str
    lang: str
    created_at: str
    author_id: str | None = None
    url: str | None = None
    # Where the producer's source read it (Jetstream's time_us): not part of the event.
    position: int | None = field(default=None, compare=False)

    @property
    def key(self) -> bytes:
        """The Kafka key, `<source>:<id>` in UTF-8 (always encodable: `check_id`)."""
        return document_id(self.source, self.id).encode("utf-8")


def _unicode(value: str, name: str) -> str:
    if not valid_unicode(value):
        raise ContractError("bad_encoding", f"{name} is not valid Unicode (a lone surrogate)")
    return value


def new_post(
    *,
    source: str,
    id: str,
    text: str,
    lang: object,
    created_at: str,
    author_id: str | None = None,
    url: str | None = None,
    position: int | None = None,
) -> Post:
    """A post that passes every rule of event v1, or ContractError. `lang` is normalised
    (malformed or absent: `und`), `created_at` converted to the contract's form, a lone
    surrogate in `text` replaced by U+FFFD."""
    if source not in SOURCES:
        raise ContractError("bad_value", f"source must be one of {', '.join(SOURCES)}, got {excerpt(source)}")
    if is_blank(id):
        raise ContractError("missing_field", "id is missing or blank")
    check_id(source, id)
    if is_blank(text):
        raise ContractError("missing_field", "text is missing or blank")
    text = repair_unicode(text)
    created = canonical_time(created_at)
    if created is None:
        raise ContractError(
            "bad_value", f"created_at must be an RFC 3339 timestamp, got {excerpt(created_at)}"
        )
    if author_id is not None:
        if is_blank(author_id):
            raise ContractError("missing_field", "author_id is blank (omit it when unknown)")
        _unicode(author_id, "author_id")
    if url is not None and not (url.startswith("https://") and valid_unicode(url)):
        raise ContractError("bad_value", f"url must be an https:// URL, got {excerpt(url)}")
    return Post(source, id, text, normalize_lang(lang), created, author_id, url, position)


def event_dict(post: Post, ingested_at: str) -> dict[str, Any]:
    """The event v1 of a post (optional fields omitted, not null)."""
    event: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "id": post.id,
        "source": post.source,
        "text": post.text,
        "lang": post.lang,
        "created_at": post.created_at,
        "ingested_at": ingested_at,
    }
    if post.author_id is not None:
        event["author_id"] = post.author_id
    if post.url is not None:
        event["url"] = post.url
    return event


def event_bytes(post: Post, ingested_at: str) -> bytes:
    """The Kafka value of a post: compact JSON in UTF-8 (strict: `new_post` let no lone
    surrogate through)."""
    return json.dumps(event_dict(post, ingested_at), ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )


def _required(event: dict[str, Any], name: str) -> str:
    """missing_field (absent, null or blank), then wrong_type (not a JSON string)."""
    value = event.get(name)
    if value is None or (isinstance(value, str) and is_blank(value)):
        raise ContractError("missing_field", f"{name} is missing or blank")
    if not isinstance(value, str):
        raise ContractError("wrong_type", f"{name} must be a string, got {excerpt(value)}")
    return value


def _optional(event: dict[str, Any], name: str) -> str | None:
    value = event.get(name)
    if value is not None and not isinstance(value, str):
        raise ContractError("wrong_type", f"{name} must be a string, got {excerpt(value)}")
    return value


def check_event(event: object) -> tuple[Post, datetime]:
    """A decoded Kafka value → (the post, its `ingested_at`), or ContractError with the first
    rule it breaks. The job's one check; the `Event` model calls it too. Fields the contract
    does not name are ignored (a newer producer may add optional ones)."""
    if not isinstance(event, dict):
        raise ContractError("bad_json", "the value is not a JSON object")
    version = event.get("schema_version")
    if type(version) is not int or version != SCHEMA_VERSION:
        raise ContractError(
            "unsupported_schema_version", f"schema_version must be {SCHEMA_VERSION}, got {excerpt(version)}"
        )
    post_id = _required(event, "id")
    source = _required(event, "source")
    text = _required(event, "text")
    lang = _optional(event, "lang")
    created_at = _required(event, "created_at")
    ingested_text = _required(event, "ingested_at")
    ingested = parse_time(ingested_text)
    post = new_post(
        source=source,
        id=post_id,
        text=text,
        lang=lang,
        created_at=created_at,
        author_id=_optional(event, "author_id"),
        url=_optional(event, "url"),
    )
    if ingested is None:
        raise ContractError(
            "bad_value", f"ingested_at must be an RFC 3339 timestamp, got {excerpt(ingested_text)}"
        )
    return post, ingested


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
        max_length=MAX_ID_BYTES,
        pattern=NOT_BLANK_PATTERN,
    )
    source: Source = Field(description="Where the post came from (`x` for both X streams).")
    text: str = Field(
        description="The full text of the post, never truncated (X long posts: `note_tweet.text`); X's HTML "
        "escaping (`&amp;`, `&lt;`, `&gt;`) is kept as X sent it.",
        min_length=1,
        pattern=NOT_BLANK_PATTERN,
    )
    lang: str = Field(
        description="BCP-47 language tag as the source reports it (`en`, `pt-BR`, X's `qme`/`zxx`...), "
        "or `und` when absent or malformed.",
        pattern=LANG_PATTERN,
        json_schema_extra={"pattern": LANG_SCHEMA_PATTERN},
    )
    created_at: Timestamp = _time("When the author posted it: RFC 3339, UTC, millisecond precision.")
    ingested_at: Timestamp = _time(
        "When the producer read it: RFC 3339, UTC, millisecond precision; `ingested_at` to indexed is the "
        "pipeline's end-to-end latency."
    )
    # The constraint on the str arm alone: on the union pydantic applies it to None too (a
    # TypeError out of model_validate, found by the fuzzer).
    # null is accepted as "unknown" by the model, the job and the schema alike (the producer
    # omits the field; another writer may send null: the fuzzer found the schema alone refused it).
    author_id: Annotated[str, StringConstraints(min_length=1)] | None = Field(
        default=None,
        description="The author's id at the source (X user id, Bluesky DID); omitted (or null) when unknown.",
        json_schema_extra=_no_default,
    )
    url: Annotated[str, StringConstraints(pattern="^https://")] | None = Field(
        default=None,
        description="A link to the post on the web: `https://x.com/i/web/status/<id>` or "
        "`https://bsky.app/profile/<did>/post/<rkey>`; omitted (or null) for `replay` and `synthetic`.",
        json_schema_extra=_uri,
    )

    @model_validator(mode="after")
    def _the_rules(self) -> Event:
        # The model is validated by the same function as every Kafka record the job reads.
        try:
            check_event(self.model_dump(exclude_none=True))
        except ContractError as exc:
            raise ValueError(f"{exc.reason}: {exc.detail}") from None
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
    failed_at: Timestamp = _time("When the producer rejected it: RFC 3339, UTC.")


class Document(BaseModel):
    """One post in the Elasticsearch index (`ES_INDEX`), `_id` = `<source>:<id>`.

    The Field descriptions are the reference table in docs/event-schema.md (`make docs`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="The event's `id` (the source's own post id).")
    source: Source = Field(description="The event's `source`.")
    text: str = Field(description="The event's full text, as posted.")
    clean_text: str = Field(
        description="The text the analyzer scored: HTML entities decoded; `RT @user:`, URLs and @mentions "
        "removed; `#` dropped from hashtags; white space folded. The analyzer reads its first 2,000 characters."
    )
    lang: str = Field(description="The event's BCP-47 tag, `und` when unknown.")
    created_at: Timestamp = _time("When the author posted it (the event's `created_at`).")
    ingested_at: Timestamp = _time("When the producer read it (the event's `ingested_at`).")
    indexed_at: Timestamp = _time(
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
    sentiment: Label = Field(
        description="`Negative`, `Neutral` or `Positive`; `Unsupported` for a language not in "
        "`SENTIMENT_LANGUAGES`."
    )
    model: str = Field(description="The analyzer that scored it (`SENTIMENT_MODEL`).")


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
    failed_at: Timestamp = _time("When the job dead-lettered it.")


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
