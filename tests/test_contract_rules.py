"""The contract's rules, executed by both sides: regressions of the defects the fuzzing of
issue 16 found, and the property that ties the producer to the job.

The rule: the producer accepts a post if and only if the job accepts the event it would
write, and then the job reads back the same text, id and language.
"""

from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from sentiment_job.transform import prepare_row
from tweet_producer.events import Post, Rejected, decode_json, post_from_jetstream, post_from_x
from tweet_producer.metrics import Metrics
from tweet_producer.sources.base import Line, parse_line
from tweet_producer.sources.bluesky import JetstreamSource
from tweet_producer.sources.replay import ReplaySource
from tweet_producer.sources.xenvelope import x_line_parser
from tweet_sentiment_common import contract

INGESTED = "2026-11-20T10:00:01.500Z"
# Parse as RFC 3339, but leave years 1-9999 once converted to UTC (defect 1).
OVERFLOWING = ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"]
IMPOSSIBLE = [
    "2026-01-01T10:00:80Z",
    "2026-02-30T10:00:00Z",
    "2026-01-01T24:00:00Z",
    "2026-01-01T10:00:00+25:00",
]


def metrics() -> Metrics:
    return Metrics("x", CollectorRegistry())


def x_line(data: dict[str, Any]) -> bytes:
    return json.dumps({"data": data}).encode()


def parse(raw: bytes, source: str = "x") -> Any:
    return parse_line(Line(raw, len(raw)), source, 65536, x_line_parser(source, metrics()))


def jetstream_event(record: dict[str, Any], time_us: Any = 1_732_000_000_000_000, rkey: str = "3k") -> bytes:
    return json.dumps(
        {
            "did": "did:plc:abc",
            "time_us": time_us,
            "kind": "commit",
            "commit": {
                "operation": "create",
                "collection": "app.bsky.feed.post",
                "rkey": rkey,
                "record": record,
            },
        }
    ).encode()


def jetstream(tmp_path: Path) -> JetstreamSource:
    return JetstreamSource("ws://127.0.0.1:1/subscribe", tmp_path / "cursor", 65536, metrics())


def event(**fields: Any) -> dict[str, Any]:
    doc = {
        "schema_version": 1,
        "id": "p1",
        "source": "synthetic",
        "text": "a text",
        "lang": "en",
        "created_at": "2026-01-02T03:04:05.678Z",
        "ingested_at": INGESTED,
        **fields,
    }
    return {k: v for k, v in doc.items() if v is not None}


def job(value: dict[str, Any] | bytes) -> dict[str, Any]:
    return prepare_row(value if isinstance(value, bytes) else json.dumps(value).encode())


# --- 1-3: timestamps ------------------------------------------------------------------------


@pytest.mark.parametrize("created_at", OVERFLOWING)
def test_a_bluesky_created_at_that_overflows_falls_back_to_the_relay_time(
    tmp_path: Path, created_at: str
) -> None:
    source = jetstream(tmp_path)
    item = source._handle(jetstream_event({"text": "hi", "createdAt": created_at}))
    assert isinstance(item, Post)
    assert item.created_at == "2024-11-19T07:06:40.000Z"
    assert source.last_time_us == 1_732_000_000_000_000


@pytest.mark.parametrize("created_at", OVERFLOWING + IMPOSSIBLE)
def test_an_x_created_at_that_is_no_time_is_a_dead_letter_and_replay_goes_on(
    tmp_path: Path, created_at: str
) -> None:
    item = parse(x_line({"id": "1", "text": "hi", "created_at": created_at}))
    assert isinstance(item, Rejected)
    assert item.reason == "bad_value"
    path = tmp_path / "replay.jsonl.gz"
    good = x_line({"id": "2", "text": "ok", "created_at": "2026-01-01T00:00:00Z"})
    path.write_bytes(
        gzip.compress(x_line({"id": "1", "text": "hi", "created_at": created_at}) + b"\n" + good)
    )
    items = list(ReplaySource(path, 0, False, 65536, metrics()).records(threading.Event()))
    assert [type(i).__name__ for i in items] == ["Rejected", "Post"]


@pytest.mark.parametrize("created_at", OVERFLOWING + IMPOSSIBLE)
def test_the_job_dead_letters_a_time_that_is_no_time(created_at: str) -> None:
    assert job(event(created_at=created_at))["reason"] == "bad_value"
    assert job(event(ingested_at=created_at))["reason"] == "bad_value"
    assert contract.parse_time(created_at) is None


