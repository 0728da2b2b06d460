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
    TWEET_MODEL,
    Score,
    get_analyzer,
    is_supported,
    label_for,
    score_frame,
)

LANGS = frozenset({"en", "und"})
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
    if model == TWEET_MODEL:
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


@pytest.mark.parametrize("model", MODELS)
def test_score_frame(model: str) -> None:
    texts = pd.Series(
        ["I love it", "awful day", "bonjour", None, "fine", "x", "y"], index=[10, 11, 12, 13, 14, 15, 16]
    )
    langs = pd.Series(["en", "en-US", "fr", "en", None, math.nan, "de"], index=texts.index)
    out = score_frame(texts, langs, model, LANGS)

    assert list(out.columns) == ["polarity", "subjectivity", "confidence", "sentiment"]
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
    assert list(out.columns) == ["polarity", "subjectivity", "confidence", "sentiment"]


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
    """Both analyzers work in a fresh process with sockets disabled and no NLTK data."""
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
        """
    )
    env = {**os.environ, "HOME": str(tmp_path), "NLTK_DATA": str(empty / "nltk_data")}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["textblob Positive", "vader Positive"]
