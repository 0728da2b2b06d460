"""The bundled sample posts: X v2 envelope shape, the promised mix, and our own writing."""

from __future__ import annotations

import csv
import json
import os
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = REPO_ROOT / "images" / "producer" / "samples"
POSTS = SAMPLES / "posts.jsonl"
INTENTS = SAMPLES / "posts.intents.tsv"
MALFORMED = SAMPLES / "malformed.jsonl"
TWEETEVAL_DIR = (
    Path(os.environ.get("TS_SHARED_DIR", REPO_ROOT.parent / "shared")) / "data" / "tweeteval-sentiment"
)

MAX_POST_BYTES = 65536
X_EPOCH_MS = 1288834974657
LANG = re.compile(r"^(und|[a-z]{2,3}(-[A-Za-z0-9]{2,8})*)$")
CREATED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ENTITY = re.compile(r"&(amp|lt|gt);")


def envelope_problem(line: str) -> str | None:
    """Why a raw line is not a usable X v2 post envelope, or None when it is."""
    if len(line.encode()) > MAX_POST_BYTES:
        return "oversized"
    try:
        message = json.loads(line)
    except json.JSONDecodeError:
        return "invalid_json"
    if not isinstance(message, dict):
        return "not_an_object"
    if "errors" in message and "data" not in message:
        return "stream_error"
    data = message.get("data")
    if not isinstance(data, dict):
        return "data_not_an_object"
    if not isinstance(data.get("id"), str) or not data["id"]:
        return "bad_id"
    if not isinstance(data.get("text"), str) or not data["text"]:
        return "bad_text"
    return None


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return POSTS.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def posts(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def intents() -> list[dict[str, str]]:
    with INTENTS.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_every_line_is_a_valid_envelope(lines: list[str]) -> None:
    assert len(lines) >= 300
    problems = {n: envelope_problem(line) for n, line in enumerate(lines, 1)}
    assert {n: p for n, p in problems.items() if p} == {}


def test_x_v2_fields(posts: list[dict]) -> None:
    for message in posts:
        assert set(message) <= {"data", "matching_rules"}, message
        data = message["data"]
        assert set(data) <= {
            "id",
            "text",
            "lang",
            "created_at",
            "author_id",
            "edit_history_tweet_ids",
            "note_tweet",
        }
        assert re.fullmatch(r"[1-9]\d{18}", data["id"]), data
        assert data["edit_history_tweet_ids"] == [data["id"]]
        assert data["author_id"].isdigit()
        assert CREATED_AT.match(data["created_at"]), data
        assert LANG.match(data["lang"]), data
        assert len(data["text"]) <= 280, data
        # X sends &, < and > HTML-escaped; a bare one would mean we wrote it wrong.
        for text in (data["text"], data.get("note_tweet", {}).get("text", "")):
            assert not set(ENTITY.sub("", text)) & set("&<>"), text
        for rule in message.get("matching_rules", []):
            assert rule["id"].isdigit()
            assert isinstance(rule["tag"], str)


def test_ids_unique_and_consistent_with_created_at(posts: list[dict]) -> None:
    ids = [m["data"]["id"] for m in posts]
    assert len(set(ids)) == len(ids)
    times = [datetime.fromisoformat(m["data"]["created_at"].replace("Z", "+00:00")) for m in posts]
    assert times == sorted(times)
    assert times[-1] - times[0] > (times[1] - times[0]) * 10  # spread out, not one burst
    for post_id, created in zip(ids, times, strict=True):
        # Snowflake ids carry their millisecond; created_at is that time cut to the second.
        id_seconds = ((int(post_id) >> 22) + X_EPOCH_MS) // 1000
        assert id_seconds == int(created.timestamp()), post_id


# The eight languages with a sentiment model (UMSAB), and common ones without.
MODEL_LANGUAGES = {"ar", "de", "en", "es", "fr", "hi", "it", "pt"}


def test_languages_are_mixed_like_a_live_stream(posts: list[dict]) -> None:
    """Shares like Bluesky's published ones (issue 20): English about a third, Japanese about a
    fifth, Portuguese about a sixth, the other model languages a few percent each, plus
    languages without a model and untagged (`und`) posts."""
    langs = Counter(m["data"]["lang"].split("-")[0].lower() for m in posts)
    share = {lang: n / len(posts) for lang, n in langs.items()}
    assert 0.30 <= share["en"] <= 0.40
    assert 0.15 <= share["ja"] <= 0.25
    assert 0.10 <= share["pt"] <= 0.20
    for lang in MODEL_LANGUAGES - {"en", "pt"}:
        assert 0.02 <= share.get(lang, 0) <= 0.06, lang
    assert langs["ko"] >= 5
    without_model = set(langs) - MODEL_LANGUAGES - {"ja", "ko", "und"}
    assert len(without_model) >= 4, without_model
    assert 0.02 <= share["und"] <= 0.06


def test_every_language_has_every_intent(posts: list[dict], intents: list[dict]) -> None:
    by_lang: dict[str, Counter[str]] = {}
    for row in intents:
        by_lang.setdefault(row["lang"], Counter())[row["intent"]] += 1
    for lang in MODEL_LANGUAGES | {"ja", "ko", "und"}:
        counts = by_lang[lang]
        assert set(counts) == {"positive", "negative", "neutral"}, lang
        for n in counts.values():
            assert n >= 0.2 * sum(counts.values()), (lang, counts)


def test_note_tweets_follow_x_truncation(posts: list[dict]) -> None:
    notes = [m["data"] for m in posts if "note_tweet" in m["data"]]
    assert len(notes) >= 5
    for data in notes:
        full = data["note_tweet"]["text"]
        assert 300 <= len(full) <= 1500
        assert data["text"].endswith("…")
        assert full.startswith(data["text"][:-1])
        assert len(data["text"]) <= 280


def test_retweets_and_style(posts: list[dict]) -> None:
    texts = [m["data"]["text"] for m in posts]
    retweets = sum(t.startswith("RT @") for t in texts)
    assert 0.03 * len(texts) <= retweets <= 0.08 * len(texts)
    assert sum("https://t.co/" in t for t in texts) >= 30
    assert sum("#" in t for t in texts) >= 30
    assert sum("&amp;" in t for t in texts) >= 10
    assert sum("&lt;" in t or "&gt;" in t for t in texts) >= 2


def test_intents_cover_every_post_with_a_balanced_mix(posts: list[dict], intents: list[dict]) -> None:
    assert [row["id"] for row in intents] == [m["data"]["id"] for m in posts]
    by_id = {m["data"]["id"]: m["data"] for m in posts}
    for row in intents:
        assert row["lang"] == by_id[row["id"]]["lang"]
        assert (row["kind"] == "note_tweet") == ("note_tweet" in by_id[row["id"]])
    counts = Counter(row["intent"] for row in intents)
    assert set(counts) == {"positive", "negative", "neutral"}
    for n in counts.values():
        assert 0.25 * len(intents) <= n <= 0.42 * len(intents)
    assert len({row["topic"] for row in intents}) >= 13


def test_malformed_lines_are_all_bad(posts: list[dict]) -> None:
    malformed = MALFORMED.read_text(encoding="utf-8").splitlines()
    assert len(malformed) >= 12
    problems = [envelope_problem(line) for line in malformed]
    assert None not in problems, problems
    assert {"invalid_json", "bad_id", "bad_text", "stream_error", "oversized", "data_not_an_object"} <= set(
        problems
    )


def _normalise(text: str) -> str:
    # TweetEval wraps some lines in quotes; compare case- and whitespace-insensitively.
    return " ".join(text.strip('"').casefold().split())


def test_no_text_copied_from_tweeteval(posts: list[dict]) -> None:
    files = sorted(TWEETEVAL_DIR.glob("*.jsonl"))
    if not files:
        pytest.skip(f"no TweetEval data in {TWEETEVAL_DIR}")
    theirs: set[str] = set()
    for path in files:
        with path.open(encoding="utf-8") as f:
            theirs.update(_normalise(json.loads(line)["data"]["text"]) for line in f if line.strip())
    ours = set()
    for m in posts:
        ours.add(_normalise(m["data"]["text"]))
        if "note_tweet" in m["data"]:
            ours.add(_normalise(m["data"]["note_tweet"]["text"]))
    assert ours & theirs == set()