@pytest.mark.parametrize("time_us", [10**18, 2**63, 10**30])
def test_a_relay_time_beyond_year_9999_is_a_dead_letter(tmp_path: Path, time_us: int) -> None:
    assert contract.time_from_micros(time_us) is None
    item = jetstream(tmp_path)._handle(
        jetstream_event({"text": "hi", "createdAt": "garbage"}, time_us=time_us)
    )
    assert isinstance(item, Rejected)
    assert item.reason == "bad_value"


@pytest.mark.parametrize("time_us", [True, 10**18, -5, 1.5, "17"])
def test_the_reconnect_cursor_moves_only_on_a_real_time_us(tmp_path: Path, time_us: Any) -> None:
    source = jetstream(tmp_path)
    source._handle(jetstream_event({"text": "hi"}, time_us=1_700_000_000_000_000))
    source._handle(jetstream_event({"text": "hi"}, time_us=time_us))
    assert source.last_time_us == 1_700_000_000_000_000


# --- 4: lone surrogates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "line", [b'{"data": {"id": "1\\ud800", "text": "t"}}', b'{"data": {"id": "1\xed\xa0\x80", "text": "t"}}']
)
def test_a_lone_surrogate_in_an_id_is_bad_encoding_on_both_sides(line: bytes) -> None:
    item = parse(line.replace(b'"t"}', b'"t", "created_at": "2026-01-01T00:00:00Z"}'))
    assert isinstance(item, Rejected)
    assert item.reason == "bad_encoding"
    assert job(json.dumps(event(id="1\ud800")).encode())["reason"] == "bad_encoding"
    assert (
        job(json.dumps(event(id="1")).encode().replace(b'"1"', b'"1\xed\xa0\x80"'))["reason"]
        == "bad_encoding"
    )


def test_a_lone_surrogate_in_a_text_is_replaced_the_same_way_on_both_sides() -> None:
    post = post_from_x(decode_json(x_line({"id": "1", "text": "a\ud800b", "created_at": INGESTED})), "x")
    assert isinstance(post, Post)
    written = contract.event_bytes(post, INGESTED)
    assert job(written)["text"] == post.text == "a\ufffdb"
    assert job(event(text="a\ud800b"))["text"] == "a\ufffdb"


# --- 5, 7: numbers and nesting ---------------------------------------------------------------


def test_an_integer_of_5000_digits_is_a_dead_letter_everywhere(tmp_path: Path) -> None:
    line = b'{"data": {"id": "1", "text": "t", "n": ' + b"7" * 5000 + b"}}"
    item = parse(line)
    assert isinstance(item, Rejected)
    assert item.reason == "bad_json"
    message = jetstream_event({"text": "t"}).replace(b'"text"', b'"n": ' + b"7" * 5000 + b', "text"')
    rejected = jetstream(tmp_path)._handle(message)
    assert isinstance(rejected, Rejected)
    assert rejected.reason == "bad_json"
    assert job(b'{"schema_version": 1, "n": ' + b"7" * 5000 + b"}")["reason"] == "bad_json"


@pytest.mark.parametrize("depth", [100, 900, 985, 995])
def test_a_deeply_nested_field_has_an_error_text_not_an_exception(depth: int) -> None:
    value = ("[" * depth + "]" * depth).encode()
    out = job(b'{"schema_version": 1, "id": "p", "source": "x", "text": ' + value + b"}")
    assert out["reason"] in {"wrong_type", "bad_json"}
    assert out["error"]


# --- 6, 8: the form of lang and time ---------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "expected"), [("en\n", "en"), (" pt-BR ", "pt-BR"), ("en\nx", "und"), ("", "und")]
)
def test_lang_is_one_rule_for_producer_job_and_model(tag: str, expected: str) -> None:
    post = post_from_x({"data": {"id": "1", "text": "t", "lang": tag, "created_at": INGESTED}}, "x")
    assert isinstance(post, Post)
    assert post.lang == expected
    assert job(contract.event_bytes(post, INGESTED))["lang"] == expected
    contract.Event.model_validate(contract.event_dict(post, INGESTED))


