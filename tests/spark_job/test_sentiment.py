"""Analyzers, labelling boundaries, language filtering and the batch scorer."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentiment_job.cleaning import clean_text
from sentiment_job.sentiment import (
    LABELS,
    MODELS,
    MULTI_LANGUAGES,
    MULTI_MODEL,
    TWEET_MODEL,
    Score,
    get_analyzer,
    is_supported,
    label_for,
    score_frame,
)

LANGS = frozenset({"en", "und"})
ENGLISH_MODELS = tuple(m for m in MODELS if m != MULTI_MODEL)
OWN_TEXTS = [
    "I love this, it is wonderful!",
    "This is terrible and awful.",
    "The train leaves at 5.",
    "not bad at all :)",
    "so happy 😀",
    "I'm not happy 😭",
    "",
    "!!!",
    "GREAT game",
    "very very good, but the ending was not good",
]


def _val_texts(shared_dir: Path, limit: int) -> list[str]:
    val = shared_dir / "data" / "tweeteval-sentiment" / "val.jsonl"
    if not val.exists():
        return []
    with val.open(encoding="utf-8") as lines:
        return [json.loads(line)["data"]["text"] for _, line in zip(range(limit), lines, strict=False)]


def test_labels() -> None:
    assert LABELS == ("Negative", "Neutral", "Positive", "Unsupported")


@pytest.mark.parametrize(
    ("model", "polarity", "label"),
    [
        ("textblob", 0.0, "Neutral"),
        ("textblob", -0.0, "Neutral"),
        ("textblob", 1e-12, "Positive"),
        ("textblob", -1e-12, "Negative"),
        ("textblob", 1.0, "Positive"),
        ("textblob", -1.0, "Negative"),
        ("vader", 0.05, "Positive"),
        ("vader", 0.0499, "Neutral"),
        ("vader", 0.0, "Neutral"),
        ("vader", -0.0499, "Neutral"),
        ("vader", -0.05, "Negative"),
        ("vader", 0.9, "Positive"),
        ("vader", -0.9, "Negative"),
        ("textblob", math.nan, "Neutral"),
        ("vader", math.nan, "Neutral"),
    ],
)
def test_label_boundaries(model: str, polarity: float, label: str) -> None:
    assert label_for(model, polarity) == label


@pytest.mark.parametrize("call", [lambda: label_for("bert", 0.5), lambda: get_analyzer("bert")])
def test_unknown_model_names_the_setting(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="SENTIMENT_MODEL") as info:
        call()
    assert "'bert'" in str(info.value)


@pytest.mark.parametrize("model", MODELS)
def test_analyzer_built_once(model: str) -> None:
    analyzer = get_analyzer(model)
    assert get_analyzer(model) is analyzer
    assert analyzer.name == model


def test_textblob_matches_textblob_api(shared_dir: Path) -> None:
    """Calling the pattern lexicon directly must give exactly TextBlob(text).sentiment."""
    from textblob import TextBlob

    texts = OWN_TEXTS + _val_texts(shared_dir, 400)
    texts += [clean_text(t) for t in texts]
    analyzer = get_analyzer("textblob")
    for text in texts:
        expected = TextBlob(text).sentiment
        score = analyzer.score(text)
        assert (score.polarity, score.subjectivity) == (expected.polarity, expected.subjectivity), text
        assert score.label == label_for("textblob", expected.polarity)


def test_vader_is_compound_without_subjectivity() -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    reference = SentimentIntensityAnalyzer()
    analyzer = get_analyzer("vader")
    for text in OWN_TEXTS:
        score = analyzer.score(text)
        assert score.polarity == reference.polarity_scores(text)["compound"]
        assert score.subjectivity is None
        assert score.label == label_for("vader", score.polarity)


@pytest.mark.parametrize(
    ("model", "text", "label"),
    [
        ("textblob", "I love this, it is wonderful!", "Positive"),
        ("textblob", "This is terrible and awful.", "Negative"),
        ("textblob", "The train leaves at 5.", "Neutral"),
        ("vader", "I love this, it is wonderful!", "Positive"),
        ("vader", "This is terrible and awful.", "Negative"),
        ("vader", "The train leaves at 5.", "Neutral"),
        ("vader", "😀", "Positive"),  # VADER reads emoji: why cleaning keeps them
        ("vader", "😭", "Negative"),
    ],
)
def test_obvious_cases(model: str, text: str, label: str) -> None:
    assert get_analyzer(model).score(text).label == label


@pytest.mark.parametrize(
    ("model", "expected"),
    [("textblob", Score(0.0, 0.0, "Neutral")), ("vader", Score(0.0, None, "Neutral"))],
)
@pytest.mark.parametrize("text", ["", None])
def test_empty_text_is_neutral(model: str, expected: Score, text: str | None) -> None:
    assert get_analyzer(model).score(text) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("model", MODELS)
def test_score_many_is_score(model: str) -> None:
    analyzer = get_analyzer(model)
    assert analyzer.score_many(OWN_TEXTS) == [analyzer.score(t) for t in OWN_TEXTS]
    assert analyzer.score_many([]) == []


@settings(max_examples=150)
@given(text=st.text(max_size=80), model=st.sampled_from(MODELS))
def test_scores_are_bounded(text: str, model: str) -> None:
    score = get_analyzer(model).score(text)
    assert -1.0 <= score.polarity <= 1.0
    if model in (TWEET_MODEL, MULTI_MODEL):
        # The label is the most probable of three classes.
        assert score.confidence is not None
        assert 1 / 3 <= score.confidence <= 1.0
        assert score.subjectivity is None
    else:
        assert score.label == label_for(model, score.polarity)
        assert score.confidence is None
    if model == "textblob":
        assert score.subjectivity is not None
        assert 0.0 <= score.subjectivity <= 1.0


@pytest.mark.parametrize(
    ("lang", "supported"),
    [
        ("en", True),
        ("EN", True),
        (" en ", True),
        ("en-GB", True),
        ("und", True),
        (None, True),
        ("", True),
        (math.nan, True),
        ("fr", False),
        ("eng", False),
        ("pt-BR", False),
        ("zxx", False),
    ],
)
def test_is_supported(lang: object, supported: bool) -> None:
    assert is_supported(lang, LANGS) is supported


def test_is_supported_normalises_the_setting() -> None:
    assert is_supported("fr", frozenset({" FR "}))
    assert not is_supported("en", frozenset())


@pytest.mark.parametrize("model", ENGLISH_MODELS)
def test_score_frame(model: str) -> None:
    """The English analyzers with SENTIMENT_LANGUAGES=en,und: untagged posts pass as `und`."""
    texts = pd.Series(
        ["I love it", "awful day", "bonjour", None, "fine", "x", "y"], index=[10, 11, 12, 13, 14, 15, 16]
    )
    langs = pd.Series(["en", "en-US", "fr", "en", None, math.nan, "de"], index=texts.index)
    out = score_frame(texts, langs, model, LANGS)

    assert list(out.columns) == ["polarity", "subjectivity", "confidence", "sentiment", "sentiment_lang"]
    assert out.loc[[10, 11, 12, 13, 16], "sentiment_lang"].tolist() == ["en", "en", "fr", "en", "de"]
    assert list(out.index) == list(texts.index)
    for column in ("polarity", "subjectivity", "confidence"):
        assert out[column].dtype == "float64"
    unsupported = out.loc[[12, 16]]
    assert (unsupported["sentiment"] == "Unsupported").all()
    assert unsupported[["polarity", "subjectivity", "confidence"]].isna().all().all()

    analyzer = get_analyzer(model)
    for index in (10, 11, 13, 14, 15):
        expected = analyzer.score(texts[index] or "")
        row = out.loc[index]
        assert row["sentiment"] == expected.label
        assert row["polarity"] == expected.polarity
        for name in ("subjectivity", "confidence"):
            value = getattr(expected, name)
            if value is None:
                assert math.isnan(row[name])
            else:
                assert row[name] == value
    assert out.loc[10, "sentiment"] == "Positive"
    assert out.loc[11, "sentiment"] == "Negative"
    assert out.loc[13, "sentiment"] == "Neutral"


def test_score_frame_empty_batch() -> None:
    out = score_frame(pd.Series([], dtype=object), pd.Series([], dtype=object), "textblob", LANGS)
    assert len(out) == 0
    assert list(out.columns) == ["polarity", "subjectivity", "confidence", "sentiment", "sentiment_lang"]


def test_score_frame_unknown_model() -> None:
    with pytest.raises(ValueError, match="SENTIMENT_MODEL"):
        score_frame(pd.Series(["a"]), pd.Series(["en"]), "nope", LANGS)


def test_unsupported_scores_become_arrow_nulls() -> None:
    """Spark converts the frame with pyarrow's from_pandas, where NaN means null."""
    import pyarrow as pa

    out = score_frame(pd.Series(["good", "gut"]), pd.Series(["en", "de"]), "textblob", LANGS)
    polarity = pa.Array.from_pandas(out["polarity"])
    assert polarity.null_count == 1
    assert polarity.is_null().to_pylist() == [False, True]


