"""The synthetic post generator: X v2 envelope shape, determinism, ids, and a realistic mix."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from tweet_producer.sources.synthetic_text import SyntheticTextGenerator, iter_envelopes

X_EPOCH_MS = 1288834974657
UTC = timezone.utc
START = datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC)
CREATED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ENTITY = re.compile(r"&(amp|lt|gt);")
LANGS = {"en", "und", "es", "fr", "de", "pt", "ja", "it"}


def stepping_clock(
    start: datetime = START, step: timedelta = timedelta(milliseconds=7)
) -> Callable[[], datetime]:
    """A fake clock: each call is `step` later than the previous one."""
    ticks = itertools.count()
    return lambda: start + step * next(ticks)


def assert_valid(envelope: dict) -> None:
    assert set(envelope) == {"data"}
    data = envelope["data"]
    assert set(data) == {"id", "text", "lang", "created_at", "author_id", "edit_history_tweet_ids"}
    assert isinstance(data["id"], str)
    assert data["id"].isdigit()
    assert data["edit_history_tweet_ids"] == [data["id"]]
    assert isinstance(data["text"], str)
    assert data["text"].strip() == data["text"] != ""
    assert len(data["text"].encode()) < 65536
    # X sends &, < and > HTML-escaped; a bare one would be a bug in the vocabularies.
    assert not set(ENTITY.sub("", data["text"])) & set("&<>"), data["text"]
    assert data["lang"] in LANGS
    assert CREATED_AT.match(data["created_at"]), data["created_at"]
    assert data["author_id"].isdigit()


def test_same_seed_and_clock_give_the_same_sequence() -> None:
    first = SyntheticTextGenerator(seed=7, clock=stepping_clock())
    second = SyntheticTextGenerator(seed=7, clock=stepping_clock())
    a = [first.next_envelope() for _ in range(2000)]
    b = [second.next_envelope() for _ in range(2000)]
    assert a == b


def test_different_seeds_give_different_text() -> None:
    a = [e["data"]["text"] for e in itertools.islice(iter_envelopes(1, stepping_clock()), 200)]
    b = [e["data"]["text"] for e in itertools.islice(iter_envelopes(2, stepping_clock()), 200)]
    assert a != b


def test_iter_envelopes_matches_the_generator() -> None:
    from_iter = list(itertools.islice(iter_envelopes(42, stepping_clock()), 300))
    generator = SyntheticTextGenerator(42, stepping_clock())
    assert from_iter == [generator.next_envelope() for _ in range(300)]


def test_default_clock_is_now() -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    envelope = SyntheticTextGenerator().next_envelope()
    after = datetime.now(UTC) + timedelta(seconds=1)
    created = datetime.fromisoformat(envelope["data"]["created_at"].replace("Z", "+00:00"))
    assert before <= created <= after
    assert_valid(envelope)


def test_ten_thousand_envelopes_are_valid_with_unique_increasing_ids() -> None:
    envelopes = list(itertools.islice(iter_envelopes(42, stepping_clock()), 10_000))
    for envelope in envelopes:
        assert_valid(envelope)
    ids = [int(e["data"]["id"]) for e in envelopes]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_ids_stay_unique_when_the_clock_stands_still_or_steps_back() -> None:
    times = iter([START] * 5000 + [START - timedelta(minutes=5)] * 10 + [START + timedelta(seconds=1)])
    generator = SyntheticTextGenerator(clock=lambda: next(times))
    ids = [int(generator.next_envelope()["data"]["id"]) for _ in range(5011)]
    assert all(a < b for a, b in itertools.pairwise(ids))


def test_id_and_created_at_carry_the_clock_time() -> None:
    when = datetime(2026, 11, 20, 12, 30, 45, 123456, tzinfo=timezone(timedelta(hours=2)))
    data = SyntheticTextGenerator(clock=lambda: when).next_envelope()["data"]
    assert data["created_at"] == "2026-11-20T10:30:45.123Z"
    assert (int(data["id"]) >> 22) + X_EPOCH_MS == int(when.timestamp() * 1000)
    assert len(data["id"]) == 19


def test_naive_clock_means_utc() -> None:
    data = SyntheticTextGenerator(clock=lambda: datetime(2026, 1, 2, 3, 4, 5)).next_envelope()["data"]
    assert data["created_at"] == "2026-01-02T03:04:05.000Z"


def test_realistic_mix() -> None:
    texts = Counter()
    langs = Counter()
    for envelope in itertools.islice(iter_envelopes(42, stepping_clock()), 20_000):
        data = envelope["data"]
        langs[data["lang"]] += 1
        text = data["text"]
        texts["rt"] += text.startswith("RT @")
        texts["url"] += "https://t.co/" in text
        texts["hashtag"] += " #" in text
        texts["mention"] += "@" in text
        texts["long"] += len(text) > 280
        texts["caps"] += text.isupper()
    n = langs.total()
    assert 0.93 * n <= langs["en"] <= 0.99 * n  # ~3% foreign, ~0.5% und
    assert set(langs) == LANGS
    assert 0.03 * n <= texts["rt"] <= 0.07 * n
    assert texts["url"] >= 0.1 * n
    assert texts["hashtag"] >= 0.2 * n
    assert texts["mention"] >= 0.1 * n
    assert texts["long"] >= 0.005 * n
    assert texts["caps"] >= 0.005 * n


def test_texts_are_varied() -> None:
    texts = [e["data"]["text"] for e in itertools.islice(iter_envelopes(3, stepping_clock()), 5000)]
    assert len(set(texts)) >= 0.8 * len(texts)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(min_value=-(2**40), max_value=2**40))
def test_any_seed_gives_valid_envelopes(seed: int) -> None:
    generator = SyntheticTextGenerator(seed, stepping_clock())
    for _ in range(200):
        assert_valid(generator.next_envelope())
