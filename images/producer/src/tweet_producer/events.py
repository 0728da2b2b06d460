"""Event v1 and dead-letter records: pure functions from source records to Kafka bytes.

docs/event-schema.md describes the shapes; schemas/*.schema.json are the machine-readable
contract the tests validate against. Everything here is pure (time comes in as an
argument) so it is tested without Kafka.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tweet_sentiment_common import contract

# The contract (event v1, dead letters, the id rule, the reasons, what is skipped and what
# falls back to a default) lives in tweet_sentiment_common.contract; these are its values.
SCHEMA_VERSION = contract.SCHEMA_VERSION
SOURCES = contract.SOURCES
# Reasons a record is dead-lettered: a fixed set, so they can be metric labels.
REASONS = contract.PRODUCER_REASONS
RAW_CAP_BYTES = contract.RAW_CAP_BYTES
# Jetstream's time_us: microseconds since 1970, as an int; beyond year 9999 it is no time.
MAX_TIME_US = 253402300799999999


# One exception for a record that breaks a rule, whether the rule is the contract's (the
# event) or the source's envelope (below): `reason` is one of REASONS.
InvalidRecord = contract.ContractError
# A valid post: built only through contract.new_post, which checks every rule of event v1.
Post = contract.Post
# A post that must leave the index: built only through contract.new_deletion.
Deletion = contract.Deletion


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record that is not a text post (contract.SKIP_REASONS): counted, not published,
    not dead-lettered."""

    source: str
    reason: str
    position: int | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that goes to the dead-letter topic."""

    source: str
    raw: str
    reason: str
    error: str
    position: int | None = None


# --- time -----------------------------------------------------------------------------


# RFC 3339 in UTC with milliseconds and a Z: 2024-05-01T12:00:00.123Z.
format_time = contract.format_time


_now_cache: tuple[int, str] = (-1, "")


def utc_now() -> str:
    """format_time(now), computed once per millisecond: at thousands of posts a second
    most posts share their millisecond, and formatting a datetime is not free."""
    global _now_cache  # a one-entry cache; a race between threads only repeats the work
    ms = time.time_ns() // 1_000_000
    cached_ms, text = _now_cache
    if ms != cached_ms:
        moment = datetime.fromtimestamp(ms // 1000, tz=timezone.utc).replace(microsecond=ms % 1000 * 1000)
        text = format_time(moment)
        _now_cache = (ms, text)
    return text


def normalize_time(value: Any, field: str) -> str:
    """An RFC 3339 timestamp with an offset, in the contract's form (contract.canonical_time)."""
    if not isinstance(value, str):
        raise InvalidRecord("wrong_type", f"{field} must be a string, got {type(value).__name__}")
    canonical = contract.canonical_time(value)
    if canonical is None:
        raise InvalidRecord(
            "bad_value", f"{field} {value[:64]!r} is not an RFC 3339 date-time with an offset in years 1-9999"
        )
    return canonical


def valid_time_us(value: Any) -> int | None:
    """Jetstream's `time_us` when it is one (a positive int up to year 9999), else None."""
    if type(value) is int and 0 < value <= MAX_TIME_US:
        return value
    return None


# --- fields ---------------------------------------------------------------------------


def normalize_lang(value: Any) -> str:
    """BCP-47 as the source reports it; absent, malformed or non-string tags become `und`
    (contract: the post is kept)."""
    return contract.normalize_lang(value)