def test_no_network_and_no_nltk_data_needed(tmp_path: Path) -> None:
    """Both lexicon analyzers and the language identifier work in a fresh process with sockets
    disabled and no NLTK data."""
    empty = tmp_path / "empty"
    empty.mkdir()
    script = f"NO_DATA = {str(empty)!r}\n" + textwrap.dedent(
        """
        import socket

        def refuse(*args, **kwargs):
            raise OSError("network disabled by the test")

        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse

        import nltk

        nltk.data.path[:] = [NO_DATA]  # not even a system-wide nltk_data directory
        from sentiment_job.sentiment import get_analyzer

        for model in ("textblob", "vader"):
            print(model, get_analyzer(model).score("What a wonderful, happy day 😀").label)
        from sentiment_job.language import identify

        print("identifier", identify("Que dia maravilhoso, adorei tudo"))
        """
    )
    env = {**os.environ, "HOME": str(tmp_path), "NLTK_DATA": str(empty / "nltk_data")}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == ["textblob Positive", "vader Positive", "identifier pt"]


# ---- multi-lr: routing by language -----------------------------------------------------------


def test_multi_lr_is_the_default_and_has_the_eight_languages() -> None:
    from sentiment_job.sentiment import DEFAULT_MODEL, model_languages

    assert DEFAULT_MODEL == MULTI_MODEL
    assert get_analyzer(MULTI_MODEL).languages == MULTI_LANGUAGES == model_languages(MULTI_MODEL)
    assert {"ar", "de", "en", "es", "fr", "hi", "it", "pt"} == MULTI_LANGUAGES
    assert model_languages(TWEET_MODEL) == {"en"}