@pytest.mark.parametrize(
    "created_at", IMPOSSIBLE + OVERFLOWING + ["2026-01-01 10:00:00Z", "2026-01-01T10:00:00"]
)
def test_the_model_refuses_what_the_job_refuses(created_at: str) -> None:
    with pytest.raises(ValueError, match=r"created_at|RFC 3339"):
        contract.Event.model_validate(event(created_at=created_at))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-02T03:04:05Z", "2026-01-02T03:04:05.000Z"),
        ("2026-01-02t03:04:05.123456789z", "2026-01-02T03:04:05.123Z"),
        ("2026-01-02T03:04:05.5+02:00", "2026-01-02T01:04:05.500Z"),
        ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
        ("0001-01-01T00:00:00-01:00", "0001-01-01T01:00:00.000Z"),
    ],
)
def test_canonical_time(value: str, expected: str) -> None:
    assert contract.canonical_time(value) == expected


# --- the per-record guard ------------------------------------------------------------------


def test_a_parser_bug_is_an_internal_error_dead_letter_not_a_stopped_source() -> None:
    def broken(data: bytes) -> Post | None:
        raise KeyError("a bug")

    item = parse_line(Line(b"{}", 2), "x", 65536, broken)
    assert isinstance(item, Rejected)
    assert (item.reason, item.error) == ("internal_error", "KeyError: 'a bug'")


def test_a_bug_in_the_job_s_prepare_is_an_internal_error_row(monkeypatch: pytest.MonkeyPatch) -> None:
    from sentiment_job import transform

    def broken(text: str) -> str:
        raise IndexError("a bug")

    monkeypatch.setattr(transform, "clean_text", broken)
    out = job(event())
    assert (out["reason"], out["error"]) == ("internal_error", "IndexError: a bug")
    assert out["raw"] == json.dumps(event())


# --- the property ----------------------------------------------------------------------------

_times = st.one_of(
    st.sampled_from(OVERFLOWING + IMPOSSIBLE + ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.1+05:30", ""]),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.text(max_size=30),
)
_strings = st.one_of(st.text(max_size=40), st.sampled_from(["", " ", "\ud800", "a\udfffb", "x" * 600]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    post_id=_strings,
    source=st.sampled_from([*contract.SOURCES, "tiktok"]),
    text=_strings,
    lang=st.one_of(st.none(), _strings, st.sampled_from(["en", "pt-BR", "en\n", "und", "zz-123456789"])),
    created_at=_times,
    author_id=st.one_of(st.none(), _strings),
)
def test_the_producer_accepts_exactly_what_the_job_accepts(
    post_id: str, source: str, text: str, lang: str | None, created_at: str, author_id: str | None
) -> None:
    fields = {"id": post_id, "source": source, "text": text, "lang": lang, "created_at": created_at}
    try:
        post = contract.new_post(**fields, author_id=author_id)  # type: ignore[arg-type]
    except contract.ContractError:
        post = None
    written = event(**fields, author_id=author_id)
    for name in ("id", "source", "text", "created_at"):  # present even when empty
        written[name] = fields[name]
    read = job(written)
    assert (post is not None) == (read["reason"] is None), read["error"]
    if post is not None:
        back = job(contract.event_bytes(post, INGESTED))
        assert back["reason"] is None
        assert (back["text"], back["id"], back["lang"]) == (post.text, post.id, post.lang)
        assert back["created_at"] == post.created_at == read["created_at"]
        assert len(post.key) <= contract.MAX_ID_BYTES
        contract.Event.model_validate(contract.event_dict(post, INGESTED))


def test_jetstream_and_x_build_posts_through_the_contract() -> None:
    post = post_from_jetstream(json.loads(jetstream_event({"text": "hi", "langs": ["pt-BR\n"]})))
    assert isinstance(post, Post)
    assert post.lang == "pt-BR"
    assert job(contract.event_bytes(post, INGESTED))["reason"] is None


def test_the_analyzer_reads_at_most_scored_chars() -> None:
    """TextBlob spent ~5 s on "!" * 65536: what is scored is capped, so the worst case is cheap."""
    import pandas as pd

    from sentiment_job.transform import SCORED_CHARS, prepare_pandas, score_pandas

    long = event(id="long", text="!" * 65536 + " I love it, wonderful")
    capped = event(id="capped", text="!" * SCORED_CHARS)
    frame = pd.DataFrame(
        {
            "value": [json.dumps(long).encode(), json.dumps(capped).encode()],
            "topic": ["t", "t"],
            "partition": [0, 0],
            "offset": [1, 2],
            "kafka_timestamp": [None, None],
        }
    )
    scored = score_pandas(prepare_pandas(frame), "textblob", frozenset({"en"}))
    assert list(scored["reason"]) == [None, None]
    assert scored["polarity"].iloc[0] == scored["polarity"].iloc[1]
    assert len(scored["clean_text"].iloc[0]) > SCORED_CHARS  # the document keeps the whole text
