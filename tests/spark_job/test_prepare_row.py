"""`transform.prepare_row`: the Python parse/validate/clean of one Kafka value (no Spark)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from spark_job_helpers import event

from sentiment_job.transform import prepare_row


def row(**fields: Any) -> dict[str, Any]:
    return prepare_row(json.dumps(event("p", **{"text": "hello &amp; #world", **fields})).encode())


def test_a_valid_event_is_parsed_normalised_and_cleaned() -> None:
    out = row(ingested_at="2026-01-02T03:04:06.123456789Z")
    assert out["reason"] is None
    assert out["error"] is None
    assert (out["id"], out["source"], out["lang"]) == ("p", "synthetic", "en")
    assert out["clean_text"] == "hello & world"
    assert out["created_at"] == "2026-01-02T03:04:05.678Z"
    assert out["ingested_at"] == "2026-01-02T03:04:06.123Z"
    assert out["ingested_at_epoch"] == pytest.approx(1767323046.123456)


@pytest.mark.parametrize(
    ("fields", "reason", "error"),
    [
        ({"text": {"a": 1}}, "wrong_type", 'text must be a string, got {"a":1}'),
        ({"lang": 5}, "wrong_type", "lang must be a string, got 5"),
        ({"schema_version": True}, "unsupported_schema_version", "schema_version must be 1, got true"),
        ({"schema_version": 1.0}, "unsupported_schema_version", "schema_version must be 1, got 1.0"),
        (
            {"source": "tiktok"},
            "bad_value",
            'source must be one of x, bluesky, replay, synthetic, got "tiktok"',
        ),
        ({"created_at": "20260102T030405Z"}, "bad_value", None),  # ISO basic form: not RFC 3339
        ({"ingested_at": 17}, "wrong_type", "ingested_at must be a string, got 17"),
    ],
)
def test_rules_and_error_texts(fields: dict[str, Any], reason: str, error: str | None) -> None:
    out = row(**fields)
    assert out["reason"] == reason
    if error is not None:
        assert out["error"] == error
    assert out["clean_text"] is None


def test_lang_is_trimmed_of_spaces_and_defaults_to_und() -> None:
    assert row(lang="  fr ")["lang"] == "fr"
    assert row(lang="   ")["lang"] == "und"
    assert row(lang=None)["lang"] == "und"


def test_undecodable_bytes_keep_a_readable_raw() -> None:
    out = prepare_row(b'{"id": "\xff"}')
    assert out["reason"] == "bad_encoding"
    assert out["raw"] == '{"id": "\ufffd"}'


@pytest.mark.parametrize("value", [None, b"", b" \n", b"[" * 100_000, b"1" * 5000, b"NaN"])
def test_never_raises(value: bytes | None) -> None:
    assert prepare_row(value)["reason"] == "bad_json"