def test_multi_lr_scores_each_post_with_the_model_of_its_language() -> None:
    analyzer = get_analyzer(MULTI_MODEL)
    texts = pd.Series(
        [
            "Que dia maravilhoso, adorei!",
            "C'est nul, je déteste ça",
            "I love it",
            "こんにちは",
            "Ich hasse Montage",
        ]
    )
    langs = pd.Series(["pt-BR", "FR", "en", "ja", "de-AT"])
    out = score_frame(texts, langs, MULTI_MODEL)
    assert out["sentiment_lang"].tolist() == ["pt", "fr", "en", "ja", "de"]
    assert out.loc[3, "sentiment"] == "Unsupported"
    assert math.isnan(out.loc[3, "polarity"])
    for row, language in ((0, "pt"), (1, "fr"), (2, "en"), (4, "de")):
        expected = analyzer.score(texts[row], language)
        assert (out.loc[row, "sentiment"], out.loc[row, "polarity"]) == (expected.label, expected.polarity)
    assert out.loc[0, "sentiment"] == "Positive"
    assert out.loc[2, "sentiment"] == "Positive"


def test_multi_lr_only_languages_it_has_and_the_setting_allows() -> None:
    texts = pd.Series(["Que dia maravilhoso", "I love it", "Ich liebe es"])
    langs = pd.Series(["pt", "en", "de"])
    out = score_frame(texts, langs, MULTI_MODEL, frozenset({"pt", "en", "ja"}))
    assert out["sentiment"].tolist()[2] == "Unsupported"
    assert "Unsupported" not in out["sentiment"].tolist()[:2]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # tag-then-detect: the tag's primary subtag; the identifier for und/untagged posts
        ("tag-then-detect", ["pt", "es", "fr", "und"]),
        ("tag", ["pt", "und", "und", "und"]),
        # detect: the identifier for every post, whatever its tag
        ("detect", ["de", "es", "fr", "und"]),
    ],
)
def test_language_source(source: str, expected: list[str]) -> None:
    texts = pd.Series(
        [
            "Ich habe heute den ganzen Tag im Garten gearbeitet und bin sehr müde",
            "Hoy es un día muy bonito para salir con los amigos",
            "Je suis très content de te voir aujourd'hui avec ta famille",
            "🔥🔥 123",
        ]
    )
    langs = pd.Series(["pt-BR", "und", None, math.nan])
    out = score_frame(texts, langs, MULTI_MODEL, language_source=source)
    assert out["sentiment_lang"].tolist() == expected
    # No letter, no language (`und`), but emoji the model's table knows: scored from them.
    assert out["sentiment"].tolist()[3] != "Unsupported"