def _required_str(obj: dict[str, Any], field: str, where: str = "") -> str:
    value = obj.get(field)
    if value is None:
        raise InvalidRecord("missing_field", f"{where}{field} is missing")
    if not isinstance(value, str):
        raise InvalidRecord("wrong_type", f"{where}{field} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise InvalidRecord("missing_field", f"{where}{field} is empty")
    return value


def _optional_str(obj: dict[str, Any], field: str, where: str = "") -> str | None:
    value = obj.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidRecord("wrong_type", f"{where}{field} must be a string, got {type(value).__name__}")
    return value


def _text_or_none(obj: dict[str, Any], field: str, where: str = "") -> str | None:
    """The text, or None when it is present but blank (not a text post: skipped).
    Absent or of the wrong type is still a dead letter."""
    value = obj.get(field)
    if value is None:
        raise InvalidRecord("missing_field", f"{where}{field} is missing")
    if not isinstance(value, str):
        raise InvalidRecord("wrong_type", f"{where}{field} must be a string, got {type(value).__name__}")
    return None if contract.is_blank(value) else value


# --- parsing --------------------------------------------------------------------------


def check_size(raw: bytes, max_bytes: int, size: int | None = None) -> None:
    """`size` is the record's full length when `raw` is only its (cut) prefix."""
    length = len(raw) if size is None else size
    if length > max_bytes:
        raise InvalidRecord("oversized", f"record is {length} bytes, more than MAX_POST_BYTES={max_bytes}")


def decode_json(raw: bytes | str) -> Any:
    """The JSON value of a record. Bytes are decoded as strict UTF-8 first: json.loads(bytes)
    would let the encoded surrogates ED A0 80 through. Strings with an escaped lone surrogate
    parse, and the contract rejects them where they matter (id, text)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise InvalidRecord("bad_encoding", f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and the 4,300-digit limit on integers.
        raise InvalidRecord("bad_json", f"not JSON: {str(exc)[:200]}") from None


def post_from_x(doc: Any, source: str) -> Post | Skipped:
    """A post from an X API v2 envelope {"data": {...}} (stream line, replay line, synthetic),
    or Skipped when it has no text (media-only).

    Long posts carry their full text in note_tweet.text; `text` is then a truncated copy.
    A post without created_at gets it from its snowflake id (contract.snowflake_time_ms).
    """
    if not isinstance(doc, dict):
        raise InvalidRecord("bad_shape", f"expected a JSON object, got {type(doc).__name__}")
    data = doc.get("data")
    if data is None:
        raise InvalidRecord("bad_shape", 'no "data" object (expected the X v2 envelope {"data": {...}})')
    if not isinstance(data, dict):
        raise InvalidRecord("bad_shape", f'"data" must be an object, got {type(data).__name__}')
    post_id = _required_str(data, "id", "data.")
    contract.check_id(source, post_id)
    text = _text_or_none(data, "text", "data.")
    note = data.get("note_tweet")
    if isinstance(note, dict) and isinstance(note.get("text"), str) and note["text"].strip():
        text = note["text"]
    if text is None:
        return Skipped(source, "no_text")
    if data.get("created_at") is None:
        millis = contract.snowflake_time_ms(post_id)
        if millis is None:
            raise InvalidRecord("missing_field", "data.created_at is missing (and the id is not a snowflake)")
        created_at = contract.time_from_micros(millis * 1000) or ""
    else:
        created_at = normalize_time(data["created_at"], "data.created_at")
    return contract.new_post(
        source=source,
        id=post_id,
        text=text,
        lang=data.get("lang"),
        created_at=created_at,
        author_id=_optional_str(data, "author_id", "data."),
        url=f"https://x.com/i/web/status/{post_id}" if source == "x" else None,
    )


def stream_error_types(doc: Any) -> list[str] | None:
    """The error types of an X stream error message ({"errors": [...]} without "data"),
    or None when `doc` is not one. Such lines are counted, not published."""
    if not isinstance(doc, dict) or "data" in doc or not isinstance(doc.get("errors"), list):
        return None
    types = []
    for err in doc["errors"]:
        kind = "unknown"
        if isinstance(err, dict):
            if isinstance(err.get("type"), str) and err["type"].strip("/"):
                kind = err["type"].rstrip("/").rsplit("/", 1)[-1]
            elif isinstance(err.get("title"), str) and err["title"]:
                kind = err["title"]
        types.append(kind[:64])
    return types or ["unknown"]


BLUESKY_POST = "app.bsky.feed.post"


def post_from_jetstream(doc: Any) -> Post | Deletion | Skipped | None:
    """A post from a Jetstream event; a Deletion for a post's delete commit; Skipped for a
    post without text (image-only, link-only); None for events that are neither (identity,
    account, updates, other collections)."""
    if not isinstance(doc, dict):
        raise InvalidRecord("bad_shape", f"expected a JSON object, got {type(doc).__name__}")
    if doc.get("kind") != "commit":
        return None
    commit = doc.get("commit")
    if not isinstance(commit, dict):
        raise InvalidRecord("bad_shape", 'a commit event without a "commit" object')
    if commit.get("collection") != BLUESKY_POST:
        return None
    if commit.get("operation") == "delete":
        return deletion_from_jetstream(doc, commit)
    if commit.get("operation") != "create":
        return None
    did = _required_str(doc, "did")
    rkey = _required_str(commit, "rkey", "commit.")
    record = commit.get("record")
    if not isinstance(record, dict):
        raise InvalidRecord("bad_shape", 'a create event without a "record" object')
    text = _text_or_none(record, "text", "commit.record.")
    time_us = valid_time_us(doc.get("time_us"))
    if time_us is None:
        raise InvalidRecord("bad_value", "time_us must be a positive integer of microseconds up to year 9999")
    if text is None:
        return Skipped("bluesky", "no_text", position=time_us)
    langs = record.get("langs")
    # A malformed langs (not a list, a non-string or ill-formed first entry) is `und`.
    lang = langs[0] if isinstance(langs, list) and langs else None
    # createdAt is written by the author's client and can be anything (9999-12-31T23:59:59-01:00
    # is no time in UTC); the relay's time is the honest fallback.
    created_at = contract.canonical_time(record.get("createdAt")) or contract.time_from_micros(time_us) or ""
    return contract.new_post(
        source="bluesky",
        id=f"at://{did}/{BLUESKY_POST}/{rkey}",
        text=text,
        lang=lang,
        created_at=created_at,
        author_id=did,
        url=f"https://bsky.app/profile/{did}/post/{rkey}",
        position=time_us,
    )


def deletion_from_jetstream(doc: dict[str, Any], commit: dict[str, Any]) -> Deletion:
    """A delete commit of a post: the deletion event of `at://<did>/app.bsky.feed.post/<rkey>`
    (the same id, so the same key, as its creation). `deleted_at` is the relay's time_us."""
    did = _required_str(doc, "did")
    rkey = _required_str(commit, "rkey", "commit.")
    time_us = valid_time_us(doc.get("time_us"))
    if time_us is None:
        raise InvalidRecord("bad_value", "time_us must be a positive integer of microseconds up to year 9999")
    return contract.new_deletion(
        source="bluesky",
        id=f"at://{did}/{BLUESKY_POST}/{rkey}",
        reason="delete",
        deleted_at=contract.time_from_micros(time_us) or "",
        author_id=did,
        position=time_us,
    )


# X's compliance streams (docs/deletions.md#x): one event per line, `{"data": {<event>: {...}}}`.
# Post events name the post in `tweet` ({"id", "author_id"}); user events the account in `user`.
X_POST_DELETIONS = ("delete", "drop", "withheld", "tweet_edit")
X_USER_DELETIONS = ("user_delete", "user_protect", "user_suspend", "user_withheld")
# Reverse events and changes that hold nothing of a stored post: nothing to do (we no longer
# hold the text, so there is nothing to restore).
X_NO_ACTION = (
    "undrop",
    "user_undelete",
    "user_unprotect",
    "user_unsuspend",
    "user_profile_modification",
    "scrub_geo",
)


def deletion_from_x_compliance(doc: Any) -> Deletion | Skipped:
    """One X compliance event → the deletion of a post, or of an account's posts (`user_delete`,
    `user_protect`, `user_suspend`, `user_withheld`), or Skipped (`no_action`: a reverse event,
    nothing to restore). Unknown events and broken shapes are dead letters (`bad_shape`,
    `missing_field`, `wrong_type`, `bad_value`).

    `tweet_edit` removes the version the edit replaced: the id before `tweet.id` in
    `edit_tweet_ids` (each edit's event removes its predecessor; the new version arrives as a
    post of its own when it matches the stream), else `initial_tweet_id`."""
    if not isinstance(doc, dict):
        raise InvalidRecord("bad_shape", f"expected a JSON object, got {type(doc).__name__}")
    data = doc.get("data")
    if not isinstance(data, dict) or len(data) != 1:
        raise InvalidRecord("bad_shape", 'expected {"data": {<event>: {...}}} with one compliance event')
    ((kind, body),) = data.items()
    if kind in X_NO_ACTION:
        return Skipped("x", "no_action")
    if not isinstance(body, dict):
        raise InvalidRecord("bad_shape", f"data.{kind} must be an object")
    if kind in X_USER_DELETIONS:
        user = body.get("user")
        if not isinstance(user, dict):
            raise InvalidRecord("bad_shape", f"data.{kind}.user must be an object")
        user_id = _required_str(user, "id", f"data.{kind}.user.")
        # Account-level: `id` is the account, every post with that author_id goes (key x:author:<id>).
        return contract.new_deletion(
            source="x",
            id=user_id,
            reason=kind,
            deleted_at=normalize_time(body.get("event_at"), f"data.{kind}.event_at"),
            author_id=user_id,
        )
    if kind not in X_POST_DELETIONS:
        raise InvalidRecord("bad_value", f"unknown compliance event {kind[:64]!r}")
    tweet = body.get("tweet")
    if not isinstance(tweet, dict):
        raise InvalidRecord("bad_shape", f"data.{kind}.tweet must be an object")
    post_id = _required_str(tweet, "id", f"data.{kind}.tweet.")
    event_at = normalize_time(body.get("event_at"), f"data.{kind}.event_at")
    if kind == "tweet_edit":
        post_id = _replaced_version(body, post_id)
    return contract.new_deletion(
        source="x",
        id=post_id,
        reason=kind,
        deleted_at=event_at,
        author_id=_optional_str(tweet, "author_id", f"data.{kind}.tweet."),
    )


def _replaced_version(body: dict[str, Any], new_id: str) -> str:
    versions = body.get("edit_tweet_ids")
    if isinstance(versions, list) and new_id in versions:
        at = versions.index(new_id)
        if at > 0 and isinstance(versions[at - 1], str):
            return str(versions[at - 1])
    initial = _required_str(body, "initial_tweet_id", "data.tweet_edit.")
    if initial == new_id:
        raise InvalidRecord("bad_value", "data.tweet_edit names no replaced version")
    return initial


def raw_text(raw: bytes | str) -> str:
    """The payload as text for the dead-letter record: bad bytes escaped, cut at RAW_CAP_BYTES."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    return data[:RAW_CAP_BYTES].decode("utf-8", "backslashreplace")


def internal_error(source: str, raw: bytes | str, exc: Exception, size: int | None = None) -> Rejected:
    """A record whose handling raised what no rule expected (a bug of ours): dead-lettered
    with the exception's type, so one record never stops the source (and the saved cursor
    never brings it back to stop it again). The caller logs the traceback."""
    detail = f"{type(exc).__name__}: {exc}"[:500]
    return reject(source, raw, InvalidRecord("internal_error", detail), size)


def reject(source: str, raw: bytes | str, exc: InvalidRecord, size: int | None = None) -> Rejected:
    if size is None:
        size = len(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
    length = size
    error = exc.detail
    if length > RAW_CAP_BYTES:
        error += f" (raw cut to its first {RAW_CAP_BYTES} of {length} bytes)"
    return Rejected(source=source, raw=raw_text(raw), reason=exc.reason, error=error)


# --- Kafka values ---------------------------------------------------------------------


def _dumps(obj: dict[str, Any]) -> bytes:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (JSON "\ud800" in the input) has no UTF-8 form; replace it
        # rather than emit bytes no consumer can decode.
        return text.encode("utf-8", "replace")


build_event = contract.event_dict
event_value = contract.event_bytes
deletion_value = contract.deletion_bytes


def deadletter_record(rejected: Rejected, failed_at: str) -> dict[str, Any]:
    return {
        "reason": rejected.reason,
        "source": rejected.source,
        "raw": rejected.raw,
        "error": rejected.error,
        "failed_at": failed_at,
    }


def deadletter_value(rejected: Rejected, failed_at: str) -> bytes:
    return _dumps(deadletter_record(rejected, failed_at))
