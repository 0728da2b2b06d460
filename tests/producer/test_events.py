"""Event v1: parsing source records, building events and dead-letter records (pure functions)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.producer.producer_helpers import MALFORMED, x_envelope
from tweet_producer.events import (
    RAW_CAP_BYTES,
    REASONS,
    Deletion,
    InvalidRecord,
    Post,
    Rejected,
    Skipped,
    build_event,
    check_size,
    deadletter_record,
    deadletter_value,
    decode_json,
    deletion_value,
    event_value,
    normalize_lang,
    normalize_time,
    post_from_jetstream,
    post_from_x,
    reject,
    stream_error_types,
)
from tweet_producer.sources.base import Line, parse_line
from tweet_sentiment_common import contract

INGESTED = "2026-11-20T10:00:01.500Z"


def parse_x(raw: bytes, source: str = "replay", max_bytes: int = 65536):  # type: ignore[no-untyped-def]
    return parse_line(Line(raw, len(raw)), source, max_bytes, lambda d: post_from_x(decode_json(d), source))


def test_x_envelope_becomes_a_valid_event(event_validator) -> None:  # type: ignore[no-untyped-def]
    post = post_from_x(x_envelope("1850000000000000001", "hello ☀️ world"), "x")
    event = build_event(post, INGESTED)
    event_validator.validate(event)
    assert event == {
        "schema_version": 1,
        "id": "1850000000000000001",
        "source": "x",
        "text": "hello ☀️ world",
        "lang": "en",
        "created_at": "2026-11-20T10:00:00.000Z",
        "ingested_at": INGESTED,
        "author_id": "680380337",
        "url": "https://x.com/i/web/status/1850000000000000001",
    }
    assert post.key == b"x:1850000000000000001"


def test_long_posts_keep_their_full_text_from_note_tweet() -> None:
    full = "word " * 1000
    post = post_from_x(x_envelope("1", full[:275] + "…", note_tweet={"text": full}), "x")
    assert post.text == full


def test_replay_and_synthetic_events_have_no_x_url(event_validator) -> None:  # type: ignore[no-untyped-def]
    for source in ("replay", "synthetic"):
        event = build_event(post_from_x(x_envelope("9", "t"), source), INGESTED)
        event_validator.validate(event)
        assert "url" not in event
        assert event["source"] == source


def test_optional_fields_are_omitted_not_null(event_validator) -> None:  # type: ignore[no-untyped-def]
    doc = {"data": {"id": "5", "text": "no author, no lang", "created_at": "2026-11-20T10:00:00Z"}}
    event = build_event(post_from_x(doc, "replay"), INGESTED)
    event_validator.validate(event)
    assert "author_id" not in event
    assert event["lang"] == "und"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-20T10:00:00.000Z", "2026-11-20T10:00:00.000Z"),
        ("2026-11-20T10:00:00Z", "2026-11-20T10:00:00.000Z"),
        ("2026-11-20T12:30:00.123456+02:30", "2026-11-20T10:00:00.123Z"),
        ("2026-11-20t10:00:00z", "2026-11-20T10:00:00.000Z"),
    ],
)
def test_created_at_is_normalised_to_utc(value: str, expected: str) -> None:
    assert normalize_time(value, "created_at") == expected


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-11-20",
        "2026-11-20T10:00:00",
        "",
        "2026-13-01T00:00:00Z",
        "2026-02-30T10:00:00.000Z",
    ],
)
def test_created_at_without_offset_or_unparsable_is_a_bad_value(value: str) -> None:
    with pytest.raises(InvalidRecord) as err:
        normalize_time(value, "created_at")
    assert err.value.reason == "bad_value"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("en", "en"),
        ("pt-BR", "pt-BR"),
        ("zh-Hant-TW", "zh-Hant-TW"),
        (None, "und"),
        ("", "und"),
        ("e n", "und"),
    ],
)
def test_lang_is_bcp47_or_und(value: str | None, expected: str) -> None:
    assert normalize_lang(value) == expected


@pytest.mark.parametrize(("raw", "reason"), MALFORMED, ids=[r for _, r in MALFORMED])
def test_every_kind_of_bad_line_is_rejected_with_its_reason(
    raw: bytes, reason: str, deadletter_validator
) -> None:  # type: ignore[no-untyped-def]
    item = parse_x(raw)
    assert isinstance(item, Rejected)
    assert item.reason == reason
    assert item.source == "replay"
    record = deadletter_record(item, INGESTED)
    deadletter_validator.validate(record)
    assert json.loads(deadletter_value(item, INGESTED)) == record


def test_rejected_record_keeps_the_raw_payload_as_text() -> None:
    raw = b'{"data": {"id": "6", "text": "caf\xe9", "created_at": "2026-11-20T10:00:00.000Z"}}'
    item = parse_x(raw)
    assert isinstance(item, Rejected)
    assert item.raw == raw.decode("utf-8", "backslashreplace")
    assert "\\xe9" in item.raw


def test_oversized_raw_is_cut_and_the_error_says_so(deadletter_validator) -> None:  # type: ignore[no-untyped-def]
    raw = json.dumps(x_envelope("1", "y" * (RAW_CAP_BYTES * 2))).encode()
    item = reject("replay", raw, InvalidRecord("oversized", "too big"))
    assert len(item.raw.encode()) == RAW_CAP_BYTES
    assert f"first {RAW_CAP_BYTES} of {len(raw)} bytes" in item.error
    deadletter_validator.validate(deadletter_record(item, INGESTED))


def test_size_limit_is_on_the_whole_record() -> None:
    check_size(b"x" * 100, 100)
    with pytest.raises(InvalidRecord) as err:
        check_size(b"x" * 101, 100)
    assert err.value.reason == "oversized"
    with pytest.raises(InvalidRecord):
        check_size(b"x" * 10, 100, size=5_000)  # a cut prefix of a larger line


def test_stream_error_lines_are_recognised_not_parsed_as_posts() -> None:
    doc = {
        "errors": [
            {
                "title": "operational-disconnect",
                "disconnect_type": "UpstreamOperationalDisconnect",
                "type": "https://api.twitter.com/2/problems/operational-disconnect",
            },
            {"title": "ConnectionException"},
        ]
    }
    assert stream_error_types(doc) == ["operational-disconnect", "ConnectionException"]
    # A post with partial errors (e.g. a missing expansion) is still a post.
    assert stream_error_types({"data": {"id": "1"}, "errors": [{}]}) is None
    assert stream_error_types({"data": {"id": "1"}}) is None


def test_lone_surrogates_never_produce_invalid_utf8() -> None:
    post = post_from_x(
        decode_json(b'{"data": {"id": "1", "text": "a\\ud800b", "created_at": "2026-11-20T10:00:00Z"}}'), "x"
    )
    value = event_value(post, INGESTED)
    assert json.loads(value.decode("utf-8"))["text"] == "a\ufffdb"


@given(
    st.text(min_size=1).filter(lambda t: t.strip()), st.text(alphabet="0123456789", min_size=1, max_size=25)
)
def test_any_text_round_trips_untruncated(text: str, post_id: str) -> None:
    text = text.encode("utf-8", "replace").decode("utf-8")
    raw = json.dumps(x_envelope(post_id, text)).encode()
    item = parse_x(raw, max_bytes=10**6)
    assert isinstance(item, Post)
    event = json.loads(event_value(item, INGESTED))
    assert event["text"] == text
    assert event["id"] == post_id


# --- Jetstream ----------------------------------------------------------------------------

DID = "did:plc:eygmaihciaxprqvxpfvl6flk"


def jet(operation: str = "create", collection: str = "app.bsky.feed.post", **record: object) -> dict:
    body = {
        "$type": "app.bsky.feed.post",
        "text": "hello bsky",
        "langs": ["en"],
        "createdAt": "2026-11-20T10:00:00.000Z",
    }
    body.update(record)
    return {
        "did": DID,
        "time_us": 1_763_632_800_000_000,
        "kind": "commit",
        "commit": {"operation": operation, "collection": collection, "rkey": "3l3qo2vuowo2b", "record": body},
    }


def test_jetstream_create_becomes_a_bluesky_event(event_validator) -> None:  # type: ignore[no-untyped-def]
    post = post_from_jetstream(jet())
    assert post is not None
    event = build_event(post, INGESTED)
    event_validator.validate(event)
    assert event["id"] == f"at://{DID}/app.bsky.feed.post/3l3qo2vuowo2b"
    assert event["url"] == f"https://bsky.app/profile/{DID}/post/3l3qo2vuowo2b"
    assert event["author_id"] == DID
    assert post.position == 1_763_632_800_000_000
    assert post.key == f"bluesky:at://{DID}/app.bsky.feed.post/3l3qo2vuowo2b".encode()


@pytest.mark.parametrize(
    "doc",
    [
        jet("update"),
        jet("create", "app.bsky.feed.like"),
        jet("delete", "app.bsky.feed.like"),
        {"did": DID, "time_us": 1, "kind": "identity", "identity": {"did": DID, "handle": "a.bsky.social"}},
        {"did": DID, "time_us": 1, "kind": "account", "account": {"active": True, "did": DID}},
    ],
)
def test_jetstream_events_other_than_post_creates_and_deletes_are_skipped(doc: dict) -> None:
    assert post_from_jetstream(doc) is None


def test_a_post_delete_commit_becomes_a_deletion_event_with_the_post_key(deletion_validator) -> None:  # type: ignore[no-untyped-def]
    created = post_from_jetstream(jet())
    deleted = post_from_jetstream(
        {
            "did": DID,
            "time_us": 1_763_632_900_000_000,
            "kind": "commit",
            "commit": {
                "rev": "3l3f6nzl3cv2s",
                "operation": "delete",
                "collection": "app.bsky.feed.post",
                "rkey": "3l3qo2vuowo2b",
            },
        }
    )
    assert isinstance(created, Post)
    assert isinstance(deleted, Deletion)
    assert deleted.key == created.key  # same key: same partition, after the creation
    assert deleted.position == 1_763_632_900_000_000  # the cursor moves past it
    event = deletion_value(deleted, INGESTED)
    doc = json.loads(event)
    deletion_validator.validate(doc)
    assert doc == {
        "schema_version": 1,
        "kind": "delete",
        "id": created.id,
        "source": "bluesky",
        "reason": "delete",
        "deleted_at": "2025-11-20T10:01:40.000Z",
        "ingested_at": INGESTED,
        "author_id": DID,
    }
    assert "text" not in doc  # never the text
    # What the job reads from it: the post's _id, and that it is a deletion.
    assert contract.is_deletion(doc)
    assert contract.check_deletion(doc)[0] == deleted
    assert contract.deletion_target(doc) == created.key.decode()


@pytest.mark.parametrize(
    ("commit", "reason"),
    [
        ({"operation": "delete", "collection": "app.bsky.feed.post"}, "missing_field"),
        ({"operation": "delete", "collection": "app.bsky.feed.post", "rkey": 7}, "wrong_type"),
    ],
)
def test_a_broken_delete_commit_is_a_dead_letter(commit: dict, reason: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        post_from_jetstream({"did": DID, "time_us": 5, "kind": "commit", "commit": commit})
    assert caught.value.reason == reason


def test_jetstream_bad_created_at_falls_back_to_the_relay_time() -> None:
    post = post_from_jetstream(jet(createdAt="last tuesday", langs=[]))
    assert post is not None
    assert post.created_at == "2025-11-20T10:00:00.000Z"
    assert post.lang == "und"


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (jet(text=None), "missing_field"),
        (jet(text=42), "wrong_type"),
        ({"kind": "commit", "did": DID, "time_us": 1, "commit": "x"}, "bad_shape"),
        ([], "bad_shape"),
    ],
)
def test_jetstream_malformed_creates_are_rejected(doc: object, reason: str) -> None:
    with pytest.raises(InvalidRecord) as err:
        post_from_jetstream(doc)
    assert err.value.reason == reason


def test_reasons_are_the_schema_enum(deadletter_schema) -> None:  # type: ignore[no-untyped-def]
    assert list(REASONS) == deadletter_schema["properties"]["reason"]["enum"]


# --- contract decisions: skipped, fallbacks, the id rule -----------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\u3000"])
def test_bluesky_post_without_text_is_skipped_not_dead_lettered(text: str) -> None:
    """Image-only and link-only posts are ordinary Bluesky traffic, not bad input."""
    item = post_from_jetstream(jet(text=text, embed={"$type": "app.bsky.embed.images"}))
    assert item == Skipped("bluesky", "no_text", position=1_763_632_800_000_000)


def test_x_post_without_text_is_skipped_and_counted_by_parse_line() -> None:
    raw = json.dumps(
        {"data": {"id": "1850000000000000001", "text": "", "created_at": "2026-11-20T10:00:00Z"}}
    )
    assert parse_x(raw.encode(), source="x") == Skipped("x", "no_text")


@pytest.mark.parametrize("langs", [[42], [None], ["e n"], [["en"]], "en", {"0": "en"}, [{"lang": "en"}]])
def test_malformed_langs_fall_back_to_und_and_keep_the_post(langs: object, event_validator) -> None:  # type: ignore[no-untyped-def]
    post = post_from_jetstream(jet(langs=langs))
    assert isinstance(post, Post)
    assert post.lang == "und"
    event_validator.validate(build_event(post, INGESTED))


def test_x_lang_of_the_wrong_type_falls_back_to_und() -> None:
    post = post_from_x(
        {"data": {"id": "9", "text": "t", "lang": 5, "created_at": "2026-11-20T10:00:00Z"}}, "x"
    )
    assert isinstance(post, Post)
    assert post.lang == "und"


def test_x_post_without_created_at_takes_its_time_from_the_snowflake_id(event_validator) -> None:  # type: ignore[no-untyped-def]
    # (1850000000000000001 >> 22) + 1288834974657 = 1729909345994 ms since 1970.
    post = post_from_x({"data": {"id": "1850000000000000001", "text": "no date"}}, "x")
    assert isinstance(post, Post)
    assert post.created_at == "2024-10-26T02:22:25.994Z"
    event_validator.validate(build_event(post, INGESTED))


@pytest.mark.parametrize("post_id", ["7", "not-a-snowflake", "99999999999999999999"])
def test_x_post_without_created_at_and_no_snowflake_is_still_a_dead_letter(post_id: str) -> None:
    with pytest.raises(InvalidRecord) as err:
        post_from_x({"data": {"id": post_id, "text": "no date"}}, "replay")
    assert err.value.reason == "missing_field"


def test_the_id_rule_is_in_bytes_like_the_job() -> None:
    """400 x 'é' is 400 characters but 800 bytes: over Elasticsearch's 512-byte _id, so the
    producer dead-letters it (bad_value) where the job would have; 255 x 'é' fits."""
    from tweet_sentiment_common import contract

    with pytest.raises(InvalidRecord) as err:
        post_from_x(x_envelope("é" * 400, "accents"), "x")
    assert err.value.reason == "bad_value"
    assert not contract.id_fits("x", "é" * 400)
    fits = "é" * ((512 - len("x:")) // 2)
    post = post_from_x(x_envelope(fits, "accents"), "x")
    assert isinstance(post, Post)
    assert len(post.key) == 512
    assert contract.id_fits("x", fits)