def test_unknown_language_source() -> None:
    with pytest.raises(ValueError, match="language source"):
        score_frame(pd.Series(["a"]), pd.Series(["en"]), MULTI_MODEL, language_source="guess")


def test_primary_subtag() -> None:
    from sentiment_job.language import primary_subtag

    assert [primary_subtag(t) for t in ("pt-BR", " EN-gb ", "zh-Hant-TW", "", None, math.nan, "und")] == [
        "pt",
        "en",
        "zh",
        "und",
        "und",
        "und",
        "und",
    ]


# The sign of each emoji's sentiment score in the Emoji Sentiment Ranking v1.0 (Kralj Novak et
# al. 2015, PLoS ONE 10(12): e0144296; score = (positive - negative) / occurrences):
# 🔥 +0.140, 😂 +0.221, ❤ +0.746, 😍 +0.678, 👍 +0.522, 🙏 +0.418, 🎉 +0.740, 😘 +0.702,
# 😭 -0.093, 😡 -0.173, 😩 -0.368, 💔 -0.122.
EMOJI_SIGNS = {
    "🔥🔥🔥": 1,
    "😂😂": 1,
    "❤️": 1,
    "😍": 1,
    "👍": 1,
    "🙏🙏": 1,
    "🎉🎉": 1,
    "😘": 1,
    "😭😭": -1,
    "😡": -1,
    "😩": -1,
    "💔": -1,
}


@pytest.mark.parametrize("language", sorted(MULTI_LANGUAGES))
def test_emoji_only_posts_have_the_sign_of_their_ranking(language: str) -> None:
    """Scored from the emoji's measured sentiment, not from a word lexicon's reading of its name
    (VADER's "fire" made 🔥🔥🔥 the most negative post of the demo)."""
    texts = list(EMOJI_SIGNS)
    out = score_frame(pd.Series(texts), pd.Series([language] * len(texts)), MULTI_MODEL)
    signs = {text: (1 if polarity > 0 else -1) for text, polarity in zip(texts, out["polarity"], strict=True)}
    assert signs == EMOJI_SIGNS


@pytest.mark.parametrize("tag", ["und", None, "ja", "ko-KR"])
def test_emoji_only_posts_are_scored_whatever_their_tag(tag: str | None) -> None:
    """Emoji alone have no language: an untagged one, or one tagged in a language without a
    model, is scored from the same emoji table (sentiment_lang says what the tag said)."""
    texts = list(EMOJI_SIGNS)
    out = score_frame(pd.Series(texts), pd.Series([tag] * len(texts), dtype=object), MULTI_MODEL)
    assert "Unsupported" not in set(out["sentiment"])
    signs = {text: (1 if polarity > 0 else -1) for text, polarity in zip(texts, out["polarity"], strict=True)}
    assert signs == EMOJI_SIGNS
    letters = score_frame(pd.Series(["すごい"]), pd.Series([tag], dtype=object), MULTI_MODEL)
    if tag in ("ja", "ko-KR"):
        assert letters["sentiment"].tolist() == ["Unsupported"]
